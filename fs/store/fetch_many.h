/* GETs many state-bucket objects at once: up to `workers` threads, each on
 * its own struct cloud (AWS clients are never shared between threads). The
 * controller's first pass after mounting meets every node report as new;
 * one GET at a time, that pass costs a round trip per node. */
#ifndef PCFS_FETCH_MANY_H
#define PCFS_FETCH_MANY_H
#include <stddef.h>

#include "fs/control/cloud.h"

struct fetch_item {
    const char *key; /* in: the object's key */
    int rc;          /* out: 0, -ENOENT, or a negative errno */
    char *data;      /* out (rc 0): the bytes, the caller's to free */
    size_t len;
    char etag[128];  /* out (rc 0): the ETag the GET answered with */
};

/* Fills every item; `like` gives the credentials, bucket and owner. */
void fetch_many(const struct cloud *like, struct fetch_item *items, size_t n, unsigned workers);

#endif
