/* One way to GET, PUT and DELETE a state-bucket object through an AWS
 * client: the store (store_s3.c) and the controller's cloud handle
 * (fs/control/cloud.c) both call these, so a bucket call fails, reports and
 * returns its ETag the same way whoever makes it.
 *
 * Each returns 0 or a negative errno (AWS_ERR_PRECONDITION when a
 * conditional PUT lost) with "<key>: <reason>" in err; a GET of an absent
 * object returns -ENOENT and leaves err alone. A NULL client is -ENOMEM. */
#ifndef PCFS_S3_OBJECT_H
#define PCFS_S3_OBJECT_H
#include <stddef.h>

#include "aws/aws.h"

/* *data is the caller's to free; etag (if not NULL) receives the ETag. */
int s3_object_get(struct aws_client *c, const char *bucket, const char *key, char **data,
                  size_t *len, char *etag, size_t etaglen, char *err, size_t errlen);
/* etag (if not NULL, 128 bytes) receives the new object's ETag. */
int s3_object_put(struct aws_client *c, const char *bucket, const char *key, const void *data,
                  size_t len, const struct aws_s3_put_options *opt, char *etag, char *err,
                  size_t errlen);
int s3_object_delete(struct aws_client *c, const char *bucket, const char *key, char *err,
                     size_t errlen);

#endif
