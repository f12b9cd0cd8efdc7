#include "fs/store/s3_undo.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct undo_entry {
    struct undo_entry *next;
    char *key;
    char etag[BUCKET_ETAG_LEN]; /* undo while the key's ETag is this; "" = while it is absent */
    struct blob *restore;  /* what to put back; NULL = delete */
    time_t since;
    bool done;             /* undone (or found moot) once: now only watched */
};

struct s3_undo {
    pthread_mutex_t lock;
    struct undo_entry *head;
};

struct s3_undo *s3_undo_new(void)
{
    struct s3_undo *u = calloc(1, sizeof(*u));
    if (u)
        pthread_mutex_init(&u->lock, NULL);
    return u;
}

static void entry_free(struct undo_entry *e)
{
    free(e->key);
    blob_unref(e->restore);
    free(e);
}

void s3_undo_free(struct s3_undo *u)
{
    if (!u)
        return;
    while (u->head) {
        struct undo_entry *next = u->head->next;
        entry_free(u->head);
        u->head = next;
    }
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static int add(struct s3_undo *u, const char *key, const char *etag, struct blob *restore)
{
    struct undo_entry *e = calloc(1, sizeof(*e));
    if (!e || !(e->key = strdup(key))) {
        free(e);
        return -ENOMEM;
    }
    snprintf(e->etag, sizeof(e->etag), "%s", etag);
    e->restore = restore ? blob_ref(restore) : NULL;
    e->since = time(NULL);
    pthread_mutex_lock(&u->lock);
    e->next = u->head;
    u->head = e;
    pthread_mutex_unlock(&u->lock);
    return 0;
}

int s3_undo_put(struct s3_undo *u, const char *key, const void *written, size_t len,
                struct blob *previous)
{
    char etag[BUCKET_ETAG_LEN];
    bucket_etag_of(written, len, etag);
    return add(u, key, etag, previous);
}

int s3_undo_delete(struct s3_undo *u, const char *key, struct blob *previous)
{
    return previous ? add(u, key, "", previous) : 0; /* nothing was there: nothing to undo */
}

void s3_undo_forget(struct s3_undo *u, const char *key)
{
    pthread_mutex_lock(&u->lock);
    for (struct undo_entry **p = &u->head; *p;) {
        if (strcmp((*p)->key, key) == 0) {
            struct undo_entry *gone = *p;
            *p = gone->next;
            entry_free(gone);
        } else {
            p = &(*p)->next;
        }
    }
    pthread_mutex_unlock(&u->lock);
}

/* Applies one entry if its condition holds; 0 when applied or moot. */
static int replay_one(const struct undo_entry *e, const struct bucket *b, char *err,
                      size_t errlen)
{
    char now[128] = "";
    int rc = bucket_head(b, e->key, now, sizeof(now), err, errlen);
    bool absent = rc == -ENOENT;
    bool holds = rc == 0 && e->etag[0] && strcmp(now, e->etag) == 0;
    if (rc && !absent)
        return rc;
    if (e->etag[0] ? !holds : !absent)
        return 0; /* the failed write is not (or no longer) there */
    if (!e->restore)
        return bucket_delete(b, e->key, err, errlen);
    struct aws_s3_put_options cond = {.content_type = "text/plain",
                                      .if_none_match = !e->etag[0],
                                      .if_match = e->etag[0] ? e->etag : NULL};
    rc = bucket_put(b, e->key, e->restore->data, e->restore->len, &cond, NULL, err, errlen);
    return rc == AWS_ERR_PRECONDITION ? 0 : rc; /* changed meanwhile: not ours to undo */
}

int s3_undo_replay(struct s3_undo *u, const struct bucket *b, char *err, size_t errlen)
{
    time_t now = time(NULL);
    pthread_mutex_lock(&u->lock);
    int rc = 0;
    for (struct undo_entry **p = &u->head; *p;) {
        struct undo_entry *e = *p;
        if (rc == 0) {
            char why[768];
            rc = replay_one(e, b, why, sizeof(why));
            if (rc) {
                snprintf(err, errlen, "undoing a failed write of %s: %s", e->key, why);
            } else if (!e->done) {
                e->done = true;
                fprintf(stderr, "pclusterfs: checked %s after a failed write: nothing of it "
                                "stays\n", e->key);
            }
        }
        /* A failed DELETE is checked once: watching "absent, put back"
         * would undo another mount's later deletion of the same name. */
        if (e->done && (!e->etag[0] || now - e->since > UNDO_WATCH_SECONDS)) {
            *p = e->next;
            entry_free(e);
        } else {
            p = &e->next;
        }
    }
    pthread_mutex_unlock(&u->lock);
    return rc;
}

size_t s3_undo_pending(struct s3_undo *u)
{
    size_t n = 0;
    pthread_mutex_lock(&u->lock);
    for (struct undo_entry *e = u->head; e; e = e->next)
        n += !e->done;
    pthread_mutex_unlock(&u->lock);
    return n;
}
