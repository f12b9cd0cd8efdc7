#include "fs/store/bucket.h"

#include <openssl/evp.h>

#include "aws/encode.h"

void bucket_etag_of(const void *data, size_t len, char out[BUCKET_ETAG_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL);
    out[0] = '"';
    aws_hex(md, 16, out + 1);
    out[33] = '"';
    out[34] = '\0';
}
