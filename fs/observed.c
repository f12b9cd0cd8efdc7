#include "fs/observed.h"

#include <stdlib.h>
#include <string.h>

struct observed_state *observed_new_empty(time_t now)
{
    struct observed_state *os = calloc(1, sizeof(*os));
    if (os)
        os->observed_at = now;
    return os;
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
    memset(n, 0, sizeof(*n));
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
