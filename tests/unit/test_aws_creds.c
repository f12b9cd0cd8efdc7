/* The credential chain and region resolution, with temporary config and
 * credentials files, a temporary credential_process script, and IMDSv2
 * served by a scripted local server (never the real metadata address). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/aws.h"
#include "aws/imds.h"
#include "aws/profile.h"
#include "tests/unit/check.h"
#include "tests/unit/fake_http.h"

static char dir[256];
static char cred_file[300], conf_file[300], script[300];

static void write_file(const char *path, const char *text, int mode)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

static void clean_env(void)
{
    const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                          "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
                          "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_ENDPOINT_URL"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred_file, 1);
    setenv("AWS_CONFIG_FILE", conf_file, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unlink(cred_file);
    unlink(conf_file);
}

/* Gets credentials from a fresh provider; returns rc. */
static int get(const char *profile, struct aws_credentials *c, struct aws_error *err, char *src, size_t n)
{
    struct aws_creds_provider *p = aws_creds_provider_new(profile);
    aws_error_clear(err);
    int rc = aws_creds_get(p, c, err);
    aws_creds_source(p, src, n);
    aws_creds_provider_free(p);
    return rc;
}

static void test_environment_first(void)
{
    clean_env();
    write_file(cred_file, "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = filesecret\n", 0600);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    struct aws_credentials c;
    struct aws_error err;
    char src[128];
    CHECK_INT(get(NULL, &c, &err, src, sizeof src), 0);
    CHECK_STR(c.access_key_id, "AKIDENV");
    CHECK_STR(c.secret_access_key, "envsecret");
    CHECK_STR(c.session_token, "envtoken");
    CHECK_STR(src, "environment");
    aws_credentials_clear(&c);
    /* A key id without a secret is not credentials: the chain moves on. */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK_INT(get(NULL, &c, &err, src, sizeof src), 0);
    CHECK_STR(c.access_key_id, "AKIDFILE");
    CHECK(c.session_token == NULL);
    CHECK_STR(src, "profile default");
    aws_credentials_clear(&c);
}

static void test_profiles(void)
{
    clean_env();
    char long_token[1200];
    memset(long_token, 'T', sizeof long_token - 1);
    long_token[sizeof long_token - 1] = '\0';
    memcpy(long_token, "IQoJb3JpZ2luX2VjE/+=", 20);
    char creds_text[4000];
    snprintf(creds_text, sizeof creds_text,
             "# comment\n[default]\naws_access_key_id=AKIDDEF\naws_secret_access_key=defsecret\n\n"
             "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = devsecret\n"
             "aws_session_token = %s\n", long_token);
    write_file(cred_file, creds_text, 0600);
    write_file(conf_file,
               "[default]\nregion = eu-west-1\n"
               "[profile dev]\nregion = ap-northeast-1\noutput = json\n"
               "[profile cfgonly]\naws_access_key_id = AKIDCFG\naws_secret_access_key = cfgsecret\n"
               "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n", 0600);
    struct aws_credentials c;
    struct aws_error err;
    char src[128];
    CHECK_INT(get("dev", &c, &err, src, sizeof src), 0);
    CHECK_STR(c.access_key_id, "AKIDDEV");
    CHECK_STR(c.session_token, long_token);    /* longer than Debian inih's 200-byte lines */
    CHECK_STR(src, "profile dev");
    aws_credentials_clear(&c);

    setenv("AWS_PROFILE", "cfgonly", 1);
    CHECK_INT(get(NULL, &c, &err, src, sizeof src), 0);
    CHECK_STR(c.access_key_id, "AKIDCFG");
    aws_credentials_clear(&c);

    setenv("AWS_PROFILE", "nosuch", 1);
    CHECK_INT(get(NULL, &c, &err, src, sizeof src), -ENOENT);
    CHECK_STR(err.code, "ProfileNotFound");
    CHECK_CONTAINS(err.message, "nosuch");

    setenv("AWS_PROFILE", "role", 1);
    CHECK_INT(get(NULL, &c, &err, src, sizeof src), -ENOTSUP);
    CHECK_CONTAINS(err.message, "credential_process");
    unsetenv("AWS_PROFILE");

    /* Region: explicit, AWS_REGION, AWS_DEFAULT_REGION, then the profile. */
    char region[64];
    CHECK_INT(aws_resolve_region(NULL, "dev", region, sizeof region, &err), 0);
    CHECK_STR(region, "ap-northeast-1");
    CHECK_INT(aws_resolve_region(NULL, NULL, region, sizeof region, &err), 0);
    CHECK_STR(region, "eu-west-1");
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    CHECK_INT(aws_resolve_region(NULL, "dev", region, sizeof region, &err), 0);
    CHECK_STR(region, "us-west-2");
    setenv("AWS_REGION", "ca-central-1", 1);
    CHECK_INT(aws_resolve_region(NULL, "dev", region, sizeof region, &err), 0);
    CHECK_STR(region, "ca-central-1");
    CHECK_INT(aws_resolve_region("sa-east-1", "dev", region, sizeof region, &err), 0);
    CHECK_STR(region, "sa-east-1");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    CHECK_INT(aws_resolve_region(NULL, "cfgonly", region, sizeof region, &err), -ENOENT);
    CHECK_STR(err.code, "MissingRegion");

    /* A broken file is an error that names the file and line. */
    write_file(conf_file, "[default]\nregion = eu-west-1\nthis line is not ini\n", 0600);
    CHECK_INT(aws_resolve_region(NULL, NULL, region, sizeof region, &err), -EINVAL);
    CHECK_CONTAINS(err.message, ":3:");

    /* Long values on indented lines (found by fuzz_aws_profile): the whole
     * value comes back, never our placeholder for it. An indented line
     * after an entry continues it; first in a section it is an entry. */
    snprintf(creds_text, sizeof creds_text,
             "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = devsecret\n"
             "aws_session_token =\n    %s\n[dev2]\n  aws_session_token = %s\n"
             "aws_access_key_id = AKID2\naws_secret_access_key = secret2\n",
             long_token, long_token);
    write_file(cred_file, creds_text, 0600);
    write_file(conf_file, "[default]\nregion = eu-west-1\n", 0600);
    CHECK_INT(get("dev", &c, &err, src, sizeof src), 0);
    CHECK_STR(c.session_token, long_token);
    aws_credentials_clear(&c);
    CHECK_INT(get("dev2", &c, &err, src, sizeof src), 0);
    CHECK_STR(c.access_key_id, "AKID2");
    CHECK_STR(c.session_token, long_token);
    aws_credentials_clear(&c);
}

static void test_credential_process(void)
{
    clean_env();
    char text[1024];
    snprintf(text, sizeof text,
             "#!/bin/sh\necho 'asking for a login' >&2\n"
             "printf '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"procsecret\","
             " \"SessionToken\": \"proctoken\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n");
    write_file(script, text, 0700);
    snprintf(text, sizeof text, "[profile sso]\ncredential_process = %s --profile sso\n"
             "[profile broken]\ncredential_process = sh -c 'echo {\\\"SecretAccessKey\\\":\\\"leak\\\"}; exit 3'\n"
             "[profile garbage]\ncredential_process = echo not-json-procsecret\n", script);
    write_file(conf_file, text, 0600);
    struct aws_credentials c;
    struct aws_error err;
    char src[128];
    CHECK_INT(get("sso", &c, &err, src, sizeof src), 0);
    CHECK_STR(c.access_key_id, "AKIDPROC");
    CHECK_STR(c.session_token, "proctoken");
    CHECK_INT(c.expiration, 4070908800);
    CHECK_STR(src, "credential_process (profile sso)");
    aws_credentials_clear(&c);

    CHECK_INT(get("broken", &c, &err, src, sizeof src), -EACCES);
    CHECK_CONTAINS(err.message, "exit status 3");
    CHECK(strstr(err.message, "leak") == NULL);
    CHECK_INT(get("garbage", &c, &err, src, sizeof src), -EINVAL);
    CHECK(strstr(err.message, "procsecret") == NULL);
}

static const char imds_creds_fmt[] =
    "{\"Code\": \"Success\", \"LastUpdated\": \"2026-11-27T00:00:00Z\", \"Type\": \"AWS-HMAC\","
    " \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"imdssecret\", \"Token\": \"imdstoken\","
    " \"Expiration\": \"%s\"}";

static void test_imds(void)
{
    clean_env();
    struct fake_http srv;
    fake_start(&srv);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");

    /* Credentials that expire in 2 minutes: inside the refresh window. */
    char soon[32], later[32], body1[512], body2[512];
    time_t now = time(NULL);
    time_t t1 = now + 120, t2 = now + 6 * 3600;
    strftime(soon, sizeof soon, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t1));
    strftime(later, sizeof later, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t2));
    snprintf(body1, sizeof body1, imds_creds_fmt, "AKIDIMDS1", soon);
    snprintf(body2, sizeof body2, imds_creds_fmt, "AKIDIMDS2", later);
    struct fake_reply script_[] = {
        {200, "tok-abc", NULL}, {200, "node-role\n", NULL}, {200, body1, NULL},
        {200, "tok-def", NULL}, {200, "node-role", NULL}, {200, body2, NULL},
    };
    fake_script(&srv, script_, 6);
    struct aws_creds_provider *p = aws_creds_provider_new(NULL);
    struct aws_credentials c;
    struct aws_error err;
    CHECK_INT(aws_creds_get(p, &c, &err), 0);
    CHECK_STR(c.access_key_id, "AKIDIMDS1");
    CHECK_STR(c.session_token, "imdstoken");
    aws_credentials_clear(&c);
    CHECK_INT(fake_seen(&srv), 3);
    CHECK_STR(srv.seen[0].method, "PUT");
    CHECK_STR(srv.seen[0].target, "/latest/api/token");
    CHECK_CONTAINS(srv.seen[0].headers, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
    CHECK_STR(srv.seen[1].target, "/latest/meta-data/iam/security-credentials/");
    CHECK_CONTAINS(srv.seen[1].headers, "X-aws-ec2-metadata-token: tok-abc");
    CHECK_STR(srv.seen[2].target, "/latest/meta-data/iam/security-credentials/node-role");

    /* Next call: 2 minutes left is under the 5-minute window, so it refreshes. */
    pthread_mutex_lock(&srv.lock);
    int before = srv.n_seen;
    pthread_mutex_unlock(&srv.lock);
    CHECK_INT(aws_creds_get(p, &c, &err), 0);
    CHECK_STR(c.access_key_id, "AKIDIMDS2");
    aws_credentials_clear(&c);
    CHECK_INT(fake_seen(&srv) - before, 3);
    /* Now valid for hours: served from the cache, no request. */
    CHECK_INT(aws_creds_get(p, &c, &err), 0);
    CHECK_STR(c.access_key_id, "AKIDIMDS2");
    aws_credentials_clear(&c);
    CHECK_INT(fake_seen(&srv) - before, 3);
    char src[64];
    CHECK_STR(aws_creds_source(p, src, sizeof src), "instance metadata");
    aws_creds_provider_free(p);

    /* A refused token: the chain fails and says why, 1 s at most. */
    struct fake_reply refuse[] = {{403, "", NULL}};
    fake_script(&srv, refuse, 1);
    time_t t0 = time(NULL);
    CHECK_INT(get(NULL, &c, &err, src, sizeof src), -ENOKEY);
    CHECK_CONTAINS(err.message, "instance metadata");
    CHECK(time(NULL) - t0 <= 2);
    fake_stop(&srv);

    /* Disabled: no request at all, and the message says so. */
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    CHECK(!aws_imds_enabled());
    CHECK_INT(get(NULL, &c, &err, src, sizeof src), -ENOKEY);
    CHECK_CONTAINS(err.message, "instance metadata is disabled");
    unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char ep[128];
    aws_imds_endpoint(ep, sizeof ep);
    CHECK_STR(ep, "http://169.254.169.254");     /* computed, never contacted here */
}

static void test_credentials_json(void)
{
    struct aws_credentials c;
    struct aws_error err;
    const char bad[] = "{\"Code\": \"Failure\", \"SecretAccessKey\": \"zzz\"}";
    CHECK_INT(aws_parse_credentials_json(bad, sizeof bad - 1, 0, &c, &err), -EACCES);
    CHECK(strstr(err.message, "zzz") == NULL);
    const char nover[] = "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"zzz\"}";
    CHECK_INT(aws_parse_credentials_json(nover, sizeof nover - 1, 1, &c, &err), -EINVAL);
    const char ok[] = "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"zzz\"}";
    CHECK_INT(aws_parse_credentials_json(ok, sizeof ok - 1, 1, &c, &err), 0);
    CHECK_INT(c.expiration, 0);
    CHECK(c.session_token == NULL);
    aws_credentials_clear(&c);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/pcfs-aws-creds-XXXXXX");
    if (!mkdtemp(dir))
        return 2;
    snprintf(cred_file, sizeof cred_file, "%s/credentials", dir);
    snprintf(conf_file, sizeof conf_file, "%s/config", dir);
    snprintf(script, sizeof script, "%s/creds.sh", dir);
    RUN(test_environment_first);
    RUN(test_profiles);
    RUN(test_credential_process);
    RUN(test_imds);
    RUN(test_credentials_json);
    unlink(cred_file);
    unlink(conf_file);
    unlink(script);
    rmdir(dir);
    return check_finish();
}
