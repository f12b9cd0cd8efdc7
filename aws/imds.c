#include "aws/imds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "aws/http.h"
#include "aws/timestamp.h"
#include "aws/util.h"

bool aws_imds_enabled(void)
{
    const char *v = getenv("AWS_EC2_METADATA_DISABLED");
    return !(v && strcasecmp(v, "true") == 0);
}

void aws_imds_endpoint(char *out, size_t n)
{
    const char *env = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (env && *env)
        snprintf(out, n, "%s", env);
    else if (mode && strcasecmp(mode, "IPv6") == 0)
        snprintf(out, n, "http://[fd00:ec2::254]");
    else
        snprintf(out, n, "http://169.254.169.254");
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '/')
        out[--len] = '\0';
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct aws_buf *b = ud;
    if (b->len + size * nmemb > 64 * 1024)
        return 0;   /* metadata answers are tiny; refuse anything else */
    aws_buf_append(b, data, size * nmemb);
    return size * nmemb;
}

/* One IMDS request. Returns the HTTP status, or -1 when there was no answer. */
static long imds_request(CURL *h, const char *method, const char *url, const char *header,
                         struct aws_buf *body, char *errbuf)
{
    curl_easy_reset(h);
    aws_buf_reset(body);
    struct curl_slist *hdrs = curl_slist_append(NULL, header);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    errbuf[0] = '\0';
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        if (!errbuf[0])
            snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static char *dup_json_str(json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v && *v ? aws_xstrdup(v) : NULL;
}

int aws_parse_credentials_json(const char *json, size_t len, int process,
                               struct aws_credentials *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    const char *what = process ? "credential_process output" : "instance metadata credentials";
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        /* jerr.text may quote the input, which holds secrets: do not use it. */
        return aws_error_set(err, -EINVAL, "InvalidCredentials", "%s is not a JSON object", what);
    }
    int rc = 0;
    if (process) {
        json_t *ver = json_object_get(root, "Version");
        if (json_integer_value(ver) != 1)
            rc = aws_error_set(err, -EINVAL, "InvalidCredentials", "%s has no \"Version\": 1", what);
    } else {
        const char *code = json_string_value(json_object_get(root, "Code"));
        if (code && strcmp(code, "Success") != 0)
            rc = aws_error_set(err, -EACCES, "InvalidCredentials", "%s say Code %.64s", what, code);
    }
    if (rc == 0) {
        out->access_key_id = dup_json_str(root, "AccessKeyId");
        out->secret_access_key = dup_json_str(root, "SecretAccessKey");
        out->session_token = dup_json_str(root, process ? "SessionToken" : "Token");
        const char *exp = json_string_value(json_object_get(root, "Expiration"));
        if (!out->access_key_id || !out->secret_access_key)
            rc = aws_error_set(err, -EINVAL, "InvalidCredentials",
                               "%s lack AccessKeyId or SecretAccessKey", what);
        else if (exp && aws_parse_iso8601(exp, &out->expiration) != 0)
            rc = aws_error_set(err, -EINVAL, "InvalidCredentials",
                               "%s have an unreadable Expiration", what);
        else if (!exp && !process)
            rc = aws_error_set(err, -EINVAL, "InvalidCredentials", "%s lack Expiration", what);
    }
    json_decref(root);
    if (rc)
        aws_credentials_clear(out);
    return rc;
}

int aws_imds_fetch(struct aws_credentials *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    aws_http_global_init();
    char base[512], url[1024], header[4096], errbuf[CURL_ERROR_SIZE];
    aws_imds_endpoint(base, sizeof base);
    CURL *h = curl_easy_init();
    if (!h)
        return aws_error_set(err, -ENOMEM, "", "cannot create an HTTP handle");
    struct aws_buf body = {0};
    char *token = NULL;
    int rc;

    snprintf(url, sizeof url, "%s/latest/api/token", base);
    long st = imds_request(h, "PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600", &body, errbuf);
    if (st != 200) {
        rc = st < 0 ? aws_error_set(err, -EHOSTUNREACH, "", "instance metadata at %s: %s", base, errbuf)
                    : aws_error_set(err, -EACCES, "", "instance metadata at %s refused a token (HTTP %ld)",
                                    base, st);
        goto out;
    }
    token = aws_buf_take(&body);
    snprintf(header, sizeof header, "X-aws-ec2-metadata-token: %s", token);

    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", base);
    st = imds_request(h, "GET", url, header, &body, errbuf);
    if (st != 200 || body.len == 0) {
        rc = st < 0 ? aws_error_set(err, -EHOSTUNREACH, "", "instance metadata at %s: %s", base, errbuf)
                    : aws_error_set(err, -ENOENT, "", "this instance has no IAM role (HTTP %ld)", st);
        goto out;
    }
    char role[256];
    snprintf(role, sizeof role, "%.*s", (int)strcspn(aws_buf_str(&body), "\r\n"), aws_buf_str(&body));
    char *role_enc;
    {
        struct aws_buf e = {0};
        aws_uri_encode(&e, role, strlen(role), false);
        role_enc = aws_buf_take(&e);
    }
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/%s", base, role_enc);
    free(role_enc);
    st = imds_request(h, "GET", url, header, &body, errbuf);
    if (st != 200) {
        rc = st < 0 ? aws_error_set(err, -EHOSTUNREACH, "", "instance metadata at %s: %s", base, errbuf)
                    : aws_error_set(err, -EACCES, "", "instance metadata refused role %s credentials (HTTP %ld)",
                                    role, st);
        goto out;
    }
    rc = aws_parse_credentials_json(body.data, body.len, 0, out, err);
out:
    OPENSSL_cleanse(header, sizeof header);
    aws_free_secret(token);
    aws_buf_free(&body);
    curl_easy_cleanup(h);
    return rc;
}
