#include "aws/s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "aws/encode.h"
#include "aws/http.h"
#include "aws/util.h"
#include "aws/xml.h"

static int need_owner(struct aws_client *c, struct aws_error *err)
{
    if (!aws_client_bucket_owner(c)[0])
        return aws_error_set(err, -EINVAL, "MissingBucketOwner",
                             "S3 calls need the expected bucket owner (account id) first");
    return 0;
}

/* Bucket names go into hostnames and paths: allow only what S3 allows. */
static bool valid_bucket(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    if (n < 3 || n > 63)
        return false;
    for (const char *p = b; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
            return false;
    return strstr(b, "..") == NULL && b[0] != '.' && b[0] != '-';
}

/* One S3 call on `bucket`; path is "" for the bucket itself, else "/key". */
static int s3_call(struct aws_client *c, const char *bucket, const char *method, const char *path,
                   const char *query, const struct aws_header *extra, size_t n_extra,
                   const void *body, size_t body_len, const char *content_type,
                   bool with_owner, struct aws_response *resp, struct aws_error *err)
{
    memset(resp, 0, sizeof *resp);
    if (!valid_bucket(bucket))
        return aws_error_set(err, -EINVAL, "InvalidBucketName",
                             "\"%.80s\" is not a bucket name (3-63 of a-z 0-9 . -)",
                             bucket ? bucket : "");
    if (path[0] == '/' && path[1] == '\0')
        return aws_error_set(err, -EINVAL, "InvalidKey", "an object key cannot be empty");
    struct aws_endpoint ep;
    int rc = aws_endpoint_resolve("s3", aws_client_region(c), bucket, &ep, err);
    if (rc)
        return rc;
    struct aws_header hdrs[8];
    size_t nh = 0;
    if (with_owner)
        hdrs[nh++] = (struct aws_header){"x-amz-expected-bucket-owner", aws_client_bucket_owner(c)};
    for (size_t i = 0; i < n_extra && nh < 8; i++)
        hdrs[nh++] = extra[i];
    struct aws_request req = {
        .service = "s3", .endpoint = &ep, .method = method, .path = path, .query = query,
        .headers = hdrs, .n_headers = nh, .body = body, .body_len = body_len,
        .content_type = content_type, .head = strcmp(method, "HEAD") == 0,
    };
    return aws_client_send(c, &req, resp, err);
}

static char *key_path(const char *key)
{
    struct aws_buf b = {0};
    aws_buf_printf(&b, "/%s", key);
    return aws_buf_take(&b);
}

static void md5_base64(const void *data, size_t len, char out[32])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL);
    char *b64 = aws_base64_encode(md, mdlen);
    snprintf(out, 32, "%s", b64);
    free(b64);
}

int aws_s3_put_bucket_encryption(struct aws_client *c, const char *bucket, struct aws_error *err)
{
    int rc = need_owner(c, err);
    if (rc)
        return rc;
    static const char body[] =
        "<ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
        "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule>"
        "</ServerSideEncryptionConfiguration>";
    char md5[32];
    md5_base64(body, sizeof body - 1, md5);
    struct aws_header h[] = {{"Content-MD5", md5}};
    struct aws_response r;
    rc = s3_call(c, bucket, "PUT", "", "encryption=", h, 1, body, sizeof body - 1,
                 "application/xml", true, &r, err);
    aws_response_free(&r);
    return rc;
}

int aws_s3_create_bucket(struct aws_client *c, const char *bucket, struct aws_error *err)
{
    int rc = need_owner(c, err);
    if (rc)
        return rc;
    const char *region = aws_client_region(c);
    struct aws_buf body = {0};
    if (region[0] && strcmp(region, "us-east-1") != 0)
        aws_buf_printf(&body,
                       "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
                       region);
    struct aws_header h[] = {{"x-amz-acl", "private"},
                             {"x-amz-object-ownership", "BucketOwnerEnforced"}};
    struct aws_response r;
    /* CreateBucket takes no expected owner: the encryption call checks it. */
    rc = s3_call(c, bucket, "PUT", "", NULL, h, 2, body.data, body.len,
                 body.len ? "application/xml" : NULL, false, &r, err);
    aws_response_free(&r);
    aws_buf_free(&body);
    if (rc && strcmp(err->code, "BucketAlreadyOwnedByYou") == 0)
        rc = 0;
    if (rc == 0) {
        aws_error_clear(err);
        rc = aws_s3_put_bucket_encryption(c, bucket, err);
    }
    return rc;
}

int aws_s3_head_bucket(struct aws_client *c, const char *bucket, char *region_out, size_t n,
                       struct aws_error *err)
{
    int rc = need_owner(c, err);
    if (rc)
        return rc;
    struct aws_response r;
    rc = s3_call(c, bucket, "HEAD", "", NULL, NULL, 0, NULL, 0, NULL, true, &r, err);
    if (region_out && n)
        snprintf(region_out, n, "%s", r.bucket_region);
    if (rc == -ENOENT)
        aws_error_reword(err, -ENOENT, "NoSuchBucket", "bucket %s does not exist", bucket);
    else if (rc == -EACCES)
        aws_error_reword(err, -EACCES, "AccessDenied",
                      "bucket %s is not owned by account %s, or these credentials may not use it",
                      bucket, aws_client_bucket_owner(c));
    aws_response_free(&r);
    return rc;
}

static int precondition(int rc, struct aws_error *err, const char *key)
{
    if (rc == AWS_ERR_PRECONDITION)
        snprintf(err->message, sizeof err->message,
                 "the condition on %s did not hold (it was created or changed meanwhile)", key);
    return rc;
}

int aws_s3_put_object(struct aws_client *c, const char *bucket, const char *key,
                      const void *data, size_t len, const struct aws_s3_put_options *opt,
                      char *etag_out, struct aws_error *err)
{
    if (etag_out)
        etag_out[0] = '\0';
    int rc = need_owner(c, err);
    if (rc)
        return rc;
    struct aws_header h[3];
    size_t nh = 0;
    h[nh++] = (struct aws_header){"x-amz-server-side-encryption", "AES256"};
    if (opt && opt->if_none_match)
        h[nh++] = (struct aws_header){"If-None-Match", "*"};
    if (opt && opt->if_match && *opt->if_match)
        h[nh++] = (struct aws_header){"If-Match", opt->if_match};
    char *path = key_path(key);
    struct aws_response r;
    rc = s3_call(c, bucket, "PUT", path, NULL, h, nh, data ? data : "", len,
                 opt && opt->content_type ? opt->content_type : "application/octet-stream",
                 true, &r, err);
    if (rc == 0 && etag_out)
        snprintf(etag_out, 128, "%s", r.etag);
    aws_response_free(&r);
    free(path);
    return precondition(rc, err, key);
}

static void fill_info(struct aws_s3_object *info, const char *key, const struct aws_response *r,
                      long long size)
{
    if (!info)
        return;
    info->key = aws_xstrdup(key);
    info->etag = aws_xstrdup(r->etag);
    info->last_modified = aws_xstrdup(r->last_modified);
    info->size = size;
}

int aws_s3_get_object(struct aws_client *c, const char *bucket, const char *key, char **data,
                      size_t *len, struct aws_s3_object *info, struct aws_error *err)
{
    *data = NULL;
    *len = 0;
    if (info)
        memset(info, 0, sizeof *info);
    int rc = need_owner(c, err);
    if (rc)
        return rc;
    char *path = key_path(key);
    struct aws_response r;
    rc = s3_call(c, bucket, "GET", path, NULL, NULL, 0, NULL, 0, NULL, true, &r, err);
    if (rc == 0) {
        *len = r.body.len;
        fill_info(info, key, &r, (long long)r.body.len);
        *data = aws_buf_take(&r.body);
    }
    aws_response_free(&r);
    free(path);
    return rc;
}

int aws_s3_head_object(struct aws_client *c, const char *bucket, const char *key,
                       struct aws_s3_object *info, struct aws_error *err)
{
    if (info)
        memset(info, 0, sizeof *info);
    int rc = need_owner(c, err);
    if (rc)
        return rc;
    char *path = key_path(key);
    struct aws_response r;
    rc = s3_call(c, bucket, "HEAD", path, NULL, NULL, 0, NULL, 0, NULL, true, &r, err);
    if (rc == 0)
        fill_info(info, key, &r, r.content_length);
    else if (rc == -ENOENT)
        aws_error_reword(err, -ENOENT, "NoSuchKey", "%s is not in bucket %s", key, bucket);
    aws_response_free(&r);
    free(path);
    return rc;
}

int aws_s3_delete_object(struct aws_client *c, const char *bucket, const char *key,
                         struct aws_error *err)
{
    int rc = need_owner(c, err);
    if (rc)
        return rc;
    char *path = key_path(key);
    struct aws_response r;
    rc = s3_call(c, bucket, "DELETE", path, NULL, NULL, 0, NULL, 0, NULL, true, &r, err);
    aws_response_free(&r);
    free(path);
    return rc;
}

void aws_s3_object_free(struct aws_s3_object *o)
{
    free(o->key);
    free(o->etag);
    free(o->last_modified);
    memset(o, 0, sizeof *o);
}

void aws_s3_objects_free(struct aws_s3_objects *l)
{
    for (size_t i = 0; i < l->n; i++)
        aws_s3_object_free(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* encoding-type=url answers: '+' is a space (a real '+' comes as %2B),
 * as botocore's unquote_plus reads them. */
static char *form_decode(const char *s)
{
    char *plus = aws_xstrdup(s);
    for (char *p = plus; *p; p++)
        if (*p == '+')
            *p = ' ';
    char *out = aws_uri_decode(plus, strlen(plus));
    free(plus);
    return out;
}

int aws_s3_parse_list(const char *xml, size_t len, struct aws_s3_objects *out, char **next_token)
{
    *next_token = NULL;
    struct aws_xml *root = aws_xml_parse(xml, len);
    if (!root || strcmp(root->name, "ListBucketResult") != 0) {
        aws_xml_free(root);
        return -EPROTO;
    }
    bool url_encoded = strcmp(aws_xml_text(root, "EncodingType"), "url") == 0;
    for (struct aws_xml *x = aws_xml_child(root, "Contents"); x; x = aws_xml_next_named(x)) {
        out->v = aws_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        struct aws_s3_object *o = &out->v[out->n++];
        o->key = url_encoded ? form_decode(aws_xml_text(x, "Key"))
                             : aws_xstrdup(aws_xml_text(x, "Key"));
        o->etag = aws_xstrdup(aws_xml_text(x, "ETag"));
        o->last_modified = aws_xstrdup(aws_xml_text(x, "LastModified"));
        o->size = atoll(aws_xml_text(x, "Size"));
    }
    const char *tok = aws_xml_text(root, "NextContinuationToken");
    if (strcmp(aws_xml_text(root, "IsTruncated"), "true") == 0 && *tok)
        *next_token = aws_xstrdup(tok);
    aws_xml_free(root);
    return 0;
}

int aws_s3_list_objects(struct aws_client *c, const char *bucket, const char *prefix,
                        int page_size, struct aws_s3_objects *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = need_owner(c, err);
    if (rc)
        return rc;
    char *token = NULL;
    do {
        struct aws_buf q = {0};
        if (token) {
            aws_buf_puts(&q, "continuation-token=");
            aws_uri_encode(&q, token, strlen(token), false);
            aws_buf_putc(&q, '&');
        }
        /* Keys may hold characters XML 1.0 cannot carry: ask for them encoded. */
        aws_buf_printf(&q, "encoding-type=url&list-type=2&max-keys=%d",
                       page_size > 0 && page_size <= 1000 ? page_size : 1000);
        if (prefix && *prefix) {
            aws_buf_puts(&q, "&prefix=");
            aws_uri_encode(&q, prefix, strlen(prefix), false);
        }
        free(token);
        token = NULL;
        struct aws_response r;
        rc = s3_call(c, bucket, "GET", "", aws_buf_str(&q), NULL, 0, NULL, 0, NULL, true, &r, err);
        if (rc == 0 && aws_s3_parse_list(r.body.data, r.body.len, out, &token) != 0) {
            rc = aws_error_set(err, -EPROTO, "InvalidResponse",
                               "S3 ListObjectsV2 answered with a document that is not a listing");
            snprintf(err->request_id, sizeof err->request_id, "%s", r.request_id);
        }
        aws_response_free(&r);
        aws_buf_free(&q);
    } while (rc == 0 && token);
    free(token);
    if (rc)
        aws_s3_objects_free(out);
    return rc;
}

int aws_s3_presign(struct aws_client *c, const char *method, const char *bucket,
                   const char *key, long expires, char **url, struct aws_error *err)
{
    *url = NULL;
    if (strcmp(method, "GET") != 0 && strcmp(method, "PUT") != 0)
        return aws_error_set(err, -EINVAL, "InvalidParameter", "presign GET or PUT, not %s", method);
    if (expires < 1 || expires > 604800)
        return aws_error_set(err, -EINVAL, "InvalidParameter",
                             "a presigned URL lives 1 s to 7 days, not %ld s", expires);
    if (!valid_bucket(bucket) || !key || !*key)
        return aws_error_set(err, -EINVAL, "InvalidParameter", "presign needs a bucket and a key");
    struct aws_endpoint ep;
    int rc = aws_endpoint_resolve("s3", aws_client_region(c), bucket, &ep, err);
    if (rc)
        return rc;
    char *path = key_path(key);
    rc = aws_client_presign(c, "s3", &ep, method, path, expires, url, err);
    free(path);
    return rc;
}
