/* The one policy for text that comes from outside (hook output from nodes,
 * user input echoed in messages, anything read back from the bucket) before
 * it reaches events, last_error, failureReason, node files, status.json or
 * logs: it leaves as valid UTF-8 (RFC 3629; each invalid byte becomes '?'),
 * is cut only on character boundaries, and carries no control characters or
 * terminal escape sequences, so `tail events` cannot move a cursor or
 * retitle a terminal and a JSON encoder never refuses it. */
#ifndef PCFS_SANITIZE_H
#define PCFS_SANITIZE_H
#include <stddef.h>

/* Copies src (len bytes) into dst (dstlen bytes, NUL-terminated, truncated if
 * needed): ANSI CSI/OSC escape sequences dropped, other control characters
 * (newline too, unless keep_newlines) dropped, tabs become spaces, invalid
 * UTF-8 bytes become '?'. Returns the length written. */
size_t sanitize_text(const char *src, size_t len, char *dst, size_t dstlen, int keep_newlines);

/* A malloc'd sanitize_text copy of the whole of s (NULL reads as ""); NULL
 * only when out of memory. */
char *sanitize_dup(const char *s, int keep_newlines);

/* The length of the well-formed UTF-8 character at s (len > 0 bytes left;
 * RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or 0
 * if there is none there. */
size_t utf8_char_len(const unsigned char *s, size_t len);

/* The length of the longest prefix of s (len bytes) of at most max bytes
 * that ends on a character boundary: for excerpts such as '%.*s'. */
size_t utf8_prefix_len(const char *s, size_t len, size_t max);

/* Where the longest suffix of s of at most max bytes that starts on a
 * character boundary begins: for the tail of a log. */
size_t utf8_suffix_start(const char *s, size_t len, size_t max);

#endif
