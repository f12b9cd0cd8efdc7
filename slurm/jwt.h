/* HS256 JSON Web Tokens as Slurm's auth/jwt accepts them: header
 * {"alg":"HS256","typ":"JWT"}, claims {"exp","iat","sun"}, base64url
 * without padding, HMAC-SHA256 (OpenSSL) over "header.claims" with the raw
 * key bytes. The token is a secret: callers keep it out of logs. */
#ifndef PCFS_SLURM_JWT_H
#define PCFS_SLURM_JWT_H
#include <stddef.h>
#include <stdint.h>

/* Writes a NUL-terminated token into out (outlen bytes). Returns its length,
 * or -ENOSPC (out too small), -EINVAL (empty key/user, lifetime 0),
 * -ENOMEM. */
int slurm_jwt_mint(const unsigned char *key, size_t key_len, const char *user,
                   int64_t iat, unsigned lifetime_s, char *out, size_t outlen);

/* base64url without padding; returns the encoded length (out gets a NUL),
 * or -ENOSPC. */
int slurm_base64url(const unsigned char *in, size_t len, char *out,
                    size_t outlen);

#endif
