#include "fs/control/observe_ec2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws.h"

/* Which of two instances of one node the tree shows: the one most alive. */
static int state_rank(const char *state)
{
    static const char *const order[] = {"running", "pending", "stopping", "stopped",
                                        "shutting-down"};
    for (int i = 0; i < 5; i++)
        if (strcmp(state, order[i]) == 0)
            return 5 - i;
    return 0;
}

static struct observed_cluster *cluster_of(struct observed_state *os, const char *name)
{
    for (size_t i = 0; i < os->n; i++)
        if (strcmp(os->clusters[i].name, name) == 0)
            return &os->clusters[i];
    struct observed_cluster *grown = realloc(os->clusters, (os->n + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    os->clusters = grown;
    struct observed_cluster *c = &grown[os->n];
    memset(c, 0, sizeof(*c));
    c->name = strdup(name);
    if (!c->name)
        return NULL;
    os->n++;
    return c;
}

/* 0, or -ENOMEM (n then holds what was copied; observed_node_clear frees it). */
static int fill_node(struct observed_node *n, const struct aws_ec2_instance *i,
                     const char *node, const char *region)
{
    n->name = strdup(node);
    n->region = strdup(region);
    n->instance_id = strdup(i->id);
    n->instance_type = strdup(i->type);
    n->market = strdup(strcmp(i->lifecycle, "spot") == 0 ? "spot" : "on-demand");
    n->private_ip = strdup(i->private_ip);
    n->public_ip = strdup(i->public_ip);
    n->ec2_state = strdup(i->state);
    n->slurm_state = strdup("none");
    const char *attempt = aws_ec2_instance_tag(i, "pclusterfs:attempt");
    const char *bootstrap = aws_ec2_instance_tag(i, "pclusterfs:bootstrap");
    n->attempt = attempt ? atoi(attempt) : 0;
    n->finished = bootstrap && strcmp(bootstrap, "done") == 0;
    aws_parse_iso8601(i->launch_time, &n->launch_time);
    return n->name && n->region && n->instance_id && n->instance_type && n->market &&
                   n->private_ip && n->public_ip && n->ec2_state && n->slurm_state
               ? 0
               : -ENOMEM;
}

static int add_instance(struct observed_state *os, const struct aws_ec2_instance *i,
                        const char *owner, const char *region)
{
    const char *cluster = aws_ec2_instance_tag(i, "pclusterfs:cluster");
    const char *node = aws_ec2_instance_tag(i, "pclusterfs:node");
    const char *tagged_owner = aws_ec2_instance_tag(i, "pclusterfs:owner");
    /* The filter asked for our owner tag; never trust an answer that lacks it. */
    if (!cluster || !node || !tagged_owner || strcmp(tagged_owner, owner) != 0 || !*node ||
        strcmp(i->state, "terminated") == 0)
        return 0;
    struct observed_cluster *c = cluster_of(os, cluster);
    if (!c)
        return -ENOMEM;
    struct observed_instance *grown =
        realloc(c->instances, (c->n_instances + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    c->instances = grown;
    struct observed_instance *in = &grown[c->n_instances++];
    *in = (struct observed_instance){strdup(i->id), strdup(region), strdup(i->state),
                                     strdup(node)};
    if (!in->id || !in->region || !in->state || !in->node)
        return -ENOMEM;
    for (size_t k = 0; k < c->n_nodes; k++) {
        struct observed_node *n = &c->nodes[k];
        if (strcmp(n->name, node) != 0)
            continue;
        if (state_rank(i->state) > state_rank(n->ec2_state)) {
            observed_node_clear(n);
            return fill_node(n, i, node, region);
        }
        return 0;
    }
    struct observed_node *nodes = realloc(c->nodes, (c->n_nodes + 1) * sizeof(*nodes));
    if (!nodes)
        return -ENOMEM;
    c->nodes = nodes;
    memset(&nodes[c->n_nodes], 0, sizeof(*nodes));
    return fill_node(&nodes[c->n_nodes++], i, node, region);
}

static int by_node_name(const void *a, const void *b)
{
    return strcmp(((const struct observed_node *)a)->name, ((const struct observed_node *)b)->name);
}

static int by_cluster_name(const void *a, const void *b)
{
    return strcmp(((const struct observed_cluster *)a)->name,
                  ((const struct observed_cluster *)b)->name);
}

int observe_ec2(struct cloud *cl, const char *const *regions, size_t n_regions, time_t now,
                struct observed_state **out, char *err, size_t errlen)
{
    const char *owner = cl->bucket;
    struct observed_state *os = observed_new_empty(now);
    if (!os)
        return -ENOMEM;
    const char *owners[] = {owner};
    const char *live[] = {"pending", "running", "shutting-down", "stopping", "stopped"};
    struct aws_filter filters[] = {{"tag:pclusterfs:owner", owners, 1},
                                   {"instance-state-name", live, 5}};
    int rc = 0;
    for (size_t r = 0; rc == 0 && r < n_regions; r++) {
        struct aws_ec2_describe_query q = {.filters = filters, .n_filters = 2};
        struct aws_ec2_instances found = {0};
        struct aws_error e = {0};
        rc = cloud_describe_instances(cl, regions[r], &q, &found, &e);
        if (rc) {
            char buf[768];
            snprintf(err, errlen, "EC2 in %s: %s", regions[r], aws_error_format(&e, buf, sizeof(buf)));
        }
        for (size_t i = 0; rc == 0 && i < found.n; i++)
            rc = add_instance(os, &found.v[i], owner, regions[r]);
        aws_ec2_instances_free(&found);
    }
    if (rc) {
        if (rc == -ENOMEM)
            snprintf(err, errlen, "out of memory reading EC2 instances");
        observed_free(os);
        return rc;
    }
    if (os->n > 1) /* qsort wants a non-NULL base even for nothing */
        qsort(os->clusters, os->n, sizeof(*os->clusters), by_cluster_name);
    for (size_t i = 0; i < os->n; i++)
        if (os->clusters[i].n_nodes > 1)
            qsort(os->clusters[i].nodes, os->clusters[i].n_nodes, sizeof(struct observed_node),
                  by_node_name);
    *out = os;
    return 0;
}
