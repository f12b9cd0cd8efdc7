#include "fs/store/store_s3.h"
#include "fs/aws_policy.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "aws/aws.h"
#include "fs/model/config_memo.h"
#include "fs/store/events.h"
#include "fs/store/layout.h"
#include "fs/store/objcache.h"
#include "fs/errors.h"
#include "fs/store/bucket_s3.h"
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

struct store_s3 {
    struct bucket bucket;
    bool owns_bucket;
    struct objcache *cache; /* what loads fetched, by ETag */
    struct config_memo *parsed; /* each generation's config, parsed once */
    struct s3_undo *undo;
    pthread_mutex_t deferred_lock;
    struct deferred *deferred; /* oldest first */
    char owner[33];            /* this mount, in commit locks: random hex */
};

static int put(struct store_s3 *s, const char *key, const void *data, size_t len,
               const struct aws_s3_put_options *opt, char *etag, char *err, size_t errlen)
{
    return bucket_put(&s->bucket, key, data, len, opt, etag, err, errlen);
}

static int del(struct store_s3 *s, const char *key, char *err, size_t errlen)
{
    return bucket_delete(&s->bucket, key, err, errlen);
}

/* GET into *data (caller frees); -ENOENT when absent. */
static int get(struct store_s3 *s, const char *key, char **data, size_t *len, char *etag,
               size_t etaglen, char *err, size_t errlen)
{
    return bucket_get(&s->bucket, key, data, len, etag, etaglen, err, errlen);
}

static bool exists(struct store_s3 *s, const char *key, int *rc, char *err, size_t errlen)
{
    *rc = bucket_head(&s->bucket, key, NULL, 0, err, errlen);
    if (*rc == -ENOENT) {
        *rc = 0;
        return false;
    }
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

/* The object's bytes, from the cache when its ETag is unchanged. */
static int fetch(struct store_s3 *s, const struct aws_s3_object *o, struct blob **out, char *err,
                 size_t errlen)
{
    *out = objcache_lookup(s->cache, o->key, o->etag);
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
    objcache_keep(s->cache, o->key, etag, *out);
    return 0;
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
static int add_object(struct desired_cluster *dc, const char *rest, const char *etag,
                      time_t mtime, size_t *cap)
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
    o->mtime = mtime;
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

/* A cluster's events as a load meets them: the numbered parts (rolled out
 * of the live object) and the live object, joined once the listing is read. */
struct event_pieces {
    struct blob *live;
    struct event_part {
        unsigned num;
        struct blob *text;
    } *parts;
    size_t n, cap;
};

static int add_part(struct event_pieces *ep, unsigned num, struct blob *text)
{
    if (ep->n == ep->cap) {
        size_t ncap = ep->cap ? ep->cap * 2 : 4;
        struct event_part *grown = realloc(ep->parts, ncap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        ep->parts = grown;
        ep->cap = ncap;
    }
    ep->parts[ep->n++] = (struct event_part){num, blob_ref(text)};
    return 0;
}

static int by_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

static int by_part_number(const void *a, const void *b)
{
    unsigned x = ((const struct event_part *)a)->num, y = ((const struct event_part *)b)->num;
    return x < y ? -1 : x > y;
}

/* The cluster's events text (oldest part first), consuming ep. */
static int join_events(struct event_pieces *ep, struct desired_cluster *dc)
{
    int rc = 0;
    if (ep->n > 1)
        qsort(ep->parts, ep->n, sizeof(*ep->parts), by_part_number);
    struct blob **pieces = calloc(ep->n + 1, sizeof(*pieces));
    if (pieces) {
        for (size_t i = 0; i < ep->n; i++)
            pieces[i] = ep->parts[i].text;
        pieces[ep->n] = ep->live;
        if (ep->n == 0)
            dc->events = blob_ref(ep->live);
        else if (!(dc->events = events_join(pieces, ep->n + 1)))
            rc = -ENOMEM;
    } else {
        rc = -ENOMEM;
    }
    free(pieces);
    for (size_t i = 0; i < ep->n; i++)
        blob_unref(ep->parts[i].text);
    free(ep->parts);
    blob_unref(ep->live);
    memset(ep, 0, sizeof(*ep));
    return rc;
}

/* Applies one object of clusters/<name>/ to its cluster. */
static int apply_object(struct store_s3 *s, struct desired_cluster *dc, const char *rest,
                        const struct aws_s3_object *o, bool *has_marker,
                        struct event_pieces *events, size_t *objects_cap, char *err,
                        size_t errlen)
{
    static const char *const fetched[] = {"cluster", "config",     "generation", "events",
                                          "last_error", "failure", "completed"};
    enum hook_stage stage;
    const char *hook_name;
    bool wanted = layout_hook_of(rest, &stage, &hook_name);
    for (size_t i = 0; i < sizeof(fetched) / sizeof(fetched[0]); i++)
        wanted = wanted || strcmp(rest, fetched[i]) == 0;
    unsigned part = events_part_number(rest);
    wanted = wanted || part > 0;
    time_t mtime = aws_iso8601_or_zero(o->last_modified);
    if (strcmp(rest, "deleting") == 0) {
        dc->deleting = true;
        return 0;
    }
    /* Reports, the JWT key, the head's Slurm view and its acknowledgement
     * of the fleet spec are not desired state,
     * but the controller reads them every pass: their ETags let it skip
     * unchanged ones. */
    char jwt_rest[64];
    layout_generated_rest(LAYOUT_JWT_KEY, jwt_rest, sizeof(jwt_rest));
    char node[256], id[128];
    char ack_rest[64];
    enum layout_job job_kind;
    layout_head_ack_rest(LAYOUT_HEAD_ACK_FLEET, ack_rest, sizeof(ack_rest));
    /* and jobs/'s objects: their names are what jobs/ lists */
    if (layout_report_node(rest) || layout_is_head_report(rest) || strcmp(rest, jwt_rest) == 0 ||
        layout_is_head_slurm(rest) ||
        layout_nodectl_ack_of(rest, node, sizeof(node), id, sizeof(id)) ||
        strcmp(rest, ack_rest) == 0 || layout_job_of(rest, &job_kind, id, sizeof(id)) ||
        strcmp(rest, layout_head_events_rest()) == 0)
        return add_object(dc, rest, o->etag, mtime, objects_cap);
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
    } else if (part > 0) {
        rc = add_part(events, part, b);
    } else if (strcmp(rest, "events") == 0) {
        blob_unref(events->live);
        events->live = blob_ref(b);
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
    /* First what failed writes left to do, so no failed commit shows. */
    char undo_err[512];
    if (s3_undo_replay(s->undo, &s->bucket, undo_err, sizeof(undo_err)) != 0)
        fprintf(stderr, "pclusterfs: %s\n", undo_err);
    write_deferred(s);
    struct aws_s3_objects list = {0};
    char why[PCFS_MSG_MAX];
    int rc = bucket_list(&s->bucket, layout_clusters_prefix(), &list, why, sizeof(why));
    if (rc) {
        snprintf(err, errlen, "listing the state bucket: %s", why);
        return rc;
    }
    struct desired_state *ds = calloc(1, sizeof(*ds));
    bool *markers = calloc(list.n + 1, sizeof(bool));
    struct event_pieces *events = calloc(list.n + 1, sizeof(*events));
    size_t cap = 0, objects_cap = 0;
    rc = ds && markers && events ? 0 : -ENOMEM;
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
        rc = apply_object(s, dc, rest, &list.v[i], &markers[ds->n - 1], &events[ds->n - 1],
                          &objects_cap, err, errlen);
    }
    aws_s3_objects_free(&list);
    for (size_t i = 0; ds && events && i < ds->n; i++) {
        int jrc = join_events(&events[i], &ds->clusters[i]);
        rc = rc ? rc : jrc;
    }
    free(events);
    if (rc == 0) {
        finish_state(ds, markers);
        rc = config_memo_attach(s->parsed, ds);
    }
    if (rc == 0) {
        objcache_sweep(s->cache); /* objects gone from the listing */
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
                s3_undo_replay(s->undo, &s->bucket, ignored, sizeof(ignored));
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

static int s3_put_node_command(void *impl, const char *cluster, const char *node,
                               const char *id, const char *body, size_t len, char *err,
                               size_t errlen)
{
    struct store_s3 *s = impl;
    char *key = layout_nodectl_key(cluster, node, id);
    struct aws_s3_put_options only_new = {.content_type = "application/json",
                                          .if_none_match = true};
    int rc = key ? put(s, key, body, len, &only_new, NULL, err, errlen) : -ENOMEM;
    if (rc == AWS_ERR_PRECONDITION) {
        snprintf(err, errlen, "a command with id %s exists already", id);
        rc = -EEXIST;
    }
    free(key);
    return rc;
}

static int s3_put_job_object(void *impl, const char *cluster, enum layout_job kind,
                             const char *name, const char *body, size_t len, char *err,
                             size_t errlen)
{
    struct store_s3 *s = impl;
    char *key = layout_job_key(cluster, kind, name);
    struct aws_s3_put_options only_new = {.content_type = "application/octet-stream",
                                          .if_none_match = true};
    int rc = key ? put(s, key, body, len, &only_new, NULL, err, errlen) : -ENOMEM;
    if (rc == AWS_ERR_PRECONDITION) {
        snprintf(err, errlen, "%s%s exists already", layout_job_rest(kind), name);
        rc = -EEXIST;
    }
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
    char *prefix = layout_cluster_prefix(cluster);
    char *marker = layout_key(cluster, LAYOUT_MARKER);
    struct aws_s3_objects list = {0};
    int rc = prefix && marker ? bucket_list(&s->bucket, prefix, &list, err, errlen) : -ENOMEM;
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

/* The numbers of the cluster's rolled events parts, ascending. */
static int list_event_parts(struct store_s3 *s, const char *cluster, unsigned **nums, size_t *n,
                            char *err, size_t errlen)
{
    *nums = NULL;
    *n = 0;
    char *prefix = layout_events_parts_prefix(cluster);
    struct aws_s3_objects list = {0};
    int rc = prefix ? bucket_list(&s->bucket, prefix, &list, err, errlen) : -ENOMEM;
    if (rc == 0 && list.n && !(*nums = calloc(list.n, sizeof(**nums))))
        rc = -ENOMEM;
    size_t skip = prefix ? strlen(prefix) - strlen("events.") : 0;
    for (size_t i = 0; rc == 0 && i < list.n; i++) {
        unsigned num = events_part_number(list.v[i].key + skip);
        if (num)
            (*nums)[(*n)++] = num;
    }
    if (*n > 1)
        qsort(*nums, *n, sizeof(**nums), by_unsigned);
    aws_s3_objects_free(&list);
    free(prefix);
    return rc;
}

/* Writes text as the cluster's next events part (*num), only if no other
 * mount wrote that part first (then AWS_ERR_PRECONDITION). */
static int roll_part(struct store_s3 *s, const char *cluster, const char *text, size_t len,
                     unsigned *num, unsigned **parts, size_t *n_parts, char *err, size_t errlen)
{
    int rc = list_event_parts(s, cluster, parts, n_parts, err, errlen);
    if (rc)
        return rc;
    *num = (*n_parts ? (*parts)[*n_parts - 1] : 0) + 1;
    char *key = layout_events_part_key(cluster, *num);
    struct aws_s3_put_options only_new = {.content_type = "text/plain", .if_none_match = true};
    rc = key ? put(s, key, text, len, &only_new, NULL, err, errlen) : -ENOMEM;
    free(key);
    return rc;
}

/* Removes part num (a roll that lost its race), or the parts beyond the cap
 * once part num is in; best effort: a later roll removes what stays. */
static void drop_parts(struct store_s3 *s, const char *cluster, unsigned num, bool lost,
                       const unsigned *parts, size_t n_parts)
{
    char err[256];
    for (size_t i = 0; i <= n_parts; i++) {
        unsigned victim = i < n_parts ? parts[i] : num;
        if (lost ? victim != num : victim + EVENTS_PARTS_MAX > num)
            continue;
        char *key = layout_events_part_key(cluster, victim);
        if (key && del(s, key, err, sizeof(err)) != 0)
            fprintf(stderr, "pclusterfs: removing an events part: %s\n", err);
        free(key);
        if (lost)
            break;
    }
}

/* Two mounts may append at once: read, append, write only if unchanged
 * (If-Match). Past EVENTS_PART_BYTES the live object's lines first roll
 * into the next part, and the live object restarts with the new lines. */
static int append_events_now(struct store_s3 *s, const char *cluster, const char *lines,
                             char *err, size_t errlen)
{
    char *key = layout_key(cluster, LAYOUT_EVENTS);
    if (!key)
        return -ENOMEM;
    int rc = AWS_ERR_PRECONDITION;
    size_t add = strlen(lines);
    for (int attempt = 0; rc == AWS_ERR_PRECONDITION && attempt < EVENTS_APPEND_TRIES; attempt++) {
        char *old = NULL;
        size_t old_len = 0;
        char etag[128] = "";
        rc = get(s, key, &old, &old_len, etag, sizeof(etag), err, errlen);
        if (rc && rc != -ENOENT)
            break;
        bool absent = rc == -ENOENT;
        bool roll = !absent && old_len > 0 && old_len + add > EVENTS_PART_BYTES;
        unsigned part = 0, *parts = NULL;
        size_t n_parts = 0;
        if (roll)
            rc = roll_part(s, cluster, old, old_len, &part, &parts, &n_parts, err, errlen);
        size_t keep = roll ? 0 : old_len;
        char *next = rc == 0 || absent ? malloc(keep + add + 1) : NULL;
        if (next) {
            if (keep)
                memcpy(next, old, keep);
            memcpy(next + keep, lines, add);
            struct aws_s3_put_options cond = {.content_type = "text/plain",
                                              .if_none_match = absent,
                                              .if_match = absent ? NULL : etag};
            rc = put(s, key, next, keep + add, &cond, NULL, err, errlen);
            if (roll && (rc == 0 || rc == AWS_ERR_PRECONDITION))
                drop_parts(s, cluster, part, rc != 0, parts, n_parts);
        } else if (rc == 0 || absent) {
            rc = -ENOMEM;
        }
        free(parts);
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
    struct store_s3 *s = impl;
    bucket_set_deadline(&s->bucket, deadline);
}

static void s3_destroy(void *impl)
{
    struct store_s3 *s = impl;
    s3_undo_free(s->undo);
    while (s->deferred) {
        struct deferred *d = s->deferred;
        s->deferred = d->next;
        free(d->cluster);
        free(d->text);
        free(d);
    }
    pthread_mutex_destroy(&s->deferred_lock);
    objcache_free(s->cache);
    config_memo_free(s->parsed);
    if (s->owns_bucket)
        bucket_close(&s->bucket);
    free(s);
}

static const struct store_ops s3_ops = {
    .load = s3_load,
    .create_cluster = s3_create_cluster,
    .put_config = s3_put_config,
    .put_hook = s3_put_hook,
    .put_node_command = s3_put_node_command,
    .put_job_object = s3_put_job_object,
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

int store_s3_open_on(struct store *out, const struct bucket *b, char *err, size_t errlen)
{
    struct store_s3 *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->bucket = *b;
    pthread_mutex_init(&s->deferred_lock, NULL);
    s->undo = s3_undo_new();
    s->cache = objcache_new();
    s->parsed = config_memo_new();
    unique_token(s->owner);
    if (!s->undo || !s->cache || !s->parsed) {
        s3_destroy(s);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    out->ops = &s3_ops;
    out->impl = s;
    atomic_store(&out->appended, 0);
    return 0;
}

int store_s3_open(struct store *out, const struct store_s3_params *p, char *err, size_t errlen)
{
    struct bucket b;
    int rc = bucket_s3_open(&b, p->creds, p->region, p->bucket, p->account_id, &PCFS_AWS_COMMIT,
                            err, errlen);
    if (rc == 0 && (rc = store_s3_open_on(out, &b, err, errlen)) != 0)
        bucket_close(&b);
    if (rc == 0)
        ((struct store_s3 *)out->impl)->owns_bucket = true;
    return rc;
}
