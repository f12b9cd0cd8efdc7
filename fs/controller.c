#include "fs/controller.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws.h"
#include "fs/cloud.h"
#include "fs/cluster_region.h"
#include "fs/events.h"
#include "fs/lease.h"
#include "fs/objcache.h"
#include "fs/observe_ec2.h"
#include "fs/reconcile.h"
#include "fs/observed.h"

struct controller {
    struct controller_deps deps;
    pthread_mutex_t pass_lock; /* one pass at a time */
    pthread_mutex_t wake_lock;
    pthread_cond_t wake_cond;
    bool woken;
    bool stopping;
    bool started;
    pthread_t thread;
    struct observed_state *last_seen; /* the last good observation (pass_lock) */
    struct cloud cloud;               /* used under pass_lock by the controller thread */
    struct lease lease;
    struct objcache *objects;         /* reports and keys across passes (pass_lock) */
};

struct controller *controller_new(const struct controller_deps *deps)
{
    struct controller *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return NULL;
    ctl->deps = *deps;
    if (ctl->deps.busy_refresh_seconds < 1 ||
        ctl->deps.busy_refresh_seconds > ctl->deps.refresh_seconds)
        ctl->deps.busy_refresh_seconds = ctl->deps.refresh_seconds;
    ctl->objects = objcache_new(); /* NULL only costs requests: reports are then re-read */
    if (deps->creds)
        cloud_init(&ctl->cloud, deps->creds, deps->owner, deps->account, deps->mount_region);
    if (lease_init(&ctl->lease) != 0) {
        free(ctl);
        return NULL;
    }
    pthread_mutex_init(&ctl->pass_lock, NULL);
    pthread_mutex_init(&ctl->wake_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&ctl->wake_cond, &attr);
    pthread_condattr_destroy(&attr);
    return ctl;
}

/* Terminates the live instances of a cluster being deleted, one call per
 * instance in its region. Only instances the owner-tag filter returned (and
 * observe_ec2 checked) are here. */
static void terminate_instances(struct controller *ctl, const struct observed_cluster *oc)
{
    for (size_t i = 0; i < oc->n_instances; i++) {
        const struct observed_instance *in = &oc->instances[i];
        if (strcmp(in->state, "shutting-down") == 0)
            continue;
        struct aws_client *c = cloud_client(&ctl->cloud, in->region);
        if (!c)
            return;
        const char *ids[] = {in->id};
        struct aws_ec2_instances result = {0};
        struct aws_error e = {0};
        char buf[768];
        if (aws_ec2_terminate_instances(c, ids, 1, &result, &e) == 0)
            events_append(ctl->deps.store, oc->name, "info", "terminating %s (%s)", in->id,
                          in->node);
        else
            events_append(ctl->deps.store, oc->name, "error", "terminating %s (%s): %s", in->id,
                          in->node, aws_error_format(&e, buf, sizeof(buf)));
        aws_ec2_instances_free(&result);
    }
}

/* Moves deletions on: instances first, then the cluster's objects once no
 * instance is left. Returns how many clusters it removed from the store. */
static int advance_deletions(struct controller *ctl, const struct desired_state *ds,
                             const struct observed_state *obs)
{
    int removed = 0;
    char err[256];
    for (size_t i = 0; i < ds->n; i++) {
        const struct desired_cluster *dc = &ds->clusters[i];
        if (!dc->deleting || obs->stale)
            continue; /* not knowing what runs, keep the state that names it */
        const struct observed_cluster *oc = observed_find(obs, dc->name);
        if (oc && oc->n_instances) {
            terminate_instances(ctl, oc);
            continue;
        }
        if (ctl->deps.store->ops->remove_cluster(ctl->deps.store->impl, dc->name, err,
                                                 sizeof(err)) == 0) {
            memfile_drop_cluster(ctl->deps.memfiles, dc->name);
            removed++;
        } else {
            events_append(ctl->deps.store, dc->name, "error", "deleting the cluster's state: %s",
                          err);
        }
    }
    return removed;
}

/* The regions to observe: the mount's and every cluster's. */
static size_t regions_of(const struct controller *ctl, const struct desired_state *ds,
                         char (*out)[64], size_t max)
{
    size_t n = 0;
    snprintf(out[n++], 64, "%s", ctl->deps.mount_region);
    for (size_t i = 0; i < ds->n && n < max; i++) {
        char region[64];
        cluster_region(&ds->clusters[i], ctl->deps.mount_region, region, sizeof(region));
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(out[k], region) == 0;
        if (!seen)
            snprintf(out[n++], 64, "%s", region);
    }
    return n;
}

#define MAX_REGIONS 32

/* Observes the cloud; on failure the last good observation, marked stale. */
static struct observed_state *observe(struct controller *ctl, const struct desired_state *ds)
{
    time_t now = time(NULL);
    if (!ctl->deps.creds)
        return observed_new_empty(now);
    char regions[MAX_REGIONS][64];
    const char *names[MAX_REGIONS];
    size_t n = regions_of(ctl, ds, regions, MAX_REGIONS);
    for (size_t i = 0; i < n; i++)
        names[i] = regions[i];
    struct observed_state *seen = NULL;
    char err[1024];
    if (observe_ec2(&ctl->cloud, names, n, now, &seen, err, sizeof(err)) == 0) {
        observed_free(ctl->last_seen);
        ctl->last_seen = seen;
        return seen;
    }
    if (!ctl->last_seen)
        ctl->last_seen = observed_new_empty(now);
    if (ctl->last_seen) {
        ctl->last_seen->stale = true;
        free(ctl->last_seen->stale_reason);
        ctl->last_seen->stale_reason = strdup(err);
    }
    return ctl->last_seen;
}

/* Loads the desired state; when the bucket cannot be read, the last known
 * one (*stale_reason then says why). NULL only on ENOMEM. */
static struct desired_state *load_desired(struct controller *ctl, char *err, size_t errlen,
                                          const char **stale_reason)
{
    struct store *store = ctl->deps.store;
    struct desired_state *ds = NULL;
    *stale_reason = NULL;
    int rc = store->ops->load(store->impl, &ds, err, errlen);
    if (rc == 0)
        return ds;
    if (rc == -ENOMEM)
        return NULL;
    struct snapshot *prev = snapshot_holder_get(ctl->deps.snaps);
    ds = desired_state_copy(prev->desired);
    snapshot_unref(prev);
    *stale_reason = err;
    return ds;
}

/* Whether a cluster of s is being created, updated or deleted. */
static bool any_busy(const struct snapshot *s)
{
    for (size_t i = 0; i < s->n; i++) {
        enum cluster_status st = s->clusters[i].status;
        if (st == ST_CREATE_IN_PROGRESS || st == ST_UPDATE_IN_PROGRESS ||
            st == ST_DELETE_IN_PROGRESS)
            return true;
    }
    return false;
}

/* Builds and swaps in the snapshot of ds (consumed) and obs; *busy (when
 * given) says whether a cluster in it is changing. */
static int publish(struct controller *ctl, struct desired_state *ds,
                   const struct observed_state *obs, const char *stale_reason, bool *busy,
                   char *err, size_t errlen)
{
    struct snapshot *prev = snapshot_holder_get(ctl->deps.snaps);
    struct snapshot_inputs in = {.mount_region = ctl->deps.mount_region,
                                 .stale_reason = stale_reason,
                                 .prev = prev};
    struct snapshot *next = snapshot_build(ds, obs, &in);
    snapshot_unref(prev);
    if (!next) {
        snprintf(err, errlen, "out of memory building a snapshot");
        return -ENOMEM;
    }
    if (busy)
        *busy = any_busy(next);
    snapshot_holder_swap(ctl->deps.snaps, next);
    return 0;
}

int controller_pass(struct controller *ctl, char *err, size_t errlen)
{
    pthread_mutex_lock(&ctl->pass_lock);
    const char *stale = NULL;
    struct desired_state *ds = load_desired(ctl, err, errlen, &stale);
    int rc = ds ? 0 : -ENOMEM;
    /* With no cloud (-o memory) a deletion has nothing to wait for. */
    if (rc == 0 && !ctl->deps.creds && !stale) {
        struct observed_state none = {0};
        if (advance_deletions(ctl, ds, &none) > 0) {
            desired_state_free(ds);
            ds = load_desired(ctl, err, errlen, &stale);
            rc = ds ? 0 : -ENOMEM;
        }
    }
    if (rc == 0) {
        struct observed_state none = {.observed_at = time(NULL)};
        rc = publish(ctl, ds, ctl->last_seen ? ctl->last_seen : &none, stale, NULL, err,
                     errlen);
    }
    pthread_mutex_unlock(&ctl->pass_lock);
    return rc;
}

/* The controller thread's pass: observe the cloud, reconcile (when this
 * mount holds the lease), move deletions on, publish. *busy: a cluster is
 * changing, so the next pass comes after the busy period. */
static int full_pass(struct controller *ctl, bool *busy, char *err, size_t errlen)
{
    pthread_mutex_lock(&ctl->pass_lock);
    const char *stale = NULL;
    struct desired_state *ds = load_desired(ctl, err, errlen, &stale);
    struct observed_state *obs = ds ? observe(ctl, ds) : NULL;
    int rc = obs ? 0 : -ENOMEM;
    if (rc == 0 && ctl->deps.creds && !stale && !obs->stale) {
        time_t now = time(NULL);
        int lease_seconds = ctl->deps.refresh_seconds * 3 > 30 ? ctl->deps.refresh_seconds * 3 : 30;
        bool leader = lease_hold(&ctl->lease, &ctl->cloud, lease_seconds, now);
        struct reconcile_ctx rctx = {.cloud = &ctl->cloud,
                                     .store = ctl->deps.store,
                                     .mount_region = ctl->deps.mount_region,
                                     .bootstrap_timeout = ctl->deps.bootstrap_timeout,
                                     .now = now,
                                     .act = leader,
                                     .objects = ctl->objects};
        unsigned long appended = atomic_load(&ctl->deps.store->appended);
        reconcile(&rctx, ds, obs);
        if (leader) {
            int removed = advance_deletions(ctl, ds, obs);
            /* Show what this pass did (events, verdicts) at once; a pass
             * that did nothing (every action appends an event) need not
             * list the bucket again. */
            if (removed > 0 || atomic_load(&ctl->deps.store->appended) != appended) {
                desired_state_free(ds);
                ds = load_desired(ctl, err, errlen, &stale);
                rc = ds ? 0 : -ENOMEM;
            }
        }
    } else if (rc == 0 && !ctl->deps.creds && !stale && advance_deletions(ctl, ds, obs) > 0) {
        desired_state_free(ds);
        ds = load_desired(ctl, err, errlen, &stale);
        rc = ds ? 0 : -ENOMEM;
    }
    if (rc == 0)
        rc = publish(ctl, ds, obs, stale, busy, err, errlen);
    else
        desired_state_free(ds);
    if (obs && obs != ctl->last_seen)
        observed_free(obs);
    pthread_mutex_unlock(&ctl->pass_lock);
    return rc;
}

static void *controller_main(void *arg)
{
    struct controller *ctl = arg;
    char err[512];
    bool busy = false;
    pthread_mutex_lock(&ctl->wake_lock);
    while (!ctl->stopping) {
        if (!ctl->woken) {
            struct timespec deadline;
            clock_gettime(CLOCK_MONOTONIC, &deadline);
            deadline.tv_sec += busy ? ctl->deps.busy_refresh_seconds : ctl->deps.refresh_seconds;
            pthread_cond_timedwait(&ctl->wake_cond, &ctl->wake_lock, &deadline);
        }
        if (ctl->stopping)
            break;
        ctl->woken = false;
        pthread_mutex_unlock(&ctl->wake_lock);
        if (full_pass(ctl, &busy, err, sizeof(err)) != 0)
            fprintf(stderr, "pclusterfs: refresh failed: %s\n", err);
        pthread_mutex_lock(&ctl->wake_lock);
    }
    pthread_mutex_unlock(&ctl->wake_lock);
    return NULL;
}

int controller_start(struct controller *ctl)
{
    ctl->woken = true; /* observe the cloud at once, not a period from now */
    int rc = pthread_create(&ctl->thread, NULL, controller_main, ctl);
    if (rc != 0)
        return -rc;
    ctl->started = true;
    return 0;
}

void controller_wake(struct controller *ctl)
{
    pthread_mutex_lock(&ctl->wake_lock);
    ctl->woken = true;
    pthread_cond_signal(&ctl->wake_cond);
    pthread_mutex_unlock(&ctl->wake_lock);
}

void controller_free(struct controller *ctl)
{
    if (!ctl)
        return;
    if (ctl->started) {
        pthread_mutex_lock(&ctl->wake_lock);
        ctl->stopping = true;
        pthread_cond_signal(&ctl->wake_cond);
        pthread_mutex_unlock(&ctl->wake_lock);
        pthread_join(ctl->thread, NULL);
    }
    if (ctl->deps.creds) {
        lease_release(&ctl->lease, &ctl->cloud);
        cloud_destroy(&ctl->cloud);
    }
    observed_free(ctl->last_seen);
    objcache_free(ctl->objects);
    pthread_cond_destroy(&ctl->wake_cond);
    pthread_mutex_destroy(&ctl->wake_lock);
    pthread_mutex_destroy(&ctl->pass_lock);
    free(ctl);
}
