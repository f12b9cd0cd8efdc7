#include "fs/fuse/memfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void memfile_table_init(struct memfile_table *t)
{
    pthread_mutex_init(&t->lock, NULL);
    t->head = NULL;
    t->count = 0;
}

static void memfile_free(struct memfile *m)
{
    pthread_mutex_destroy(&m->lock);
    free(m->cluster);
    free(m->name);
    free(m->data);
    free(m);
}

void memfile_table_destroy(struct memfile_table *t)
{
    struct memfile *m = t->head;
    while (m) {
        struct memfile *next = m->next;
        memfile_free(m);
        m = next;
    }
    t->head = NULL;
    pthread_mutex_destroy(&t->lock);
}

struct memfile *memfile_new_detached(const char *data, size_t len)
{
    struct memfile *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->refs = 1;
    m->mtime = time(NULL);
    if (len) {
        m->data = malloc(len);
        if (!m->data) {
            memfile_free(m);
            return NULL;
        }
        memcpy(m->data, data, len);
        m->len = m->cap = len;
    }
    return m;
}

void memfile_put_detached(struct memfile *m)
{
    if (m)
        memfile_free(m);
}

static struct memfile *find_locked(struct memfile_table *t, const char *cluster, enum memdir dir,
                                   const char *name)
{
    for (struct memfile *m = t->head; m; m = m->next)
        if (m->dir == dir && strcmp(m->name, name) == 0 && strcmp(m->cluster, cluster) == 0)
            return m;
    return NULL;
}

struct memfile *memfile_get(struct memfile_table *t, const char *cluster, enum memdir dir,
                            const char *name)
{
    pthread_mutex_lock(&t->lock);
    struct memfile *m = find_locked(t, cluster, dir, name);
    if (m)
        m->refs++;
    pthread_mutex_unlock(&t->lock);
    return m;
}

int memfile_create(struct memfile_table *t, const char *cluster, enum memdir dir,
                   const char *name, bool pending, mode_t mode, struct memfile **out)
{
    struct memfile *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->cluster = strdup(cluster);
    m->name = strdup(name);
    if (!m->cluster || !m->name) {
        free(m->cluster);
        free(m->name);
        free(m);
        return -ENOMEM;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->dir = dir;
    m->pending = pending;
    m->mode = mode;
    m->mtime = time(NULL);
    m->refs = 2; /* the table's and the caller's */
    m->linked = true;
    pthread_mutex_lock(&t->lock);
    int rc = 0;
    if (find_locked(t, cluster, dir, name))
        rc = -EEXIST;
    else if (t->count >= MEMFILE_MAX_FILES)
        rc = -ENOSPC;
    if (rc == 0) {
        m->next = t->head;
        t->head = m;
        t->count++;
    }
    pthread_mutex_unlock(&t->lock);
    if (rc) {
        memfile_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void put_locked(struct memfile *m)
{
    if (--m->refs == 0)
        memfile_free(m);
}

void memfile_put(struct memfile_table *t, struct memfile *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&t->lock);
    put_locked(m);
    pthread_mutex_unlock(&t->lock);
}

static void unlink_locked(struct memfile_table *t, struct memfile *m)
{
    if (!m->linked)
        return;
    for (struct memfile **pp = &t->head; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    m->linked = false;
    m->next = NULL;
    t->count--;
    put_locked(m);
}

void memfile_unlink(struct memfile_table *t, struct memfile *m)
{
    pthread_mutex_lock(&t->lock);
    unlink_locked(t, m);
    pthread_mutex_unlock(&t->lock);
}

int memfile_rename(struct memfile_table *t, struct memfile *m, enum memdir dir, const char *name)
{
    char *copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    pthread_mutex_lock(&t->lock);
    struct memfile *old = find_locked(t, m->cluster, dir, name);
    if (old && old != m)
        unlink_locked(t, old);
    free(m->name);
    m->name = copy;
    m->dir = dir;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

void memfile_drop_cluster(struct memfile_table *t, const char *cluster)
{
    pthread_mutex_lock(&t->lock);
    struct memfile *m = t->head;
    while (m) {
        struct memfile *next = m->next;
        if (strcmp(m->cluster, cluster) == 0)
            unlink_locked(t, m);
        m = next;
    }
    pthread_mutex_unlock(&t->lock);
}

void memfile_list(struct memfile_table *t, const char *cluster, enum memdir dir,
                  void (*fn)(void *arg, const char *name, bool pending), void *arg)
{
    pthread_mutex_lock(&t->lock);
    for (struct memfile *m = t->head; m; m = m->next)
        if (m->dir == dir && strcmp(m->cluster, cluster) == 0)
            fn(arg, m->name, m->pending);
    pthread_mutex_unlock(&t->lock);
}

size_t memfile_count_pending(struct memfile_table *t, const char *cluster, enum memdir dir)
{
    size_t n = 0;
    pthread_mutex_lock(&t->lock);
    for (struct memfile *m = t->head; m; m = m->next)
        if (m->pending && m->dir == dir && strcmp(m->cluster, cluster) == 0)
            n++;
    pthread_mutex_unlock(&t->lock);
    return n;
}

static int reserve(struct memfile *m, size_t need)
{
    if (need <= m->cap)
        return 0;
    size_t cap = m->cap ? m->cap : 4096;
    while (cap < need)
        cap *= 2;
    char *grown = realloc(m->data, cap);
    if (!grown)
        return -ENOMEM;
    m->data = grown;
    m->cap = cap;
    return 0;
}

int memfile_write(struct memfile *m, const char *buf, size_t size, off_t off, size_t limit)
{
    if (off < 0)
        return -EINVAL;
    if ((size_t)off > limit || size > limit - (size_t)off)
        return -EFBIG;
    pthread_mutex_lock(&m->lock);
    size_t end = (size_t)off + size;
    int rc = reserve(m, end);
    if (rc == 0) {
        if ((size_t)off > m->len)
            memset(m->data + m->len, 0, (size_t)off - m->len);
        memcpy(m->data + off, buf, size);
        if (end > m->len)
            m->len = end;
        m->mtime = time(NULL);
        rc = (int)size;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int memfile_truncate(struct memfile *m, off_t size, size_t limit)
{
    if (size < 0)
        return -EINVAL;
    if ((size_t)size > limit)
        return -EFBIG;
    pthread_mutex_lock(&m->lock);
    int rc = reserve(m, (size_t)size);
    if (rc == 0) {
        if ((size_t)size > m->len)
            memset(m->data + m->len, 0, (size_t)size - m->len);
        m->len = (size_t)size;
        m->mtime = time(NULL);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int memfile_read(struct memfile *m, char *buf, size_t size, off_t off)
{
    pthread_mutex_lock(&m->lock);
    size_t n = 0;
    if (off >= 0 && (size_t)off < m->len) {
        n = m->len - (size_t)off;
        if (n > size)
            n = size;
        memcpy(buf, m->data + off, n);
    }
    pthread_mutex_unlock(&m->lock);
    return (int)n;
}

char *memfile_copy(struct memfile *m, size_t *len)
{
    pthread_mutex_lock(&m->lock);
    char *copy = malloc(m->len + 1);
    if (copy) {
        if (m->len)
            memcpy(copy, m->data, m->len);
        copy[m->len] = '\0';
        *len = m->len;
    }
    pthread_mutex_unlock(&m->lock);
    return copy;
}
