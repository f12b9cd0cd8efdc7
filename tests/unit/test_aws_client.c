/* The HTTP client against a scripted local server: standard-mode retries
 * (throttling codes, 5xx, connection resets), final 4xx errors with AWS's
 * code/message/request id, the retry quota, AWS_MAX_ATTEMPTS, endpoint
 * resolution, the S3 and EC2 request shapes, and that no secret reaches an
 * error message. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "aws/aws.h"
#include "aws/endpoint.h"
#include "aws/http.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_http.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY"
#define TOKEN "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"

static struct fake_http srv;
static struct aws_creds_provider *creds;
static struct aws_client *client;

static const char run_ok[] =
    "<RunInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
    "<requestId>r-1</requestId><instancesSet><item><instanceId>i-0123</instanceId>"
    "<instanceState><code>0</code><name>pending</name></instanceState>"
    "<instanceType>t2.micro</instanceType><clientToken>tok-1</clientToken>"
    "<tagSet><item><key>Name</key><value>n1</value></item></tagSet></item></instancesSet>"
    "</RunInstancesResponse>";

static const char throttled[] =
    "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit "
    "exceeded.</Message></Error></Errors><RequestID>req-throttle</RequestID></Response>";

static const char keypair_missing[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
    "<Code>InvalidKeyPair.NotFound</Code><Message>The key pair 'nokey' does not exist</Message>"
    "</Error></Errors><RequestID>req-42</RequestID></Response>";

static void run_one(struct aws_ec2_instances *out, struct aws_error *err, int *rc)
{
    struct aws_tag tags[] = {{"pclusterfs:cluster", "c1"}, {"Name", "c1-head"}};
    const char *sgs[] = {"sg-1"};
    struct aws_ec2_run_params p = {
        .image_id = "ami-1", .instance_type = "t2.micro", .key_name = "nokey",
        .subnet_id = "subnet-1", .security_group_ids = sgs, .n_security_groups = 1,
        .client_token = "tok-1", .user_data = "#!/bin/sh\necho hi\n", .user_data_len = 18,
        .tags = tags, .n_tags = 2,
    };
    *rc = aws_ec2_run_instances(client, &p, out, err);
}

static void test_retries_throttling_5xx_and_resets(void)
{
    struct fake_reply script[] = {{400, throttled, NULL}, {503, "", NULL}, {200, run_ok, NULL}};
    fake_script(&srv, script, 3);
    aws_client_set_max_attempts(client, 3);
    struct aws_ec2_instances out;
    struct aws_error err;
    int rc;
    run_one(&out, &err, &rc);
    CHECK_INT(rc, 0);
    CHECK_INT(fake_seen(&srv), 3);
    CHECK_INT(aws_client_last_attempts(client), 3);
    CHECK_INT(srv.connections, 1);      /* the three attempts shared one connection */
    CHECK_INT(out.n, 1);
    if (out.n) {
        CHECK_STR(out.v[0].id, "i-0123");
        CHECK_STR(out.v[0].state, "pending");
        CHECK_STR(aws_ec2_instance_tag(&out.v[0], "Name"), "n1");
    }
    aws_ec2_instances_free(&out);
    /* Every attempt carried the same request: same ClientToken, our tags, base64 user data. */
    for (int i = 0; i < 3; i++) {
        CHECK_CONTAINS(srv.seen[i].body, "Action=RunInstances&Version=2016-11-15");
        CHECK_CONTAINS(srv.seen[i].body, "ClientToken=tok-1");
        CHECK_CONTAINS(srv.seen[i].body, "TagSpecification.1.ResourceType=instance");
        CHECK_CONTAINS(srv.seen[i].body, "TagSpecification.1.Tag.1.Key=pclusterfs%3Acluster");
        CHECK_CONTAINS(srv.seen[i].body, "UserData=IyEvYmluL3NoCmVjaG8gaGkK");
        CHECK_CONTAINS(srv.seen[i].body, "SecurityGroupId.1=sg-1");
        CHECK_CONTAINS(srv.seen[i].headers, "Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/");
        CHECK_CONTAINS(srv.seen[i].headers, "/us-east-1/ec2/aws4_request");
        CHECK_CONTAINS(srv.seen[i].headers, "X-Amz-Security-Token: " TOKEN);
    }
    CHECK(strstr(srv.seen[0].headers, SECRET) == NULL);

    /* Connection resets (no answer at all) are retried too. (libcurl itself
     * retries once when a reused connection turns out dead, hence two.) */
    struct fake_reply resets[] = {{0, NULL, NULL}, {0, NULL, NULL}, {200, run_ok, NULL}};
    fake_script(&srv, resets, 3);
    run_one(&out, &err, &rc);
    CHECK_INT(rc, 0);
    CHECK_INT(fake_seen(&srv), 3);
    CHECK(aws_client_last_attempts(client) >= 2);
    aws_ec2_instances_free(&out);
}

static void test_final_4xx_returns_at_once(void)
{
    struct fake_reply script[] = {{400, keypair_missing, NULL}, {200, run_ok, NULL}};
    fake_script(&srv, script, 2);
    struct aws_ec2_instances out;
    struct aws_error err;
    int rc;
    run_one(&out, &err, &rc);
    CHECK_INT(rc, -ENOENT);
    CHECK_INT(fake_seen(&srv), 1);
    CHECK_STR(err.code, "InvalidKeyPair.NotFound");
    CHECK_STR(err.message, "The key pair 'nokey' does not exist");
    CHECK_STR(err.request_id, "req-42");
    CHECK_INT(err.http_status, 400);
    char buf[1024];
    CHECK_STR(aws_error_format(&err, buf, sizeof buf),
              "InvalidKeyPair.NotFound: The key pair 'nokey' does not exist (HTTP 400, request id req-42)");
    CHECK_INT(out.n, 0);
}

static void test_attempts_are_bounded(void)
{
    struct fake_reply script[] = {{503, "", NULL}, {503, "", NULL}, {503, "", NULL},
                                  {503, "", NULL}, {503, "", NULL}};
    fake_script(&srv, script, 5);
    /* A policy's attempts apply (its zero timeouts mean the defaults). */
    aws_client_apply_policy(client, &(struct aws_client_policy){.max_attempts = 2});
    struct aws_ec2_instances out;
    struct aws_error err;
    int rc;
    run_one(&out, &err, &rc);
    CHECK_INT(rc, -EIO);
    CHECK_INT(fake_seen(&srv), 2);
    CHECK_INT(err.http_status, 503);
    CHECK_STR(err.code, "ServiceUnavailable");
    aws_client_set_max_attempts(client, 3);

    /* Throttling that never ends: -EAGAIN after 3 attempts. */
    struct fake_reply thr[] = {{400, throttled, NULL}, {400, throttled, NULL}, {400, throttled, NULL}};
    fake_script(&srv, thr, 3);
    run_one(&out, &err, &rc);
    CHECK_INT(rc, -EAGAIN);
    CHECK_INT(fake_seen(&srv), 3);
    CHECK_STR(err.code, "RequestLimitExceeded");
}

static void test_retry_quota(void)
{
    /* The quota refills on success; drain it with failures and retries stop. */
    int start = aws_client_retry_tokens(client);
    CHECK(start > 0 && start <= 500);
    struct fake_reply script[FAKE_MAX];
    for (int i = 0; i < FAKE_MAX; i++)
        script[i] = (struct fake_reply){503, "", NULL};
    int calls = 0;
    while (aws_client_retry_tokens(client) >= 5 && calls < 200) {
        fake_script(&srv, script, FAKE_MAX);
        struct aws_ec2_instances out;
        struct aws_error err;
        int rc;
        run_one(&out, &err, &rc);
        calls++;
    }
    CHECK(aws_client_retry_tokens(client) < 5);
    CHECK_INT(calls, (start + 5) / 10);     /* 2 retries of 5 tokens per call */
    fake_script(&srv, script, FAKE_MAX);
    struct aws_ec2_instances out;
    struct aws_error err;
    int rc;
    run_one(&out, &err, &rc);
    CHECK_INT(rc, -EIO);
    CHECK_INT(fake_seen(&srv), 1);      /* no token left: no retry */
    /* Successes give tokens back. */
    struct fake_reply ok[] = {{200, run_ok, NULL}};
    for (int i = 0; i < 10; i++) {
        fake_script(&srv, ok, 1);
        run_one(&out, &err, &rc);
        aws_ec2_instances_free(&out);
    }
    CHECK(aws_client_retry_tokens(client) >= 10);
}

static void test_s3_requests(void)
{
    aws_client_set_bucket_owner(client, "");
    struct aws_error err;
    CHECK_INT(aws_s3_put_object(client, "bk1", "k", "x", 1, NULL, NULL, &err), -EINVAL);
    CHECK_STR(err.code, "MissingBucketOwner");
    aws_client_set_bucket_owner(client, "123456789012");

    struct fake_reply put[] = {{200, "", "ETag: \"abc\"\r\n"}};
    fake_script(&srv, put, 1);
    struct aws_s3_put_options opt = {.if_none_match = true};
    char etag[128];
    CHECK_INT(aws_s3_put_object(client, "bk1", "clusters/a b/config", "hello", 5, &opt, etag, &err), 0);
    CHECK_STR(etag, "\"abc\"");
    CHECK_STR(srv.seen[0].method, "PUT");
    CHECK_STR(srv.seen[0].target, "/bk1/clusters/a%20b/config");
    CHECK_CONTAINS(srv.seen[0].headers, "If-None-Match: *");
    CHECK_CONTAINS(srv.seen[0].headers, "x-amz-expected-bucket-owner: 123456789012");
    CHECK_CONTAINS(srv.seen[0].headers,
                   "x-amz-content-sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    CHECK_CONTAINS(srv.seen[0].headers, "/s3/aws4_request");
    CHECK_STR(srv.seen[0].body, "hello");

    static const char pre[] = "<Error><Code>PreconditionFailed</Code><Message>At least one of the "
                              "pre-conditions you specified did not hold</Message>"
                              "<RequestId>s3req</RequestId></Error>";
    struct fake_reply fail[] = {{412, pre, NULL}};
    fake_script(&srv, fail, 1);
    opt = (struct aws_s3_put_options){.if_match = "\"old\""};
    CHECK_INT(aws_s3_put_object(client, "bk1", "lease", "x", 1, &opt, etag, &err), AWS_ERR_PRECONDITION);
    CHECK_INT(fake_seen(&srv), 1);
    CHECK_CONTAINS(srv.seen[0].headers, "If-Match: \"old\"");
    CHECK_STR(err.request_id, "s3req");

    /* Names that would bend the path are refused before anything is sent. */
    fake_script(&srv, NULL, 0);
    CHECK_INT(aws_s3_put_object(client, "../etc", "k", "x", 1, NULL, NULL, &err), -EINVAL);
    CHECK_INT(aws_s3_put_object(client, "Bad_Bucket", "k", "x", 1, NULL, NULL, &err), -EINVAL);
    CHECK_INT(aws_s3_put_object(client, "bk1", "", "x", 1, NULL, NULL, &err), -EINVAL);
    CHECK_INT(fake_seen(&srv), 0);

    static const char page1[] =
        "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t/2+</NextContinuationToken>"
        "<Contents><Key>a</Key><Size>1</Size><ETag>\"e1\"</ETag></Contents></ListBucketResult>";
    static const char page2[] =
        "<ListBucketResult><IsTruncated>false</IsTruncated>"
        "<Contents><Key>b</Key><Size>22</Size></Contents></ListBucketResult>";
    struct fake_reply list[] = {{200, page1, NULL}, {200, page2, NULL}};
    fake_script(&srv, list, 2);
    struct aws_s3_objects objs;
    CHECK_INT(aws_s3_list_objects(client, "bk1", "clusters/", 1, &objs, &err), 0);
    CHECK_INT(objs.n, 2);
    if (objs.n == 2) {
        CHECK_STR(objs.v[0].key, "a");
        CHECK_STR(objs.v[0].etag, "\"e1\"");
        CHECK_STR(objs.v[1].key, "b");
        CHECK_INT(objs.v[1].size, 22);
    }
    aws_s3_objects_free(&objs);
    CHECK_STR(srv.seen[0].target, "/bk1?encoding-type=url&list-type=2&max-keys=1&prefix=clusters%2F");
    CHECK_STR(srv.seen[1].target, "/bk1?continuation-token=t%2F2%2B&encoding-type=url&list-type=2&max-keys=1&prefix=clusters%2F");

    struct fake_reply head404[] = {{404, "", NULL}};
    fake_script(&srv, head404, 1);
    struct aws_s3_object info;
    CHECK_INT(aws_s3_head_object(client, "bk1", "nothing", &info, &err), -ENOENT);
    CHECK_STR(err.code, "NoSuchKey");

    struct fake_reply moved[] = {{301, "", "x-amz-bucket-region: eu-central-1\r\n"}};
    fake_script(&srv, moved, 1);
    char region[64];
    CHECK_INT(aws_s3_head_bucket(client, "bk1", region, sizeof region, &err), -EXDEV);
    CHECK_STR(region, "eu-central-1");
    CHECK_CONTAINS(err.message, "region eu-central-1");
    CHECK_INT(fake_seen(&srv), 1);

    char *url = NULL;
    CHECK_INT(aws_s3_presign(client, "GET", "bk1", "clusters/x/manifest", 600, &url, &err), 0);
    CHECK_CONTAINS(url, "/bk1/clusters/x/manifest?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDTEST%2F");
    CHECK_CONTAINS(url, "X-Amz-Expires=600");
    CHECK_CONTAINS(url, "X-Amz-Security-Token=" TOKEN);
    CHECK(strstr(url, "SECRETKEY") == NULL);
    free(url);
}

static void test_endpoints(void)
{
    struct aws_endpoint ep;
    struct aws_error err;
    char url[1024];
    unsetenv("AWS_ENDPOINT_URL");
    CHECK_INT(aws_endpoint_resolve("ec2", "eu-west-1", NULL, &ep, &err), 0);
    CHECK_STR(ep.host, "ec2.eu-west-1.amazonaws.com");
    CHECK_STR(ep.scheme, "https");
    CHECK_INT(aws_endpoint_resolve("sts", "cn-north-1", NULL, &ep, &err), 0);
    CHECK_STR(ep.host, "sts.cn-north-1.amazonaws.com.cn");
    CHECK_INT(aws_endpoint_resolve("s3", "ap-northeast-1", "my-bucket", &ep, &err), 0);
    CHECK_STR(ep.host, "my-bucket.s3.ap-northeast-1.amazonaws.com");
    CHECK_STR(ep.base_path, "");
    CHECK_INT(aws_endpoint_resolve("s3", "us-east-1", "dotted.bucket", &ep, &err), 0);
    CHECK_STR(ep.host, "s3.us-east-1.amazonaws.com");
    CHECK_STR(ep.base_path, "/dotted.bucket");
    CHECK_INT(aws_endpoint_resolve("ec2", "bad region!", NULL, &ep, &err), -EINVAL);

    setenv("AWS_ENDPOINT_URL", "http://10.1.2.3:8080/", 1);
    setenv("AWS_ENDPOINT_URL_S3", "https://s3.example.test", 1);
    CHECK_INT(aws_endpoint_resolve("ec2", "eu-west-1", NULL, &ep, &err), 0);
    CHECK_STR(ep.host, "10.1.2.3:8080");
    CHECK_STR(ep.scheme, "http");
    CHECK_INT(aws_endpoint_resolve("s3", "eu-west-1", "my-bucket", &ep, &err), 0);
    CHECK_STR(ep.host, "s3.example.test");
    CHECK_STR(ep.base_path, "/my-bucket");
    aws_endpoint_url(&ep, "/a b", url, sizeof url);
    CHECK_STR(url, "https://s3.example.test/my-bucket/a%20b");
    setenv("AWS_ENDPOINT_URL_EC2", "ftp://x", 1);
    CHECK_INT(aws_endpoint_resolve("ec2", "eu-west-1", NULL, &ep, &err), -EINVAL);
    unsetenv("AWS_ENDPOINT_URL_EC2");
    unsetenv("AWS_ENDPOINT_URL_S3");
}

/* A server that accepts connections and never answers: the total timeout
 * ends each attempt, a timeout is retried at 10 quota tokens. */
static void test_timeouts_are_bounded_and_cost_more(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    listen(fd, 8);      /* the kernel completes handshakes; nobody reads */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    setenv("AWS_ENDPOINT_URL_EC2", url, 1);
    struct aws_client *c = aws_client_new(creds, "us-east-1");
    aws_client_set_timeouts(c, 200, 300);
    aws_client_set_backoff_scale(c, 0.001);
    aws_client_set_max_attempts(c, 2);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct aws_ec2_vpcs v;
    struct aws_error err;
    CHECK_INT(aws_ec2_describe_vpcs(c, NULL, 0, &v, &err), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(secs >= 0.55 && secs < 2.0);
    CHECK_INT(aws_client_last_attempts(c), 2);
    CHECK_INT(aws_client_retry_tokens(c), 490);
    CHECK_CONTAINS(err.message, "127.0.0.1");
    aws_client_free(c);
    unsetenv("AWS_ENDPOINT_URL_EC2");
    close(fd);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A deadline bounds a call to a server that never answers, retries
 * included, and a call made after it fails at once without being sent. */
static void test_deadline_bounds_calls_and_retries(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    listen(fd, 8);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    setenv("AWS_ENDPOINT_URL_EC2", url, 1);
    struct aws_client *c = aws_client_new(creds, "us-east-1");
    aws_client_set_timeouts(c, 5000, 5000);   /* each attempt alone would take 5 s */
    aws_client_set_backoff_scale(c, 0.001);
    aws_client_set_max_attempts(c, 3);
    struct timespec t0, limit;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    limit = t0;
    limit.tv_nsec += 400 * 1000000L;
    if (limit.tv_nsec >= 1000000000L) {
        limit.tv_sec++;
        limit.tv_nsec -= 1000000000L;
    }
    aws_client_set_deadline(c, &limit);
    struct aws_ec2_vpcs v;
    struct aws_error err;
    CHECK(aws_ec2_describe_vpcs(c, NULL, 0, &v, &err) != 0);
    CHECK(seconds_since(&t0) < 1.5);
    CHECK_CONTAINS(err.message, "time limit");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(aws_ec2_describe_vpcs(c, NULL, 0, &v, &err), -ETIMEDOUT); /* past it */
    CHECK(seconds_since(&t0) < 0.1);
    CHECK_STR(err.code, "RequestTimeout");
    aws_client_set_deadline(c, NULL);
    aws_client_free(c);
    unsetenv("AWS_ENDPOINT_URL_EC2");
    close(fd);
}

static void test_retry_classification(void)
{
    const char *retry[] = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "SlowDown",
                           "RequestThrottled", "TooManyRequestsException", "RequestTimeout"};
    for (size_t i = 0; i < sizeof retry / sizeof *retry; i++)
        CHECK(aws_retryable_status(400, retry[i]));
    CHECK(aws_retryable_status(500, "Whatever"));
    CHECK(aws_retryable_status(503, ""));
    CHECK(aws_retryable_status(429, ""));
    CHECK(!aws_retryable_status(400, "InvalidKeyPair.NotFound"));
    CHECK(!aws_retryable_status(403, "AccessDenied"));
    CHECK(!aws_retryable_status(412, "PreconditionFailed"));
    CHECK(!aws_retryable_status(404, ""));
}

static void test_no_credentials_no_request(void)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    unsetenv("AWS_PROFILE");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    struct aws_creds_provider *none = aws_creds_provider_new(NULL);
    struct aws_client *c = aws_client_new(none, "us-east-1");
    fake_script(&srv, NULL, 0);
    struct aws_identity id;
    struct aws_error err;
    CHECK_INT(aws_sts_get_caller_identity(c, &id, &err), -ENOKEY);
    CHECK_STR(err.code, "NoCredentials");
    CHECK_INT(fake_seen(&srv), 0);
    aws_client_free(c);
    aws_creds_provider_free(none);
}

int main(void)
{
    fake_start(&srv);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
    setenv("AWS_ENDPOINT_URL", url, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_SESSION_TOKEN", TOKEN, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_MAX_ATTEMPTS");
    creds = aws_creds_provider_new(NULL);
    client = aws_client_new(creds, "us-east-1");
    aws_client_set_backoff_scale(client, 0.001);    /* the real delays, scaled down */
    aws_client_set_timeouts(client, 2000, 5000);

    RUN(test_retries_throttling_5xx_and_resets);
    RUN(test_final_4xx_returns_at_once);
    RUN(test_attempts_are_bounded);
    RUN(test_retry_quota);
    RUN(test_s3_requests);
    RUN(test_retry_classification);
    RUN(test_timeouts_are_bounded_and_cost_more);
    RUN(test_deadline_bounds_calls_and_retries);
    aws_client_free(client);    /* closes its kept-alive connection */
    RUN(test_no_credentials_no_request);
    RUN(test_endpoints);
    aws_creds_provider_free(creds);
    fake_stop(&srv);
    return check_finish();
}
