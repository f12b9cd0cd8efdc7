/* The bucket store (fs/store/store_s3.c) on an in-memory bucket
 * (fs/store/bucket_mem.c): what it writes where, what a load makes of a
 * listing, commits racing across mounts (the commit lock, conditional
 * writes), events rolled into parts, writes whose outcome is unknown undone,
 * and event lines kept while the bucket is away. Also the ETag cache and
 * its fetch workers on the same bucket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "aws/error.h"
#include "fs/aws_policy.h"
#include "fs/pcfs.h"
#include "fs/store/backend.h"
#include "fs/store/bucket_s3.h"
#include "fs/store/bucket_mem.h"
#include "fs/store/events.h"
#include "fs/store/layout.h"
#include "fs/store/objcache.h"
#include "fs/store/s3_undo.h"
#include "fs/store/store_s3.h"
#include "tests/unit/check.h"

static const char config_text[] = "[aws]\naws_region_name = eu-west-1\n\n"
                                  "[cluster default]\nkey_name = k\nvpc_settings = public\n"
                                  "base_os = alinux2\nscheduler = slurm\n"
                                  "\n[vpc public]\nvpc_id = vpc-0123456789abcdef0\n"
                                  "master_subnet_id = subnet-0123456789abcdef0\n";

struct world {
    struct bucket b;
    struct store st;
    char err[1024];
};

static void world_open(struct world *w)
{
    memset(w, 0, sizeof(*w));
    CHECK_INT(bucket_mem_open(&w->b), 0);
    CHECK_INT(store_s3_open_on(&w->st, &w->b, w->err, sizeof(w->err)), 0);
}

static void world_close(struct world *w)
{
    w->st.ops->destroy(w->st.impl);
    bucket_close(&w->b);
}

/* A second mount on the same bucket. */
static void other_mount(struct world *w, struct store *other)
{
    CHECK_INT(store_s3_open_on(other, &w->b, w->err, sizeof(w->err)), 0);
}

static const char *object(struct world *w, const char *cluster, enum layout_object o)
{
    char *key = layout_key(cluster, o);
    const char *data = bucket_mem_object(&w->b, key, NULL);
    free(key);
    return data;
}

static struct desired_state *load(struct store *st)
{
    struct desired_state *ds = NULL;
    char err[512];
    int rc = st->ops->load(st->impl, &ds, err, sizeof(err));
    CHECK_INT(rc, 0);
    if (rc)
        fprintf(stderr, "load: %s\n", err);
    return ds;
}

static int put_config(struct store *st, const char *cluster, const char *text, int *gen,
                      char *err, size_t errlen)
{
    struct blob *b = blob_new(text, strlen(text));
    int rc = st->ops->put_config(st->impl, cluster, b, 100, gen, err, errlen);
    blob_unref(b);
    return rc;
}

static void layout_of_writes(void)
{
    /* Each write lands under the key the layout gives it, and a load reads
     * them all back into the cluster's desired state. */
    struct world w;
    world_open(&w);
    CHECK_INT(w.st.ops->create_cluster(w.st.impl, "c", 42, w.err, sizeof(w.err)), 0);
    CHECK_STR(object(&w, "c", LAYOUT_MARKER), "42\n");
    int gen = 0;
    CHECK_INT(put_config(&w.st, "c", config_text, &gen, w.err, sizeof(w.err)), 0);
    CHECK_INT(gen, 1);
    CHECK_STR(object(&w, "c", LAYOUT_CONFIG), config_text);
    CHECK(strncmp(object(&w, "c", LAYOUT_GENERATION), "1 ", 2) == 0);
    CHECK(object(&w, "c", LAYOUT_COMMIT_LOCK) == NULL); /* released */
    struct blob *h = blob_new("#!/bin/sh\n", 10);
    CHECK_INT(w.st.ops->put_hook(w.st.impl, "c", HOOK_POST, "20-b", h, 100, w.err,
                                 sizeof(w.err)), 0);
    CHECK_INT(w.st.ops->put_hook(w.st.impl, "c", HOOK_POST, "10-a", h, 100, w.err,
                                 sizeof(w.err)), 0);
    CHECK_INT(w.st.ops->put_hook(w.st.impl, "c", HOOK_PRE, "x", h, 100, w.err, sizeof(w.err)),
              0);
    blob_unref(h);
    CHECK_INT(w.st.ops->set_last_error(w.st.impl, "c", "config:3: bad", w.err, sizeof(w.err)),
              0);
    CHECK_INT(w.st.ops->set_failure(w.st.impl, "c", "CREATE_FAILED", "head failed", w.err,
                                    sizeof(w.err)), 0);
    CHECK_STR(object(&w, "c", LAYOUT_FAILURE), "CREATE_FAILED\nhead failed");
    CHECK_INT(w.st.ops->set_completed(w.st.impl, "c", 1, w.err, sizeof(w.err)), 0);
    events_append(&w.st, "c", "info", "hello %d", 7);
    char *report = layout_report_key("c", "head");
    CHECK_INT(bucket_put(&w.b, report, "state done\n", 11, NULL, NULL, w.err, sizeof(w.err)), 0);
    CHECK_INT(bucket_put(&w.b, "clusters/c/unknown", "x", 1, NULL, NULL, w.err, sizeof(w.err)),
              0);
    CHECK_INT(w.st.ops->create_cluster(w.st.impl, "d", 43, w.err, sizeof(w.err)), 0);

    struct desired_state *ds = load(&w.st);
    CHECK_INT(ds ? ds->n : 0, 2);
    const struct desired_cluster *dc = ds ? desired_find(ds, "c") : NULL;
    CHECK(dc != NULL);
    if (dc) {
        CHECK_INT(dc->generation, 1);
        CHECK_INT(dc->created_at, 42);
        CHECK(dc->config && dc->config->len == strlen(config_text));
        CHECK(dc->parsed && dc->parsed->cfg && strcmp(dc->parsed->region, "eu-west-1") == 0);
        CHECK_INT(dc->n_hooks[HOOK_POST], 2);
        CHECK_STR(dc->hooks[HOOK_POST][0].name, "10-a");
        CHECK_INT(dc->n_hooks[HOOK_PRE], 1);
        CHECK_STR(dc->last_error, "config:3: bad");
        CHECK_STR(dc->failure_code, "CREATE_FAILED");
        CHECK_STR(dc->failure_reason, "head failed");
        CHECK_INT(dc->first_complete, 1);
        CHECK(strstr(dc->events->data, "hello 7") != NULL);
        CHECK(desired_find_object(dc, "reports/head") != NULL);
        CHECK(desired_find_object(dc, "unknown") == NULL);
        CHECK(!dc->deleting);
    }
    const struct desired_cluster *dd = ds ? desired_find(ds, "d") : NULL;
    CHECK(dd && !dd->config && dd->generation == 0 && dd->events && dd->events->len == 0);
    desired_state_free(ds);

    /* A new config clears the failure verdict; a cleared last_error goes. */
    char text2[sizeof(config_text) + 32];
    snprintf(text2, sizeof(text2), "%smax_queue_size = 3\n", config_text);
    CHECK_INT(put_config(&w.st, "c", text2, &gen, w.err, sizeof(w.err)), 0);
    CHECK_INT(gen, 2);
    CHECK(object(&w, "c", LAYOUT_FAILURE) == NULL);
    CHECK_INT(w.st.ops->set_last_error(w.st.impl, "c", NULL, w.err, sizeof(w.err)), 0);
    CHECK(object(&w, "c", LAYOUT_LAST_ERROR) == NULL);
    /* A hook removed; one that is not there is -ENOENT. */
    CHECK_INT(w.st.ops->delete_hook(w.st.impl, "c", HOOK_POST, "10-a", 100, w.err,
                                    sizeof(w.err)), 0);
    CHECK_INT(w.st.ops->delete_hook(w.st.impl, "c", HOOK_POST, "10-a", 100, w.err,
                                    sizeof(w.err)), -ENOENT);
    ds = load(&w.st);
    dc = ds ? desired_find(ds, "c") : NULL;
    CHECK(dc && dc->generation == 2 && !dc->last_error && !dc->failure_code &&
          dc->n_hooks[HOOK_POST] == 1);
    desired_state_free(ds);
    free(report);
    world_close(&w);
}

static void create_and_delete(void)
{
    /* mkdir of a cluster that exists is -EEXIST, of one being deleted
     * -EBUSY; removal takes every object, the marker last. */
    struct world w;
    world_open(&w);
    CHECK_INT(w.st.ops->create_cluster(w.st.impl, "c", 1, w.err, sizeof(w.err)), 0);
    CHECK_INT(w.st.ops->create_cluster(w.st.impl, "c", 2, w.err, sizeof(w.err)), -EEXIST);
    CHECK(strstr(w.err, "exists already") != NULL);
    int gen;
    CHECK_INT(put_config(&w.st, "c", config_text, &gen, w.err, sizeof(w.err)), 0);
    CHECK_INT(w.st.ops->mark_deleting(w.st.impl, "c", w.err, sizeof(w.err)), 0);
    CHECK_INT(w.st.ops->create_cluster(w.st.impl, "c", 3, w.err, sizeof(w.err)), -EBUSY);
    struct desired_state *ds = load(&w.st);
    CHECK(ds && ds->n == 1 && ds->clusters[0].deleting);
    desired_state_free(ds);
    CHECK_INT(w.st.ops->remove_cluster(w.st.impl, "c", w.err, sizeof(w.err)), 0);
    const char *keys[8];
    CHECK_INT(bucket_mem_keys(&w.b, "clusters/", keys, 8), 0);
    ds = load(&w.st);
    CHECK(ds && ds->n == 0);
    desired_state_free(ds);
    /* Objects without the marker (a removal cut short) are no cluster. */
    CHECK_INT(bucket_put(&w.b, "clusters/gone/config", "x", 1, NULL, NULL, w.err,
                         sizeof(w.err)), 0);
    ds = load(&w.st);
    CHECK(ds && ds->n == 0);
    desired_state_free(ds);
    world_close(&w);
}

static void commits_across_mounts(void)
{
    /* Two mounts commit one after the other: generations never repeat. A
     * commit lock held by another live mount makes a commit wait and then
     * give up with -EBUSY; a stale one (a dead mount's) is taken over. */
    struct world w;
    world_open(&w);
    struct store other;
    other_mount(&w, &other);
    CHECK_INT(w.st.ops->create_cluster(w.st.impl, "c", 1, w.err, sizeof(w.err)), 0);
    int gen = 0;
    CHECK_INT(put_config(&w.st, "c", config_text, &gen, w.err, sizeof(w.err)), 0);
    CHECK_INT(gen, 1);
    char text2[sizeof(config_text) + 32];
    snprintf(text2, sizeof(text2), "%smax_queue_size = 3\n", config_text);
    CHECK_INT(put_config(&other, "c", text2, &gen, w.err, sizeof(w.err)), 0);
    CHECK_INT(gen, 2);

    char *lock = layout_key("c", LAYOUT_COMMIT_LOCK);
    char body[64];
    snprintf(body, sizeof(body), "someone-else %lld\n", (long long)time(NULL) - 3600);
    CHECK_INT(bucket_put(&w.b, lock, body, strlen(body), NULL, NULL, w.err, sizeof(w.err)), 0);
    CHECK_INT(put_config(&w.st, "c", config_text, &gen, w.err, sizeof(w.err)), 0);
    CHECK_INT(gen, 3);
    CHECK(bucket_mem_object(&w.b, lock, NULL) == NULL);

    snprintf(body, sizeof(body), "someone-else %lld\n", (long long)time(NULL));
    CHECK_INT(bucket_put(&w.b, lock, body, strlen(body), NULL, NULL, w.err, sizeof(w.err)), 0);
    CHECK_INT(put_config(&w.st, "c", text2, &gen, w.err, sizeof(w.err)), -EBUSY);
    CHECK(strstr(w.err, "another mount is committing") != NULL);
    CHECK_STR(object(&w, "c", LAYOUT_CONFIG), config_text); /* nothing stored */
    free(lock);
    other.ops->destroy(other.impl);
    world_close(&w);
}

static void events_roll_into_parts(void)
{
    /* Appends past EVENTS_PART_BYTES roll the live object into numbered
     * parts, at most EVENTS_PARTS_MAX kept; a load joins them in order. */
    struct world w;
    world_open(&w);
    CHECK_INT(w.st.ops->create_cluster(w.st.impl, "c", 1, w.err, sizeof(w.err)), 0);
    char line[1025];
    memset(line, 'x', sizeof(line) - 2);
    line[sizeof(line) - 2] = '\n';
    line[sizeof(line) - 1] = '\0';
    int lines = (EVENTS_PART_BYTES / 1024) * (EVENTS_PARTS_MAX + 3);
    for (int i = 0; i < lines; i++) {
        char numbered[1100];
        snprintf(numbered, sizeof(numbered), "%06d %s", i, line);
        CHECK_INT(w.st.ops->append_events(w.st.impl, "c", numbered, w.err, sizeof(w.err)), 0);
    }
    const char *keys[64];
    size_t n = bucket_mem_keys(&w.b, "clusters/c/events.", keys, 64);
    CHECK_INT(n, EVENTS_PARTS_MAX);
    struct desired_state *ds = load(&w.st);
    const struct desired_cluster *dc = ds ? desired_find(ds, "c") : NULL;
    CHECK(dc != NULL);
    if (dc) {
        char last[16];
        snprintf(last, sizeof(last), "%06d ", lines - 1);
        CHECK(strstr(dc->events->data, last) != NULL);
        CHECK(strstr(dc->events->data, "000000 ") == NULL); /* the oldest went */
        CHECK(dc->events->len <= EVENTS_KEPT_BYTES);
        /* In order: each line's number is one more than the line before. */
        int prev = -1, ordered = 1;
        for (const char *p = dc->events->data; *p; p = strchr(p, '\n') + 1) {
            int num = atoi(p);
            ordered &= prev < 0 || num == prev + 1;
            prev = num;
        }
        CHECK(ordered);
    }
    desired_state_free(ds);
    world_close(&w);
}

static void events_kept_while_bucket_away(void)
{
    /* An append the bucket did not take is written, in order, by the next
     * load once the bucket answers; a last_error too. */
    struct world w;
    world_open(&w);
    CHECK_INT(w.st.ops->create_cluster(w.st.impl, "c", 1, w.err, sizeof(w.err)), 0);
    events_append(&w.st, "c", "info", "first");
    bucket_mem_fail(&w.b, NULL, 0, 100, -ETIMEDOUT, false);
    events_append(&w.st, "c", "info", "second");
    CHECK(w.st.ops->set_last_error(w.st.impl, "c", "it failed", w.err, sizeof(w.err)) != 0);
    struct desired_state *ds = NULL;
    CHECK_INT(w.st.ops->load(w.st.impl, &ds, w.err, sizeof(w.err)), -ETIMEDOUT);
    CHECK(strstr(w.err, "listing the state bucket") != NULL);
    bucket_mem_fail(&w.b, NULL, 0, 0, 0, false);
    ds = load(&w.st);
    const struct desired_cluster *dc = ds ? desired_find(ds, "c") : NULL;
    CHECK(dc && strstr(dc->events->data, "first") &&
          strstr(dc->events->data, "second") > strstr(dc->events->data, "first"));
    CHECK(dc && dc->last_error && strcmp(dc->last_error, "it failed") == 0);
    desired_state_free(ds);
    world_close(&w);
}

static void unsure_writes_undone(void)
{
    /* A write that failed but may have landed must not show: the undo log
     * puts back what was there (or deletes what was new) once the bucket
     * answers, and only while the failed write's bytes are still there. */
    struct world w;
    world_open(&w);
    CHECK_INT(w.st.ops->create_cluster(w.st.impl, "c", 1, w.err, sizeof(w.err)), 0);
    char *key = layout_hook_key("c", HOOK_PRE, "a");
    struct blob *h = blob_new("old", 3);
    CHECK_INT(w.st.ops->put_hook(w.st.impl, "c", HOOK_PRE, "a", h, 1, w.err, sizeof(w.err)), 0);
    blob_unref(h);
    /* The hook's GET answers, its PUT lands but the answer is lost. */
    h = blob_new("new", 3);
    bucket_mem_fail(&w.b, NULL, 1, 1, -ETIMEDOUT, true);
    CHECK_INT(w.st.ops->put_hook(w.st.impl, "c", HOOK_PRE, "a", h, 2, w.err, sizeof(w.err)),
              -ETIMEDOUT);
    blob_unref(h);
    CHECK_STR(bucket_mem_object(&w.b, key, NULL), "new");
    struct desired_state *ds = load(&w.st);
    CHECK_STR(bucket_mem_object(&w.b, key, NULL), "old");
    const struct desired_cluster *dc = ds ? desired_find(ds, "c") : NULL;
    const struct desired_hook *hook = dc ? desired_find_hook(dc, HOOK_PRE, "a") : NULL;
    CHECK(hook && hook->content->len == 3 && memcmp(hook->content->data, "old", 3) == 0);
    desired_state_free(ds);
    /* A removal that failed but went through: the hook comes back. */
    bucket_mem_fail(&w.b, NULL, 1, 1, -ETIMEDOUT, true);
    CHECK_INT(w.st.ops->delete_hook(w.st.impl, "c", HOOK_PRE, "a", 3, w.err, sizeof(w.err)),
              -ETIMEDOUT);
    CHECK(bucket_mem_object(&w.b, key, NULL) == NULL);
    ds = load(&w.st);
    desired_state_free(ds);
    CHECK_STR(bucket_mem_object(&w.b, key, NULL), "old");

    /* The log itself: an undo waits while the bucket is away, and a later
     * write of this mount makes it moot. */
    struct s3_undo *u = s3_undo_new();
    CHECK(u != NULL);
    struct blob *old = blob_new("old", 3);
    CHECK_INT(bucket_put(&w.b, key, "new", 3, NULL, NULL, w.err, sizeof(w.err)), 0);
    CHECK_INT(s3_undo_put(u, key, "new", 3, old), 0);
    CHECK_INT(s3_undo_pending(u), 1);
    char err[512];
    bucket_mem_fail(&w.b, NULL, 0, 1, -ETIMEDOUT, false);
    CHECK_INT(s3_undo_replay(u, &w.b, err, sizeof(err)), -ETIMEDOUT);
    CHECK(strstr(err, "undoing a failed write") != NULL);
    CHECK_INT(s3_undo_pending(u), 1);
    CHECK_INT(s3_undo_replay(u, &w.b, err, sizeof(err)), 0);
    CHECK_STR(bucket_mem_object(&w.b, key, NULL), "old");
    CHECK_INT(s3_undo_pending(u), 0);
    CHECK_INT(s3_undo_put(u, key, "newer", 5, old), 0);
    s3_undo_forget(u, key);
    CHECK_INT(s3_undo_pending(u), 0);
    /* Another mount's write since: not ours to undo. */
    CHECK_INT(s3_undo_put(u, key, "mine", 4, old), 0);
    CHECK_INT(bucket_put(&w.b, key, "theirs", 6, NULL, NULL, w.err, sizeof(w.err)), 0);
    CHECK_INT(s3_undo_replay(u, &w.b, err, sizeof(err)), 0);
    CHECK_STR(bucket_mem_object(&w.b, key, NULL), "theirs");
    s3_undo_free(u);
    blob_unref(old);
    free(key);
    world_close(&w);
}

static void config_put_lost_answer(void)
{
    /* The config of a commit lands but its answer is lost: the commit
     * fails, and by the next load the old config is back. */
    struct world w;
    world_open(&w);
    CHECK_INT(w.st.ops->create_cluster(w.st.impl, "c", 1, w.err, sizeof(w.err)), 0);
    int gen = 0;
    CHECK_INT(put_config(&w.st, "c", config_text, &gen, w.err, sizeof(w.err)), 0);
    char text2[sizeof(config_text) + 32];
    snprintf(text2, sizeof(text2), "%smax_queue_size = 3\n", config_text);
    /* The lock is taken, config and generation read; the config's PUT
     * lands, its answer lost. */
    bucket_mem_fail(&w.b, NULL, 3, 1, -ETIMEDOUT, true);
    CHECK_INT(put_config(&w.st, "c", text2, &gen, w.err, sizeof(w.err)), -ETIMEDOUT);
    CHECK_STR(object(&w, "c", LAYOUT_CONFIG), text2);
    bucket_mem_fail(&w.b, NULL, 0, 0, 0, false);
    struct desired_state *ds = load(&w.st);
    const struct desired_cluster *dc = ds ? desired_find(ds, "c") : NULL;
    CHECK(dc && dc->generation == 1 && dc->config &&
          dc->config->len == strlen(config_text));
    desired_state_free(ds);
    CHECK(object(&w, "c", LAYOUT_COMMIT_LOCK) == NULL);
    /* The generation's PUT lands but fails: the config goes back at once. */
    bucket_mem_fail(&w.b, NULL, 4, 1, -ETIMEDOUT, true);
    CHECK_INT(put_config(&w.st, "c", text2, &gen, w.err, sizeof(w.err)), -ETIMEDOUT);
    CHECK_STR(object(&w, "c", LAYOUT_CONFIG), config_text);
    ds = load(&w.st);
    dc = ds ? desired_find(ds, "c") : NULL;
    CHECK(dc && dc->generation == 1);
    desired_state_free(ds);
    world_close(&w);
}

static void objcache_on_bucket(void)
{
    /* The ETag cache GETs an object once while its ETag holds, again when
     * it changes; a prefetch fetches many at once with worker threads. */
    struct bucket b;
    CHECK_INT(bucket_mem_open(&b), 0);
    struct objcache *oc = objcache_new();
    char err[256], etag[64];
    const char *keys[20];
    char names[20][32];
    char etags[20][64];
    const char *etag_ptrs[20];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof(names[i]), "k/%02d", i);
        keys[i] = names[i];
        CHECK_INT(bucket_put(&b, names[i], names[i], strlen(names[i]), NULL, etags[i], err,
                             sizeof(err)), 0);
        etag_ptrs[i] = etags[i];
    }
    objcache_prefetch(oc, &b, keys, etag_ptrs, 20);
    unsigned long fetched, hits;
    objcache_stats(oc, &fetched, &hits);
    CHECK_INT(fetched, 20);
    unsigned long calls = bucket_mem_calls(&b);
    for (int i = 0; i < 20; i++) {
        struct blob *got = NULL;
        CHECK_INT(objcache_get(oc, &b, keys[i], etags[i], &got, err, sizeof(err)), 0);
        CHECK(got && got->len == strlen(names[i]) && memcmp(got->data, names[i], got->len) == 0);
        blob_unref(got);
    }
    CHECK_INT(bucket_mem_calls(&b), calls); /* all from the cache */
    CHECK_INT(bucket_put(&b, "k/00", "changed", 7, NULL, NULL, err, sizeof(err)), 0);
    bucket_mem_etag(&b, "k/00", etag, sizeof(etag));
    struct blob *got = NULL;
    CHECK_INT(objcache_get(oc, &b, "k/00", etag, &got, err, sizeof(err)), 0);
    CHECK(got && got->len == 7);
    blob_unref(got);
    CHECK_INT(objcache_get(oc, &b, "k/none", "\"x\"", &got, err, sizeof(err)), -ENOENT);
    objcache_sweep(oc);
    objcache_sweep(oc); /* nothing asked since: all forgotten */
    calls = bucket_mem_calls(&b);
    CHECK_INT(objcache_get(oc, &b, "k/01", etags[1], &got, err, sizeof(err)), 0);
    blob_unref(got);
    CHECK_INT(bucket_mem_calls(&b), calls + 1);
    objcache_free(oc);
    bucket_close(&b);
}

static void bucket_conditions(void)
{
    /* The in-memory bucket answers conditional writes as S3 does: its
     * tests of everything above rely on it. */
    struct bucket b;
    CHECK_INT(bucket_mem_open(&b), 0);
    char err[256], etag[128], etag2[128];
    struct aws_s3_put_options only_new = {.if_none_match = true};
    CHECK_INT(bucket_put(&b, "a", "1", 1, &only_new, etag, err, sizeof(err)), 0);
    CHECK_INT(bucket_put(&b, "a", "2", 1, &only_new, NULL, err, sizeof(err)),
              AWS_ERR_PRECONDITION);
    struct aws_s3_put_options match = {.if_match = etag};
    CHECK_INT(bucket_put(&b, "a", "2", 1, &match, etag2, err, sizeof(err)), 0);
    CHECK(strcmp(etag, etag2) != 0);
    CHECK_INT(bucket_put(&b, "a", "3", 1, &match, NULL, err, sizeof(err)), AWS_ERR_PRECONDITION);
    CHECK_INT(bucket_put(&b, "b", "3", 1, &match, NULL, err, sizeof(err)), AWS_ERR_PRECONDITION);
    char md5[BUCKET_ETAG_LEN];
    bucket_etag_of("2", 1, md5);
    CHECK_STR(etag2, md5);
    CHECK_STR(md5, "\"c81e728d9d4c2f636f067f89cc14862c\"");
    CHECK_INT(bucket_head(&b, "a", etag, sizeof(etag), err, sizeof(err)), 0);
    CHECK_STR(etag, md5);
    CHECK_INT(bucket_head(&b, "zz", NULL, 0, err, sizeof(err)), -ENOENT);
    char *data = NULL;
    size_t len = 0;
    CHECK_INT(bucket_get(&b, "zz", &data, &len, NULL, 0, err, sizeof(err)), -ENOENT);
    CHECK_INT(bucket_delete(&b, "zz", err, sizeof(err)), 0);
    struct aws_s3_objects list = {0};
    CHECK_INT(bucket_put(&b, "a/2", "", 0, NULL, NULL, err, sizeof(err)), 0);
    CHECK_INT(bucket_put(&b, "a/1", "", 0, NULL, NULL, err, sizeof(err)), 0);
    CHECK_INT(bucket_list(&b, "a/", &list, err, sizeof(err)), 0);
    CHECK(list.n == 2 && strcmp(list.v[0].key, "a/1") == 0 && strcmp(list.v[1].key, "a/2") == 0);
    aws_s3_objects_free(&list);
    bucket_mem_fail(&b, NULL, 0, 1, -EIO, false);
    CHECK_INT(bucket_delete(&b, "a/1", err, sizeof(err)), -EIO);
    CHECK(bucket_mem_object(&b, "a/1", NULL) != NULL);
    bucket_mem_fail(&b, NULL, 0, 1, -EIO, true);
    CHECK_INT(bucket_delete(&b, "a/1", err, sizeof(err)), -EIO);
    CHECK(bucket_mem_object(&b, "a/1", NULL) == NULL);
    bucket_close(&b);
}

static void *touch_bucket(void *arg)
{
    bucket_set_deadline(arg, NULL); /* makes this thread's AWS client */
    return NULL;
}

static void s3_bucket_clients_per_thread(void)
{
    /* The AWS bucket makes a client per calling thread and frees it when
     * the thread ends (the sanitizer run finds a leak otherwise); no
     * request is sent. */
    struct bucket b;
    char err[128];
    CHECK_INT(bucket_s3_open(&b, NULL, "eu-west-1", "bk", "123456789012", &PCFS_AWS_COMMIT, err,
                             sizeof(err)), 0);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK_INT(pthread_create(&t[i], NULL, touch_bucket, &b), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    touch_bucket(&b);
    struct timespec soon;
    clock_gettime(CLOCK_MONOTONIC, &soon);
    bucket_set_deadline(&b, &soon);
    bucket_close(&b);
    bucket_close(&b); /* a closed bucket is nothing to free */
}

static void memory_backend(void)
{
    /* -o memory: the memory store, in the region asked for, else the
     * environment's, else us-east-1. */
    struct pcfs fs;
    memset(&fs, 0, sizeof(fs));
    fs.opts.memory = 1;
    char err[128];
    unsetenv("AWS_REGION");
    setenv("AWS_DEFAULT_REGION", "ca-central-1", 1);
    CHECK_INT(backend_open(&fs, err, sizeof(err)), 0);
    CHECK_STR(fs.mount_region, "ca-central-1");
    CHECK(fs.store.ops != NULL && fs.creds == NULL);
    CHECK_INT(fs.store.ops->create_cluster(fs.store.impl, "c", 1, err, sizeof(err)), 0);
    backend_close(&fs);
    CHECK(fs.store.ops == NULL && fs.mount_region == NULL);
    fs.opts.region = "ap-south-1";
    CHECK_INT(backend_open(&fs, err, sizeof(err)), 0);
    CHECK_STR(fs.mount_region, "ap-south-1");
    backend_close(&fs);
    unsetenv("AWS_DEFAULT_REGION");
    fs.opts.region = NULL;
    CHECK_INT(backend_open(&fs, err, sizeof(err)), 0);
    CHECK_STR(fs.mount_region, "us-east-1");
    backend_close(&fs);
}

int main(void)
{
    RUN(layout_of_writes);
    RUN(create_and_delete);
    RUN(commits_across_mounts);
    RUN(events_roll_into_parts);
    RUN(events_kept_while_bucket_away);
    RUN(unsure_writes_undone);
    RUN(config_put_lost_answer);
    RUN(objcache_on_bucket);
    RUN(bucket_conditions);
    RUN(s3_bucket_clients_per_thread);
    RUN(memory_backend);
    return check_finish();
}
