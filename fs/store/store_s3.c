#include "fs/store/store_s3.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "aws/aws.h"
#include "fs/store/layout.h"
#include "fs/store/s3_undo.h"
#include "fs/model/timefmt.h"

#define EVENTS_APPEND_TRIES 10
#define LOCK_STALE_SECONDS 30 /* a commit lock older than this was left by a dead mount */
#define LOCK_WAIT_MS 6000     /* how long a commit waits for another mount's */
#define LOCK_POLL_MS 200

/* An events append or last_error that could not be written: written once
 * the bucket answers, in order. */
struct deferred {
    struct deferred *next;
    char *cluster;
    char *text;       /* the event lines, or the last_error (NULL clears it) */
    bool last_error;
};

/* A fetched object, kept while its ETag is what the bucket lists. */
struct cached_object {
    struct cached_object *next;
    char *key;
    char *etag;
    struct blob *data;
    unsigned long seen; /* load number that last listed it */
};

struct store_s3 {
    struct aws_creds_provider *creds;
    char *region, *bucket, *account;
    pthread_key_t client_key; /* one aws_client per thread, never shared */
    pthread_mutex_t cache_lock;
    struct cached_object *cache;
    unsigned long loads;
    struct s3_undo *undo;
    pthread_mutex_t deferred_lock;
    struct deferred *deferred; /* oldest first */
    char owner[33];            /* this mount, in commit locks: random hex */
};

static void client_free(void *c)
{
    aws_client_free(c);
}

/* This thread's client, made on first use. */
static struct aws_client *client(struct store_s3 *s)
{
    struct aws_client *c = pthread_getspecific(s->client_key);
    if (c)
        return c;
    c = aws_client_new(s->creds, s->region);
    if (!c)
        return NULL;
    aws_client_set_bucket_owner(c, s->account);
    /* Commits wait on these calls: keep each one bounded. */
    aws_client_set_timeouts(c, 3000, 10000);
    pthread_setspecific(s->client_key, c);
    return c;
}

static int fail(int rc, const struct aws_error *e, char *err, size_t errlen, const char *what)
{
    char buf[768];
    snprintf(err, errlen, "%s: %s", what, aws_error_format(e, buf, sizeof(buf)));
    return rc;
}

static int put(struct store_s3 *s, const char *key, const void *data, size_t len,
               const struct aws_s3_put_options *opt, char *etag, char *err, size_t errlen)
{
    struct aws_client *c = client(s);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct aws_error e;
    int rc = aws_s3_put_object(c, s->bucket, key, data, len, opt, etag, &e);
    return rc ? fail(rc, &e, err, errlen, key) : 0;
}

static int del(struct store_s3 *s, const char *key, char *err, size_t errlen)
{
    struct aws_client *c = client(s);
    if (!c)
        return -ENOMEM;
    struct aws_error e;
    int rc = aws_s3_delete_object(c, s->bucket, key, &e);
    return rc ? fail(rc, &e, err, errlen, key) : 0;
}

/* GET into *data (caller frees); -ENOENT when absent. */
static int get(struct store_s3 *s, const char *key, char **data, size_t *len, char *etag,
               size_t etaglen, char *err, size_t errlen)
{
    struct aws_client *c = client(s);
    if (!c)
        return -ENOMEM;
    struct aws_error e;
    struct aws_s3_object info = {0};
    int rc = aws_s3_get_object(c, s->bucket, key, data, len, &info, &e);
    if (rc == 0 && etag)
        snprintf(etag, etaglen, "%s", info.etag ? info.etag : "");
    aws_s3_object_free(&info);
    if (rc == -ENOENT)
        return rc;
    return rc ? fail(rc, &e, err, errlen, key) : 0;
}

static bool exists(struct store_s3 *s, const char *key, int *rc, char *err, size_t errlen)
{
    struct aws_client *c = client(s);
    struct aws_error e;
    struct aws_s3_object info = {0};
    *rc = c ? aws_s3_head_object(c, s->bucket, key, &info, &e) : -ENOMEM;
    aws_s3_object_free(&info);
    if (*rc == -ENOENT) {
        *rc = 0;
        return false;
    }
    if (*rc)
        fail(*rc, &e, err, errlen, key);
    return *rc == 0;
}

/* The object at key as a blob (NUL-terminated), or *out NULL when absent. */
static int get_blob(struct store_s3 *s, const char *key, struct blob **out, char etag[128],
                    char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = get(s, key, &data, &len, etag, 128, err, errlen);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0 && !(*out = blob_new(data, len)))
        rc = -ENOMEM;
    free(data);
    return rc;
}

/* A PUT that may have landed though it failed (a timeout, a lost answer)
 * leaves an undo entry: previous goes back (NULL: the key goes). */
static int put_undoable(struct store_s3 *s, const char *key, const void *data, size_t len,
                        const struct aws_s3_put_options *opt, struct blob *previous, char *err,
                        size_t errlen)
{
    int rc = put(s, key, data, len, opt, NULL, err, errlen);
    if (rc == 0)
        s3_undo_forget(s->undo, key);
    else if (rc != AWS_ERR_PRECONDITION)
        s3_undo_put(s->undo, key, data, len, previous);
    return rc;
}

static int del_undoable(struct store_s3 *s, const char *key, struct blob *previous, char *err,
                        size_t errlen)
{
    int rc = del(s, key, err, errlen);
    if (rc == 0)
        s3_undo_forget(s->undo, key);
    else
        s3_undo_delete(s->undo, key, previous);
    return rc;
}

/* ---------------------------------------------------------------- load */

static void write_deferred(struct store_s3 *s);

static struct blob *cache_lookup(struct store_s3 *s, const char *key, const char *etag)
{
    struct blob *b = NULL;
    pthread_mutex_lock(&s->cache_lock);
    for (struct cached_object *o = s->cache; o; o = o->next) {
        if (strcmp(o->key, key) == 0) {
            if (strcmp(o->etag, etag) == 0) {
                o->seen = s->loads;
                b = blob_ref(o->data);
            }
            break;
        }
    }
    pthread_mutex_unlock(&s->cache_lock);
    return b;
}

static void cache_store(struct store_s3 *s, const char *key, const char *etag, struct blob *b)
{
    pthread_mutex_lock(&s->cache_lock);
    struct cached_object *o = s->cache;
    while (o && strcmp(o->key, key) != 0)
        o = o->next;
    if (!o) {
        o = calloc(1, sizeof(*o));
        if (o && !(o->key = strdup(key))) {
            free(o);
            o = NULL;
        }
        if (o) {
            o->next = s->cache;
            s->cache = o;
        }
    }
    if (o) {
        char *etag_copy = strdup(etag);
        if (etag_copy) {
            free(o->etag);
            o->etag = etag_copy;
            blob_unref(o->data);
            o->data = blob_ref(b);
            o->seen = s->loads;
        }
    }
    pthread_mutex_unlock(&s->cache_lock);
}

/* Drops cached objects the last listing no longer showed. */
static void cache_sweep(struct store_s3 *s)
{
    pthread_mutex_lock(&s->cache_lock);
    struct cached_object **pp = &s->cache;
    while (*pp) {
        struct cached_object *o = *pp;
        if (o->seen != s->loads) {
            *pp = o->next;
            free(o->key);
            free(o->etag);
            blob_unref(o->data);
            free(o);
        } else {
            pp = &o->next;
        }
    }
    pthread_mutex_unlock(&s->cache_lock);
}

/* The object's bytes, from the cache when its ETag is unchanged. */
static int fetch(struct store_s3 *s, const struct aws_s3_object *o, struct blob **out, char *err,
                 size_t errlen)
{
    *out = cache_lookup(s, o->key, o->etag);
    if (*out)
        return 0;
    char *data = NULL;
    size_t len = 0;
    char etag[128];
    int rc = get(s, o->key, &data, &len, etag, sizeof(etag), err, errlen);
    if (rc == -ENOENT) { /* removed since the listing */
        *out = NULL;
        return 0;
    }
    if (rc)
        return rc;
    *out = blob_new(data, len);
    free(data);
    if (!*out)
        return -ENOMEM;
    cache_store(s, o->key, etag, *out);
    return 0;
}

static time_t parse_time(const char *iso)
{
    struct tm tm = {0};
    if (!iso || !strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return timegm(&tm);
}

static struct desired_cluster *cluster_slot(struct desired_state *ds, const char *name,
                                            size_t namelen, size_t *cap)
{
    if (ds->n && strlen(ds->clusters[ds->n - 1].name) == namelen &&
        memcmp(ds->clusters[ds->n - 1].name, name, namelen) == 0)
        return &ds->clusters[ds->n - 1];
    if (ds->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct desired_cluster *grown = realloc(ds->clusters, ncap * sizeof(*grown));
        if (!grown)
            return NULL;
        ds->clusters = grown;
        *cap = ncap;
    }
    struct desired_cluster *dc = &ds->clusters[ds->n];
    memset(dc, 0, sizeof(*dc));
    dc->name = strndup(name, namelen);
    if (!dc->name)
        return NULL;
    ds->n++;
    return dc;
}

static int add_hook(struct desired_cluster *dc, enum hook_stage stage, const char *name,
                    struct blob *content, time_t mtime)
{
    struct desired_hook *grown =
        realloc(dc->hooks[stage], (dc->n_hooks[stage] + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    dc->hooks[stage] = grown;
    char *copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    grown[dc->n_hooks[stage]++] = (struct desired_hook){copy, blob_ref(content), mtime};
    return 0;
}

/* Remembers a listed object the store does not load, with its ETag. */
static int add_object(struct desired_cluster *dc, const char *rest, const char *etag, size_t *cap)
{
    if (dc->n_objects == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct desired_object *grown = realloc(dc->objects, ncap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        dc->objects = grown;
        *cap = ncap;
    }
    struct desired_object *o = &dc->objects[dc->n_objects];
    o->rest = strdup(rest);
    o->etag = strdup(etag ? etag : "");
    if (!o->rest || !o->etag) {
        free(o->rest);
        free(o->etag);
        return -ENOMEM;
    }
    dc->n_objects++;
    return 0;
}

static char *blob_text(const struct blob *b)
{
    return b ? strndup(b->data, b->len) : NULL;
}

/* Applies one object of clusters/<name>/ to its cluster. */
static int apply_object(struct store_s3 *s, struct desired_cluster *dc, const char *rest,
                        const struct aws_s3_object *o, bool *has_marker, size_t *objects_cap,
                        char *err, size_t errlen)
{
    static const char *const fetched[] = {"cluster", "config",     "generation", "events",
                                          "last_error", "failure", "completed"};
    enum hook_stage stage;
    const char *hook_name;
    bool wanted = layout_hook_of(rest, &stage, &hook_name);
    for (size_t i = 0; i < sizeof(fetched) / sizeof(fetched[0]); i++)
        wanted = wanted || strcmp(rest, fetched[i]) == 0;
    time_t mtime = parse_time(o->last_modified);
    if (strcmp(rest, "deleting") == 0) {
        dc->deleting = true;
        return 0;
    }
    /* Reports and the JWT key are not desired state, but the controller
     * reads them every pass: their ETags let it skip unchanged ones. */
    char jwt_rest[64];
    layout_generated_rest(LAYOUT_JWT_KEY, jwt_rest, sizeof(jwt_rest));
    if (layout_report_node(rest) || strcmp(rest, jwt_rest) == 0)
        return add_object(dc, rest, o->etag, objects_cap);
    if (!wanted)
        return 0; /* other generated files, intents: not desired state */
    struct blob *b;
    int rc = fetch(s, o, &b, err, errlen);
    if (rc || !b)
        return rc;
    if (strcmp(rest, "cluster") == 0) {
        *has_marker = true;
        dc->created_at = (time_t)strtoll(b->data, NULL, 10);
        if (dc->updated_at < dc->created_at)
            dc->updated_at = dc->created_at;
    } else if (strcmp(rest, "config") == 0) {
        dc->config = blob_ref(b);
        if (mtime > dc->updated_at)
            dc->updated_at = mtime;
    } else if (strcmp(rest, "generation") == 0) {
        dc->generation = (int)strtol(b->data, NULL, 10);
    } else if (strcmp(rest, "events") == 0) {
        dc->events = blob_ref(b);
    } else if (strcmp(rest, "last_error") == 0) {
        dc->last_error = blob_text(b);
    } else if (strcmp(rest, "failure") == 0) {
        /* "CODE\nREASON", written by the controller */
        const char *nl = memchr(b->data, '\n', b->len);
        dc->failure_code = nl ? strndup(b->data, (size_t)(nl - b->data)) : blob_text(b);
        dc->failure_reason = nl ? strdup(nl + 1) : strdup("");
    } else if (strcmp(rest, "completed") == 0) {
        dc->first_complete = (int)strtol(b->data, NULL, 10);
    } else {
        if (*hook_name && !strchr(hook_name, '/'))
            rc = add_hook(dc, stage, hook_name, b, mtime);
        if (mtime > dc->updated_at)
            dc->updated_at = mtime;
    }
    blob_unref(b);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct desired_cluster *)a)->name,
                  ((const struct desired_cluster *)b)->name);
}

static int by_hook_name(const void *a, const void *b)
{
    return strcmp(((const struct desired_hook *)a)->name, ((const struct desired_hook *)b)->name);
}

/* Drops clusters without a marker (half-removed ones) and sorts. */
static void finish_state(struct desired_state *ds, const bool *markers)
{
    size_t kept = 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (!markers[i]) {
            desired_cluster_clear(&ds->clusters[i]);
            continue;
        }
        ds->clusters[kept++] = ds->clusters[i];
    }
    ds->n = kept;
    if (ds->n > 1) /* qsort wants a non-NULL base even for nothing */
        qsort(ds->clusters, ds->n, sizeof(*ds->clusters), by_name);
    for (size_t i = 0; i < ds->n; i++) {
        struct desired_cluster *dc = &ds->clusters[i];
        for (int st = 0; st < HOOK_STAGES; st++)
            if (dc->n_hooks[st] > 1)
                qsort(dc->hooks[st], dc->n_hooks[st], sizeof(struct desired_hook), by_hook_name);
        if (!dc->events)
            dc->events = blob_new("", 0);
    }
}

static int s3_load(void *impl, struct desired_state **out, char *err, size_t errlen)
{
    struct store_s3 *s = impl;
    struct aws_client *c = client(s);
    if (!c)
        return -ENOMEM;
    /* First what failed writes left to do, so no failed commit shows. */
    char undo_err[512];
    if (s3_undo_replay(s->undo, c, s->bucket, undo_err, sizeof(undo_err)) != 0)
        fprintf(stderr, "pclusterfs: %s\n", undo_err);
    write_deferred(s);
    struct aws_s3_objects list = {0};
    struct aws_error e;
    int rc = aws_s3_list_objects(c, s->bucket, layout_clusters_prefix(), 0, &list, &e);
    if (rc)
        return fail(rc, &e, err, errlen, "listing the state bucket");
    pthread_mutex_lock(&s->cache_lock);
    s->loads++;
    pthread_mutex_unlock(&s->cache_lock);

    struct desired_state *ds = calloc(1, sizeof(*ds));
    bool *markers = calloc(list.n + 1, sizeof(bool));
    size_t cap = 0, objects_cap = 0;
    rc = ds && markers ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < list.n; i++) {
        const char *name, *rest;
        size_t name_len;
        if (!layout_split_key(list.v[i].key, &name, &name_len, &rest))
            continue;
        size_t before = ds->n;
        struct desired_cluster *dc = cluster_slot(ds, name, name_len, &cap);
        if (!dc) {
            rc = -ENOMEM;
            break;
        }
        if (ds->n != before)
            objects_cap = 0; /* a new cluster: its objects array starts empty */
        rc = apply_object(s, dc, rest, &list.v[i], &markers[ds->n - 1], &objects_cap, err,
                          errlen);
    }
    aws_s3_objects_free(&list);
    if (rc == 0) {
        finish_state(ds, markers);
        cache_sweep(s);
        *out = ds;
    } else {
        if (rc == -ENOMEM)
            snprintf(err, errlen, "out of memory loading the state bucket");
        desired_state_free(ds);
    }
    free(markers);
    return rc;
}

/* ---------------------------------------------------------------- writes */

static int s3_create_cluster(void *impl, const char *cluster, time_t now, char *err,
                             size_t errlen)
{
    struct store_s3 *s = impl;
    char *marker = layout_key(cluster, LAYOUT_MARKER), *deleting = layout_key(cluster, LAYOUT_DELETING);
    char body[32];
    snprintf(body, sizeof(body), "%lld\n", (long long)now);
    struct aws_s3_put_options only_new = {.content_type = "text/plain", .if_none_match = true};
    int rc = marker && deleting
                 ? put_undoable(s, marker, body, strlen(body), &only_new, NULL, err, errlen)
                 : -ENOMEM;
    if (rc == AWS_ERR_PRECONDITION) {
        int hrc;
        rc = exists(s, deleting, &hrc, err, errlen) ? -EBUSY : (hrc ? hrc : -EEXIST);
        if (rc == -EBUSY || rc == -EEXIST)
            snprintf(err, errlen, "cluster %s %s", cluster,
                     rc == -EBUSY ? "is being deleted" : "exists already");
    }
    free(marker);
    free(deleting);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Takes the cluster's commit lock (an object only one mount can create),
 * waiting LOCK_WAIT_MS for another mount's commit; a lock of this mount or
 * older than LOCK_STALE_SECONDS is taken over. -EBUSY when it stays held. */
static int lock_take(struct store_s3 *s, const char *key, const char *body, char *err,
                     size_t errlen)
{
    struct aws_s3_put_options only_new = {.content_type = "text/plain", .if_none_match = true};
    for (long waited = 0;; waited += LOCK_POLL_MS) {
        int rc = put_undoable(s, key, body, strlen(body), &only_new, NULL, err, errlen);
        if (rc != AWS_ERR_PRECONDITION)
            return rc;
        struct blob *held = NULL;
        char etag[128] = "";
        if ((rc = get_blob(s, key, &held, etag, err, errlen)) != 0)
            return rc;
        long long since = 0;
        bool ours = held && strncmp(held->data, s->owner, strlen(s->owner)) == 0;
        if (held && (ours || (sscanf(held->data, "%*s %lld", &since) == 1 &&
                              time(NULL) - since > LOCK_STALE_SECONDS))) {
            /* left by a failed commit of this mount (its commits are one at
             * a time), or by a mount that died */
            struct aws_s3_put_options take = {.content_type = "text/plain", .if_match = etag};
            rc = put_undoable(s, key, body, strlen(body), &take, NULL, err, errlen);
            if (rc != AWS_ERR_PRECONDITION) {
                blob_unref(held);
                return rc;
            }
        }
        blob_unref(held);
        if (waited >= LOCK_WAIT_MS) {
            snprintf(err, errlen,
                     "another mount is committing to this cluster and did not finish within "
                     "%d s; nothing was stored, write it again",
                     LOCK_WAIT_MS / 1000);
            return -EBUSY;
        }
        sleep_ms(LOCK_POLL_MS);
    }
}

static void lock_release(struct store_s3 *s, const char *key, const char *body)
{
    char err[256];
    if (del(s, key, err, sizeof(err)) != 0) /* goes when the bucket is back */
        s3_undo_put(s->undo, key, body, strlen(body), NULL);
}

/* A token that makes every write of an object differ from all others, so
 * a stale conditional write that lands late never matches. */
static void unique_token(char out[17])
{
    unsigned char r[8] = {0};
    RAND_bytes(r, sizeof(r));
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* Under the cluster's commit lock: config, then its generation, both
 * conditional on what was read, so no two commits share a generation even
 * if a lock was wrongly taken over. */
static int s3_put_config(void *impl, const char *cluster, struct blob *config, time_t now,
                         int *generation, char *err, size_t errlen)
{
    struct store_s3 *s = impl;
    char *key = layout_key(cluster, LAYOUT_CONFIG), *gen_key = layout_key(cluster, LAYOUT_GENERATION);
    char *lock_key = layout_key(cluster, LAYOUT_COMMIT_LOCK);
    int rc = key && gen_key && lock_key ? 0 : -ENOMEM;
    char lock_body[96], token[17];
    unique_token(token);
    snprintf(lock_body, sizeof(lock_body), "%s-%s %lld\n", s->owner, token, (long long)now);
    if (rc == 0)
        rc = lock_take(s, lock_key, lock_body, err, errlen);
    bool locked = rc == 0;
    struct blob *old_config = NULL, *old_gen = NULL;
    char config_etag[128] = "", gen_etag[128] = "";
    if (rc == 0)
        rc = get_blob(s, key, &old_config, config_etag, err, errlen);
    if (rc == 0)
        rc = get_blob(s, gen_key, &old_gen, gen_etag, err, errlen);
    int next = (old_gen ? (int)strtol(old_gen->data, NULL, 10) : 0) + 1;
    if (rc == 0) {
        struct aws_s3_put_options cond = {.content_type = "text/plain",
                                          .if_none_match = !old_config,
                                          .if_match = old_config ? config_etag : NULL};
        rc = put_undoable(s, key, config->data, config->len, &cond, old_config, err, errlen);
        if (rc == 0) {
            char body[64];
            snprintf(body, sizeof(body), "%d %s\n", next, token);
            struct aws_s3_put_options gen_cond = {.content_type = "text/plain",
                                                  .if_none_match = !old_gen,
                                                  .if_match = old_gen ? gen_etag : NULL};
            rc = put_undoable(s, gen_key, body, strlen(body), &gen_cond, old_gen, err, errlen);
            if (rc) { /* the config is in, its generation is not: take it back */
                char ignored[256];
                s3_undo_put(s->undo, key, config->data, config->len, old_config);
                s3_undo_replay(s->undo, client(s), s->bucket, ignored, sizeof(ignored));
            }
        }
    }
    if (rc == AWS_ERR_PRECONDITION) {
        snprintf(err, errlen, "another mount committed to %s at the same moment; this config "
                              "was not stored, write it again", cluster);
        rc = -EBUSY;
    }
    if (rc == 0) { /* a new config is a new try: the last failure verdict goes */
        *generation = next;
        char *failure = layout_key(cluster, LAYOUT_FAILURE);
        rc = failure ? del(s, failure, err, errlen) : -ENOMEM;
        free(failure);
    }
    if (locked)
        lock_release(s, lock_key, lock_body);
    blob_unref(old_config);
    blob_unref(old_gen);
    free(key);
    free(gen_key);
    free(lock_key);
    return rc;
}

static int s3_put_hook(void *impl, const char *cluster, enum hook_stage stage, const char *name,
                       struct blob *content, time_t now, char *err, size_t errlen)
{
    (void)now;
    struct store_s3 *s = impl;
    char *key = layout_hook_key(cluster, stage, name);
    struct blob *old = NULL;
    char etag[128];
    int rc = key ? get_blob(s, key, &old, etag, err, errlen) : -ENOMEM;
    if (rc == 0)
        rc = put_undoable(s, key, content->data, content->len, NULL, old, err, errlen);
    blob_unref(old);
    free(key);
    return rc;
}

static int s3_delete_hook(void *impl, const char *cluster, enum hook_stage stage,
                          const char *name, time_t now, char *err, size_t errlen)
{
    (void)now;
    struct store_s3 *s = impl;
    char *key = layout_hook_key(cluster, stage, name);
    struct blob *old = NULL;
    char etag[128];
    int rc = key ? get_blob(s, key, &old, etag, err, errlen) : -ENOMEM;
    if (rc == 0 && !old) {
        snprintf(err, errlen, "hooks/%s/%s does not exist", hook_stage_name(stage), name);
        rc = -ENOENT;
    }
    if (rc == 0)
        rc = del_undoable(s, key, old, err, errlen);
    blob_unref(old);
    free(key);
    return rc;
}

static int s3_mark_deleting(void *impl, const char *cluster, char *err, size_t errlen)
{
    struct store_s3 *s = impl;
    char *key = layout_key(cluster, LAYOUT_DELETING);
    char body[RFC3339_LEN + 1];
    timefmt_rfc3339(time(NULL), body, sizeof(body) - 1);
    strcat(body, "\n");
    int rc = key ? put(s, key, body, strlen(body), NULL, NULL, err, errlen) : -ENOMEM;
    free(key);
    return rc;
}

static int s3_remove_cluster(void *impl, const char *cluster, char *err, size_t errlen)
{
    struct store_s3 *s = impl;
    struct aws_client *c = client(s);
    char *prefix = layout_cluster_prefix(cluster);
    char *marker = layout_key(cluster, LAYOUT_MARKER);
    struct aws_s3_objects list = {0};
    struct aws_error e;
    int rc = c && prefix && marker ? aws_s3_list_objects(c, s->bucket, prefix, 0, &list, &e)
                                   : -ENOMEM;
    if (rc && rc != -ENOMEM)
        fail(rc, &e, err, errlen, prefix);
    /* The marker goes last, so a crash leaves a cluster that still lists. */
    for (size_t i = 0; rc == 0 && i < list.n; i++)
        if (strcmp(list.v[i].key, marker) != 0)
            rc = del(s, list.v[i].key, err, errlen);
    if (rc == 0)
        rc = del(s, marker, err, errlen);
    aws_s3_objects_free(&list);
    free(prefix);
    free(marker);
    return rc;
}

static int append_events_now(struct store_s3 *s, const char *cluster, const char *lines,
                             char *err, size_t errlen)
{
    char *key = layout_key(cluster, LAYOUT_EVENTS);
    if (!key)
        return -ENOMEM;
    int rc = AWS_ERR_PRECONDITION;
    /* Two mounts may append at once: read, append, write only if unchanged. */
    for (int attempt = 0; rc == AWS_ERR_PRECONDITION && attempt < EVENTS_APPEND_TRIES; attempt++) {
        char *old = NULL;
        size_t old_len = 0;
        char etag[128] = "";
        rc = get(s, key, &old, &old_len, etag, sizeof(etag), err, errlen);
        if (rc && rc != -ENOENT)
            break;
        bool absent = rc == -ENOENT;
        size_t add = strlen(lines);
        char *next = malloc(old_len + add + 1);
        if (!next) {
            free(old);
            rc = -ENOMEM;
            break;
        }
        if (old_len)
            memcpy(next, old, old_len);
        memcpy(next + old_len, lines, add);
        struct aws_s3_put_options cond = {
            .content_type = "text/plain", .if_none_match = absent, .if_match = absent ? NULL : etag};
        rc = put(s, key, next, old_len + add, &cond, NULL, err, errlen);
        free(old);
        free(next);
    }
    if (rc == AWS_ERR_PRECONDITION)
        snprintf(err, errlen, "events of %s changed %d times while appending", cluster,
                 EVENTS_APPEND_TRIES);
    free(key);
    return rc;
}

static int set_last_error_now(struct store_s3 *s, const char *cluster, const char *msg,
                              char *err, size_t errlen)
{
    char *key = layout_key(cluster, LAYOUT_LAST_ERROR);
    if (!key)
        return -ENOMEM;
    struct aws_s3_put_options text = {.content_type = "text/plain"};
    int rc = msg ? put(s, key, msg, strlen(msg), &text, NULL, err, errlen)
                 : del(s, key, err, errlen);
    free(key);
    return rc;
}

/* Keeps what could not be written for when the bucket answers again. */
static void defer(struct store_s3 *s, const char *cluster, const char *text, bool last_error)
{
    struct deferred *d = calloc(1, sizeof(*d));
    if (!d || !(d->cluster = strdup(cluster)) || (text && !(d->text = strdup(text)))) {
        if (d)
            free(d->cluster);
        free(d);
        return; /* out of memory: the daemon's log has the reason already */
    }
    d->last_error = last_error;
    pthread_mutex_lock(&s->deferred_lock);
    struct deferred **p = &s->deferred;
    while (*p)
        p = &(*p)->next;
    *p = d;
    pthread_mutex_unlock(&s->deferred_lock);
}

static int s3_append_events(void *impl, const char *cluster, const char *lines, char *err,
                            size_t errlen)
{
    struct store_s3 *s = impl;
    int rc = append_events_now(s, cluster, lines, err, errlen);
    if (rc && rc != -ENOMEM)
        defer(s, cluster, lines, false);
    return rc;
}

static int s3_set_last_error(void *impl, const char *cluster, const char *msg, char *err,
                             size_t errlen)
{
    struct store_s3 *s = impl;
    int rc = set_last_error_now(s, cluster, msg, err, errlen);
    if (rc && rc != -ENOMEM)
        defer(s, cluster, msg, true);
    return rc;
}

static int put_text(struct store_s3 *s, char *key, const char *text, char *err, size_t errlen)
{
    struct aws_s3_put_options plain = {.content_type = "text/plain"};
    int rc = key && text ? put(s, key, text, strlen(text), &plain, NULL, err, errlen) : -ENOMEM;
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    free(key);
    return rc;
}

static int s3_set_failure(void *impl, const char *cluster, const char *code, const char *reason,
                          char *err, size_t errlen)
{
    char *body = NULL;
    if (asprintf(&body, "%s\n%s", code, reason) < 0)
        body = NULL;
    int rc = put_text(impl, layout_key(cluster, LAYOUT_FAILURE), body, err, errlen);
    free(body);
    return rc;
}

static int s3_set_completed(void *impl, const char *cluster, int generation, char *err,
                            size_t errlen)
{
    char body[32];
    snprintf(body, sizeof(body), "%d\n", generation);
    return put_text(impl, layout_key(cluster, LAYOUT_COMPLETED), body, err, errlen);
}

/* Writes what waited, oldest first; stops at the first failure. */
static void write_deferred(struct store_s3 *s)
{
    pthread_mutex_lock(&s->deferred_lock);
    while (s->deferred) {
        struct deferred *d = s->deferred;
        char err[512];
        int rc = d->last_error ? set_last_error_now(s, d->cluster, d->text, err, sizeof(err))
                               : append_events_now(s, d->cluster, d->text, err, sizeof(err));
        if (rc && rc != -ENOENT)
            break;
        s->deferred = d->next;
        free(d->cluster);
        free(d->text);
        free(d);
    }
    pthread_mutex_unlock(&s->deferred_lock);
}

static void s3_set_deadline(void *impl, const struct timespec *deadline)
{
    struct aws_client *c = client(impl);
    if (c)
        aws_client_set_deadline(c, deadline);
}

static void s3_destroy(void *impl)
{
    struct store_s3 *s = impl;
    struct aws_client *c = pthread_getspecific(s->client_key);
    if (c) {
        pthread_setspecific(s->client_key, NULL);
        aws_client_free(c);
    }
    pthread_key_delete(s->client_key);
    s3_undo_free(s->undo);
    while (s->deferred) {
        struct deferred *d = s->deferred;
        s->deferred = d->next;
        free(d->cluster);
        free(d->text);
        free(d);
    }
    pthread_mutex_destroy(&s->deferred_lock);
    pthread_mutex_lock(&s->cache_lock);
    s->loads++;
    pthread_mutex_unlock(&s->cache_lock);
    cache_sweep(s);
    pthread_mutex_destroy(&s->cache_lock);
    free(s->region);
    free(s->bucket);
    free(s->account);
    free(s);
}

static const struct store_ops s3_ops = {
    .load = s3_load,
    .create_cluster = s3_create_cluster,
    .put_config = s3_put_config,
    .put_hook = s3_put_hook,
    .delete_hook = s3_delete_hook,
    .mark_deleting = s3_mark_deleting,
    .remove_cluster = s3_remove_cluster,
    .append_events = s3_append_events,
    .set_last_error = s3_set_last_error,
    .set_failure = s3_set_failure,
    .set_completed = s3_set_completed,
    .set_deadline = s3_set_deadline,
    .destroy = s3_destroy,
};

int store_s3_open(struct store *out, const struct store_s3_params *p, char *err, size_t errlen)
{
    struct store_s3 *s = calloc(1, sizeof(*s));
    if (!s || pthread_key_create(&s->client_key, client_free) != 0) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&s->cache_lock, NULL);
    pthread_mutex_init(&s->deferred_lock, NULL);
    s->undo = s3_undo_new();
    unique_token(s->owner);
    s->creds = p->creds;
    s->region = strdup(p->region);
    s->bucket = strdup(p->bucket);
    s->account = strdup(p->account_id);
    if (!s->region || !s->bucket || !s->account || !s->undo) {
        s3_destroy(s);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    out->ops = &s3_ops;
    out->impl = s;
    atomic_store(&out->appended, 0);
    return 0;
}
