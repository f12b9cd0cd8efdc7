/* GETs many state-bucket objects at once: up to `workers` threads sharing
 * the bucket (its calls are thread-safe; each thread gets its own AWS
 * client). The controller's first pass after mounting meets every node
 * report as new; one GET at a time, that pass costs a round trip per node. */
#ifndef PCFS_FETCH_MANY_H
#define PCFS_FETCH_MANY_H
#include <stddef.h>

#include "fs/store/bucket.h"

struct fetch_item {
    const char *key; /* in: the object's key */
    int rc;          /* out: 0, -ENOENT, or a negative errno */
    char *data;      /* out (rc 0): the bytes, the caller's to free */
    size_t len;
    char etag[128];  /* out (rc 0): the ETag the GET answered with */
};

/* Fills every item. */
void fetch_many(const struct bucket *b, struct fetch_item *items, size_t n, unsigned workers);

#endif
