/* What the controller last saw in the cloud and in Slurm, per cluster and
 * node: the "observed" half of reconciliation. The refresh loop fills it;
 * the snapshot builder joins it with the desired state. */
#ifndef PCFS_OBSERVED_H
#define PCFS_OBSERVED_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct observed_node {
    char *name;          /* "head" or a Slurm node name */
    char *region;        /* where its instance is */
    char *instance_id;   /* "" when none */
    char *instance_type;
    char *market;        /* "spot" or "on-demand", as EC2 reports the instance */
    char *private_ip;
    char *public_ip;
    char *ec2_state;     /* pending|running|...|none */
    char *slurm_state;   /* sinfo %T word, or "none" */
    char *bootstrap;     /* pending|pre|configuring|post|done|failed */
    char *bootstrap_log; /* sanitized tail of hook output */
    /* The hook set its bootstrap ran (from its report): names in the order
     * run, [0] hooks/pre, [1] hooks/post, and the config generation they
     * came from (0 = its report did not say). */
    char **hooks_ran[2];
    size_t n_hooks_ran[2];
    int hooks_generation;
    time_t launch_time;
    int attempt;         /* the launch attempt its instance is (tag), 0 = unknown */
    bool finished;       /* its instance was seen done (tag): no report can undo that */
    /* What Slurm said of the node (observed_node_set_slurm); 0 and empty
     * while Slurm has not answered for it. */
    long long cpus, memory_mib;
    char *slurm_reason;     /* why it is drained or down, "" when none */
    char **partitions, **slurm_flags;
    size_t n_partitions, n_slurm_flags;
};

/* Every live instance of a cluster, duplicates of a node included: what a
 * deletion must terminate. */
struct observed_instance {
    char *id, *region, *state, *node;
};

struct observed_cluster {
    char *name;
    struct observed_node *nodes; /* one per node name, sorted by name */
    size_t n_nodes;
    struct observed_instance *instances;
    size_t n_instances;
    char *slurm_error;  /* why Slurm could not be asked (its head is configured but
                           slurmrestd did not answer); NULL when it answered or is
                           not expected to yet. Node slurm_states are "unknown" then. */
    char *action_error; /* why the controller's last action for it failed or was held
                           back (this pass); NULL when nothing was */
    bool converged;     /* every wanted node is up, configured and in Slurm */
    int converged_generation; /* the config generation `converged` was judged for */
    /* The fleet spec the head's agent acknowledged (head/acks/fleet.json,
     * counted only when the live head wrote it): its generation (0: none)
     * and specId (NULL: none). */
    int fleet_generation_applied;
    char *fleet_spec_applied;
    /* Slurm's jobs as the head's published view lists them (running,
     * pending, and finished ones Slurm still holds, MinJobAge); NULL when
     * no view was used this pass. Owned. */
    struct slurmrest_job_list *jobs;
    /* The head's answers for jobs/ (head/acks/jobs/, head/acks/cancel/),
     * as listed this pass; owned. */
    struct observed_job_ack *job_acks;
    size_t n_job_acks;
};

/* One answer of the head for jobs/: to the submission of a name, or to
 * the cancel of a job id (name holds the id then). */
struct observed_job_ack {
    char *name;
    bool cancel;
    bool ok;
    long long job_id;
    char *message; /* sanitized */
};

struct slurmrest_job_list;

struct observed_state {
    time_t observed_at;
    bool stale;         /* the backend could not be reached */
    char *stale_reason; /* why, when stale */
    struct observed_cluster *clusters; /* sorted by name */
    size_t n;
};

struct observed_state *observed_new_empty(time_t now);
void observed_free(struct observed_state *os);
void observed_node_clear(struct observed_node *n); /* frees its members */
struct slurmrest_node;
/* Copies Slurm's view of the node (state word, cpus, memory, partitions,
 * reason, flags) into n, replacing what it held; 0 or -ENOMEM. */
int observed_node_set_slurm(struct observed_node *n, const struct slurmrest_node *sn);
struct node_report;
/* Takes the bootstrap's progress from report r (NULL: none came): its state
 * ("pending" without one), log, and the hook set it ran. 0 or -ENOMEM. */
int observed_node_set_report(struct observed_node *n, const struct node_report *r);
const struct observed_cluster *observed_find(const struct observed_state *os, const char *name);

#endif
