/* JWT minting for Slurm: the token is checked against one computed
 * independently (Python's hmac/base64 modules, see the vector below), and
 * its parts are decoded back and checked field by field. */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <string.h>

#include "slurm/jwt.h"
#include "tests/unit/check.h"

static const unsigned char key[] = "pclusterfs-test-key-0123456789ab";

/* python3: h=b64u('{"alg":"HS256","typ":"JWT"}');
 * p=b64u('{"exp":1700000300,"iat":1700000000,"sun":"slurm"}');
 * h+'.'+p+'.'+b64u(hmac.new(key,(h+'.'+p).encode(),sha256).digest()) */
static const char vector[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJleHAiOjE3MDAwMDAzMDAsImlhdCI6MTcwMDAwMDAwMCwic3VuIjoic2x1cm0ifQ."
    "NfrkMK-xdvd2D4GJKV2TK7lY26pAaDENzbH0VvNXHtY";

static void test_known_vector(void)
{
    char tok[512];
    int n = slurm_jwt_mint(key, sizeof key - 1, "slurm", 1700000000, 300, tok,
                           sizeof tok);
    CHECK_INT(n, (int)strlen(vector));
    CHECK_STR(tok, vector);
}

/* base64url decode via OpenSSL's standard decoder. */
static int b64u_decode(const char *in, size_t len, unsigned char *out)
{
    char buf[1024] = "";
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof buf - 4; i++)
        buf[n++] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    while (n % 4)
        buf[n++] = '=';
    int m = EVP_DecodeBlock(out, (unsigned char *)buf, (int)n);
    if (m < 0)
        return -1;
    while (n && buf[n - 1] == '=') {
        n--;
        m--;
    }
    return m;
}

static void test_claims_round_trip(void)
{
    char tok[512];
    int n = slurm_jwt_mint(key, 10, "alice", 1234567890, 60, tok, sizeof tok);
    CHECK(n > 0);
    char *dot1 = strchr(tok, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    CHECK(dot1 && dot2);
    if (!dot1 || !dot2)
        return;
    unsigned char hdr[256], pl[256];
    int hl = b64u_decode(tok, (size_t)(dot1 - tok), hdr);
    int pln = b64u_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), pl);
    CHECK(hl > 0 && pln > 0);
    json_t *h = json_loadb((char *)hdr, (size_t)hl, 0, NULL);
    json_t *p = json_loadb((char *)pl, (size_t)pln, 0, NULL);
    CHECK(h && p);
    CHECK_STR(json_string_value(json_object_get(h, "alg")), "HS256");
    CHECK_STR(json_string_value(json_object_get(h, "typ")), "JWT");
    CHECK_INT(json_integer_value(json_object_get(p, "iat")), 1234567890);
    CHECK_INT(json_integer_value(json_object_get(p, "exp")), 1234567950);
    CHECK_STR(json_string_value(json_object_get(p, "sun")), "alice");
    json_decref(h);
    json_decref(p);
    /* No padding, URL-safe alphabet only. */
    CHECK(strcspn(tok, "+/=") == strlen(tok));
}

static void test_different_key_different_signature(void)
{
    char a[512], b[512];
    slurm_jwt_mint(key, 16, "slurm", 1700000000, 300, a, sizeof a);
    slurm_jwt_mint(key + 1, 16, "slurm", 1700000000, 300, b, sizeof b);
    CHECK(strcmp(strrchr(a, '.'), strrchr(b, '.')) != 0);
    CHECK(strncmp(a, b, (size_t)(strrchr(a, '.') - a)) == 0);
}

static void test_errors(void)
{
    char tok[512];
    CHECK_INT(slurm_jwt_mint(key, 0, "slurm", 1, 300, tok, sizeof tok), -EINVAL);
    CHECK_INT(slurm_jwt_mint(key, 8, "", 1, 300, tok, sizeof tok), -EINVAL);
    CHECK_INT(slurm_jwt_mint(key, 8, "slurm", 1, 0, tok, sizeof tok), -EINVAL);
    CHECK_INT(slurm_jwt_mint(key, 8, "\xff\xfe", 1, 300, tok, sizeof tok),
              -EINVAL);
    CHECK_INT(slurm_jwt_mint(key, 8, "slurm", 1, 300, tok, 40), -ENOSPC);
    CHECK_STR(tok, "");   /* nothing half-written is left behind */
}

static void test_base64url_rfc4648(void)
{
    /* RFC 4648 section 10 vectors, without padding. */
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
                                 "Zm9vYmFy"};
    char out[32];
    for (size_t i = 0; i < 7; i++) {
        CHECK_INT(slurm_base64url((const unsigned char *)in[i], strlen(in[i]),
                                  out, sizeof out),
                  (int)strlen(want[i]));
        CHECK_STR(out, want[i]);
    }
    const unsigned char bin[] = {0xfb, 0xff, 0xbf};
    slurm_base64url(bin, 3, out, sizeof out);
    CHECK_STR(out, "-_-_");
    CHECK_INT(slurm_base64url(bin, 3, out, 4), -ENOSPC);
}

int main(void)
{
    RUN(test_known_vector);
    RUN(test_claims_round_trip);
    RUN(test_different_key_different_signature);
    RUN(test_errors);
    RUN(test_base64url_rfc4648);
    return check_finish();
}
