/* Reconciliation (DESIGN.md section 4): for every cluster, what the bucket
 * wants against what EC2, the nodes' reports and Slurm show, and the one
 * step that brings them closer: launch the head node, then the static
 * compute nodes once the head is configured; replace a failed static node
 * (at most 3 attempts); terminate what is no longer wanted; fail the cluster
 * when its head node's bootstrap fails or outlasts bootstrap_timeout, or a
 * node cannot be brought up: a failed creation terminates its instances, so
 * nothing keeps billing; after the cluster completed once, a failure (an
 * update's) terminates only what did not come up, and the head and healthy
 * nodes keep running. A node's report counts only for the attempt its
 * instance was launched as, and never against a bootstrap seen done; every
 * action that fails or is held back says why (events, status.json
 * action_error, the daemon's log). Level-triggered and
 * idempotent: every pass starts from what it sees, so a restarted daemon
 * carries on where the last one stopped. Acts only in the lease holder.
 *
 * Per cluster, three steps in three files: observe.c (reports and Slurm
 * into the observed state), plan.c (the rules above, a pure function to a
 * list of actions), act.c (performs them); reconcile.c runs them in turn. */
#ifndef PCFS_RECONCILE_H
#define PCFS_RECONCILE_H
#include <time.h>

#include "fs/control/cloud.h"
#include "fs/store/objcache.h"
#include "fs/model/observed.h"
#include "fs/store/store.h"

struct reconcile_ctx {
    struct cloud *cloud;
    struct store *store; /* for events */
    const char *mount_region;
    int bootstrap_timeout;
    time_t now;
    bool act;            /* false: only observe reports and Slurm (not the lease holder) */
    struct objcache *objects; /* reports and keys kept across passes (NULL: none) */
};

/* Attaches reports and Slurm state to obs, and (when act) acts. */
void reconcile(struct reconcile_ctx *rc, const struct desired_state *ds,
               struct observed_state *obs);

#endif
