/* The planner (DESIGN.md section 4): a pure function from one cluster's
 * desired state, what was observed of it and the time to the actions that
 * bring the two closer. No I/O here: act.c performs the actions,
 * observe.c builds the input, reconcile.c runs the three in turn. Every
 * string of an action is borrowed from the input, except `code` and `text`,
 * which the plan owns (plan_free).
 *
 * Who plans what. The workstation's planner owns the head node, the
 * creation and update verdicts and (with the controller) deletion; later
 * also the cluster's volumes; and its security groups and IAM roles: made
 * before the head launches, removed once no instance of a failed creation
 * or of a deleted cluster is left. The compute
 * fleet (static nodes, their replacement and relaunch cap, nodes dropped
 * from the config; dynamic nodes to come) is plan_compute_fleet, a separate
 * function the head node's agent takes over in a later issue: it reads only
 * its input and appends to the plan, so it moves as it is. */
#ifndef PCFS_PLAN_H
#define PCFS_PLAN_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "fs/model/observed.h"
#include "fs/model/report.h"
#include "fs/store/store.h"

#define PLAN_MAX_ATTEMPTS 3 /* launches of a node per config generation */

enum plan_kind {
    PLAN_EVENT,         /* error event `text` (told once while it repeats) */
    PLAN_TAG_DONE,      /* tag node's instance bootstrapped, then forget its launch */
    PLAN_LAUNCH,        /* launch `node` as `instance_type` (head_address for compute) */
    PLAN_FAIL,          /* record the verdict `code`: `text`; `update` says which kind */
    PLAN_TERMINATE,     /* terminate instance_id (node, region) because `text` */
    PLAN_FORGET_LAUNCH, /* delete node's manifest of `attempt` */
    PLAN_FORGET_NODE,   /* delete node's report and intent: it is not coming back */
    PLAN_COMPLETE,      /* record that the cluster completed at its generation */
    PLAN_REMOVE,        /* remove the deleted cluster's objects: nothing of it runs */
    PLAN_ENSURE_ROLES,  /* make or put right the cluster's IAM roles (roles.h): before the
                           head launches (node "head"), or for a new config (node NULL) */
    PLAN_REMOVE_ROLES,  /* remove the cluster's IAM roles: no instance of it is left */
    PLAN_ENSURE_SECGROUPS, /* make or put right the cluster's security groups (secgroups.h):
                              before the head launches (node "head"), or for a new config */
    PLAN_REMOVE_SECGROUPS, /* remove the cluster's security groups: no instance of it is left */
};

/* Actions of one group run in order; a launch that may not go on (held
 * back, failed, capped) skips the rest of its group, as one pass launches
 * static nodes only up to the first that cannot be. */
enum plan_group { PLAN_GROUP_HEAD, PLAN_GROUP_STATIC, PLAN_GROUP_DROPPED, PLAN_GROUP_END };

struct plan_action {
    enum plan_kind kind;
    enum plan_group group;
    const char *node, *instance_id, *region, *instance_type, *head_address;
    int attempt;
    bool update; /* PLAN_FAIL: the cluster completed once, so it is an update's failure */
    char *code, *text;
};

struct plan {
    struct plan_action *v;
    size_t n, cap;
    bool converged; /* Slurm answers and every static node is up, done and in Slurm */
    int error;      /* -ENOMEM when an action could not be added */
};

/* What the planner reads of one cluster. */
struct plan_input {
    const struct desired_cluster *dc;
    const char *head_type;              /* the config's head node instance type */
    const char *const *wanted;          /* static compute nodes, in config order */
    const char *const *wanted_types;
    size_t n_wanted;
    /* dynamic compute nodes: the head's agent launches and stops their
     * instances; the workstation leaves them alone */
    const char *const *dynamic;
    size_t n_dynamic;
    const struct observed_cluster *oc;  /* NULL when EC2 showed nothing of it */
    const struct node_report *head_report; /* the head's report if it counts, else zeroed */
    const char *const *node_failures;   /* per oc->nodes[i]: why its bootstrap failed, or "" */
    const char *const *ignored_reports; /* messages: reports that do not count */
    size_t n_ignored_reports;
    bool slurm_up;                      /* slurmrestd answered */
    const char *const *slurm_listed;    /* the nodes Slurm lists */
    size_t n_slurm_listed;
    time_t now;
    int bootstrap_timeout;
    bool act; /* this mount holds the lease: only then are there actions */
    bool roles_stale; /* the roles were not put right for this config generation yet */
    bool secgroups_stale; /* nor the security groups */
};

/* The plan for one cluster; 0 or -ENOMEM (the plan then holds what fit). */
int plan_cluster(const struct plan_input *in, struct plan *out);
/* The compute fleet's rules alone (the head's agent's, later). */
int plan_compute_fleet(const struct plan_input *in, struct plan *out);
/* A verdict and what it stops: a failed creation terminates every
 * instance; a failed update keeps the head and healthy nodes. Used by the
 * planner and by the executor when a launch ends in a verdict. */
int plan_failure(const struct plan_input *in, const char *code, const char *reason,
                 struct plan *out);
/* Deletion, the workstation's: a cluster being deleted has its live
 * instances terminated first (PLAN_TERMINATE, no text), and once none is
 * left its IAM roles (PLAN_REMOVE_ROLES) and security groups
 * (PLAN_REMOVE_SECGROUPS), then its objects go (PLAN_REMOVE). oc: what EC2 shows of it, or NULL.
 * The controller performs it (advance_deletions). */
int plan_deletion(const struct observed_cluster *oc, struct plan *out);
void plan_free(struct plan *p);

/* A node's launch intent: its last attempt (the ClientToken's number,
 * never reused) and the tries of the current config generation. */
struct plan_intent {
    int attempt, generation, tries;
};
/* The next launch of a node from its stored intent and how many instances
 * EC2 has for that attempt's client token (ignored when attempt is 0):
 * false when the relaunch cap is reached. */
bool plan_next_attempt(const struct plan_intent *stored, int generation, int launched,
                       struct plan_intent *next);

/* What an EC2 error code on RunInstances means. */
enum plan_launch_error {
    PLAN_RETRY,           /* no verdict, or "not now": try again next pass */
    PLAN_RETRY_COUNTED,   /* no capacity: a try that counts toward the cap */
    PLAN_REFUSED,         /* EC2 refused the launch itself: the cluster fails */
};
enum plan_launch_error plan_launch_error(const char *code, int tries);
/* EC2 answers that say "not now" rather than "never" (the one place that
 * tells, until aws/ exports its own classifier). */
bool plan_transient(const char *code);

/* Whether a node's instance is alive (pending or running). */
bool plan_alive(const struct observed_node *n);

#endif
