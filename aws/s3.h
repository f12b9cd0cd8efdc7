/* S3 through its REST API: the bucket and object calls a state store needs.
 * Every call sends x-amz-expected-bucket-owner (aws_client_set_bucket_owner
 * must have been called, else -EINVAL), because bucket names are global and
 * guessable. The client's region must be the bucket's. Results are owned by
 * the caller and freed with the matching _free function. */
#ifndef PCFS_AWS_S3_H
#define PCFS_AWS_S3_H
#include <stdbool.h>
#include <stddef.h>

#include "aws/client.h"
#include "aws/error.h"

/* Creates a private bucket in the client's region (LocationConstraint
 * outside us-east-1) and turns on default encryption (SSE-S3). A bucket
 * we already own is not an error. */
int aws_s3_create_bucket(struct aws_client *c, const char *bucket, struct aws_error *err);
/* Turns on default SSE-S3 encryption (PutBucketEncryption). */
int aws_s3_put_bucket_encryption(struct aws_client *c, const char *bucket, struct aws_error *err);
/* 0 when the bucket exists and the expected owner owns it; -ENOENT when it
 * does not exist; -EACCES when someone else owns it; -EXDEV when it is in
 * another region than the client's. region_out (may be NULL) receives the
 * bucket's region when S3 says it. */
int aws_s3_head_bucket(struct aws_client *c, const char *bucket, char *region_out, size_t n,
                       struct aws_error *err);

struct aws_s3_put_options {
    const char *content_type;   /* NULL = application/octet-stream */
    bool if_none_match;         /* only create: If-None-Match: * */
    const char *if_match;       /* only replace this ETag: If-Match */
};
/* Stores an object (SSE-S3). A lost condition returns AWS_ERR_PRECONDITION.
 * etag_out (may be NULL, 128 bytes) receives the new ETag, quotes included. */
int aws_s3_put_object(struct aws_client *c, const char *bucket, const char *key,
                      const void *data, size_t len, const struct aws_s3_put_options *opt,
                      char *etag_out, struct aws_error *err);

struct aws_s3_object {
    char *key;
    char *etag;
    char *last_modified;
    long long size;
};
void aws_s3_object_free(struct aws_s3_object *o);

/* Reads an object; *data (NUL-terminated, len excluding the NUL) is the
 * caller's to free. info (may be NULL) gets etag, last_modified and size. */
int aws_s3_get_object(struct aws_client *c, const char *bucket, const char *key, char **data,
                      size_t *len, struct aws_s3_object *info, struct aws_error *err);
int aws_s3_head_object(struct aws_client *c, const char *bucket, const char *key,
                       struct aws_s3_object *info, struct aws_error *err);
/* Deleting an absent key succeeds, as in S3. */
int aws_s3_delete_object(struct aws_client *c, const char *bucket, const char *key,
                         struct aws_error *err);

struct aws_s3_objects {
    struct aws_s3_object *v;
    size_t n;
};
void aws_s3_objects_free(struct aws_s3_objects *l);
/* Every key under prefix (all pages of ListObjectsV2; page_size 0 = 1000). */
int aws_s3_list_objects(struct aws_client *c, const char *bucket, const char *prefix,
                        int page_size, struct aws_s3_objects *out, struct aws_error *err);

/* A presigned URL for GET or PUT of one object, valid `expires` seconds
 * (1..604800). It carries the key id and, with temporary credentials, the
 * session token, never the secret key. *url is the caller's to free. */
int aws_s3_presign(struct aws_client *c, const char *method, const char *bucket,
                   const char *key, long expires, char **url, struct aws_error *err);

/* Parser of a ListObjectsV2 page (exposed for tests and fuzzers). Appends to
 * *out; *next_token gets NextContinuationToken when IsTruncated, else NULL. */
int aws_s3_parse_list(const char *xml, size_t len, struct aws_s3_objects *out, char **next_token);
#endif
