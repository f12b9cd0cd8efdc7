/* The controller's handle on the cloud: credentials, the state bucket and
 * its owner, and one AWS client per region. It belongs to the controller
 * thread (clients are never shared between threads). Small helpers for the
 * bucket objects the controller reads and writes besides the desired state:
 * cluster secrets, generated files, launch intents, node reports, the lease. */
#ifndef PCFS_CLOUD_H
#define PCFS_CLOUD_H
#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"

#define CLOUD_MAX_REGIONS 32

struct cloud {
    struct aws_creds_provider *creds;
    const char *bucket;
    const char *account;
    const char *bucket_region;
    struct {
        char region[64];
        struct aws_client *client;
    } clients[CLOUD_MAX_REGIONS];
    size_t n_clients;
};

void cloud_init(struct cloud *cl, struct aws_creds_provider *creds, const char *bucket,
                const char *account, const char *bucket_region);
void cloud_destroy(struct cloud *cl);
/* This region's client (made on first use); NULL on ENOMEM or too many. */
struct aws_client *cloud_client(struct cloud *cl, const char *region);

/* Bucket objects. get: -ENOENT when absent; *data is the caller's. */
int cloud_get(struct cloud *cl, const char *key, char **data, size_t *len, char *etag,
              size_t etaglen, char *err, size_t errlen);
int cloud_put(struct cloud *cl, const char *key, const void *data, size_t len,
              const struct aws_s3_put_options *opt, char *err, size_t errlen);
int cloud_delete(struct cloud *cl, const char *key, char *err, size_t errlen);
int cloud_presign(struct cloud *cl, const char *method, const char *key, long seconds,
                  char **url, char *err, size_t errlen);

#endif
