/* The observer of a reconcile pass: for one cluster, what its nodes'
 * reports say (each counted only for the instance and attempt it belongs
 * to, and never against a bootstrap seen done: report_judge), what Slurm
 * says (the view the head publishes in the bucket, else the head's
 * slurmrestd), and the planner's input made of it.
 * It reads (the bucket, through the object cache; slurmrestd) and fills in
 * the observed state; it decides nothing and changes nothing outside. */
#ifndef PCFS_OBSERVE_H
#define PCFS_OBSERVE_H
#include "fs/control/reconcile.h"
#include "fs/model/report.h"

/* A head's published Slurm view older than this (by the newer of its own
 * time and its heartbeat's) is stale: Slurm's state is then unknown, and
 * status.json's slurm_stale says how old the view is. The agent sends a
 * heartbeat every minute while nothing changes: three missed make it stale. */
#define OBSERVE_SLURM_VIEW_STALE_S 180

struct cluster_view {
    struct observed_cluster *oc;     /* NULL when EC2 showed nothing of it */
    struct node_report head_report;  /* zeroed unless the head's counts */
    char **node_failures;            /* per oc->nodes[i], "" when none */
    char **ignored;                  /* messages: reports that do not count */
    size_t n_ignored;
    bool slurm_up;
    char **slurm_listed;
    size_t n_slurm_listed;
    /* the config's dynamic nodes Slurm lists without an instance, until
     * they join oc->nodes at the end of observe_cluster */
    struct observed_node *dynamic;
    size_t n_dynamic;
};

/* Judges node n's report r (parsed when got): it counts only for the
 * instance and attempt it was issued to, and never against a bootstrap seen
 * done (report_judge). One that does not count is cleared, with why in
 * ignored ("" otherwise); n's bootstrap state and log follow what counts.
 * Returns whether r counts. No I/O. */
bool observe_node_report(struct observed_node *n, struct node_report *r, bool got,
                         char *ignored, size_t ignored_len);

/* Nodes whose instance is gone but whose report is kept stay listed, with
 * ec2_state none, so bootstrap.log can be read; *ocp may be made. 0, or
 * -ENOMEM (some may be missing). (The config's dynamic nodes without an
 * instance are listed as Slurm lists them, by observe_cluster.) */
int observe_reported_nodes(struct observed_state *obs, const struct desired_cluster *dc,
                           struct observed_cluster **ocp);
/* Reports and Slurm of one cluster into v (cluster_view_free, even on
 * failure). 0, or -ENOMEM: v is incomplete, not a view to act on. */
int observe_cluster(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                    struct observed_cluster *oc, struct cluster_view *v);
void cluster_view_free(struct cluster_view *v);
/* The bytes of clusters/<dc>/<rest>, an object this pass's listing showed
 * (-ENOENT when it did not): from the object cache while its ETag stays. */
int observe_listed_object(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                          const char *rest, struct blob **out);
/* Brings the listed reports that changed into the object cache at once. */
void observe_prefetch(struct reconcile_ctx *rc, const struct desired_state *ds);

/* How to reach the cluster's Slurm through its head: false with why when
 * it cannot be (no address, no JWT key); *jwt (the key's bytes, which
 * access points to) is the caller's. */
bool observe_slurm_access(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                          const struct observed_node *head, struct slurm_access *access,
                          char **jwt, char *why, size_t whylen);

#endif
