/* The controller: the only writer of snapshots. A pass loads the desired
 * state, observes the cloud, reconciles the two (deletions end here once
 * nothing of a cluster is left) and swaps in a new snapshot. Passes run on
 * its own thread every refresh period (the short busy period while a
 * cluster is being created, updated or deleted), when woken, or
 * synchronously for a commit that must show its effect before it returns. */
#ifndef PCFS_CONTROLLER_H
#define PCFS_CONTROLLER_H
#include <stddef.h>

#include "aws/creds.h"
#include "fs/control/cloud.h"
#include "fs/fuse/memfile.h"
#include "fs/model/snapshot.h"
#include "fs/store/store.h"

struct controller_deps {
    struct aws_creds_provider *creds; /* NULL: no cloud to observe (-o memory) */
    struct cloud *cloud;              /* the cloud to use instead of the real one over
                                         creds (an in-memory one in tests); not owned */
    const char *owner;                /* the state bucket: the owner tag's value */
    const char *account;              /* the bucket's expected owner */
    int bootstrap_timeout;            /* seconds a head node may take to configure */
    struct store *store;
    struct snapshot_holder *snaps;
    struct memfile_table *memfiles;
    const char *mount_region;
    int refresh_seconds;      /* the period while every cluster is stable */
    int busy_refresh_seconds; /* the period while one is *_IN_PROGRESS (0: refresh_seconds) */
};

struct controller;

struct controller *controller_new(const struct controller_deps *deps);
/* Starts the refresh thread; 0 or negative errno. */
int controller_start(struct controller *ctl);
/* Publishes the desired state now, in the caller's thread, with what the
 * controller thread last observed (commits use it: they never talk to EC2
 * or Slurm); 0 or negative errno + err. */
int controller_pass(struct controller *ctl, char *err, size_t errlen);
/* Runs the controller thread's full pass (load, observe, lease, reconcile,
 * deletions, publish) in the caller's thread, as if woken: tests drive the
 * loop with it; 0 or negative errno + err. */
int controller_refresh(struct controller *ctl, char *err, size_t errlen);
/* Asks the thread for a pass soon, without waiting for it. */
void controller_wake(struct controller *ctl);
/* Stops the thread (if started) and frees the controller. */
void controller_free(struct controller *ctl);

#endif
