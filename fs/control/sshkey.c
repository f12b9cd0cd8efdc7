#include "fs/control/sshkey.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

int sshkey_generate(char **pem, size_t *len)
{
    *pem = NULL;
    *len = 0;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key)
        return -EIO;
    BIO *b = BIO_new(BIO_s_mem());
    int rc = b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1 ? 0 : -EIO;
    char *data = NULL;
    long n = rc == 0 ? BIO_get_mem_data(b, &data) : 0;
    if (rc == 0 && (n <= 0 || !(*pem = malloc((size_t)n + 1))))
        rc = n <= 0 ? -EIO : -ENOMEM;
    if (rc == 0) {
        memcpy(*pem, data, (size_t)n);
        (*pem)[n] = '\0';
        *len = (size_t)n;
    }
    BIO_free(b);
    EVP_PKEY_free(key);
    return rc;
}
