#include "fs/control/lease.h"
#include "fs/store/layout.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>



int lease_init(struct lease *l)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(l->holder + 2 * i, 3, "%02x", raw[i]);
    l->held = false;
    return 0;
}

bool lease_hold(struct lease *l, struct cloud *cl, int seconds, time_t now)
{
    char *data = NULL, etag[128] = "", err[512];
    size_t len = 0;
    int rc = cloud_get(cl, layout_lease_key(), &data, &len, etag, sizeof(etag), err, sizeof(err));
    if (rc && rc != -ENOENT) {
        l->held = false; /* cannot tell: act as if another mount held it */
        return false;
    }
    char holder[33] = "";
    long long expires = 0;
    if (rc == 0 && sscanf(data, "%32s %lld", holder, &expires) != 2)
        expires = 0; /* unreadable: treat as lapsed */
    free(data);
    bool ours = strcmp(holder, l->holder) == 0;
    if (rc == 0 && !ours && expires > (long long)now) {
        l->held = false;
        return false;
    }
    char body[64];
    snprintf(body, sizeof(body), "%s %lld\n", l->holder, (long long)now + seconds);
    struct aws_s3_put_options cond = {.content_type = "text/plain",
                                      .if_none_match = rc == -ENOENT,
                                      .if_match = rc == 0 ? etag : NULL};
    l->held = cloud_put(cl, layout_lease_key(), body, strlen(body), &cond, err, sizeof(err)) == 0;
    return l->held;
}

void lease_release(struct lease *l, struct cloud *cl)
{
    if (!l->held)
        return;
    char *data = NULL, etag[128] = "", err[512];
    size_t len = 0;
    if (cloud_get(cl, layout_lease_key(), &data, &len, etag, sizeof(etag), err, sizeof(err)) == 0 &&
        strncmp(data, l->holder, strlen(l->holder)) == 0) {
        /* Expire it rather than delete it: a conditional delete is not to be
         * had, and an expired lease is free for the next mount. */
        char body[64];
        snprintf(body, sizeof(body), "%s 0\n", l->holder);
        struct aws_s3_put_options cond = {.content_type = "text/plain", .if_match = etag};
        cloud_put(cl, layout_lease_key(), body, strlen(body), &cond, err, sizeof(err));
    }
    free(data);
    l->held = false;
}
