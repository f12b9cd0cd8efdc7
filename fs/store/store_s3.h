/* The state bucket as the desired-state store (DESIGN.md section 2). Layout
 * under clusters/<name>/: `cluster` (the marker mkdir writes, holding the
 * creation time), `config`, `generation`, `hooks/pre/<file>`,
 * `hooks/post/<file>`, `events` and its rolled parts `events.N`
 * (fs/store/events.h), `last_error`, `deleting`. Every object is written
 * with the bucket owner named; events are appended with If-Match so two
 * mounts never lose each other's lines. load() lists the prefix and fetches
 * only objects whose ETag changed since the last load (the objcache), and
 * parses a config once per generation (config_memo). */
#ifndef PCFS_STORE_S3_H
#define PCFS_STORE_S3_H
#include <stddef.h>

#include "aws/creds.h"
#include "fs/store/bucket.h"
#include "fs/store/store.h"

struct store_s3_params {
    struct aws_creds_provider *creds; /* shared, thread-safe; outlives the store */
    const char *region;               /* the bucket's */
    const char *bucket;
    const char *account_id;           /* expected bucket owner */
};

/* Opens the store on an existing bucket; 0 or negative errno with err. */
int store_s3_open(struct store *out, const struct store_s3_params *p, char *err, size_t errlen);
/* The same store on any bucket (bucket_mem in unit tests), which must
 * outlive the store. */
int store_s3_open_on(struct store *out, const struct bucket *b, char *err, size_t errlen);

#endif
