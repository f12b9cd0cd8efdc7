#include "aws/error.h"

#include "aws/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void aws_error_clear(struct aws_error *e)
{
    if (e)
        memset(e, 0, sizeof *e);
}

static void vset(struct aws_error *e, int err, const char *code, const char *fmt, va_list ap)
{
    e->err = err;
    snprintf(e->code, sizeof e->code, "%s", code ? code : "");
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

int aws_error_set(struct aws_error *e, int err, const char *code, const char *fmt, ...)
{
    if (!e)
        return err;
    memset(e, 0, sizeof *e);
    va_list ap;
    va_start(ap, fmt);
    vset(e, err, code, fmt, ap);
    va_end(ap);
    return err;
}

int aws_error_reword(struct aws_error *e, int err, const char *code, const char *fmt, ...)
{
    if (!e)
        return err;
    va_list ap;
    va_start(ap, fmt);
    vset(e, err, code, fmt, ap);
    va_end(ap);
    return err;
}

const char *aws_error_format(const struct aws_error *e, char *buf, size_t n)
{
    int off = snprintf(buf, n, "%s%s%s", e->code, e->code[0] ? ": " : "", e->message);
    if (off < 0 || (size_t)off >= n)
        return buf;
    if (e->http_status && e->request_id[0])
        snprintf(buf + off, n - (size_t)off, " (HTTP %d, request id %s)",
                 e->http_status, e->request_id);
    else if (e->http_status)
        snprintf(buf + off, n - (size_t)off, " (HTTP %d)", e->http_status);
    return buf;
}

int aws_error_errno(int http_status, const char *code)
{
    if (!code)
        code = "";
    if (http_status == 412 || strcmp(code, "PreconditionFailed") == 0 ||
        strcmp(code, "ConditionalRequestConflict") == 0)
        return AWS_ERR_PRECONDITION;
    if (http_status == 301 || strcmp(code, "PermanentRedirect") == 0 ||
        strcmp(code, "AuthorizationHeaderMalformed") == 0)
        return -EXDEV;     /* the resource lives in another region */
    if (strstr(code, "NotFound") || strncmp(code, "NoSuch", 6) == 0 ||
        http_status == 404)
        return -ENOENT;
    if (strcmp(code, "AccessDenied") == 0 || strcmp(code, "UnauthorizedOperation") == 0 ||
        strcmp(code, "AuthFailure") == 0 || strcmp(code, "InvalidAccessKeyId") == 0 ||
        strcmp(code, "SignatureDoesNotMatch") == 0 || strcmp(code, "ExpiredToken") == 0 ||
        strcmp(code, "InvalidClientTokenId") == 0 || http_status == 401 || http_status == 403)
        return -EACCES;
    if (strcmp(code, "BucketAlreadyOwnedByYou") == 0 || strcmp(code, "BucketAlreadyExists") == 0 ||
        strcmp(code, "IdempotentParameterMismatch") == 0 || http_status == 409)
        return -EEXIST;
    if (strstr(code, "Throttl") || strcmp(code, "RequestLimitExceeded") == 0 ||
        strcmp(code, "SlowDown") == 0 || http_status == 429)
        return -EAGAIN;
    if (strstr(code, "LimitExceeded") || strcmp(code, "InsufficientInstanceCapacity") == 0)
        return -ENOSPC;
    if (http_status >= 500)
        return -EIO;
    if (http_status >= 400)
        return -EINVAL;
    return -EIO;
}

static const char *const throttling_codes[] = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
};
static const char *const transient_codes[] = {
    "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
    "ServiceUnavailable", "Unavailable", "IDPCommunicationError",
};
static const char *const capacity_codes[] = {
    "InsufficientInstanceCapacity",
};

static bool listed(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0)
            return true;
    return false;
}
#define LISTED(code, list) listed(code, list, sizeof list / sizeof *list)

enum aws_error_class aws_error_classify(int http_status, const char *code)
{
    if (!code)
        code = "";
    if (LISTED(code, capacity_codes))
        return AWS_ERROR_NO_CAPACITY;
    if (LISTED(code, throttling_codes) || LISTED(code, transient_codes))
        return AWS_ERROR_TRANSIENT;
    if (http_status == 0 && strcmp(code, "RequestFailed") == 0)
        return AWS_ERROR_TRANSIENT; /* the client's code for "no answer came back" */
    if (http_status == 429 || http_status == 500 || http_status == 502 || http_status == 503 ||
        http_status == 504)
        return AWS_ERROR_TRANSIENT;
    return AWS_ERROR_FINAL;
}

bool aws_retryable_status(long status, const char *code)
{
    return aws_error_classify((int)status, code) == AWS_ERROR_TRANSIENT;
}

bool aws_error_is_transient(const struct aws_error *e)
{
    return e && e->err != 0 && aws_error_classify(e->http_status, e->code) != AWS_ERROR_FINAL;
}

bool aws_error_profile_not_visible(const struct aws_error *e)
{
    return e && e->err != 0 && strcmp(e->code, "InvalidParameterValue") == 0 &&
           strstr(e->message, "Invalid IAM Instance Profile") != NULL;
}
