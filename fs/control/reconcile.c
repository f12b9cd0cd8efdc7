#include "fs/control/reconcile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config/config.h"
#include "fs/control/act.h"
#include "fs/control/head_events.h"
#include "fs/control/job_acks.h"
#include "fs/control/nodectl_acks.h"
#include "fs/control/fleet_publish.h"
#include "fs/control/observe.h"
#include "fs/control/plan.h"

/* The static compute nodes the config wants, with their instance types,
 * and its dynamic nodes (the head's to launch and stop). */
struct wanted {
    char **names;
    const char **types;
    size_t n;
    char **dynamic;
    size_t n_dynamic;
};

static int wanted_nodes(const struct cluster_config *cfg, struct wanted *w)
{
    memset(w, 0, sizeof(*w));
    int rc = config_static_node_names(cfg, &w->names, &w->n);
    if (rc == 0)
        rc = config_dynamic_node_names(cfg, &w->dynamic, &w->n_dynamic);
    if (rc)
        return rc;
    w->types = calloc(w->n + 1, sizeof(*w->types));
    if (!w->types)
        return -ENOMEM;
    size_t k = 0;
    for (size_t q = 0; q < cfg->n_queues; q++)
        for (size_t r = 0; r < cfg->queues[q].n_resources; r++)
            for (int i = 0; i < cfg->queues[q].resources[r].static_count && k < w->n; i++)
                w->types[k++] = cfg->queues[q].resources[r].instance_type;
    return 0;
}

static void wanted_free(struct wanted *w)
{
    config_free_node_names(w->names, w->n);
    config_free_node_names(w->dynamic, w->n_dynamic);
    free(w->types);
}

static struct observed_cluster *observed_slot(struct observed_state *obs, const char *name)
{
    for (size_t i = 0; obs && i < obs->n; i++)
        if (strcmp(obs->clusters[i].name, name) == 0)
            return &obs->clusters[i];
    return NULL;
}

/* One cluster: observe its reports and Slurm, plan, act. */
static void reconcile_cluster(struct reconcile_ctx *rc, struct act_target *t)
{
    struct cluster_view v;
    struct wanted w;
    int observed = observe_cluster(rc, t->dc, t->oc, &v);
    int wanted = wanted_nodes(t->cfg, &w);
    if (observed != 0 || wanted != 0) {
        /* An incomplete view is no ground to act on (a launch could be
         * made twice); the next pass tries again. */
        if (rc->act)
            act_held_back(rc, t, "not acting: out of memory observing the cluster");
        wanted_free(&w);
        cluster_view_free(&v);
        return;
    }
    struct plan_input in = {.dc = t->dc,
                            .head_type = t->cfg->master_instance_type,
                            .wanted = (const char *const *)w.names,
                            .wanted_types = w.types,
                            .n_wanted = w.n,
                            .dynamic = (const char *const *)w.dynamic,
                            .n_dynamic = w.n_dynamic,
                            .oc = t->oc,
                            .head_report = &v.head_report,
                            .node_failures = (const char *const *)v.node_failures,
                            .ignored_reports = (const char *const *)v.ignored,
                            .n_ignored_reports = v.n_ignored,
                            .slurm_up = v.slurm_up,
                            .slurm_listed = (const char *const *)v.slurm_listed,
                            .n_slurm_listed = v.n_slurm_listed,
                            .now = rc->now,
                            .bootstrap_timeout = rc->bootstrap_timeout,
                            .act = rc->act,
                            .roles_stale = !act_roles_current(rc, t->dc),
                            .secgroups_stale = !act_secgroups_current(rc, t->dc)};
    struct plan p = {0};
    plan_cluster(&in, &p);
    if (t->oc) {
        t->oc->converged = p.converged;
        t->oc->converged_generation = t->dc->generation;
    }
    t->in = &in;
    if (rc->act) {
        /* The head's agent's spec, before anything launches; a failed
         * cluster has nothing for its head to carry out. */
        if (!t->dc->failure_code)
            fleet_publish(rc, t);
        fleet_tell_applied(rc, t);
        job_acks_tell(rc, t->dc, t->oc);
        head_events_tell(rc, t->dc);
        job_acks_prune(rc, t->dc, t->oc);
    }
    act_on_plan(rc, t, &p);
    plan_free(&p);
    wanted_free(&w);
    cluster_view_free(&v);
}

void reconcile(struct reconcile_ctx *rc, const struct desired_state *ds,
               struct observed_state *obs)
{
    if (obs->stale)
        return; /* acting on an old picture could launch twice */
    observe_prefetch(rc, ds);
    for (size_t i = 0; i < ds->n; i++) {
        const struct desired_cluster *dc = &ds->clusters[i];
        if (!dc->config || dc->deleting)
            continue;
        if (rc->act)
            nodectl_acks_tell(rc, dc);
        struct act_target t = {.dc = dc, .oc = observed_slot(obs, dc->name), .obs = obs,
                               .region = desired_region(dc, rc->mount_region)};
        if (observe_reported_nodes(obs, dc, &t.oc) != 0 && rc->act) {
            act_held_back(rc, &t, "not acting: out of memory listing the reported nodes");
            continue;
        }
        /* The config comes parsed once per generation with the model. */
        if (!dc->parsed || !dc->parsed->cfg) {
            /* Only validated configs are stored; one of an older version may not parse. */
            if (rc->act) {
                char msg[600];
                snprintf(msg, sizeof(msg), "not acting: the stored config does not parse: %s",
                         dc->parsed ? dc->parsed->error : "not parsed");
                act_held_back(rc, &t, msg);
            }
            continue;
        }
        t.cfg = dc->parsed->cfg;
        reconcile_cluster(rc, &t);
    }
    if (rc->objects)
        objcache_sweep(rc->objects); /* reports and keys of nodes and clusters now gone */
}
