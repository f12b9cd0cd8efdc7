#include "fs/control/cloud.h"
#include "fs/aws_policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/store/s3_object.h"

void cloud_init(struct cloud *cl, struct aws_creds_provider *creds, const char *bucket,
                const char *account, const char *bucket_region)
{
    memset(cl, 0, sizeof(*cl));
    cl->creds = creds;
    cl->bucket = bucket;
    cl->account = account;
    cl->bucket_region = bucket_region;
}

void cloud_destroy(struct cloud *cl)
{
    for (size_t i = 0; i < cl->n_clients; i++)
        aws_client_free(cl->clients[i].client);
    cl->n_clients = 0;
}

struct aws_client *cloud_client(struct cloud *cl, const char *region)
{
    for (size_t i = 0; i < cl->n_clients; i++)
        if (strcmp(cl->clients[i].region, region) == 0)
            return cl->clients[i].client;
    if (cl->n_clients == CLOUD_MAX_REGIONS)
        return NULL;
    struct aws_client *c = aws_client_new_with(cl->creds, region, &PCFS_AWS_CONTROLLER);
    if (!c)
        return NULL;
    aws_client_set_bucket_owner(c, cl->account);
    snprintf(cl->clients[cl->n_clients].region, 64, "%s", region);
    cl->clients[cl->n_clients++].client = c;
    return c;
}

int cloud_get(struct cloud *cl, const char *key, char **data, size_t *len, char *etag,
              size_t etaglen, char *err, size_t errlen)
{
    return s3_object_get(cloud_client(cl, cl->bucket_region), cl->bucket, key, data, len, etag,
                         etaglen, err, errlen);
}

int cloud_put(struct cloud *cl, const char *key, const void *data, size_t len,
              const struct aws_s3_put_options *opt, char *err, size_t errlen)
{
    return s3_object_put(cloud_client(cl, cl->bucket_region), cl->bucket, key, data, len, opt,
                         NULL, err, errlen);
}

int cloud_delete(struct cloud *cl, const char *key, char *err, size_t errlen)
{
    return s3_object_delete(cloud_client(cl, cl->bucket_region), cl->bucket, key, err, errlen);
}

int cloud_presign(struct cloud *cl, const char *method, const char *key, long seconds,
                  char **url, char *err, size_t errlen)
{
    struct aws_client *c = cloud_client(cl, cl->bucket_region);
    if (!c)
        return -ENOMEM;
    struct aws_error e = {0};
    int rc = aws_s3_presign(c, method, cl->bucket, key, seconds, url, &e);
    if (rc) {
        char buf[768];
        snprintf(err, errlen, "%s: %s", key, aws_error_format(&e, buf, sizeof(buf)));
    }
    return rc;
}
