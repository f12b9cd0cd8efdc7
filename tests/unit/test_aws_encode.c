/* The shared encodings (aws/encode.h) and time stamps (aws/timestamp.h),
 * checked against published vectors: RFC 4648 section 10 for base64,
 * FIPS 180-2 / RFC 4231 for SHA-256 and HMAC-SHA256. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "aws/encode.h"
#include "aws/timestamp.h"
#include "tests/unit/check.h"

static void test_base64_rfc4648(void)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                       "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        char *got = aws_base64_encode(in[i], strlen(in[i]));
        CHECK_STR(got, want[i]);
        free(got);
    }
    /* Binary input, and the two characters base64url would replace. */
    const unsigned char bin[] = {0xfb, 0xff, 0xbf, 0x00};
    char *got = aws_base64_encode(bin, sizeof bin);
    CHECK_STR(got, "+/+/AA==");
    free(got);
}

static void test_hex_and_sha256(void)
{
    char hex[9];
    aws_hex((const unsigned char *)"\x00\x7f\xa5\xff", 4, hex);
    CHECK_STR(hex, "007fa5ff");
    char out[65];
    aws_sha256_hex("abc", 3, out);
    CHECK_STR(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    aws_sha256_hex(NULL, 0, out);
    CHECK_STR(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_hmac_sha256_rfc4231(void)
{
    unsigned char key[20], mac[32];
    memset(key, 0x0b, sizeof key);
    aws_hmac_sha256(key, sizeof key, "Hi There", 8, mac);
    char hex[65];
    aws_hex(mac, sizeof mac, hex);
    CHECK_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_iso8601(void)
{
    time_t t = 7;
    CHECK_INT(aws_parse_iso8601("2026-11-27T01:02:03Z", &t), 0);
    CHECK_INT(t, 1795741323);
    CHECK_INT(aws_parse_iso8601("2026-11-27T01:02:03.000Z", &t), 0); /* EC2, S3 */
    CHECK_INT(t, 1795741323);
    CHECK_INT(aws_parse_iso8601("2026-11-27T01:02:03+00:00", &t), 0);
    CHECK_INT(t, 1795741323);
    CHECK_INT(aws_parse_iso8601("1970-01-01T00:00:00z", &t), 0);
    CHECK_INT(t, 0);
    t = 7; /* refused: out untouched */
    CHECK_INT(aws_parse_iso8601("2026-11-27T01:02:03+02:00", &t), -1);
    CHECK_INT(aws_parse_iso8601("2026-11-27", &t), -1);
    CHECK_INT(aws_parse_iso8601("", &t), -1);
    CHECK_INT(t, 7);
    CHECK_INT(aws_iso8601_or_zero("2026-11-27T01:02:03.123Z"), 1795741323);
    CHECK_INT(aws_iso8601_or_zero(NULL), 0);
    CHECK_INT(aws_iso8601_or_zero("yesterday"), 0);
}

static void test_amz_date(void)
{
    char d[17];
    aws_format_amz_date(1440938160, d);
    CHECK_STR(d, "20150830T123600Z");
    time_t back = 0;
    char iso[32];
    snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", d, d + 4, d + 6, d + 9, d + 11,
             d + 13);
    CHECK_INT(aws_parse_iso8601(iso, &back), 0);
    CHECK_INT(back, 1440938160);
}

int main(void)
{
    RUN(test_base64_rfc4648);
    RUN(test_hex_and_sha256);
    RUN(test_hmac_sha256_rfc4231);
    RUN(test_iso8601);
    RUN(test_amz_date);
    return check_finish();
}
