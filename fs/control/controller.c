/* The controller: the loop that keeps the snapshot fresh and, in the mount
 * holding the lease, moves the cloud toward the bucket.
 *
 * Threads, and what each owns:
 * - FUSE workers (fuse_loop_mt, fs/main.c): answer reads from the current
 *   snapshot (never the network); commits run on them, one at a time
 *   (pcfs.commit_lock), write the store, then controller_pass() publishes
 *   the new state at once and controller_wake() asks for a full pass.
 * - The controller thread (controller_main): every refresh period or when
 *   woken, full_pass(): load the bucket, observe EC2 (observe_ec2.c), take
 *   or renew the lease (lease.c), and as lease holder reconcile (observe.c
 *   -> plan.c -> act.c, reconcile.c) and move deletions on; then publish.
 *   It alone owns `cloud` (AWS clients per region; tests inject an
 *   in-memory one), `lease`, `objects` and `last_seen` (which it alone
 *   replaces). Tests run the same pass in their thread (controller_refresh).
 * - Short-lived fetch workers (fs/store/fetch_many.c), started and joined
 *   within one call of the controller thread: they share the cloud's
 *   bucket, whose calls are thread-safe (an AWS client per thread).
 *
 * Locks, always taken in this order (never the reverse):
 *   pcfs.commit_lock (commits)
 *   -> pass_lock (one pass at a time: the controller thread's full_pass, or
 *      a memory mount's controller_pass, which also moves deletions on)
 *   -> publish_lock (loading the desired state and swapping the snapshot;
 *      held for no network call of EC2 or Slurm, so a commit never waits
 *      for a pass's network work)
 *   -> the store's own locks (store_mem.lock; store_s3 deferred_lock, the
 *      objcache's lock, s3_undo's lock, bucket_mem's lock), the snapshot
 *      holder's hook_lock then lock, the memfile table's lock: each held
 *      only inside its module.
 * wake_lock is a leaf: taken alone, to wake or to wait for the thread.
 *
 * Why a commit publishes under commit_lock, network included (the load of
 * the bucket in controller_pass: a LIST and the GETs of what changed,
 * bounded by the commit's deadline). The next commit validates against the
 * published snapshot: the update rules compare with the config it shows,
 * "the same bytes" and the hooks/ limit count what it holds, a deletion in
 * progress refuses writes. Released before its publish, commit_lock would
 * let a second commit validate against a snapshot without the first one's
 * change (an update the rules forbid could pass, or a 101st hook). Moving
 * the network out needs the commit to publish its own change without a
 * load (applied to a copy of the snapshot's desired state), or validation
 * against the store itself; until then the bound is the commit's deadline
 * (README: 15 s), and a pass never holds publish_lock across EC2 or Slurm,
 * so a commit waits only for bucket calls. */
#include "fs/control/controller.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws.h"
#include "fs/control/cloud.h"
#include "fs/store/events.h"
#include "fs/control/lease.h"
#include "fs/store/objcache.h"
#include "fs/control/observe_ec2.h"
#include "fs/control/plan.h"
#include "fs/control/reconcile.h"
#include "fs/control/roles.h"
#include "fs/control/secgroups.h"
#include "fs/model/observed.h"

struct controller {
    struct controller_deps deps;
    /* pass_lock: one controller pass at a time (the controller thread's, or
     * a memory mount's deletions). publish_lock: one snapshot swap at a
     * time, held only to load the desired state and publish, so a commit
     * never waits for a pass's network calls. */
    pthread_mutex_t pass_lock;
    pthread_mutex_t publish_lock;
    unsigned long commits_published; /* bumped by each controller_pass (publish_lock) */
    pthread_mutex_t wake_lock;
    pthread_cond_t wake_cond;
    bool woken;
    bool stopping;
    bool started;
    pthread_t thread;
    /* The last good observation as published, never changed once it is
     * (publish_lock); and why the latest observation failed, "" if not. */
    struct observed_state *last_seen;
    char observe_error[1024];
    struct cloud own_cloud;           /* the real one, when deps name none */
    struct cloud *cloud;              /* NULL with no cloud (-o memory); used under
                                         pass_lock by the controller thread */
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
    if (deps->cloud) {
        ctl->cloud = deps->cloud;
    } else if (deps->creds) {
        if (cloud_init(&ctl->own_cloud, deps->creds, deps->owner, deps->account,
                       deps->mount_region) != 0) {
            objcache_free(ctl->objects);
            free(ctl);
            return NULL;
        }
        ctl->cloud = &ctl->own_cloud;
    }
    if (lease_init(&ctl->lease) != 0) {
        if (ctl->cloud == &ctl->own_cloud)
            cloud_destroy(&ctl->own_cloud);
        objcache_free(ctl->objects);
        free(ctl);
        return NULL;
    }
    pthread_mutex_init(&ctl->pass_lock, NULL);
    pthread_mutex_init(&ctl->publish_lock, NULL);
    pthread_mutex_init(&ctl->wake_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&ctl->wake_cond, &attr);
    pthread_condattr_destroy(&attr);
    return ctl;
}

/* Terminates one instance of a cluster being deleted. Only instances the
 * owner-tag filter returned (and observe_ec2 checked) are planned. */
static void terminate_instance(struct controller *ctl, const char *cluster,
                               const struct plan_action *a)
{
    struct aws_error e = {0};
    char buf[768];
    if (cloud_terminate(ctl->cloud, a->region, a->instance_id, &e) == 0)
        events_append(ctl->deps.store, cluster, "info", "terminating %s (%s)", a->instance_id,
                      a->node);
    else
        events_append(ctl->deps.store, cluster, "error", "terminating %s (%s): %s",
                      a->instance_id, a->node, aws_error_format(&e, buf, sizeof(buf)));
}

/* Removes a deleted cluster's IAM roles and profiles (a mount without a
 * cloud has none); false, told in its events, when some are left. */
static bool remove_roles(struct controller *ctl, const char *cluster)
{
    if (!ctl->cloud)
        return true;
    char err[1024];
    int removed = 0;
    if (roles_remove(ctl->cloud, cluster, &removed, err, sizeof(err)) != 0) {
        events_append(ctl->deps.store, cluster, "error", "removing the cluster's IAM roles: %s",
                      err);
        return false;
    }
    if (removed > 0)
        events_append(ctl->deps.store, cluster, "info",
                      "removed the cluster's IAM roles and instance profiles (%d)", removed);
    return true;
}

/* Removes a deleted cluster's security groups; false, told in its events,
 * when some are left (an instance still holds one). */
static bool remove_secgroups(struct controller *ctl, const struct desired_cluster *dc)
{
    if (!ctl->cloud)
        return true;
    char err[1024];
    int removed = 0;
    const char *region = desired_region(dc, ctl->deps.mount_region);
    if (secgroups_remove(ctl->cloud, dc->name, region, &removed, err, sizeof(err)) != 0) {
        events_append(ctl->deps.store, dc->name, "error",
                      "removing the cluster's security groups: %s", err);
        return false;
    }
    if (removed > 0)
        events_append(ctl->deps.store, dc->name, "info",
                      "removed the cluster's security groups (%d)", removed);
    return true;
}

/* Moves deletions on (plan_deletion): instances first, then the cluster's
 * objects once no instance is left. obs must be a fresh observation: on an
 * old one a cluster's state could go while instances it names still run.
 * Returns how many clusters it removed from the store. */
static int advance_deletions(struct controller *ctl, const struct desired_state *ds,
                             const struct observed_state *obs)
{
    int removed = 0;
    char err[256];
    for (size_t i = 0; i < ds->n; i++) {
        const struct desired_cluster *dc = &ds->clusters[i];
        if (!dc->deleting)
            continue; /* not knowing what runs, keep the state that names it */
        struct plan p = {0};
        plan_deletion(observed_find(obs, dc->name), &p);
        bool remove = false;
        for (size_t k = 0; k < p.n; k++) {
            if (p.v[k].kind == PLAN_TERMINATE)
                terminate_instance(ctl, dc->name, &p.v[k]);
            if (p.v[k].kind == PLAN_REMOVE_ROLES && !remove_roles(ctl, dc->name))
                break; /* the objects name the cluster whose roles are left: they stay */
            if (p.v[k].kind == PLAN_REMOVE_SECGROUPS && !remove_secgroups(ctl, dc))
                break;
            remove = remove || p.v[k].kind == PLAN_REMOVE;
        }
        plan_free(&p);
        if (!remove)
            continue;
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
        const char *region = desired_region(&ds->clusters[i], ctl->deps.mount_region);
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(out[k], region) == 0;
        if (!seen)
            snprintf(out[n++], 64, "%s", region);
    }
    return n;
}

#define MAX_REGIONS 32
#define LOAD_SECONDS_MIN 5 /* a pass's load of the bucket gets max(refresh, this) */

/* Observes the cloud into a new observation the caller owns; on failure
 * the last published one (not to be changed), with err saying why. */
static struct observed_state *observe(struct controller *ctl, const struct desired_state *ds,
                                      bool *failed, char *err, size_t errlen)
{
    time_t now = time(NULL);
    *failed = false;
    if (!ctl->cloud)
        return observed_new_empty(now);
    char regions[MAX_REGIONS][64];
    const char *names[MAX_REGIONS];
    size_t n = regions_of(ctl, ds, regions, MAX_REGIONS);
    for (size_t i = 0; i < n; i++)
        names[i] = regions[i];
    struct observed_state *seen = NULL;
    if (observe_ec2(ctl->cloud, names, n, now, &seen, err, errlen) == 0)
        return seen;
    *failed = true;
    /* Only this thread replaces last_seen, so reading it needs no lock. */
    return ctl->last_seen ? ctl->last_seen : observed_new_empty(now);
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

/* The stale reason to publish: the bucket's, else the observation's. */
static const char *stale_reason_of(const struct controller *ctl, const char *bucket_stale)
{
    return bucket_stale ? bucket_stale : ctl->observe_error[0] ? ctl->observe_error : NULL;
}

int controller_pass(struct controller *ctl, char *err, size_t errlen)
{
    /* With no cloud (-o memory) a deletion has nothing to wait for; the
     * pass lock keeps it from racing the controller thread's, and costs
     * nothing there (no network). */
    bool memory = !ctl->cloud;
    if (memory)
        pthread_mutex_lock(&ctl->pass_lock);
    pthread_mutex_lock(&ctl->publish_lock);
    const char *stale = NULL;
    struct desired_state *ds = load_desired(ctl, err, errlen, &stale);
    int rc = ds ? 0 : -ENOMEM;
    if (rc == 0 && memory && !stale) {
        struct observed_state none = {0};
        if (advance_deletions(ctl, ds, &none) > 0) {
            desired_state_free(ds);
            ds = load_desired(ctl, err, errlen, &stale);
            rc = ds ? 0 : -ENOMEM;
        }
    }
    if (rc == 0) {
        struct observed_state none = {.observed_at = time(NULL)};
        rc = publish(ctl, ds, ctl->last_seen ? ctl->last_seen : &none,
                     stale_reason_of(ctl, stale), NULL, err, errlen);
        ctl->commits_published++;
    }
    pthread_mutex_unlock(&ctl->publish_lock);
    if (memory)
        pthread_mutex_unlock(&ctl->pass_lock);
    return rc;
}

/* The end of a pass: makes obs the published observation and swaps in the
 * snapshot. A commit published since the pass loaded ds makes ds old: it
 * is loaded again (an unchanged listing costs one LIST). */
static int finish_pass(struct controller *ctl, struct desired_state *ds,
                       struct observed_state *obs, const char *observe_error,
                       unsigned long commits_seen, const char *stale, bool *busy, char *err,
                       size_t errlen)
{
    pthread_mutex_lock(&ctl->publish_lock);
    if (obs != ctl->last_seen) {
        observed_free(ctl->last_seen);
        ctl->last_seen = obs;
    }
    snprintf(ctl->observe_error, sizeof(ctl->observe_error), "%s", observe_error);
    int rc = 0;
    if (ctl->commits_published != commits_seen) {
        desired_state_free(ds);
        ds = load_desired(ctl, err, errlen, &stale);
        rc = ds ? 0 : -ENOMEM;
    }
    if (rc == 0)
        rc = publish(ctl, ds, obs, stale_reason_of(ctl, stale), busy, err, errlen);
    pthread_mutex_unlock(&ctl->publish_lock);
    return rc;
}

/* The controller thread's pass: observe the cloud, reconcile (when this
 * mount holds the lease), move deletions on, publish. *busy: a cluster is
 * changing, so the next pass comes after the busy period. */
static int full_pass(struct controller *ctl, bool *busy, char *err, size_t errlen)
{
    pthread_mutex_lock(&ctl->pass_lock);
    pthread_mutex_lock(&ctl->publish_lock);
    unsigned long commits_seen = ctl->commits_published;
    pthread_mutex_unlock(&ctl->publish_lock);
    const char *stale = NULL;
    /* A hung bucket is told (stale) within two refresh periods: the load
     * gives up after one, and the pass then publishes at once, without
     * asking EC2 (nothing is done while the bucket is away anyway). */
    struct store *store = ctl->deps.store;
    struct timespec limit;
    clock_gettime(CLOCK_MONOTONIC, &limit);
    limit.tv_sec += ctl->deps.refresh_seconds > LOAD_SECONDS_MIN ? ctl->deps.refresh_seconds
                                                                  : LOAD_SECONDS_MIN;
    store->ops->set_deadline(store->impl, &limit);
    struct desired_state *ds = load_desired(ctl, err, errlen, &stale);
    store->ops->set_deadline(store->impl, NULL);
    bool observe_failed = false;
    char observe_error[1024] = "";
    struct observed_state *obs = NULL;
    if (ds && !stale)
        obs = observe(ctl, ds, &observe_failed, observe_error, sizeof(observe_error));
    else if (ds)
        obs = ctl->last_seen ? ctl->last_seen : observed_new_empty(time(NULL));
    if (!observe_failed)
        observe_error[0] = '\0';
    int rc = obs ? 0 : -ENOMEM;
    /* A failed observation is the published one: it is not to be changed,
     * and acting on it would act on an old view. */
    if (rc == 0 && ctl->cloud && !stale && !observe_failed) {
        time_t now = time(NULL);
        int lease_seconds = ctl->deps.refresh_seconds * 3 > 30 ? ctl->deps.refresh_seconds * 3 : 30;
        bool leader = lease_hold(&ctl->lease, ctl->cloud, lease_seconds, now);
        struct reconcile_ctx rctx = {.cloud = ctl->cloud,
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
    } else if (rc == 0 && !ctl->cloud && !stale && advance_deletions(ctl, ds, obs) > 0) {
        desired_state_free(ds);
        ds = load_desired(ctl, err, errlen, &stale);
        rc = ds ? 0 : -ENOMEM;
    }
    if (rc == 0) {
        rc = finish_pass(ctl, ds, obs, observe_error, commits_seen, stale, busy, err, errlen);
    } else {
        desired_state_free(ds);
        if (obs && obs != ctl->last_seen)
            observed_free(obs);
    }
    pthread_mutex_unlock(&ctl->pass_lock);
    return rc;
}

int controller_refresh(struct controller *ctl, char *err, size_t errlen)
{
    bool busy;
    return full_pass(ctl, &busy, err, errlen);
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
    if (ctl->cloud)
        lease_release(&ctl->lease, ctl->cloud);
    if (ctl->cloud == &ctl->own_cloud)
        cloud_destroy(&ctl->own_cloud);
    observed_free(ctl->last_seen);
    objcache_free(ctl->objects);
    pthread_cond_destroy(&ctl->wake_cond);
    pthread_mutex_destroy(&ctl->wake_lock);
    pthread_mutex_destroy(&ctl->pass_lock);
    pthread_mutex_destroy(&ctl->publish_lock);
    free(ctl);
}
