/* A bucket in memory (bucket.h's seam), for unit tests of everything that
 * talks to the state bucket: objects with ETags that change on every
 * write, conditional puts as S3 answers them, listings in key order, and
 * failures the test asks for (the bucket away, or a write that landed but
 * whose answer was lost). Thread-safe. */
#ifndef PCFS_BUCKET_MEM_H
#define PCFS_BUCKET_MEM_H
#include <stdbool.h>
#include <stddef.h>

#include "fs/store/bucket.h"

/* 0 or -ENOMEM. */
int bucket_mem_open(struct bucket *out);

/* Of the calls whose key (or listed prefix) contains key_part (NULL: every
 * call), after `after` more the next `calls` fail with rc (a negative
 * errno); a write among them is still made when `applied` (its answer was
 * lost). */
void bucket_mem_fail(struct bucket *b, const char *key_part, unsigned after, unsigned calls,
                     int rc, bool applied);
/* Calls made so far (every kind), for tests counting requests. */
unsigned long bucket_mem_calls(struct bucket *b);

/* The bytes of key (NULL if absent; valid until the next write), its ETag,
 * and every key under prefix (valid until the next write). */
const char *bucket_mem_object(struct bucket *b, const char *key, size_t *len);
void bucket_mem_etag(struct bucket *b, const char *key, char *etag, size_t len);
size_t bucket_mem_keys(struct bucket *b, const char *prefix, const char **keys, size_t max);

#endif
