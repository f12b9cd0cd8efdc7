/* Files from scripts/embed/ compiled into the binary at build time (see
 * scripts/embed.sh), so a running daemon never depends on the source tree. */
#ifndef PCFS_EMBEDDED_H
#define PCFS_EMBEDDED_H
#include <stddef.h>

struct embedded_file {
    const char *name;          /* base name in scripts/embed/ */
    const unsigned char *data; /* NUL-terminated for convenience */
    size_t size;               /* without the terminating NUL */
};

/* The embedded file of that base name, or NULL. */
const struct embedded_file *embedded_find(const char *name);

#endif
