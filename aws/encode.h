/* The encodings and digests pclusterfs needs, written once (all of them
 * thin over OpenSSL): lowercase hex, SHA-256 as hex, HMAC-SHA256, and
 * standard padded base64 (RFC 4648 section 4). fs/ uses these too: this is
 * their one home. slurm/ may not include aws/ (the wall), so its JWT keeps
 * its own base64url, also a wrapper of OpenSSL's encoder (slurm/jwt.c).
 * Allocation failure aborts, as everywhere in aws/ (aws/util.h). */
#ifndef PCFS_AWS_ENCODE_H
#define PCFS_AWS_ENCODE_H
#include <stddef.h>

void aws_hex(const unsigned char *in, size_t n, char *out /* 2n+1 */);
/* SHA-256 of n bytes (data may be NULL when n is 0), as 64 hex digits. */
void aws_sha256_hex(const void *data, size_t n, char out[65]);
void aws_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
                     unsigned char out[32]);
/* Standard base64 with padding; a new NUL-terminated string. */
char *aws_base64_encode(const void *data, size_t n);
#endif
