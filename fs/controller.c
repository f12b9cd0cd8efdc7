#include "fs/controller.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/events.h"
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
};

struct controller *controller_new(const struct controller_deps *deps)
{
    struct controller *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return NULL;
    ctl->deps = *deps;
    pthread_mutex_init(&ctl->pass_lock, NULL);
    pthread_mutex_init(&ctl->wake_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&ctl->wake_cond, &attr);
    pthread_condattr_destroy(&attr);
    return ctl;
}

/* Ends deletions whose cluster has nothing left in the cloud. Returns how
 * many clusters it removed from the store. */
static int finish_deletions(struct controller *ctl, const struct desired_state *ds,
                            const struct observed_state *obs)
{
    int removed = 0;
    char err[256];
    for (size_t i = 0; i < ds->n; i++) {
        const struct desired_cluster *dc = &ds->clusters[i];
        if (!dc->deleting)
            continue;
        const struct observed_cluster *oc = observed_find(obs, dc->name);
        if (oc && oc->n_nodes)
            continue; /* instances are still terminating */
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

int controller_pass(struct controller *ctl, char *err, size_t errlen)
{
    struct store *store = ctl->deps.store;
    pthread_mutex_lock(&ctl->pass_lock);
    struct desired_state *ds = NULL;
    struct observed_state *obs = observed_new_empty(time(NULL));
    int rc = obs ? store->ops->load(store->impl, &ds, err, errlen) : -ENOMEM;
    if (rc && rc != -ENOMEM) {
        /* The backend cannot be read: keep showing what was last known,
         * marked stale with the reason. */
        struct snapshot *prev = snapshot_holder_get(ctl->deps.snaps);
        ds = desired_state_copy(prev->desired);
        snapshot_unref(prev);
        obs->stale = true;
        obs->stale_reason = strdup(err);
        if (ds)
            rc = 0;
    } else if (rc == 0 && finish_deletions(ctl, ds, obs) > 0) {
        desired_state_free(ds);
        ds = NULL;
        rc = store->ops->load(store->impl, &ds, err, errlen);
    }
    if (rc == 0) {
        struct snapshot_inputs in = {.mount_region = ctl->deps.mount_region};
        struct snapshot *next = snapshot_build(ds, obs, &in);
        if (next) {
            snapshot_holder_swap(ctl->deps.snaps, next);
        } else {
            snprintf(err, errlen, "out of memory building a snapshot");
            rc = -ENOMEM;
        }
    }
    observed_free(obs);
    pthread_mutex_unlock(&ctl->pass_lock);
    return rc;
}

static void *controller_main(void *arg)
{
    struct controller *ctl = arg;
    char err[512];
    pthread_mutex_lock(&ctl->wake_lock);
    while (!ctl->stopping) {
        if (!ctl->woken) {
            struct timespec deadline;
            clock_gettime(CLOCK_MONOTONIC, &deadline);
            deadline.tv_sec += ctl->deps.refresh_seconds;
            pthread_cond_timedwait(&ctl->wake_cond, &ctl->wake_lock, &deadline);
        }
        if (ctl->stopping)
            break;
        ctl->woken = false;
        pthread_mutex_unlock(&ctl->wake_lock);
        if (controller_pass(ctl, err, sizeof(err)) != 0)
            fprintf(stderr, "pclusterfs: refresh failed: %s\n", err);
        pthread_mutex_lock(&ctl->wake_lock);
    }
    pthread_mutex_unlock(&ctl->wake_lock);
    return NULL;
}

int controller_start(struct controller *ctl)
{
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
    pthread_cond_destroy(&ctl->wake_cond);
    pthread_mutex_destroy(&ctl->wake_lock);
    pthread_mutex_destroy(&ctl->pass_lock);
    free(ctl);
}
