/* The state bucket over aws/ (bucket.h's seam): one AWS client per calling
 * thread (clients are never shared between threads), made on first use
 * with the given timeout and retry policy, naming the bucket's owner on
 * every call. */
#ifndef PCFS_BUCKET_S3_H
#define PCFS_BUCKET_S3_H
#include <stddef.h>

#include "aws/aws.h"
#include "fs/store/bucket.h"

/* 0, or -ENOMEM with err. */
int bucket_s3_open(struct bucket *out, struct aws_creds_provider *creds, const char *region,
                   const char *bucket, const char *account,
                   const struct aws_client_policy *policy, char *err, size_t errlen);

#endif
