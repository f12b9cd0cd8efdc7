/* The one transient-error classifier (aws/error.h): which answers mean
 * "try later" (and which of those count against a cap), which are final. */
#include <stdio.h>

#include "aws/error.h"
#include "tests/unit/check.h"

static struct aws_error failed(int status, const char *code)
{
    struct aws_error e;
    aws_error_set(&e, aws_error_errno(status, code), code, "test");
    e.http_status = status;
    return e;
}

static void test_try_later(void)
{
    static const struct { int status; const char *code; } cases[] = {
        {400, "Throttling"},         {400, "RequestLimitExceeded"}, {503, "SlowDown"},
        {400, "EC2ThrottledException"}, {500, "InternalError"},     {503, "Unavailable"},
        {503, "ServiceUnavailable"}, {400, "RequestTimeout"},       {500, "Whatever"},
        {502, ""},                   {504, ""},                     {429, ""},
        {0, "RequestFailed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct aws_error e = failed(cases[i].status, cases[i].code);
        CHECK_INT(aws_error_classify(cases[i].status, cases[i].code), AWS_ERROR_TRANSIENT);
        if (!aws_error_is_transient(&e))
            fprintf(stderr, "not transient: %d %s\n", cases[i].status, cases[i].code);
        CHECK(aws_error_is_transient(&e));
    }
}

static void test_no_capacity_counts(void)
{
    struct aws_error e = failed(500, "InsufficientInstanceCapacity");
    CHECK_INT(aws_error_classify(500, "InsufficientInstanceCapacity"), AWS_ERROR_NO_CAPACITY);
    CHECK(aws_error_is_transient(&e));
    /* The client itself does not retry it: a type EC2 lacks now stays so. */
    CHECK_INT(aws_error_classify(400, "InsufficientInstanceCapacity"), AWS_ERROR_NO_CAPACITY);
}

static void test_final(void)
{
    static const struct { int status; const char *code; } cases[] = {
        {400, "InvalidKeyPair.NotFound"}, {403, "AccessDenied"}, {412, "PreconditionFailed"},
        {404, ""}, {400, "InvalidParameterValue"}, {400, "Unsupported"},
        {400, "RequestFailed"}, /* an answer came: not "no answer" */
        {501, ""},              /* not implemented stays so */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct aws_error e = failed(cases[i].status, cases[i].code);
        CHECK_INT(aws_error_classify(cases[i].status, cases[i].code), AWS_ERROR_FINAL);
        CHECK(!aws_error_is_transient(&e));
    }
    struct aws_error none = {0};
    CHECK(!aws_error_is_transient(&none));
    CHECK(!aws_error_is_transient(NULL));
    CHECK_INT(aws_error_classify(400, NULL), AWS_ERROR_FINAL);
}

/* RunInstances naming a profile EC2 does not see yet: only that answer. */
static void test_profile_not_visible(void)
{
    struct aws_error e = failed(400, "InvalidParameterValue");
    snprintf(e.message, sizeof(e.message), "Value (lab3-head) for parameter iamInstanceProfile."
             "name is invalid. Invalid IAM Instance Profile name");
    CHECK(aws_error_profile_not_visible(&e));
    snprintf(e.message, sizeof(e.message), "Value (x) for parameter instanceType is invalid.");
    CHECK(!aws_error_profile_not_visible(&e));
    struct aws_error other = failed(400, "InvalidKeyPair.NotFound");
    snprintf(other.message, sizeof(other.message), "Invalid IAM Instance Profile");
    CHECK(!aws_error_profile_not_visible(&other));
    CHECK(!aws_error_profile_not_visible(NULL));
}

int main(void)
{
    RUN(test_profile_not_visible);
    RUN(test_try_later);
    RUN(test_no_capacity_counts);
    RUN(test_final);
    return check_finish();
}
