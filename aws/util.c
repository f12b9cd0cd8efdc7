#include "aws/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

static void oom(void)
{
    fputs("pclusterfs: out of memory\n", stderr);
    abort();
}

void *aws_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *aws_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *aws_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

char *aws_xstrdup(const char *s)
{
    return aws_xstrndup(s ? s : "", strlen(s ? s : ""));
}

char *aws_xstrndup(const char *s, size_t n)
{
    char *p = aws_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void aws_free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void reserve(struct aws_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = aws_xrealloc(b->data, cap);
    b->cap = cap;
}

void aws_buf_append(struct aws_buf *b, const void *data, size_t len)
{
    reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void aws_buf_puts(struct aws_buf *b, const char *s)
{
    aws_buf_append(b, s, strlen(s));
}

void aws_buf_putc(struct aws_buf *b, char c)
{
    aws_buf_append(b, &c, 1);
}

void aws_buf_printf(struct aws_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *aws_buf_str(struct aws_buf *b)
{
    return b->data ? b->data : "";
}

char *aws_buf_take(struct aws_buf *b)
{
    char *s = b->data ? b->data : aws_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void aws_buf_reset(struct aws_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void aws_buf_free(struct aws_buf *b)
{
    if (b->data) {
        OPENSSL_cleanse(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

void aws_uri_encode(struct aws_buf *out, const char *s, size_t n, bool keep_slash)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/'))
            aws_buf_putc(out, (char)c);
        else
            aws_buf_printf(out, "%%%02X", c);
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

char *aws_uri_decode(const char *s, size_t n)
{
    char *out = aws_xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

double aws_random_unit(void)
{
    uint64_t r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
        return 0.5; /* the CSPRNG failing only makes the jitter less random */
    return (double)(r >> 11) / (double)(1ULL << 53);
}

bool aws_streq_nocase(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}
