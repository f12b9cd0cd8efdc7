/* Cleaning text that comes from outside (hook output from nodes, user input
 * echoed in messages) before it reaches events, status.json or logs: control
 * characters and terminal escape sequences are removed, so `tail events`
 * cannot move a cursor or retitle a terminal. */
#ifndef PCFS_SANITIZE_H
#define PCFS_SANITIZE_H
#include <stddef.h>

/* Copies src (len bytes) into dst (dstlen bytes, NUL-terminated, truncated if
 * needed): ANSI CSI/OSC escape sequences dropped, other control characters
 * (newline too, unless keep_newlines) dropped, tabs become spaces, invalid
 * UTF-8 bytes become '?'. Returns the length written. */
size_t sanitize_text(const char *src, size_t len, char *dst, size_t dstlen, int keep_newlines);

#endif
