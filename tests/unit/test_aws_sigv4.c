/* Runs every case of AWS's SigV4 test suite (tests/data/
 * aws-sigv4-test-suite, Apache-2.0, see its LICENSE and NOTICE) through aws_sigv4_sign in both the header form and
 * the presigned form, comparing each step (canonical request, string to
 * sign, signature) and the signed request with the files, read at run time. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "aws/sigv4.h"
#include "aws/timestamp.h"
#include "tests/unit/check.h"

static char suite[4096];

static char *slurp(const char *dir, const char *name)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s/%s", suite, dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    struct aws_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        aws_buf_append(&b, chunk, n);
    fclose(f);
    return aws_buf_take(&b);
}

struct parsed_request {
    char *method, *path, *query, *version;
    char *names[32], *values[32];
    char *raw_lines[64];    /* header lines as written, for re-rendering */
    size_t n_headers, n_raw;
    const char *body;
    size_t body_len;
};

/* request.txt: "METHOD PATH[?QUERY] HTTP/1.1", header lines ("Name:value",
 * continuation lines start with whitespace), a blank line, the body. */
static void parse_request(char *text, struct parsed_request *r)
{
    memset(r, 0, sizeof *r);
    char *line_end = strchr(text, '\n');
    *line_end = '\0';
    char *sp1 = strchr(text, ' ');
    char *sp2 = strrchr(text, ' ');
    *sp1 = '\0';
    *sp2 = '\0';
    r->method = text;
    r->version = sp2 + 1;
    r->path = sp1 + 1;
    char *q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    char *p = line_end + 1;
    while (*p && *p != '\n') {
        char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *line = aws_xstrndup(p, len);
        r->raw_lines[r->n_raw++] = line;
        if ((*line == ' ' || *line == '\t') && r->n_headers) {
            char **v = &r->values[r->n_headers - 1];
            size_t old = strlen(*v);
            *v = aws_xrealloc(*v, old + len + 2);
            (*v)[old] = '\n';
            memcpy(*v + old + 1, line, len + 1);
        } else {
            char *colon = strchr(line, ':');
            r->names[r->n_headers] = aws_xstrndup(line, (size_t)(colon - line));
            r->values[r->n_headers++] = aws_xstrdup(colon + 1);
        }
        p = e ? e + 1 : p + len;
    }
    if (*p == '\n')
        p++;
    r->body = p;
    r->body_len = strlen(p);
}

static void free_request(struct parsed_request *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    for (size_t i = 0; i < r->n_raw; i++)
        free(r->raw_lines[i]);
}

static int cases_run;

static void run_case(const char *name, bool presign)
{
    const char *form = presign ? "query" : "header";
    char *ctx_text = slurp(name, "context.json");
    char *req_text = slurp(name, "request.txt");
    char file[64];
    snprintf(file, sizeof file, "%s-canonical-request.txt", form);
    char *want_creq = slurp(name, file);
    snprintf(file, sizeof file, "%s-string-to-sign.txt", form);
    char *want_sts = slurp(name, file);
    snprintf(file, sizeof file, "%s-signature.txt", form);
    char *want_sig = slurp(name, file);
    snprintf(file, sizeof file, "%s-signed-request.txt", form);
    char *want_signed = slurp(name, file);
    CHECK(ctx_text && req_text && want_creq && want_sts && want_sig && want_signed);
    if (!(ctx_text && req_text && want_creq && want_sts && want_sig && want_signed))
        goto out;

    json_error_t jerr;
    json_t *ctx = json_loads(ctx_text, 0, &jerr);
    CHECK(ctx != NULL);
    json_t *jc = json_object_get(ctx, "credentials");
    struct aws_credentials creds = {
        .access_key_id = (char *)json_string_value(json_object_get(jc, "access_key_id")),
        .secret_access_key = (char *)json_string_value(json_object_get(jc, "secret_access_key")),
        .session_token = (char *)json_string_value(json_object_get(jc, "token")),
    };
    time_t now;
    CHECK_INT(aws_parse_iso8601(json_string_value(json_object_get(ctx, "timestamp")), &now), 0);
    struct aws_sigv4_options opt = {
        .region = json_string_value(json_object_get(ctx, "region")),
        .service = json_string_value(json_object_get(ctx, "service")),
        .now = now,
        .normalize_path = json_is_true(json_object_get(ctx, "normalize")),
        .content_sha256_header = json_is_true(json_object_get(ctx, "sign_body")),
        .presign = presign,
        .expires = (long)json_integer_value(json_object_get(ctx, "expiration_in_seconds")),
        .unsigned_session_token = json_is_true(json_object_get(ctx, "omit_session_token")),
    };

    struct parsed_request r;
    parse_request(req_text, &r);
    struct aws_header hdrs[32];
    for (size_t i = 0; i < r.n_headers; i++)
        hdrs[i] = (struct aws_header){r.names[i], r.values[i]};
    struct aws_sigv4_request req = {
        .method = r.method, .path = r.path, .query = r.query,
        .headers = hdrs, .n_headers = r.n_headers,
        .body = r.body, .body_len = r.body_len,
    };
    struct aws_sigv4_result res;
    int rc = aws_sigv4_sign(&creds, &req, &opt, &res);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        int before = check_failures;
        CHECK_STR(res.canonical_request, want_creq);
        CHECK_STR(res.string_to_sign, want_sts);
        CHECK_STR(res.signature, want_sig);

        /* Re-render the request as signed, the way the suite writes it. */
        struct aws_buf s = {0};
        aws_buf_printf(&s, "%s %s", r.method, r.path);
        if (r.query)
            aws_buf_printf(&s, "?%s", r.query);
        if (presign)
            aws_buf_printf(&s, "%s%s", r.query ? "&" : "?", res.query_suffix);
        aws_buf_printf(&s, " %s\n", r.version);
        for (size_t i = 0; i < r.n_raw; i++)
            aws_buf_printf(&s, "%s\n", r.raw_lines[i]);
        if (presign && opt.unsigned_session_token)
            CHECK(strstr(res.canonical_request, "Security-Token") == NULL);
        for (size_t i = 0; i < res.n_added; i++)
            aws_buf_printf(&s, "%s:%s\n", res.added[i].name, res.added[i].value);
        aws_buf_putc(&s, '\n');
        aws_buf_append(&s, r.body, r.body_len);
        CHECK_STR(aws_buf_str(&s), want_signed);
        aws_buf_free(&s);
        if (check_failures != before)
            fprintf(stderr, "  in case %s (%s form)\n", name, form);
        cases_run++;
    }
    aws_sigv4_result_free(&res);
    free_request(&r);
    json_decref(ctx);
out:
    free(ctx_text);
    free(req_text);
    free(want_creq);
    free(want_sts);
    free(want_sig);
    free(want_signed);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_suite_both_forms(void)
{
    DIR *d = opendir(suite);
    CHECK(d != NULL);
    if (!d)
        return;
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256)
        if (e->d_name[0] != '.' && e->d_type == DT_DIR)   /* not LICENSE, NOTICE */
            names[n++] = aws_xstrdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    CHECK(n >= 38);   /* the suite as published has 38 cases */
    for (size_t i = 0; i < n; i++) {
        run_case(names[i], false);
        run_case(names[i], true);
        free(names[i]);
    }
    CHECK_INT(cases_run, 2 * (int)n);
    fprintf(stderr, "     %d signings checked (%zu cases x 2 forms)\n", cases_run, n);
}

/* S3 semantics beyond the suite: a key is encoded once (no double
 * encoding), and the presigned form of S3 signs UNSIGNED-PAYLOAD. */
static void test_s3_single_encoding_and_unsigned_payload(void)
{
    struct aws_credentials creds = {.access_key_id = "AKIDEXAMPLE",
                                    .secret_access_key = "secret",
                                    .session_token = "TOKEN/+="};
    struct aws_header h[] = {{"Host", "bucket.s3.amazonaws.com"}};
    struct aws_sigv4_request req = {.method = "GET", .path = "/a b/%41/../c",
                                    .headers = h, .n_headers = 1,
                                    .payload_hash = "UNSIGNED-PAYLOAD"};
    struct aws_sigv4_options opt = {.region = "us-east-1", .service = "s3", .now = 1440938160,
                                    .presign = true, .expires = 600};
    struct aws_sigv4_result res;
    CHECK_INT(aws_sigv4_sign(&creds, &req, &opt, &res), 0);
    CHECK_CONTAINS(res.canonical_request, "GET\n/a%20b/%2541/../c\n");
    CHECK_CONTAINS(res.canonical_request, "\nUNSIGNED-PAYLOAD");
    CHECK_CONTAINS(res.canonical_request, "X-Amz-Security-Token=TOKEN%2F%2B%3D");
    CHECK_CONTAINS(res.query_suffix, "X-Amz-Security-Token=TOKEN%2F%2B%3D");
    CHECK(strstr(res.query_suffix, "secret") == NULL);
    char *wire = aws_sigv4_wire_path(req.path);
    CHECK_STR(wire, "/a%20b/%2541/../c");
    free(wire);
    aws_sigv4_result_free(&res);

    /* Header form for S3: x-amz-content-sha256 is signed and sent. */
    opt.presign = false;
    opt.content_sha256_header = true;
    req.payload_hash = NULL;
    req.body = "hello";
    req.body_len = 5;
    CHECK_INT(aws_sigv4_sign(&creds, &req, &opt, &res), 0);
    CHECK_CONTAINS(res.canonical_request,
                   "x-amz-content-sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n");
    CHECK_CONTAINS(res.added[res.n_added - 1].value,
                   "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, ");
    aws_sigv4_result_free(&res);
}

static void test_refuses_without_host_or_key(void)
{
    struct aws_credentials creds = {.access_key_id = "AKID", .secret_access_key = "s"};
    struct aws_header h[] = {{"X-Other", "1"}};
    struct aws_sigv4_request req = {.method = "GET", .path = "/", .headers = h, .n_headers = 1};
    struct aws_sigv4_options opt = {.region = "us-east-1", .service = "ec2", .now = 0};
    struct aws_sigv4_result res;
    CHECK_INT(aws_sigv4_sign(&creds, &req, &opt, &res), -EINVAL);
    struct aws_credentials none = {0};
    CHECK_INT(aws_sigv4_sign(&none, &req, &opt, &res), -EINVAL);
}

int main(void)
{
    const char *root = getenv("PCFS_ROOT");
    snprintf(suite, sizeof suite, "%s/tests/data/aws-sigv4-test-suite",
             root ? root : ".");
    RUN(test_suite_both_forms);
    RUN(test_s3_single_encoding_and_unsigned_payload);
    RUN(test_refuses_without_host_or_key);
    return check_finish();
}
