/* A bucket's objects, the seam below everything that reads or writes the
 * state bucket: the store (store_s3.c), the ETag cache and its fetch
 * workers (objcache.c, fetch_many.c), the undo of unsure writes
 * (s3_undo.c), and the controller's cloud (fs/control/cloud.h). Two
 * implementations: S3 over aws/ (bucket_s3.h) and memory (bucket_mem.h),
 * on which the store's and the controller's logic run in unit tests.
 *
 * Calls may come from any thread at once. Each returns 0 or a negative
 * errno with "<key>: <reason>" in err: get and head -ENOENT when the
 * object is absent (err left alone); put AWS_ERR_PRECONDITION when its
 * If-Match or If-None-Match condition failed. */
#ifndef PCFS_BUCKET_H
#define PCFS_BUCKET_H
#include <stddef.h>
#include <time.h>

#include "aws/s3.h"

struct bucket_ops {
    /* *data (NUL-terminated) is the caller's; etag (if not NULL) receives the ETag. */
    int (*get)(void *impl, const char *key, char **data, size_t *len, char *etag,
               size_t etaglen, char *err, size_t errlen);
    /* etag (if not NULL, 128 bytes) receives the new object's ETag. */
    int (*put)(void *impl, const char *key, const void *data, size_t len,
               const struct aws_s3_put_options *opt, char *etag, char *err, size_t errlen);
    /* Deleting an absent key succeeds, as in S3. */
    int (*del)(void *impl, const char *key, char *err, size_t errlen);
    /* etag (if not NULL) receives the ETag. */
    int (*head)(void *impl, const char *key, char *etag, size_t etaglen, char *err,
                size_t errlen);
    /* Every key under prefix, in key order, with its ETag (free with aws_s3_objects_free). */
    int (*list)(void *impl, const char *prefix, struct aws_s3_objects *out, char *err,
                size_t errlen);
    /* A time limit (CLOCK_MONOTONIC) for this thread's calls; NULL clears it. */
    void (*set_deadline)(void *impl, const struct timespec *deadline);
    void (*destroy)(void *impl);
};

struct bucket {
    const struct bucket_ops *ops;
    void *impl;
};

static inline int bucket_get(const struct bucket *b, const char *key, char **data, size_t *len,
                             char *etag, size_t etaglen, char *err, size_t errlen)
{
    return b->ops->get(b->impl, key, data, len, etag, etaglen, err, errlen);
}
static inline int bucket_put(const struct bucket *b, const char *key, const void *data,
                             size_t len, const struct aws_s3_put_options *opt, char *etag,
                             char *err, size_t errlen)
{
    return b->ops->put(b->impl, key, data, len, opt, etag, err, errlen);
}
static inline int bucket_delete(const struct bucket *b, const char *key, char *err,
                                size_t errlen)
{
    return b->ops->del(b->impl, key, err, errlen);
}
static inline int bucket_head(const struct bucket *b, const char *key, char *etag,
                              size_t etaglen, char *err, size_t errlen)
{
    return b->ops->head(b->impl, key, etag, etaglen, err, errlen);
}
static inline int bucket_list(const struct bucket *b, const char *prefix,
                              struct aws_s3_objects *out, char *err, size_t errlen)
{
    return b->ops->list(b->impl, prefix, out, err, errlen);
}
static inline void bucket_set_deadline(const struct bucket *b, const struct timespec *deadline)
{
    b->ops->set_deadline(b->impl, deadline);
}
/* The ETag S3 gives an object written in one PUT with SSE-S3: the MD5 of
 * its bytes in hex, quoted. */
#define BUCKET_ETAG_LEN 35
void bucket_etag_of(const void *data, size_t len, char out[BUCKET_ETAG_LEN]);

/* Frees the bucket (a zeroed struct bucket is nothing to free). */
static inline void bucket_close(struct bucket *b)
{
    if (b->ops)
        b->ops->destroy(b->impl);
    b->ops = NULL;
    b->impl = NULL;
}

#endif
