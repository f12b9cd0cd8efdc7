/* The signer's canonicalisation (path normalisation, query decoding and
 * re-encoding, header folding) on arbitrary paths, queries and header
 * values, in both forms; signing twice must give the same signature, and
 * the wire path must decode back to the path. Input: path \n query \n
 * header value \n body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"

static char *field(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    char *s = aws_xstrndup(*p, (size_t)(stop - *p));
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    char *path = field(&p, end);
    char *query = field(&p, end);
    char *value = field(&p, end);
    if (strlen(path) != 0 && path[0] == '/') {
        struct aws_credentials creds = {.access_key_id = "AKIDEXAMPLE",
                                        .secret_access_key = "secret", .session_token = "tok"};
        struct aws_header h[] = {{"Host", "example.amazonaws.com"}, {"X-Fuzz", value}};
        struct aws_sigv4_request req = {.method = "PUT", .path = path, .query = query,
                                        .headers = h, .n_headers = 2, .body = p,
                                        .body_len = (size_t)(end - p)};
        for (int form = 0; form < 4; form++) {
            struct aws_sigv4_options opt = {.region = "us-east-1", .service = "s3", .now = 1440938160,
                                            .normalize_path = form & 1, .presign = form & 2,
                                            .expires = 60, .content_sha256_header = !(form & 2)};
            struct aws_sigv4_result a, b;
            if (aws_sigv4_sign(&creds, &req, &opt, &a) != 0)
                abort();
            if (aws_sigv4_sign(&creds, &req, &opt, &b) != 0)
                abort();
            if (strcmp(a.signature, b.signature) != 0)
                abort();
            aws_sigv4_result_free(&a);
            aws_sigv4_result_free(&b);
        }
        char *wire = aws_sigv4_wire_path(path);
        char *back = aws_uri_decode(wire, strlen(wire));
        if (strcmp(back, path) != 0)
            abort();
        free(wire);
        free(back);
    }
    free(path);
    free(query);
    free(value);
    return 0;
}
