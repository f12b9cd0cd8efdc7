/* Bucket objects the controller reads on every pass (node reports, each
 * cluster's JWT key), kept while the bucket listing shows the same ETag: a
 * pass GETs only what changed since the last one, so its S3 requests grow
 * with the listing's pages, not with the number of nodes or clusters.
 * Belongs to the controller thread; not thread-safe. */
#ifndef PCFS_OBJCACHE_H
#define PCFS_OBJCACHE_H
#include <stddef.h>

#include "fs/model/blob.h"
#include "fs/control/cloud.h"

struct objcache;

struct objcache *objcache_new(void);
void objcache_free(struct objcache *oc);

/* The bytes of key, whose ETag in the listing is etag: the kept copy when
 * its ETag matches, else a GET (whose answer is kept). 0 and *out (a
 * reference: blob_unref it), -ENOENT when the object is gone, or a negative
 * errno with err. */
int objcache_get(struct objcache *oc, struct cloud *cl, const char *key, const char *etag,
                 struct blob **out, char *err, size_t errlen);

/* Fetches, several at a time, the keys[i] (listed with etags[i]) not kept
 * under that ETag yet, so the objcache_get calls that follow find them.
 * What fails to come is left to objcache_get. */
void objcache_prefetch(struct objcache *oc, struct cloud *cl, const char *const *keys,
                       const char *const *etags, size_t n);

/* Forgets every object no objcache_get asked for since the last sweep
 * (nodes and clusters that are gone). */
void objcache_sweep(struct objcache *oc);

/* How many GETs objcache_get made, and how many it saved (for tests). */
void objcache_stats(const struct objcache *oc, unsigned long *fetched, unsigned long *hits);

#endif
