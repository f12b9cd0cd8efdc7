#include "fs/store/s3_object.h"

#include <errno.h>
#include <stdio.h>

static int failed(int rc, const struct aws_error *e, const char *key, char *err, size_t errlen)
{
    char buf[768];
    snprintf(err, errlen, "%s: %s", key, aws_error_format(e, buf, sizeof(buf)));
    return rc;
}

static int no_client(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

int s3_object_get(struct aws_client *c, const char *bucket, const char *key, char **data,
                  size_t *len, char *etag, size_t etaglen, char *err, size_t errlen)
{
    if (!c)
        return no_client(err, errlen);
    struct aws_error e = {0};
    struct aws_s3_object info = {0};
    int rc = aws_s3_get_object(c, bucket, key, data, len, &info, &e);
    if (rc == 0 && etag)
        snprintf(etag, etaglen, "%s", info.etag ? info.etag : "");
    aws_s3_object_free(&info);
    return rc && rc != -ENOENT ? failed(rc, &e, key, err, errlen) : rc;
}

int s3_object_put(struct aws_client *c, const char *bucket, const char *key, const void *data,
                  size_t len, const struct aws_s3_put_options *opt, char *etag, char *err,
                  size_t errlen)
{
    if (!c)
        return no_client(err, errlen);
    struct aws_error e = {0};
    int rc = aws_s3_put_object(c, bucket, key, data, len, opt, etag, &e);
    return rc ? failed(rc, &e, key, err, errlen) : 0;
}

int s3_object_delete(struct aws_client *c, const char *bucket, const char *key, char *err,
                     size_t errlen)
{
    if (!c)
        return no_client(err, errlen);
    struct aws_error e = {0};
    int rc = aws_s3_delete_object(c, bucket, key, &e);
    return rc ? failed(rc, &e, key, err, errlen) : 0;
}
