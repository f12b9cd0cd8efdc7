#include "fs/store/bucket_mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/error.h"

struct mem_object {
    char *key, *data;
    size_t len;
    char etag[BUCKET_ETAG_LEN];
};

struct bucket_mem {
    pthread_mutex_t lock;
    struct mem_object *objects; /* sorted by key */
    size_t n, cap;
    char fail_part[128]; /* only calls on keys holding this fail; "" = all */
    unsigned healthy; /* calls still to answer before failing ones */
    unsigned failing; /* calls still to fail */
    int fail_rc;
    bool fail_applied;
    unsigned long calls;
};

static size_t position(const struct bucket_mem *m, const char *key, bool *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(m->objects[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static struct mem_object *find(struct bucket_mem *m, const char *key)
{
    bool found;
    size_t i = position(m, key, &found);
    return found ? &m->objects[i] : NULL;
}

static void etag_of(const struct mem_object *o, char *etag, size_t len)
{
    snprintf(etag, len, "%s", o ? o->etag : "");
}

/* Counts the call; whether it fails (*applied: a write is made anyway). */
static int begin(struct bucket_mem *m, bool *applied, const char *key, char *err, size_t errlen)
{
    pthread_mutex_lock(&m->lock);
    m->calls++;
    *applied = true;
    if (m->failing == 0 || !strstr(key, m->fail_part))
        return 0;
    if (m->healthy > 0) {
        m->healthy--;
        return 0;
    }
    m->failing--;
    *applied = m->fail_applied;
    snprintf(err, errlen, "%s: the bucket did not answer (test)", key);
    return m->fail_rc;
}

static int end(struct bucket_mem *m, int rc)
{
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_get(void *impl, const char *key, char **data, size_t *len, char *etag,
                   size_t etaglen, char *err, size_t errlen)
{
    struct bucket_mem *m = impl;
    bool applied;
    int rc = begin(m, &applied, key, err, errlen);
    if (rc)
        return end(m, rc);
    const struct mem_object *o = find(m, key);
    if (!o)
        return end(m, -ENOENT);
    if (!(*data = malloc(o->len + 1))) {
        snprintf(err, errlen, "out of memory");
        return end(m, -ENOMEM);
    }
    memcpy(*data, o->data, o->len);
    (*data)[o->len] = '\0';
    *len = o->len;
    if (etag)
        etag_of(o, etag, etaglen);
    return end(m, 0);
}

/* Stores the bytes under key (a new version); 0 or -ENOMEM. */
static int store(struct bucket_mem *m, const char *key, const void *data, size_t len,
                 struct mem_object **out)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    bool found;
    size_t i = position(m, key, &found);
    if (!found) {
        char *k = strdup(key);
        struct mem_object *grown = m->n < m->cap ? m->objects
                                   : realloc(m->objects, (m->cap * 2 + 8) * sizeof(*grown));
        if (!k || !grown) {
            free(k);
            free(copy);
            return -ENOMEM;
        }
        if (m->n == m->cap)
            m->cap = m->cap * 2 + 8;
        m->objects = grown;
        memmove(&m->objects[i + 1], &m->objects[i], (m->n - i) * sizeof(*grown));
        m->objects[i] = (struct mem_object){.key = k};
        m->n++;
    }
    free(m->objects[i].data);
    m->objects[i].data = copy;
    m->objects[i].len = len;
    bucket_etag_of(copy, len, m->objects[i].etag);
    *out = &m->objects[i];
    return 0;
}

static int mem_put(void *impl, const char *key, const void *data, size_t len,
                   const struct aws_s3_put_options *opt, char *etag, char *err, size_t errlen)
{
    struct bucket_mem *m = impl;
    bool applied;
    int failure = begin(m, &applied, key, err, errlen);
    if (failure && !applied)
        return end(m, failure);
    const struct mem_object *o = find(m, key);
    if (opt && ((opt->if_none_match && o) || (opt->if_match && !o))) {
        snprintf(err, errlen, "%s: PreconditionFailed (test)", key);
        return end(m, failure ? failure : AWS_ERR_PRECONDITION);
    }
    if (opt && opt->if_match) {
        if (strcmp(o->etag, opt->if_match) != 0) {
            snprintf(err, errlen, "%s: PreconditionFailed (test)", key);
            return end(m, failure ? failure : AWS_ERR_PRECONDITION);
        }
    }
    struct mem_object *made;
    if (store(m, key, data, len, &made) != 0) {
        snprintf(err, errlen, "out of memory");
        return end(m, -ENOMEM);
    }
    if (etag && !failure)
        etag_of(made, etag, 128);
    return end(m, failure);
}

static int mem_del(void *impl, const char *key, char *err, size_t errlen)
{
    struct bucket_mem *m = impl;
    bool applied, found;
    int failure = begin(m, &applied, key, err, errlen);
    if (failure && !applied)
        return end(m, failure);
    size_t i = position(m, key, &found);
    if (found) {
        free(m->objects[i].key);
        free(m->objects[i].data);
        memmove(&m->objects[i], &m->objects[i + 1], (m->n - i - 1) * sizeof(m->objects[0]));
        m->n--;
    }
    return end(m, failure);
}

static int mem_head(void *impl, const char *key, char *etag, size_t etaglen, char *err,
                    size_t errlen)
{
    struct bucket_mem *m = impl;
    bool applied;
    int rc = begin(m, &applied, key, err, errlen);
    if (rc)
        return end(m, rc);
    const struct mem_object *o = find(m, key);
    if (o && etag)
        etag_of(o, etag, etaglen);
    return end(m, o ? 0 : -ENOENT);
}

static int mem_list(void *impl, const char *prefix, struct aws_s3_objects *out, char *err,
                    size_t errlen)
{
    struct bucket_mem *m = impl;
    bool applied;
    int rc = begin(m, &applied, prefix, err, errlen);
    if (rc)
        return end(m, rc);
    out->v = calloc(m->n + 1, sizeof(*out->v));
    out->n = 0;
    size_t plen = strlen(prefix);
    for (size_t i = 0; out->v && i < m->n; i++) {
        if (strncmp(m->objects[i].key, prefix, plen) != 0)
            continue;
        struct aws_s3_object *o = &out->v[out->n++];
        o->key = strdup(m->objects[i].key);
        o->etag = strdup(m->objects[i].etag);
        o->size = (long long)m->objects[i].len;
        if (!o->key || !o->etag) {
            aws_s3_objects_free(out);
            out->v = NULL;
        }
    }
    if (!out->v) {
        snprintf(err, errlen, "out of memory");
        return end(m, -ENOMEM);
    }
    return end(m, 0);
}

static void mem_set_deadline(void *impl, const struct timespec *deadline)
{
    (void)impl; /* memory answers at once */
    (void)deadline;
}

static void mem_destroy(void *impl)
{
    struct bucket_mem *m = impl;
    for (size_t i = 0; i < m->n; i++) {
        free(m->objects[i].key);
        free(m->objects[i].data);
    }
    free(m->objects);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static const struct bucket_ops mem_ops = {
    .get = mem_get,
    .put = mem_put,
    .del = mem_del,
    .head = mem_head,
    .list = mem_list,
    .set_deadline = mem_set_deadline,
    .destroy = mem_destroy,
};

int bucket_mem_open(struct bucket *out)
{
    struct bucket_mem *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    out->ops = &mem_ops;
    out->impl = m;
    return 0;
}

void bucket_mem_fail(struct bucket *b, const char *key_part, unsigned after, unsigned calls,
                     int rc, bool applied)
{
    struct bucket_mem *m = b->impl;
    pthread_mutex_lock(&m->lock);
    snprintf(m->fail_part, sizeof(m->fail_part), "%s", key_part ? key_part : "");
    m->healthy = after;
    m->failing = calls;
    m->fail_rc = rc;
    m->fail_applied = applied;
    pthread_mutex_unlock(&m->lock);
}

unsigned long bucket_mem_calls(struct bucket *b)
{
    struct bucket_mem *m = b->impl;
    pthread_mutex_lock(&m->lock);
    unsigned long n = m->calls;
    pthread_mutex_unlock(&m->lock);
    return n;
}

const char *bucket_mem_object(struct bucket *b, const char *key, size_t *len)
{
    struct bucket_mem *m = b->impl;
    pthread_mutex_lock(&m->lock);
    const struct mem_object *o = find(m, key);
    if (o && len)
        *len = o->len;
    const char *data = o ? o->data : NULL;
    pthread_mutex_unlock(&m->lock);
    return data;
}

void bucket_mem_etag(struct bucket *b, const char *key, char *etag, size_t len)
{
    struct bucket_mem *m = b->impl;
    pthread_mutex_lock(&m->lock);
    etag_of(find(m, key), etag, len);
    pthread_mutex_unlock(&m->lock);
}

size_t bucket_mem_keys(struct bucket *b, const char *prefix, const char **keys, size_t max)
{
    struct bucket_mem *m = b->impl;
    pthread_mutex_lock(&m->lock);
    size_t n = 0, plen = strlen(prefix);
    for (size_t i = 0; i < m->n && n < max; i++)
        if (strncmp(m->objects[i].key, prefix, plen) == 0)
            keys[n++] = m->objects[i].key;
    pthread_mutex_unlock(&m->lock);
    return n;
}
