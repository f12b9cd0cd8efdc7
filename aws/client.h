/* An AWS client: one libcurl easy handle (so connections are reused), the
 * region, endpoints, retry settings and retry quota. A client belongs to ONE
 * thread: never share it; give each thread its own (they may share one
 * aws_creds_provider, which is thread-safe). Every call fills a struct
 * aws_error and returns 0 or a negative errno.
 *
 * Retries follow the SDKs' "standard" mode: AWS_MAX_ATTEMPTS attempts
 * (default 3), full-jitter exponential backoff (random in [0, 2^(n-1)] s,
 * capped at 20 s, randomness from OpenSSL), a retry quota of 500 tokens
 * (5 per retry, 10 per retried timeout, refunded on success); only
 * throttling codes, 5xx answers and connection failures are retried. */
#ifndef PCFS_AWS_CLIENT_H
#define PCFS_AWS_CLIENT_H
#include <stdbool.h>
#include <stddef.h>

#include "aws/creds.h"
#include "aws/error.h"

struct aws_client;

/* creds stays owned by the caller and must outlive the client. */
struct aws_client *aws_client_new(struct aws_creds_provider *creds, const char *region);
void aws_client_free(struct aws_client *c);

void aws_client_set_region(struct aws_client *c, const char *region);
const char *aws_client_region(const struct aws_client *c);
/* The account that must own every bucket S3 calls touch (sent as
 * x-amz-expected-bucket-owner). S3 object calls refuse to run without it. */
void aws_client_set_bucket_owner(struct aws_client *c, const char *account_id);
const char *aws_client_bucket_owner(const struct aws_client *c);
/* Attempts per call (>= 1); the default comes from AWS_MAX_ATTEMPTS, else 3. */
void aws_client_set_max_attempts(struct aws_client *c, int attempts);
/* Timeouts in milliseconds (defaults: connect 5000, total 60000). */
void aws_client_set_timeouts(struct aws_client *c, long connect_ms, long total_ms);
/* A client's timeouts and attempts, named once by whoever makes clients
 * (pclusterfs: fs/aws_policy.h) so each kind of caller has one policy.
 * 0 or less keeps the default (as aws_client_set_timeouts, and attempts
 * from AWS_MAX_ATTEMPTS, else 3). */
struct aws_client_policy {
    long connect_ms;
    long total_ms;      /* one attempt's limit; a deadline bounds the whole call */
    int max_attempts;
};
void aws_client_apply_policy(struct aws_client *c, const struct aws_client_policy *p);
/* aws_client_new, then aws_client_apply_policy. */
struct aws_client *aws_client_new_with(struct aws_creds_provider *creds, const char *region,
                                       const struct aws_client_policy *p);
/* A time limit (CLOCK_MONOTONIC) for every call until cleared with NULL:
 * each attempt's timeouts shrink to what is left, no retry starts that
 * would end past it, and a call made after it fails at once (-ETIMEDOUT,
 * code RequestTimeout) without sending anything. */
struct timespec;
void aws_client_set_deadline(struct aws_client *c, const struct timespec *deadline);
/* Scale for backoff delays (1.0 = the SDKs'; tests use less). */
void aws_client_set_backoff_scale(struct aws_client *c, double scale);
/* Receives one line per retry and per failure; never a secret. */
typedef void aws_log_fn(void *ud, const char *line);
void aws_client_set_logger(struct aws_client *c, aws_log_fn *fn, void *ud);

/* Retry quota tokens left (for tests and status). */
int aws_client_retry_tokens(const struct aws_client *c);
/* Attempts the last call made (1 = no retry). */
int aws_client_last_attempts(const struct aws_client *c);
#endif
