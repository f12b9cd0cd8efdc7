/* The executor of a reconcile pass: performs a plan's actions (plan.h) on
 * EC2, the bucket and Slurm, in order. An action that fails or is held back
 * says why: in the cluster's events (once while it stays the same), in
 * status.json (action_error) and in the daemon's log, so no stall is
 * silent. A launch runs its own steps: the intent first (so a crash after
 * RunInstances retries the same ClientToken), the client-token lookup of
 * the last attempt, the relaunch cap (plan_next_attempt), and what EC2's
 * answer means (plan_launch_error); a verdict it meets is planned by
 * plan_failure and performed here. */
#ifndef PCFS_ACT_H
#define PCFS_ACT_H
#include "fs/config/config.h"
#include "fs/control/plan.h"
#include "fs/control/reconcile.h"

struct act_target {
    const struct desired_cluster *dc;
    const struct cluster_config *cfg;
    const char *region;
    struct observed_state *obs;
    struct observed_cluster *oc; /* made when an action must say why and it was NULL */
    const struct plan_input *in; /* what the plan was made of */
};

void act_on_plan(struct reconcile_ctx *rc, struct act_target *t, const struct plan *p);
/* Whether the cluster's roles were put right for its current config
 * generation, as the controller's cache remembers (never, without one). */
bool act_roles_current(struct reconcile_ctx *rc, const struct desired_cluster *dc);
/* Whether the cluster's security groups were put right for its config
 * generation (the cache remembers; false after a restart). */
bool act_secgroups_current(struct reconcile_ctx *rc, const struct desired_cluster *dc);
/* Tells why nothing is done for the cluster (events, action_error, log). */
/* An instance type's vCPUs and memory (MiB) for slurmd, Slurm's node
 * records and the fleet spec: from EC2 once, then from rc's cache; 1 and
 * 512 when EC2 cannot say. */
void act_type_facts(struct reconcile_ctx *rc, const char *region, const char *type, int *cpus,
                    long *mem);
void act_held_back(struct reconcile_ctx *rc, struct act_target *t, const char *msg);

/* A replace the administrator asked for (nodes/<n>/ctl) costs node no
 * try of its relaunch cap: one try is given back in its launch intent,
 * whether the relaunch came before or after (never below none). */
void act_forgive_relaunch(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                          const char *node);

#endif
