/* Small helpers the AWS layer shares: a growable byte buffer, allocation
 * that aborts, URI encoding as SigV4 defines it, randomness. (Encodings and
 * digests live in aws/encode.h, time stamps in aws/timestamp.h.)
 * Allocation failure aborts (the daemon cannot do anything useful without
 * memory, and every caller would only propagate ENOMEM to the same end). */
#ifndef PCFS_AWS_UTIL_H
#define PCFS_AWS_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct aws_buf {
    char *data;     /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
};

void aws_buf_append(struct aws_buf *b, const void *data, size_t len);
void aws_buf_puts(struct aws_buf *b, const char *s);
void aws_buf_putc(struct aws_buf *b, char c);
void aws_buf_printf(struct aws_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The buffer's string ("" when empty); stays owned by the buffer. */
const char *aws_buf_str(struct aws_buf *b);
/* Hands the string to the caller (never NULL) and empties the buffer. */
char *aws_buf_take(struct aws_buf *b);
void aws_buf_reset(struct aws_buf *b);
/* Frees the buffer, wiping its bytes first (it may have held a secret). */
void aws_buf_free(struct aws_buf *b);

void *aws_xmalloc(size_t n);
void *aws_xcalloc(size_t n, size_t size);
void *aws_xrealloc(void *p, size_t n);
char *aws_xstrdup(const char *s);
char *aws_xstrndup(const char *s, size_t n);
/* Frees a string after overwriting it (for secrets). */
void aws_free_secret(char *s);

/* Percent-encodes everything but A-Za-z0-9-._~ (and '/' when keep_slash). */
void aws_uri_encode(struct aws_buf *out, const char *s, size_t n, bool keep_slash);
/* Decodes %XX escapes (no '+' translation, as SigV4 wants); returns a new string. */
char *aws_uri_decode(const char *s, size_t n);

/* Uniform random number in [0, 1) from OpenSSL's CSPRNG. */
double aws_random_unit(void);

bool aws_streq_nocase(const char *a, const char *b);
#endif
