#include "fs/store/objcache.h"

#include "fs/store/fetch_many.h"

#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

struct kept {
    char *key;
    char *etag;
    struct blob *data;
    unsigned long used; /* the sweep round that last asked for it */
    struct kept *next; /* every entry, for sweeping */
};

struct objcache {
    pthread_mutex_t lock; /* over everything below */
    void *index; /* tsearch tree of struct kept *, by key */
    struct kept *all;
    unsigned long round;
    unsigned long fetched, hits;
};

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct kept *)a)->key, ((const struct kept *)b)->key);
}

struct objcache *objcache_new(void)
{
    struct objcache *oc = calloc(1, sizeof(struct objcache));
    if (oc)
        pthread_mutex_init(&oc->lock, NULL);
    return oc;
}

static void entry_free(struct kept *e)
{
    free(e->key);
    free(e->etag);
    blob_unref(e->data);
    free(e);
}

static void forget(struct objcache *oc, struct kept *e)
{
    tdelete(e, &oc->index, by_key);
    entry_free(e);
}

void objcache_free(struct objcache *oc)
{
    if (!oc)
        return;
    while (oc->all) {
        struct kept *e = oc->all;
        oc->all = e->next;
        forget(oc, e);
    }
    pthread_mutex_destroy(&oc->lock);
    free(oc);
}

static struct kept *find(struct objcache *oc, const char *key)
{
    struct kept probe = {.key = (char *)key};
    struct kept **found = tfind(&probe, &oc->index, by_key);
    return found ? *found : NULL;
}

/* Keeps data under key with etag (replacing what was there); locked. */
static void keep(struct objcache *oc, const char *key, const char *etag, struct blob *data)
{
    struct kept *e = find(oc, key);
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e || !(e->key = strdup(key))) {
            free(e);
            return;
        }
        if (!tsearch(e, &oc->index, by_key)) {
            entry_free(e);
            return;
        }
        e->next = oc->all;
        oc->all = e;
    }
    char *copy = strdup(etag);
    if (!copy)
        return; /* the old copy stays; its ETag will not match, so it is fetched again */
    free(e->etag);
    e->etag = copy;
    blob_unref(e->data);
    e->data = blob_ref(data);
    e->used = oc->round;
}

void objcache_keep(struct objcache *oc, const char *key, const char *etag, struct blob *data)
{
    pthread_mutex_lock(&oc->lock);
    keep(oc, key, etag, data);
    pthread_mutex_unlock(&oc->lock);
}

struct blob *objcache_lookup(struct objcache *oc, const char *key, const char *etag)
{
    struct blob *b = NULL;
    pthread_mutex_lock(&oc->lock);
    struct kept *e = find(oc, key);
    if (e && etag && *etag && strcmp(e->etag, etag) == 0) {
        e->used = oc->round;
        oc->hits++;
        b = blob_ref(e->data);
    }
    pthread_mutex_unlock(&oc->lock);
    return b;
}

static void count_fetched(struct objcache *oc, unsigned long n)
{
    pthread_mutex_lock(&oc->lock);
    oc->fetched += n;
    pthread_mutex_unlock(&oc->lock);
}

int objcache_get(struct objcache *oc, const struct bucket *b, const char *key, const char *etag,
                 struct blob **out, char *err, size_t errlen)
{
    if ((*out = objcache_lookup(oc, key, etag)))
        return 0;
    char *data = NULL, got[128] = "";
    size_t len = 0;
    count_fetched(oc, 1);
    int rc = bucket_get(b, key, &data, &len, got, sizeof(got), err, errlen);
    if (rc)
        return rc;
    *out = blob_new(data, len);
    free(data);
    if (!*out)
        return -ENOMEM;
    /* Kept under the ETag the GET answered with: when the object changed
     * since the listing, the next listing names that newer ETag. */
    objcache_keep(oc, key, got, *out);
    return 0;
}

/* Enough to hide S3's round trip; few enough not to look like a storm. */
#define PREFETCH_WORKERS 8

void objcache_prefetch(struct objcache *oc, const struct bucket *b, const char *const *keys,
                       const char *const *etags, size_t n)
{
    struct fetch_item *items = calloc(n ? n : 1, sizeof(*items));
    if (!items)
        return;
    size_t m = 0;
    pthread_mutex_lock(&oc->lock);
    for (size_t i = 0; i < n; i++) {
        struct kept *e = find(oc, keys[i]);
        if (!e || !etags[i] || strcmp(e->etag, etags[i]) != 0)
            items[m++].key = keys[i];
    }
    pthread_mutex_unlock(&oc->lock);
    if (m > 1) { /* one alone is objcache_get's job */
        fetch_many(b, items, m, PREFETCH_WORKERS);
        count_fetched(oc, m);
        for (size_t i = 0; i < m; i++) {
            struct blob *b = items[i].rc == 0 ? blob_new(items[i].data, items[i].len) : NULL;
            if (b)
                objcache_keep(oc, items[i].key, items[i].etag, b);
            blob_unref(b);
            free(items[i].data);
        }
    }
    free(items);
}

void objcache_sweep(struct objcache *oc)
{
    pthread_mutex_lock(&oc->lock);
    struct kept **pp = &oc->all;
    while (*pp) {
        struct kept *e = *pp;
        if (e->used != oc->round) {
            *pp = e->next;
            forget(oc, e);
        } else {
            pp = &e->next;
        }
    }
    oc->round++;
    pthread_mutex_unlock(&oc->lock);
}

void objcache_stats(struct objcache *oc, unsigned long *fetched, unsigned long *hits)
{
    pthread_mutex_lock(&oc->lock);
    *fetched = oc->fetched;
    *hits = oc->hits;
    pthread_mutex_unlock(&oc->lock);
}
