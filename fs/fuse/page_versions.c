#include "fs/fuse/page_versions.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct page_version {
    struct page_version *next;
    struct blob *content; /* NULL: unknown, the pages may mix versions */
    char path[];
};

#define N_BUCKETS 4096

int page_versions_init(struct page_versions *t)
{
    pthread_mutex_init(&t->lock, NULL);
    t->count = 0;
    t->n_buckets = N_BUCKETS;
    t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
    return t->buckets ? 0 : -ENOMEM;
}

static void clear(struct page_versions *t)
{
    for (size_t i = 0; i < t->n_buckets; i++) {
        struct page_version *v = t->buckets[i];
        while (v) {
            struct page_version *next = v->next;
            blob_unref(v->content);
            free(v);
            v = next;
        }
        t->buckets[i] = NULL;
    }
    t->count = 0;
}

void page_versions_destroy(struct page_versions *t)
{
    if (t->buckets)
        clear(t);
    free(t->buckets);
    t->buckets = NULL;
    pthread_mutex_destroy(&t->lock);
}

/* FNV-1a: a table index, not a digest. */
static size_t bucket_of(const struct page_versions *t, const char *path)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)(h % t->n_buckets);
}

/* Called with the lock held. */
static struct page_version *find(struct page_versions *t, const char *path)
{
    for (struct page_version *v = t->buckets[bucket_of(t, path)]; v; v = v->next)
        if (strcmp(v->path, path) == 0)
            return v;
    return NULL;
}

static bool same_bytes(const struct blob *a, const struct blob *b)
{
    return a == b || (a && b && a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
}

bool page_versions_open(struct page_versions *t, const char *path, struct blob *content)
{
    pthread_mutex_lock(&t->lock);
    struct page_version *v = find(t, path);
    bool keep = v && same_bytes(v->content, content);
    if (!v && t->buckets) {
        if (t->count >= PAGE_VERSIONS_MAX)
            clear(t);
        size_t len = strlen(path);
        v = malloc(sizeof(*v) + len + 1);
        if (v) {
            memcpy(v->path, path, len + 1);
            v->content = NULL;
            size_t b = bucket_of(t, path);
            v->next = t->buckets[b];
            t->buckets[b] = v;
            t->count++;
        }
    }
    if (v && v->content != content) {
        /* Equal bytes too: hold the newer blob so the old one can go. */
        blob_unref(v->content);
        v->content = blob_ref(content);
    }
    pthread_mutex_unlock(&t->lock);
    return keep;
}

struct blob *page_versions_get(struct page_versions *t, const char *path)
{
    pthread_mutex_lock(&t->lock);
    struct page_version *v = find(t, path);
    struct blob *b = v ? blob_ref(v->content) : NULL;
    pthread_mutex_unlock(&t->lock);
    return b;
}

void page_versions_served(struct page_versions *t, const char *path, const struct blob *content)
{
    pthread_mutex_lock(&t->lock);
    struct page_version *v = find(t, path);
    if (v && v->content && !same_bytes(v->content, content)) {
        blob_unref(v->content);
        v->content = NULL;
    }
    pthread_mutex_unlock(&t->lock);
}
