/* The error every AWS-layer call fills in: a negative errno for code, plus
 * what AWS said (code, message, request id) so a user learns why. Messages
 * never hold credentials: they are built from AWS's answer or our own text. */
#ifndef PCFS_AWS_ERROR_H
#define PCFS_AWS_ERROR_H
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

/* A conditional S3 write (If-None-Match / If-Match) lost: HTTP 412, or 409
 * ConditionalRequestConflict. Distinct from every other failure. */
#define AWS_ERR_PRECONDITION (-ECANCELED)

struct aws_error {
    int err;                /* negative errno; 0 = no error */
    int http_status;        /* 0 when no HTTP answer came back */
    char code[96];          /* AWS's error code, e.g. InvalidKeyPair.NotFound */
    char message[512];      /* AWS's message, or ours */
    char request_id[96];    /* AWS's request id, "" if none */
};

void aws_error_clear(struct aws_error *e);
/* Replaces the whole error with err/code/message (printf-style); returns
 * err. e may be NULL. */
int aws_error_set(struct aws_error *e, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Like aws_error_set but keeps http_status and request_id: for a clearer
 * message about an answer AWS gave. */
int aws_error_reword(struct aws_error *e, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "InvalidKeyPair.NotFound: The key pair 'x' does not exist (HTTP 400, request id ...)" */
const char *aws_error_format(const struct aws_error *e, char *buf, size_t n);
/* The negative errno AWS error codes and HTTP statuses map to. */
int aws_error_errno(int http_status, const char *code);

/* What a failed call says about trying again: the one classifier, used by
 * the client's own retries (which retry AWS_ERROR_TRANSIENT answers only)
 * and by callers that decide whether to try again on a later pass. */
enum aws_error_class {
    AWS_ERROR_FINAL,        /* a verdict: the request is wrong or refused; retrying cannot help */
    AWS_ERROR_TRANSIENT,    /* throttled (Throttling*, RequestLimitExceeded, SlowDown...),
                             * 429/5xx, InternalError, (Service)Unavailable, RequestTimeout,
                             * or no answer at all (RequestFailed, HTTP status 0) */
    AWS_ERROR_NO_CAPACITY,  /* InsufficientInstanceCapacity: EC2 has none now; try later,
                             * but a caller with a cap (relaunches) counts these tries */
};
enum aws_error_class aws_error_classify(int http_status, const char *code);
/* "Try later": AWS_ERROR_TRANSIENT or AWS_ERROR_NO_CAPACITY. e holds an
 * error (e->err != 0); a cleared error is not transient. */
bool aws_error_is_transient(const struct aws_error *e);
/* EC2 does not see an instance profile (yet): RunInstances' answer while a
 * new profile propagates from IAM, which takes seconds, and the same answer
 * as for one that does not exist (InvalidParameterValue, "Invalid IAM
 * Instance Profile ..."). A caller that has just made the profile retries. */
bool aws_error_profile_not_visible(const struct aws_error *e);
#endif
