#include "fs/model/observed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/report.h"
#include "slurm/slurmrest.h"

struct observed_state *observed_new_empty(time_t now)
{
    struct observed_state *os = calloc(1, sizeof(*os));
    if (os)
        os->observed_at = now;
    return os;
}

static void free_words(char **words, size_t n)
{
    for (size_t i = 0; words && i < n; i++)
        free(words[i]);
    free(words);
}

void observed_node_clear(struct observed_node *n)
{
    free(n->name);
    free(n->region);
    free(n->instance_id);
    free(n->instance_type);
    free(n->market);
    free(n->private_ip);
    free(n->public_ip);
    free(n->ec2_state);
    free(n->slurm_state);
    free(n->bootstrap);
    free(n->bootstrap_log);
    free(n->slurm_reason);
    free_words(n->partitions, n->n_partitions);
    free_words(n->slurm_flags, n->n_slurm_flags);
    for (int s = 0; s < 2; s++)
        free_words(n->hooks_ran[s], n->n_hooks_ran[s]);
    memset(n, 0, sizeof(*n));
}

static char **copy_words(char *const *words, size_t n)
{
    char **out = calloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(words[i] ? words[i] : ""))) {
            free_words(out, i);
            return NULL;
        }
    return out;
}

int observed_node_set_slurm(struct observed_node *n, const struct slurmrest_node *sn)
{
    free(n->slurm_state);
    free(n->slurm_reason);
    free_words(n->partitions, n->n_partitions);
    free_words(n->slurm_flags, n->n_slurm_flags);
    n->partitions = n->slurm_flags = NULL;
    n->n_partitions = n->n_slurm_flags = 0;
    n->cpus = n->memory_mib = 0;
    n->slurm_reason = NULL;
    n->slurm_state = strdup(sn ? sn->state : "none");
    if (!sn)
        return n->slurm_state ? 0 : -ENOMEM;
    n->cpus = sn->cpus;
    n->memory_mib = sn->real_memory_mb;
    n->slurm_reason = strdup(sn->reason ? sn->reason : "");
    n->partitions = copy_words(sn->partitions, sn->npartitions);
    n->slurm_flags = copy_words(sn->flags, sn->nflags);
    if (n->partitions)
        n->n_partitions = sn->npartitions;
    if (n->slurm_flags)
        n->n_slurm_flags = sn->nflags;
    return n->slurm_state && n->slurm_reason && n->partitions && n->slurm_flags ? 0 : -ENOMEM;
}

void observed_free(struct observed_state *os)
{
    if (!os)
        return;
    for (size_t i = 0; i < os->n; i++) {
        for (size_t k = 0; k < os->clusters[i].n_nodes; k++)
            observed_node_clear(&os->clusters[i].nodes[k]);
        free(os->clusters[i].nodes);
        for (size_t k = 0; k < os->clusters[i].n_instances; k++) {
            struct observed_instance *in = &os->clusters[i].instances[k];
            free(in->id);
            free(in->region);
            free(in->state);
            free(in->node);
        }
        free(os->clusters[i].instances);
        free(os->clusters[i].slurm_error);
        free(os->clusters[i].action_error);
        free(os->clusters[i].fleet_spec_applied);
        slurmrest_job_list_free(os->clusters[i].jobs);
        for (size_t k = 0; k < os->clusters[i].n_job_acks; k++) {
            free(os->clusters[i].job_acks[k].name);
            free(os->clusters[i].job_acks[k].message);
        }
        free(os->clusters[i].job_acks);
        free(os->clusters[i].name);
    }
    free(os->clusters);
    free(os->stale_reason);
    free(os);
}

const struct observed_cluster *observed_find(const struct observed_state *os, const char *name)
{
    for (size_t i = 0; os && i < os->n; i++)
        if (strcmp(os->clusters[i].name, name) == 0)
            return &os->clusters[i];
    return NULL;
}

int observed_node_set_report(struct observed_node *n, const struct node_report *r)
{
    free(n->bootstrap);
    free(n->bootstrap_log);
    n->bootstrap = strdup(r && r->state[0] ? r->state : "pending");
    n->bootstrap_log = r && r->log ? strdup(r->log) : NULL;
    int rc = n->bootstrap && (!r || !r->log || n->bootstrap_log) ? 0 : -ENOMEM;
    for (int s = 0; s < 2; s++) {
        free_words(n->hooks_ran[s], n->n_hooks_ran[s]);
        n->hooks_ran[s] = NULL;
        n->n_hooks_ran[s] = 0;
        if (r && r->ran[s].n && !(n->hooks_ran[s] = copy_words(r->ran[s].names, r->ran[s].n)))
            rc = -ENOMEM;
        else if (r)
            n->n_hooks_ran[s] = r->ran[s].n;
    }
    n->hooks_generation = r ? r->generation : 0;
    return rc;
}
