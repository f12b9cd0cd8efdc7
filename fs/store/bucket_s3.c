#include "fs/store/bucket_s3.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bucket_s3 {
    struct aws_creds_provider *creds;
    const struct aws_client_policy *policy;
    char *region, *bucket, *account;
    pthread_key_t client_key; /* one aws_client per thread, never shared */
};

static void client_free(void *c)
{
    aws_client_free(c);
}

/* This thread's client, made on first use; NULL on ENOMEM. */
static struct aws_client *client(struct bucket_s3 *s)
{
    struct aws_client *c = pthread_getspecific(s->client_key);
    if (c)
        return c;
    c = aws_client_new_with(s->creds, s->region, s->policy);
    if (!c)
        return NULL;
    aws_client_set_bucket_owner(c, s->account);
    if (pthread_setspecific(s->client_key, c) != 0) {
        aws_client_free(c);
        return NULL;
    }
    return c;
}

static int failed(int rc, const struct aws_error *e, const char *key, char *err, size_t errlen)
{
    char buf[768];
    snprintf(err, errlen, "%s: %s", key, aws_error_format(e, buf, sizeof(buf)));
    return rc;
}

static int no_client(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

static int s3_get(void *impl, const char *key, char **data, size_t *len, char *etag,
                  size_t etaglen, char *err, size_t errlen)
{
    struct aws_client *c = client(impl);
    if (!c)
        return no_client(err, errlen);
    struct bucket_s3 *s = impl;
    struct aws_error e = {0};
    struct aws_s3_object info = {0};
    int rc = aws_s3_get_object(c, s->bucket, key, data, len, &info, &e);
    if (rc == 0 && etag)
        snprintf(etag, etaglen, "%s", info.etag ? info.etag : "");
    aws_s3_object_free(&info);
    return rc && rc != -ENOENT ? failed(rc, &e, key, err, errlen) : rc;
}

static int s3_put(void *impl, const char *key, const void *data, size_t len,
                  const struct aws_s3_put_options *opt, char *etag, char *err, size_t errlen)
{
    struct aws_client *c = client(impl);
    if (!c)
        return no_client(err, errlen);
    struct bucket_s3 *s = impl;
    struct aws_error e = {0};
    int rc = aws_s3_put_object(c, s->bucket, key, data, len, opt, etag, &e);
    return rc ? failed(rc, &e, key, err, errlen) : 0;
}

static int s3_del(void *impl, const char *key, char *err, size_t errlen)
{
    struct aws_client *c = client(impl);
    if (!c)
        return no_client(err, errlen);
    struct bucket_s3 *s = impl;
    struct aws_error e = {0};
    int rc = aws_s3_delete_object(c, s->bucket, key, &e);
    return rc ? failed(rc, &e, key, err, errlen) : 0;
}

static int s3_head(void *impl, const char *key, char *etag, size_t etaglen, char *err,
                   size_t errlen)
{
    struct aws_client *c = client(impl);
    if (!c)
        return no_client(err, errlen);
    struct bucket_s3 *s = impl;
    struct aws_error e = {0};
    struct aws_s3_object info = {0};
    int rc = aws_s3_head_object(c, s->bucket, key, &info, &e);
    if (rc == 0 && etag)
        snprintf(etag, etaglen, "%s", info.etag ? info.etag : "");
    aws_s3_object_free(&info);
    return rc && rc != -ENOENT ? failed(rc, &e, key, err, errlen) : rc;
}

static int s3_list(void *impl, const char *prefix, struct aws_s3_objects *out, char *err,
                   size_t errlen)
{
    struct aws_client *c = client(impl);
    if (!c)
        return no_client(err, errlen);
    struct bucket_s3 *s = impl;
    struct aws_error e = {0};
    int rc = aws_s3_list_objects(c, s->bucket, prefix, 0, out, &e);
    return rc ? failed(rc, &e, prefix, err, errlen) : 0;
}

static void s3_set_deadline(void *impl, const struct timespec *deadline)
{
    struct aws_client *c = client(impl);
    if (c)
        aws_client_set_deadline(c, deadline);
}

static void s3_destroy(void *impl)
{
    struct bucket_s3 *s = impl;
    /* Other threads' clients went with their threads (the key's destructor). */
    struct aws_client *c = pthread_getspecific(s->client_key);
    if (c) {
        pthread_setspecific(s->client_key, NULL);
        aws_client_free(c);
    }
    pthread_key_delete(s->client_key);
    free(s->region);
    free(s->bucket);
    free(s->account);
    free(s);
}

static const struct bucket_ops s3_ops = {
    .get = s3_get,
    .put = s3_put,
    .del = s3_del,
    .head = s3_head,
    .list = s3_list,
    .set_deadline = s3_set_deadline,
    .destroy = s3_destroy,
};

int bucket_s3_open(struct bucket *out, struct aws_creds_provider *creds, const char *region,
                   const char *bucket, const char *account,
                   const struct aws_client_policy *policy, char *err, size_t errlen)
{
    struct bucket_s3 *s = calloc(1, sizeof(*s));
    if (!s || pthread_key_create(&s->client_key, client_free) != 0) {
        free(s);
        return no_client(err, errlen);
    }
    s->creds = creds;
    s->policy = policy;
    s->region = strdup(region);
    s->bucket = strdup(bucket);
    s->account = strdup(account);
    if (!s->region || !s->bucket || !s->account) {
        s3_destroy(s);
        return no_client(err, errlen);
    }
    out->ops = &s3_ops;
    out->impl = s;
    return 0;
}
