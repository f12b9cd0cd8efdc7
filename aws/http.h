/* The client's internal half (client.c implements both client.h and this):
 * sending one signed AWS request with retries, for the service modules
 * (ec2.c, s3.c, sts.c, imds.c). Not part of the public surface. */
#ifndef PCFS_AWS_HTTP_H
#define PCFS_AWS_HTTP_H
#include <stdbool.h>
#include <stddef.h>

#include "aws/client.h"
#include "aws/endpoint.h"
#include "aws/sigv4.h"
#include "aws/util.h"

/* curl_global_init, once per process (pthread_once). */
void aws_http_global_init(void);

struct aws_request {
    const char *service;            /* signing name: "ec2", "s3", "sts", "iam" */
    const char *region;             /* signing region; NULL = the client's (IAM: global) */
    const struct aws_endpoint *endpoint;
    const char *method;
    const char *path;               /* decoded, appended to the endpoint's base path */
    const char *query;              /* encoded, may be NULL */
    const struct aws_header *headers;   /* extra headers, all signed */
    size_t n_headers;
    const void *body;
    size_t body_len;
    const char *content_type;       /* NULL = none */
    bool head;                      /* HEAD: no body expected */
};

struct aws_response {
    long status;
    struct aws_buf body;
    char etag[128];
    char request_id[96];
    char bucket_region[64];         /* x-amz-bucket-region */
    char last_modified[64];
    char content_type[128];
    long long content_length;
};
void aws_response_free(struct aws_response *r);

/* Sends with retries. Returns 0 for a 2xx answer; otherwise a negative
 * errno with err filled from AWS's error document (code, message, request
 * id) or the transport failure. resp is filled either way. */
int aws_client_send(struct aws_client *c, const struct aws_request *req,
                    struct aws_response *resp, struct aws_error *err);

/* Parses an AWS error document (EC2 <Response><Errors><Error>, S3 <Error>,
 * STS <ErrorResponse>) into code/message/request id. Returns 0 when one was
 * found. Exposed for the fuzzers. */
int aws_parse_error_xml(const char *data, size_t len, struct aws_error *err);

/* Signs a request URL for later use by someone else (presigned). */
int aws_client_presign(struct aws_client *c, const char *service, const struct aws_endpoint *ep,
                       const char *method, const char *path, long expires, char **url_out,
                       struct aws_error *err);

/* Whether an HTTP answer is worth another attempt within the call:
 * aws_error_classify(status, code) == AWS_ERROR_TRANSIENT (kept for tests). */
bool aws_retryable_status(long status, const char *code);
#endif
