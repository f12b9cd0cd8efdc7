/* Immutable, reference-counted bytes. Snapshots, the desired-state store and
 * open files share one copy of a config, hook or rendered file this way; the
 * bytes never change after blob_new, so readers need no lock. */
#ifndef PCFS_BLOB_H
#define PCFS_BLOB_H
#include <stdatomic.h>
#include <stddef.h>

struct blob {
    atomic_int refs;
    size_t len;
    char data[]; /* len bytes, then a NUL so text blobs are C strings */
};

/* A new blob holding a copy of data (len bytes); refs = 1. NULL on ENOMEM. */
struct blob *blob_new(const void *data, size_t len);
/* A blob of a C string. */
struct blob *blob_from_str(const char *s);
/* A new blob of a + b (appending never mutates a shared blob). */
struct blob *blob_concat(const struct blob *a, const void *b, size_t blen);
struct blob *blob_ref(struct blob *b); /* NULL-safe */
void blob_unref(struct blob *b);       /* NULL-safe */

#endif
