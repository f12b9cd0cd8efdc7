#include "fs/fuse/page_versions.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct page_version {
    struct page_version *next;
    struct blob *content; /* NULL: unknown, the pages may mix versions */
    unsigned pins;        /* open read handles that pin this version */
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

/* Drops every entry, or with keep_pinned every entry no open pins. */
static void clear(struct page_versions *t, bool keep_pinned)
{
    for (size_t i = 0; i < t->n_buckets; i++) {
        struct page_version **link = &t->buckets[i];
        while (*link) {
            struct page_version *v = *link;
            if (keep_pinned && v->pins) {
                link = &v->next;
                continue;
            }
            *link = v->next;
            blob_unref(v->content);
            free(v);
            t->count--;
        }
    }
}

void page_versions_destroy(struct page_versions *t)
{
    if (t->buckets)
        clear(t, false);
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

bool page_versions_open(struct page_versions *t, const char *path, struct blob *content,
                        bool pin)
{
    pthread_mutex_lock(&t->lock);
    struct page_version *v = find(t, path);
    bool keep = v && same_bytes(v->content, content);
    if (!v && t->buckets) {
        if (t->count >= PAGE_VERSIONS_MAX)
            clear(t, true);
        size_t len = strlen(path);
        v = malloc(sizeof(*v) + len + 1);
        if (v) {
            memcpy(v->path, path, len + 1);
            v->content = NULL;
            v->pins = 0;
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
    if (v && pin)
        v->pins++;
    pthread_mutex_unlock(&t->lock);
    return keep;
}

bool page_versions_size(struct page_versions *t, const char *path, size_t *len)
{
    pthread_mutex_lock(&t->lock);
    struct page_version *v = find(t, path);
    bool pinned = v && v->pins && v->content;
    if (pinned)
        *len = v->content->len;
    pthread_mutex_unlock(&t->lock);
    return pinned;
}

bool page_versions_unpin(struct page_versions *t, const char *path, struct blob **version)
{
    pthread_mutex_lock(&t->lock);
    struct page_version *v = find(t, path);
    bool last = v && v->pins && --v->pins == 0;
    *version = last ? blob_ref(v->content) : NULL;
    pthread_mutex_unlock(&t->lock);
    return last;
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
