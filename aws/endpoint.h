/* Where each service lives: AWS's regional hostnames, or a custom endpoint
 * from AWS_ENDPOINT_URL_<SERVICE> (EC2, S3, STS, IAM) or AWS_ENDPOINT_URL.
 * IAM is global: iam.amazonaws.com (iam.cn-north-1.amazonaws.com.cn in China).
 * S3 uses virtual-hosted buckets on AWS (path style for bucket names with
 * dots) and path style on custom endpoints. */
#ifndef PCFS_AWS_ENDPOINT_H
#define PCFS_AWS_ENDPOINT_H
#include <stdbool.h>

#include "aws/error.h"

struct aws_endpoint {
    char scheme[8];         /* "https" or "http" */
    char host[256];         /* Host header value (with :port when not default) */
    char base_path[256];    /* decoded path prefix, "" or "/something" */
    bool custom;
};

/* service: "ec2", "s3", "sts", "iam". bucket: for S3, the bucket to address (or
 * NULL for service-level calls); it becomes part of host or base_path. */
int aws_endpoint_resolve(const char *service, const char *region, const char *bucket,
                         struct aws_endpoint *out, struct aws_error *err);
/* "scheme://host" + base_path, encoded. */
void aws_endpoint_url(const struct aws_endpoint *ep, const char *path, char *out, size_t n);
#endif
