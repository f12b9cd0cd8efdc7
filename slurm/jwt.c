/* HS256 JWT minting for Slurm's auth/jwt; see jwt.h. */
#include "slurm/jwt.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

/* slurm/ keeps this one encoder of its own: the wall forbids it aws/
 * (make walls), and JWT's base64url (RFC 4648 section 5, no padding) is not
 * the padded standard base64 aws/encode.h gives AWS. Like that one it only
 * wraps OpenSSL's EVP_EncodeBlock, then swaps the alphabet. */
int slurm_base64url(const unsigned char *in, size_t len, char *out,
                    size_t outlen)
{
    size_t need = 4 * ((len + 2) / 3) + 1;
    if (outlen < need || len > (size_t)INT32_MAX / 2)
        return -ENOSPC;
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return n;
}

static int append_b64(char *out, size_t outlen, size_t *pos,
                      const unsigned char *in, size_t len)
{
    int n = slurm_base64url(in, len, out + *pos, outlen - *pos);
    if (n < 0)
        return n;
    *pos += (size_t)n;
    return 0;
}

int slurm_jwt_mint(const unsigned char *key, size_t key_len, const char *user,
                   int64_t iat, unsigned lifetime_s, char *out, size_t outlen)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    if (!key || key_len == 0 || !user || !*user || lifetime_s == 0 ||
        outlen == 0)
        return -EINVAL;

    json_t *claims = json_pack("{s:I,s:I,s:s}", "exp",
                               (json_int_t)(iat + lifetime_s), "iat",
                               (json_int_t)iat, "sun", user);
    if (!claims)
        return -EINVAL;   /* user is not valid UTF-8 */
    char *payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(claims);
    if (!payload)
        return -ENOMEM;

    size_t pos = 0;
    int rc = append_b64(out, outlen, &pos, (const unsigned char *)header,
                        sizeof header - 1);
    if (rc == 0 && pos + 1 < outlen) {
        out[pos++] = '.';
        rc = append_b64(out, outlen, &pos, (const unsigned char *)payload,
                        strlen(payload));
    } else if (rc == 0) {
        rc = -ENOSPC;
    }
    free(payload);
    if (rc < 0)
        goto fail;

    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (key_len > INT32_MAX ||
        !HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)out,
              pos, mac, &maclen)) {
        rc = -EINVAL;
        goto fail;
    }
    if (pos + 1 >= outlen) {
        rc = -ENOSPC;
        goto fail;
    }
    out[pos++] = '.';
    rc = append_b64(out, outlen, &pos, mac, maclen);
    OPENSSL_cleanse(mac, sizeof mac);
    if (rc < 0)
        goto fail;
    return (int)pos;
fail:
    OPENSSL_cleanse(out, outlen);
    out[0] = '\0';
    return rc;
}
