/* AWS Signature Version 4: the Authorization-header form and the presigned
 * (query-string) form. Pure computation: no I/O, no clock (the caller passes
 * the time), so the AWS test suite can check every step.
 *
 * Paths are given decoded ("/bucket/my key"); the signer URI-encodes them
 * once, which is what S3 wants and what the wire path must be (the caller
 * sends aws_sigv4_wire_path()). normalize_path (every service but S3)
 * removes "." / ".." segments and repeated slashes first. The query is
 * given as sent on the wire (already encoded); the signer decodes and
 * re-encodes each name and value to canonicalise it. */
#ifndef PCFS_AWS_SIGV4_H
#define PCFS_AWS_SIGV4_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/util.h"

/* Credentials; strings owned by the struct (aws_credentials_clear wipes and
 * frees them). session_token is NULL for long-term keys. */
struct aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    time_t expiration;      /* 0 = does not expire */
};
void aws_credentials_copy(struct aws_credentials *dst, const struct aws_credentials *src);
void aws_credentials_clear(struct aws_credentials *c);

struct aws_header {
    const char *name;
    const char *value;
};

struct aws_sigv4_request {
    const char *method;
    const char *path;               /* decoded, starts with '/' */
    const char *query;              /* encoded, without '?'; NULL or "" for none */
    const struct aws_header *headers;   /* must include Host; all are signed */
    size_t n_headers;
    const void *body;
    size_t body_len;
    const char *payload_hash;       /* hex SHA-256 or "UNSIGNED-PAYLOAD"; NULL = hash body */
};

struct aws_sigv4_options {
    const char *region;
    const char *service;
    time_t now;
    bool normalize_path;            /* false for S3 */
    bool content_sha256_header;     /* add and sign x-amz-content-sha256 (S3) */
    bool presign;                   /* query-string form */
    long expires;                   /* presign: X-Amz-Expires seconds */
    bool unsigned_session_token;    /* add the token after signing (rare services) */
};

#define AWS_SIGV4_MAX_ADDED 4
struct aws_sigv4_result {
    /* Header form: headers to add to the request, in this order. */
    struct {
        const char *name;           /* static string */
        char *value;
    } added[AWS_SIGV4_MAX_ADDED];
    size_t n_added;
    /* Presigned form: "X-Amz-Algorithm=...&...&X-Amz-Signature=..." to append
     * to the query (after '&' when there is one, else after '?'). */
    char *query_suffix;
    /* The intermediate steps, for tests. The canonical request holds the
     * session token when there is one: never log it. */
    char *canonical_request;
    char *string_to_sign;
    char signature[65];
};

/* Returns 0, or -EINVAL when the request cannot be signed (no credentials,
 * no Host header). */
int aws_sigv4_sign(const struct aws_credentials *creds, const struct aws_sigv4_request *req,
                   const struct aws_sigv4_options *opt, struct aws_sigv4_result *out);
void aws_sigv4_result_free(struct aws_sigv4_result *r);

/* The path as it goes on the request line: each byte but unreserved ones
 * and '/' percent-encoded (the same encoding the signer signs). */
char *aws_sigv4_wire_path(const char *path);
#endif
