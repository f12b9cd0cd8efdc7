#include "fs/store/s3_undo.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct undo_entry {
    struct undo_entry *next;
    char *key;
    char etag[40];         /* undo while the key's ETag is this; "" = while it is absent */
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

static void etag_of(const void *data, size_t len, char out[40])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL);
    out[0] = '"';
    for (unsigned int i = 0; i < mdlen && i < 16; i++)
        snprintf(out + 1 + 2 * i, 3, "%02x", md[i]);
    snprintf(out + 33, 7, "\"");
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
    char etag[40];
    etag_of(written, len, etag);
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
static int replay_one(const struct undo_entry *e, struct aws_client *c, const char *bucket,
                      struct aws_error *ae)
{
    struct aws_s3_object info = {0};
    int rc = aws_s3_head_object(c, bucket, e->key, &info, ae);
    bool absent = rc == -ENOENT;
    bool holds = rc == 0 && e->etag[0] && info.etag && strcmp(info.etag, e->etag) == 0;
    aws_s3_object_free(&info);
    if (rc && !absent)
        return rc;
    if (e->etag[0] ? !holds : !absent)
        return 0; /* the failed write is not (or no longer) there */
    if (!e->restore)
        return aws_s3_delete_object(c, bucket, e->key, ae);
    struct aws_s3_put_options cond = {.content_type = "text/plain",
                                      .if_none_match = !e->etag[0],
                                      .if_match = e->etag[0] ? e->etag : NULL};
    rc = aws_s3_put_object(c, bucket, e->key, e->restore->data, e->restore->len, &cond, NULL, ae);
    return rc == AWS_ERR_PRECONDITION ? 0 : rc; /* changed meanwhile: not ours to undo */
}

int s3_undo_replay(struct s3_undo *u, struct aws_client *c, const char *bucket, char *err,
                   size_t errlen)
{
    time_t now = time(NULL);
    pthread_mutex_lock(&u->lock);
    int rc = 0;
    for (struct undo_entry **p = &u->head; *p;) {
        struct undo_entry *e = *p;
        struct aws_error ae;
        if (rc == 0) {
            rc = replay_one(e, c, bucket, &ae);
            if (rc) {
                char buf[768];
                snprintf(err, errlen, "undoing a failed write of %s: %s", e->key,
                         aws_error_format(&ae, buf, sizeof(buf)));
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
