/* The one ETag cache: bucket objects kept while the bucket listing shows
 * the same ETag, so a pass GETs only what changed since the last one and
 * its S3 requests grow with the listing's pages, not with the number of
 * nodes or clusters. The controller keeps one for node reports and JWT
 * keys; the bucket store (store_s3.c) one for the desired state it loads.
 * Thread-safe (a mutex inside; no network under it). */
#ifndef PCFS_OBJCACHE_H
#define PCFS_OBJCACHE_H
#include <stddef.h>

#include "fs/model/blob.h"
#include "fs/store/bucket.h"

struct objcache;

struct objcache *objcache_new(void);
void objcache_free(struct objcache *oc);

/* The bytes of key, whose ETag in the listing is etag: the kept copy when
 * its ETag matches, else a GET (whose answer is kept). 0 and *out (a
 * reference: blob_unref it), -ENOENT when the object is gone, or a negative
 * errno with err. */
int objcache_get(struct objcache *oc, const struct bucket *b, const char *key, const char *etag,
                 struct blob **out, char *err, size_t errlen);

/* The bytes kept under key when their ETag is etag (a reference: blob_unref
 * it), else NULL. A hit counts as asked for, for the next sweep. */
struct blob *objcache_lookup(struct objcache *oc, const char *key, const char *etag);
/* Keeps data (a new reference) under key and etag, replacing what was kept. */
void objcache_keep(struct objcache *oc, const char *key, const char *etag, struct blob *data);

/* Fetches, several at a time, the keys[i] (listed with etags[i]) not kept
 * under that ETag yet, so the objcache_get calls that follow find them.
 * What fails to come is left to objcache_get. */
void objcache_prefetch(struct objcache *oc, const struct bucket *b, const char *const *keys,
                       const char *const *etags, size_t n);

/* Forgets every object no objcache_get asked for since the last sweep
 * (nodes and clusters that are gone). */
void objcache_sweep(struct objcache *oc);

/* How many GETs objcache_get made, and how many it saved (for tests). */
void objcache_stats(struct objcache *oc, unsigned long *fetched, unsigned long *hits);

#endif
