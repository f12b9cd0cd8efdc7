#include "aws/sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aws/encode.h"
#include "aws/timestamp.h"

void aws_credentials_copy(struct aws_credentials *dst, const struct aws_credentials *src)
{
    dst->access_key_id = src->access_key_id ? aws_xstrdup(src->access_key_id) : NULL;
    dst->secret_access_key = src->secret_access_key ? aws_xstrdup(src->secret_access_key) : NULL;
    dst->session_token = src->session_token ? aws_xstrdup(src->session_token) : NULL;
    dst->expiration = src->expiration;
}

void aws_credentials_clear(struct aws_credentials *c)
{
    aws_free_secret(c->access_key_id);
    aws_free_secret(c->secret_access_key);
    aws_free_secret(c->session_token);
    memset(c, 0, sizeof *c);
}

char *aws_sigv4_wire_path(const char *path)
{
    struct aws_buf b = {0};
    aws_uri_encode(&b, path, strlen(path), true);
    return aws_buf_take(&b);
}

/* RFC 3986 remove_dot_segments plus collapsing of empty segments, as the
 * SDKs normalise paths for every service but S3. */
static char *normalize_path(const char *path)
{
    size_t n = strlen(path);
    const char **seg = aws_xcalloc(n + 1, sizeof *seg);
    size_t *seglen = aws_xcalloc(n + 1, sizeof *seglen);
    size_t depth = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - start);
        if (len == 0 || (len == 1 && start[0] == '.'))
            continue;
        if (len == 2 && start[0] == '.' && start[1] == '.') {
            if (depth)
                depth--;
            continue;
        }
        seg[depth] = start;
        seglen[depth++] = len;
    }
    struct aws_buf b = {0};
    for (size_t i = 0; i < depth; i++) {
        aws_buf_putc(&b, '/');
        aws_buf_append(&b, seg[i], seglen[i]);
    }
    if (depth == 0 || (n > 0 && path[n - 1] == '/'))
        aws_buf_putc(&b, '/');
    free(seg);
    free(seglen);
    return aws_buf_take(&b);
}

struct param {
    char *name;     /* encoded */
    char *value;    /* encoded */
};

static int param_cmp(const void *a, const void *b)
{
    const struct param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_str(const char *s, size_t n)
{
    struct aws_buf b = {0};
    aws_uri_encode(&b, s, n, false);
    return aws_buf_take(&b);
}

static char *reencode(const char *s, size_t n)
{
    char *dec = aws_uri_decode(s, n);
    char *enc = encode_str(dec, strlen(dec));
    free(dec);
    return enc;
}

struct params {
    struct param *v;
    size_t n, cap;
};

static void params_add(struct params *ps, char *name, char *value)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->v = aws_xrealloc(ps->v, ps->cap * sizeof *ps->v);
    }
    ps->v[ps->n].name = name;
    ps->v[ps->n++].value = value;
}

static void params_add_raw(struct params *ps, const char *name, const char *value)
{
    params_add(ps, encode_str(name, strlen(name)), encode_str(value, strlen(value)));
}

static void parse_query(struct params *ps, const char *q)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len) {
            const char *eq = memchr(q, '=', len);
            if (eq)
                params_add(ps, reencode(q, (size_t)(eq - q)),
                           reencode(eq + 1, len - (size_t)(eq - q) - 1));
            else
                params_add(ps, reencode(q, len), aws_xstrdup(""));
        }
        q = amp ? amp + 1 : NULL;
    }
}

static void params_free(struct params *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        aws_free_secret(ps->v[i].name);
        aws_free_secret(ps->v[i].value);
    }
    free(ps->v);
}

struct hdr {
    char *name;     /* lower case */
    char *value;    /* trimmed, inner whitespace runs collapsed */
    size_t order;
};

static int hdr_cmp(const void *a, const void *b)
{
    const struct hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static char *lower(const char *s)
{
    char *l = aws_xstrdup(s);
    for (char *p = l; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return l;
}

static char *canonical_value(const char *v)
{
    struct aws_buf b = {0};
    bool space = false;
    for (; *v; v++) {
        if (isspace((unsigned char)*v)) {
            space = b.len > 0;
            continue;
        }
        if (space)
            aws_buf_putc(&b, ' ');
        space = false;
        aws_buf_putc(&b, *v);
    }
    return aws_buf_take(&b);
}

static void derive_key(const char *secret, const char *date, const char *region,
                       const char *service, unsigned char key[32])
{
    struct aws_buf k = {0};
    aws_buf_printf(&k, "AWS4%s", secret);
    aws_hmac_sha256(k.data, k.len, date, strlen(date), key);
    aws_buf_free(&k);
    aws_hmac_sha256(key, 32, region, strlen(region), key);
    aws_hmac_sha256(key, 32, service, strlen(service), key);
    aws_hmac_sha256(key, 32, "aws4_request", 12, key);
}

int aws_sigv4_sign(const struct aws_credentials *creds, const struct aws_sigv4_request *req,
                   const struct aws_sigv4_options *opt, struct aws_sigv4_result *out)
{
    memset(out, 0, sizeof *out);
    if (!creds || !creds->access_key_id || !creds->secret_access_key ||
        !creds->access_key_id[0] || !opt->region || !opt->service)
        return -EINVAL;

    char amz_date[17], date[9];
    aws_format_amz_date(opt->now, amz_date);
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    char scope[256];
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, opt->region, opt->service);

    char payload[65];
    const char *payload_hash = req->payload_hash;
    if (!payload_hash) {
        aws_sha256_hex(req->body, req->body_len, payload);
        payload_hash = payload;
    }
    const char *token = creds->session_token && creds->session_token[0] ? creds->session_token : NULL;
    bool sign_token = token && !opt->unsigned_session_token;

    /* Headers: the caller's, plus what the header form adds. */
    size_t nh = req->n_headers;
    struct hdr *h = aws_xcalloc(nh + 3, sizeof *h);
    bool have_host = false;
    for (size_t i = 0; i < req->n_headers; i++) {
        h[i].name = lower(req->headers[i].name);
        h[i].value = canonical_value(req->headers[i].value ? req->headers[i].value : "");
        h[i].order = i;
        if (strcmp(h[i].name, "host") == 0)
            have_host = true;
    }
    if (!have_host) {
        for (size_t i = 0; i < nh; i++) {
            free(h[i].name);
            free(h[i].value);
        }
        free(h);
        return -EINVAL;
    }
    if (!opt->presign) {
        h[nh].name = aws_xstrdup("x-amz-date");
        h[nh].value = aws_xstrdup(amz_date);
        h[nh].order = nh;
        nh++;
        if (opt->content_sha256_header) {
            h[nh].name = aws_xstrdup("x-amz-content-sha256");
            h[nh].value = aws_xstrdup(payload_hash);
            h[nh].order = nh;
            nh++;
        }
        if (sign_token) {
            h[nh].name = aws_xstrdup("x-amz-security-token");
            h[nh].value = aws_xstrdup(token);
            h[nh].order = nh;
            nh++;
        }
    }
    qsort(h, nh, sizeof *h, hdr_cmp);

    struct aws_buf canon_headers = {0}, signed_headers = {0};
    for (size_t i = 0; i < nh; i++) {
        if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
            aws_buf_putc(&canon_headers, ',');
            aws_buf_puts(&canon_headers, h[i].value);
            continue;
        }
        if (i > 0) {
            aws_buf_putc(&canon_headers, '\n');
            aws_buf_putc(&signed_headers, ';');
        }
        aws_buf_printf(&canon_headers, "%s:%s", h[i].name, h[i].value);
        aws_buf_puts(&signed_headers, h[i].name);
    }
    aws_buf_putc(&canon_headers, '\n');

    /* Query: the caller's, plus the presign parameters. */
    struct params ps = {0};
    parse_query(&ps, req->query);
    char credential[512];
    snprintf(credential, sizeof credential, "%s/%s", creds->access_key_id, scope);
    char expires[32];
    snprintf(expires, sizeof expires, "%ld", opt->expires);
    if (opt->presign) {
        params_add_raw(&ps, "X-Amz-Algorithm", "AWS4-HMAC-SHA256");
        params_add_raw(&ps, "X-Amz-Credential", credential);
        params_add_raw(&ps, "X-Amz-Date", amz_date);
        params_add_raw(&ps, "X-Amz-Expires", expires);
        params_add_raw(&ps, "X-Amz-SignedHeaders", aws_buf_str(&signed_headers));
        if (sign_token)
            params_add_raw(&ps, "X-Amz-Security-Token", token);
    }
    if (ps.n)
        qsort(ps.v, ps.n, sizeof *ps.v, param_cmp);
    struct aws_buf canon_query = {0};
    for (size_t i = 0; i < ps.n; i++)
        aws_buf_printf(&canon_query, "%s%s=%s", i ? "&" : "", ps.v[i].name, ps.v[i].value);

    char *path = opt->normalize_path ? normalize_path(req->path ? req->path : "/")
                                     : aws_xstrdup(req->path && req->path[0] ? req->path : "/");
    struct aws_buf creq = {0};
    aws_buf_printf(&creq, "%s\n", req->method);
    aws_uri_encode(&creq, path, strlen(path), true);
    aws_buf_printf(&creq, "\n%s\n%s\n%s\n%s", aws_buf_str(&canon_query),
                   aws_buf_str(&canon_headers), aws_buf_str(&signed_headers), payload_hash);
    free(path);

    char creq_hash[65];
    aws_sha256_hex(creq.data, creq.len, creq_hash);
    struct aws_buf sts = {0};
    aws_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, creq_hash);

    unsigned char key[32], sig[32];
    derive_key(creds->secret_access_key, date, opt->region, opt->service, key);
    aws_hmac_sha256(key, 32, sts.data, sts.len, sig);
    OPENSSL_cleanse(key, sizeof key);
    aws_hex(sig, 32, out->signature);

    if (opt->presign) {
        struct aws_buf q = {0};
        aws_buf_puts(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
        aws_uri_encode(&q, credential, strlen(credential), false);
        aws_buf_printf(&q, "&X-Amz-Date=%s&X-Amz-SignedHeaders=", amz_date);
        aws_uri_encode(&q, signed_headers.data, signed_headers.len, false);
        aws_buf_printf(&q, "&X-Amz-Expires=%s", expires);
        if (token) {
            aws_buf_puts(&q, "&X-Amz-Security-Token=");
            aws_uri_encode(&q, token, strlen(token), false);
        }
        aws_buf_printf(&q, "&X-Amz-Signature=%s", out->signature);
        out->query_suffix = aws_buf_take(&q);
    } else {
        if (token) {
            out->added[out->n_added].name = "X-Amz-Security-Token";
            out->added[out->n_added++].value = aws_xstrdup(token);
        }
        out->added[out->n_added].name = "X-Amz-Date";
        out->added[out->n_added++].value = aws_xstrdup(amz_date);
        if (opt->content_sha256_header) {
            out->added[out->n_added].name = "x-amz-content-sha256";
            out->added[out->n_added++].value = aws_xstrdup(payload_hash);
        }
        struct aws_buf a = {0};
        aws_buf_printf(&a, "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s",
                       credential, aws_buf_str(&signed_headers), out->signature);
        out->added[out->n_added].name = "Authorization";
        out->added[out->n_added++].value = aws_buf_take(&a);
    }
    out->canonical_request = aws_buf_take(&creq);
    out->string_to_sign = aws_buf_take(&sts);

    for (size_t i = 0; i < nh; i++) {
        aws_free_secret(h[i].name);
        aws_free_secret(h[i].value);
    }
    free(h);
    params_free(&ps);
    aws_buf_free(&canon_headers);
    aws_buf_free(&signed_headers);
    aws_buf_free(&canon_query);
    return 0;
}

void aws_sigv4_result_free(struct aws_sigv4_result *r)
{
    for (size_t i = 0; i < r->n_added; i++)
        aws_free_secret(r->added[i].value);
    aws_free_secret(r->query_suffix);
    aws_free_secret(r->canonical_request);
    free(r->string_to_sign);
    memset(r, 0, sizeof *r);
}
