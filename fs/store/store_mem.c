/* The in-memory desired-state store: a struct desired_state behind a mutex.
 * load() hands out a copy that shares the immutable blobs. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/config_memo.h"
#include "fs/store/events.h"
#include "fs/store/store.h"

struct store_mem {
    pthread_mutex_t lock;
    struct desired_state state;
    struct config_memo *parsed; /* each generation's config, parsed once */
};

static struct desired_cluster *find_mut(struct store_mem *m, const char *name)
{
    return (struct desired_cluster *)desired_find(&m->state, name);
}

static int mem_load(void *impl, struct desired_state **out, char *err, size_t errlen)
{
    struct store_mem *m = impl;
    pthread_mutex_lock(&m->lock);
    struct desired_state *ds = desired_state_copy(&m->state);
    pthread_mutex_unlock(&m->lock);
    if (!ds || config_memo_attach(m->parsed, ds) != 0) {
        if (ds)
            desired_state_free(ds);
        snprintf(err, errlen, "out of memory loading the desired state");
        return -ENOMEM;
    }
    *out = ds;
    return 0;
}

static int mem_create_cluster(void *impl, const char *cluster, time_t now, char *err,
                              size_t errlen)
{
    struct store_mem *m = impl;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    struct desired_cluster *dc = find_mut(m, cluster);
    if (dc) {
        rc = dc->deleting ? -EBUSY : -EEXIST;
        snprintf(err, errlen, "cluster %s %s", cluster,
                 dc->deleting ? "is being deleted" : "exists already");
        goto out;
    }
    struct desired_cluster *grown =
        realloc(m->state.clusters, (m->state.n + 1) * sizeof(*m->state.clusters));
    if (!grown) {
        rc = -ENOMEM;
        goto out;
    }
    m->state.clusters = grown;
    size_t pos = 0;
    while (pos < m->state.n && strcmp(m->state.clusters[pos].name, cluster) < 0)
        pos++;
    memmove(&grown[pos + 1], &grown[pos], (m->state.n - pos) * sizeof(*grown));
    m->state.n++;
    dc = &grown[pos];
    memset(dc, 0, sizeof(*dc));
    dc->name = strdup(cluster);
    dc->events = blob_new("", 0);
    dc->created_at = dc->updated_at = now;
    if (!dc->name || !dc->events)
        rc = -ENOMEM;
out:
    pthread_mutex_unlock(&m->lock);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* The named cluster with the store locked, or NULL (unlocked) with err set. */
static struct desired_cluster *lock_cluster(struct store_mem *m, const char *cluster, char *err,
                                            size_t errlen)
{
    pthread_mutex_lock(&m->lock);
    struct desired_cluster *dc = find_mut(m, cluster);
    if (!dc) {
        pthread_mutex_unlock(&m->lock);
        snprintf(err, errlen, "cluster %s does not exist", cluster);
    }
    return dc;
}

static void mem_set_deadline(void *impl, const struct timespec *deadline)
{
    (void)impl;
    (void)deadline; /* memory never hangs */
}

static int mem_put_config(void *impl, const char *cluster, struct blob *config, time_t now,
                          int *generation, char *err, size_t errlen)
{
    struct store_mem *m = impl;
    struct desired_cluster *dc = lock_cluster(m, cluster, err, errlen);
    if (!dc)
        return -ENOENT;
    blob_unref(dc->config);
    dc->config = blob_ref(config);
    *generation = ++dc->generation;
    dc->updated_at = now;
    free(dc->failure_code); /* a new config is a new try: the last verdict goes */
    free(dc->failure_reason);
    dc->failure_code = dc->failure_reason = NULL;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int mem_put_hook(void *impl, const char *cluster, enum hook_stage stage, const char *name,
                        struct blob *content, time_t now, char *err, size_t errlen)
{
    struct store_mem *m = impl;
    int rc = 0;
    struct desired_cluster *dc = lock_cluster(m, cluster, err, errlen);
    if (!dc)
        return -ENOENT;
    struct desired_hook *h = (struct desired_hook *)desired_find_hook(dc, stage, name);
    if (h) {
        blob_unref(h->content);
        h->content = blob_ref(content);
        h->mtime = now;
    } else {
        size_t n = dc->n_hooks[stage];
        struct desired_hook *grown = realloc(dc->hooks[stage], (n + 1) * sizeof(*grown));
        char *copy = strdup(name);
        if (grown)
            dc->hooks[stage] = grown;
        if (!grown || !copy) {
            free(copy);
            rc = -ENOMEM;
        } else {
            size_t pos = 0;
            while (pos < n && strcmp(grown[pos].name, name) < 0)
                pos++;
            memmove(&grown[pos + 1], &grown[pos], (n - pos) * sizeof(*grown));
            grown[pos] = (struct desired_hook){copy, blob_ref(content), now};
            dc->n_hooks[stage] = n + 1;
        }
    }
    if (rc == 0)
        dc->updated_at = now;
    pthread_mutex_unlock(&m->lock);
    if (rc)
        snprintf(err, errlen, "out of memory");
    return rc;
}

static int mem_delete_hook(void *impl, const char *cluster, enum hook_stage stage,
                           const char *name, time_t now, char *err, size_t errlen)
{
    struct store_mem *m = impl;
    int rc = -ENOENT;
    struct desired_cluster *dc = lock_cluster(m, cluster, err, errlen);
    if (!dc)
        return -ENOENT;
    for (size_t i = 0; i < dc->n_hooks[stage]; i++) {
        if (strcmp(dc->hooks[stage][i].name, name) != 0)
            continue;
        free(dc->hooks[stage][i].name);
        blob_unref(dc->hooks[stage][i].content);
        memmove(&dc->hooks[stage][i], &dc->hooks[stage][i + 1],
                (dc->n_hooks[stage] - i - 1) * sizeof(struct desired_hook));
        dc->n_hooks[stage]--;
        dc->updated_at = now;
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc)
        snprintf(err, errlen, "hooks/%s/%s does not exist", hook_stage_name(stage), name);
    return rc;
}

static int mem_mark_deleting(void *impl, const char *cluster, char *err, size_t errlen)
{
    struct store_mem *m = impl;
    struct desired_cluster *dc = lock_cluster(m, cluster, err, errlen);
    if (!dc)
        return -ENOENT;
    dc->deleting = true;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int mem_remove_cluster(void *impl, const char *cluster, char *err, size_t errlen)
{
    struct store_mem *m = impl;
    pthread_mutex_lock(&m->lock);
    struct desired_cluster *dc = find_mut(m, cluster);
    if (!dc) {
        pthread_mutex_unlock(&m->lock);
        snprintf(err, errlen, "cluster %s does not exist", cluster);
        return -ENOENT;
    }
    desired_cluster_clear(dc);
    size_t pos = (size_t)(dc - m->state.clusters);
    memmove(dc, dc + 1, (m->state.n - pos - 1) * sizeof(*dc));
    m->state.n--;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int mem_append_events(void *impl, const char *cluster, const char *lines, char *err,
                             size_t errlen)
{
    struct store_mem *m = impl;
    int rc = 0;
    struct desired_cluster *dc = lock_cluster(m, cluster, err, errlen);
    if (!dc)
        return -ENOENT;
    struct blob *grown = blob_concat(dc->events, lines, strlen(lines));
    struct blob *kept = grown ? events_trim(grown, EVENTS_KEPT_BYTES) : NULL;
    blob_unref(grown);
    if (kept) {
        blob_unref(dc->events);
        dc->events = kept;
    } else {
        rc = -ENOMEM;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc)
        snprintf(err, errlen, "out of memory");
    return rc;
}

static int mem_set_last_error(void *impl, const char *cluster, const char *msg, char *err,
                              size_t errlen)
{
    struct store_mem *m = impl;
    struct desired_cluster *dc = lock_cluster(m, cluster, err, errlen);
    if (!dc)
        return -ENOENT;
    free(dc->last_error);
    dc->last_error = msg ? strdup(msg) : NULL;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int mem_set_failure(void *impl, const char *cluster, const char *code,
                           const char *reason, char *err, size_t errlen)
{
    struct store_mem *m = impl;
    struct desired_cluster *dc = lock_cluster(m, cluster, err, errlen);
    if (!dc)
        return -ENOENT;
    char *c = strdup(code), *r = strdup(reason);
    int rc = c && r ? 0 : -ENOMEM;
    if (rc == 0) {
        free(dc->failure_code);
        free(dc->failure_reason);
        dc->failure_code = c;
        dc->failure_reason = r;
    } else {
        free(c);
        free(r);
        snprintf(err, errlen, "out of memory");
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_set_completed(void *impl, const char *cluster, int generation, char *err,
                             size_t errlen)
{
    struct store_mem *m = impl;
    struct desired_cluster *dc = lock_cluster(m, cluster, err, errlen);
    if (!dc)
        return -ENOENT;
    dc->first_complete = generation;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static void mem_destroy(void *impl)
{
    struct store_mem *m = impl;
    for (size_t i = 0; i < m->state.n; i++)
        desired_cluster_clear(&m->state.clusters[i]);
    free(m->state.clusters);
    config_memo_free(m->parsed);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int mem_put_node_command(void *impl, const char *cluster, const char *node,
                                const char *id, const char *body, size_t len, char *err,
                                size_t errlen)
{
    (void)impl, (void)cluster, (void)node, (void)id, (void)body, (void)len;
    snprintf(err, errlen, "no head node carries out commands when state lives in memory");
    return -EOPNOTSUPP;
}

static int mem_put_job_object(void *impl, const char *cluster, enum layout_job kind,
                              const char *name, const char *body, size_t len, char *err,
                              size_t errlen)
{
    (void)impl, (void)cluster, (void)kind, (void)name, (void)body, (void)len;
    snprintf(err, errlen, "no head node runs jobs when state lives in memory");
    return -EOPNOTSUPP;
}

static const struct store_ops mem_ops = {
    .load = mem_load,
    .create_cluster = mem_create_cluster,
    .put_config = mem_put_config,
    .set_deadline = mem_set_deadline,
    .put_hook = mem_put_hook,
    .put_node_command = mem_put_node_command,
    .put_job_object = mem_put_job_object,
    .delete_hook = mem_delete_hook,
    .mark_deleting = mem_mark_deleting,
    .remove_cluster = mem_remove_cluster,
    .append_events = mem_append_events,
    .set_last_error = mem_set_last_error,
    .set_failure = mem_set_failure,
    .set_completed = mem_set_completed,
    .destroy = mem_destroy,
};

int store_mem_open(struct store *out)
{
    struct store_mem *m = calloc(1, sizeof(*m));
    if (!m || !(m->parsed = config_memo_new())) {
        free(m);
        return -ENOMEM;
    }
    pthread_mutex_init(&m->lock, NULL);
    out->ops = &mem_ops;
    out->impl = m;
    atomic_store(&out->appended, 0);
    return 0;
}
