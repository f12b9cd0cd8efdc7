#include "fs/control/plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/error.h"

bool plan_alive(const struct observed_node *n)
{
    return n && n->ec2_state &&
           (strcmp(n->ec2_state, "pending") == 0 || strcmp(n->ec2_state, "running") == 0);
}

static bool bootstrap_is(const struct observed_node *n, const char *state)
{
    return n && n->bootstrap && strcmp(n->bootstrap, state) == 0;
}

static const struct observed_node *find_node(const struct observed_cluster *oc,
                                             const char *name)
{
    for (size_t i = 0; oc && i < oc->n_nodes; i++)
        if (strcmp(oc->nodes[i].name, name) == 0)
            return &oc->nodes[i];
    return NULL;
}

static const char *node_failure(const struct plan_input *in, const struct observed_node *n)
{
    if (!in->node_failures || !in->oc || n < in->oc->nodes || n >= in->oc->nodes + in->oc->n_nodes)
        return "";
    const char *why = in->node_failures[n - in->oc->nodes];
    return why ? why : "";
}

/* Appends an action; text (printf-style, may be NULL) and code are copied. */
static struct plan_action *add(struct plan *p, struct plan_action a, const char *code,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static struct plan_action *add(struct plan *p, struct plan_action a, const char *code,
                               const char *fmt, ...)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        struct plan_action *grown = realloc(p->v, cap * sizeof(*grown));
        if (!grown) {
            p->error = -ENOMEM;
            return NULL;
        }
        p->v = grown;
        p->cap = cap;
    }
    a.code = code ? strdup(code) : NULL;
    a.text = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&a.text, fmt, ap) < 0)
            a.text = NULL;
        va_end(ap);
    }
    if ((code && !a.code) || (fmt && !a.text)) {
        free(a.code);
        free(a.text);
        p->error = -ENOMEM;
        return NULL;
    }
    p->v[p->n] = a;
    return &p->v[p->n++];
}

void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].code);
        free(p->v[i].text);
    }
    free(p->v);
    memset(p, 0, sizeof(*p));
}

/* Whether a failed update must leave this instance running: the head, and
 * nodes whose bootstrap finished on that very instance. */
static bool healthy(const struct observed_cluster *oc, const struct observed_instance *in)
{
    if (strcmp(in->node, "head") == 0)
        return true;
    const struct observed_node *n = find_node(oc, in->node);
    return n && strcmp(n->instance_id, in->id) == 0 && (n->finished || bootstrap_is(n, "done"));
}

/* Seen finished, or to be tagged so this pass (PLAN_TAG_DONE). */
static bool finished(const struct observed_node *n)
{
    return n->finished || (plan_alive(n) && bootstrap_is(n, "done"));
}

int plan_failure(const struct plan_input *in, const char *code, const char *reason,
                 struct plan *out)
{
    const struct observed_cluster *oc = in->oc;
    bool update = in->dc->first_complete > 0;
    add(out, (struct plan_action){.kind = PLAN_FAIL, .update = update}, code, "%s", reason);
    for (size_t i = 0; oc && i < oc->n_instances; i++) {
        const struct observed_instance *inst = &oc->instances[i];
        if (strcmp(inst->state, "shutting-down") == 0 || (update && healthy(oc, inst)))
            continue;
        add(out,
            (struct plan_action){.kind = PLAN_TERMINATE, .node = inst->node,
                                 .instance_id = inst->id, .region = inst->region},
            NULL, "%s",
            update ? "the update added it and it did not come up" : "the cluster failed");
    }
    /* Launches that will not report any more leave nothing presigned behind. */
    for (size_t i = 0; oc && i < oc->n_nodes; i++) {
        const struct observed_node *n = &oc->nodes[i];
        if (n->attempt > 0 && !(update && finished(n)))
            add(out,
                (struct plan_action){
                    .kind = PLAN_FORGET_LAUNCH, .node = n->name, .attempt = n->attempt},
                NULL, NULL);
    }
    return out->error;
}

int plan_deletion(const struct observed_cluster *oc, struct plan *out)
{
    if (!oc || !oc->n_instances) {
        add(out, (struct plan_action){.kind = PLAN_REMOVE_ROLES, .group = PLAN_GROUP_END}, NULL,
            NULL);
        add(out, (struct plan_action){.kind = PLAN_REMOVE_SECGROUPS, .group = PLAN_GROUP_END},
            NULL, NULL);
        add(out, (struct plan_action){.kind = PLAN_REMOVE, .group = PLAN_GROUP_END}, NULL, NULL);
        return out->error;
    }
    for (size_t i = 0; i < oc->n_instances; i++) {
        const struct observed_instance *in = &oc->instances[i];
        if (strcmp(in->state, "shutting-down") != 0)
            add(out,
                (struct plan_action){.kind = PLAN_TERMINATE, .node = in->node,
                                     .instance_id = in->id, .region = in->region},
                NULL, NULL);
    }
    return out->error;
}

int plan_compute_fleet(const struct plan_input *in, struct plan *out)
{
    const struct observed_cluster *oc = in->oc;
    const struct observed_node *head = find_node(oc, "head");
    for (size_t i = 0; i < in->n_wanted; i++) {
        const struct observed_node *n = find_node(oc, in->wanted[i]);
        if (plan_alive(n) && bootstrap_is(n, "failed")) {
            const char *why = node_failure(in, n);
            struct plan_action a = {.kind = PLAN_TERMINATE, .group = PLAN_GROUP_STATIC,
                                    .node = n->name, .instance_id = n->instance_id,
                                    .region = n->region};
            add(out, a, NULL, "its bootstrap failed (%s); it will be replaced",
                why[0] ? why : "no reason given");
            a.kind = PLAN_FORGET_LAUNCH;
            a.attempt = n->attempt;
            add(out, a, NULL, NULL);
        } else if (!plan_alive(n)) {
            add(out,
                (struct plan_action){.kind = PLAN_LAUNCH, .group = PLAN_GROUP_STATIC,
                                     .node = in->wanted[i], .instance_type = in->wanted_types[i],
                                     .head_address = head ? head->private_ip : NULL},
                NULL, NULL);
        }
    }
    /* Nodes no longer wanted (a smaller queue, another instance type): their
     * report, intent and manifest go too, as the node is not coming back.
     * The config's dynamic nodes are the head's: their instances come and
     * go with Slurm's power saving, never by the workstation's hand. */
    for (size_t i = 0; oc && i < oc->n_nodes; i++) {
        const struct observed_node *n = &oc->nodes[i];
        bool wanted = strcmp(n->name, "head") == 0;
        for (size_t k = 0; k < in->n_wanted && !wanted; k++)
            wanted = strcmp(in->wanted[k], n->name) == 0;
        for (size_t k = 0; k < in->n_dynamic && !wanted; k++)
            wanted = strcmp(in->dynamic[k], n->name) == 0;
        if (wanted || !plan_alive(n))
            continue;
        struct plan_action a = {.kind = PLAN_TERMINATE, .group = PLAN_GROUP_DROPPED,
                                .node = n->name, .instance_id = n->instance_id,
                                .region = n->region, .attempt = n->attempt};
        add(out, a, NULL, "no longer in the config");
        a.kind = PLAN_FORGET_NODE;
        add(out, a, NULL, NULL);
        a.kind = PLAN_FORGET_LAUNCH;
        add(out, a, NULL, NULL);
    }
    return out->error;
}

static bool converged(const struct plan_input *in)
{
    bool up = in->slurm_up;
    for (size_t i = 0; up && i < in->n_wanted; i++) {
        const struct observed_node *n = find_node(in->oc, in->wanted[i]);
        up = plan_alive(n) && bootstrap_is(n, "done") && n->slurm_state &&
             strcmp(n->slurm_state, "none") != 0;
    }
    return up && !in->dc->failure_code;
}

/* The head node: launched first; its failed bootstrap, or one that outlasts
 * bootstrap_timeout, fails the cluster; once it is done, the fleet. */
static void plan_head(const struct plan_input *in, struct plan *out)
{
    const struct observed_node *head = find_node(in->oc, "head");
    const struct node_report *r = in->head_report;
    bool head_done = plan_alive(head) && strcmp(r->state, "done") == 0;
    char reason[2048], tail[1024];
    if (!plan_alive(head)) {
        /* Its instance profile first (a crash in between makes it again,
         * the same, on the next pass): the launch names it. */
        add(out, (struct plan_action){.kind = PLAN_ENSURE_ROLES, .node = "head"}, NULL, NULL);
        add(out, (struct plan_action){.kind = PLAN_ENSURE_SECGROUPS, .node = "head"}, NULL, NULL);
        add(out,
            (struct plan_action){.kind = PLAN_LAUNCH, .node = "head",
                                 .instance_type = in->head_type},
            NULL, NULL);
    } else if (strcmp(r->state, "failed") == 0) {
        report_failure_reason(r, "head", reason, sizeof(reason));
        plan_failure(in, r->failure[0] ? r->failure : "HeadNodeBootstrapFailure", reason, out);
    } else if (!head_done && head->launch_time > 0 &&
               in->now - head->launch_time > in->bootstrap_timeout) {
        report_log_tail(r, 10, tail, sizeof(tail));
        snprintf(reason, sizeof(reason),
                 "the head node's bootstrap did not finish within %d s (at: %s)%s%s",
                 in->bootstrap_timeout, r->step[0] ? r->step : r->state[0] ? r->state : "no report",
                 tail[0] ? ": " : "", tail);
        plan_failure(in, "HeadNodeBootstrapFailure", reason, out);
    } else if (head_done) {
        /* A config the roles were not put right for yet (a restart, an
         * update): first, so compute nodes launch with what it asks. */
        if (in->roles_stale)
            add(out, (struct plan_action){.kind = PLAN_ENSURE_ROLES}, NULL, NULL);
        if (in->secgroups_stale)
            add(out, (struct plan_action){.kind = PLAN_ENSURE_SECGROUPS}, NULL, NULL);
        plan_compute_fleet(in, out);
    }
}

int plan_cluster(const struct plan_input *in, struct plan *out)
{
    const struct observed_cluster *oc = in->oc;
    out->converged = converged(in);
    if (!in->act)
        return 0; /* only the lease holder acts */
    for (size_t i = 0; i < in->n_ignored_reports; i++)
        add(out, (struct plan_action){.kind = PLAN_EVENT}, NULL, "%s", in->ignored_reports[i]);
    /* Nodes whose instance is gone leave Slurm by the head's agent
     * (agent_gone.py): the workstation does not reach slurmrestd. */
    /* A failed creation's roles go once no instance is left to use them
     * (a failed update keeps its head, and the head its role). */
    if (in->dc->failure_code && !in->dc->deleting && in->dc->first_complete == 0 &&
        (!oc || oc->n_instances == 0)) {
        add(out, (struct plan_action){.kind = PLAN_REMOVE_ROLES, .group = PLAN_GROUP_END}, NULL,
            NULL);
        add(out, (struct plan_action){.kind = PLAN_REMOVE_SECGROUPS, .group = PLAN_GROUP_END},
            NULL, NULL);
    }
    if (in->dc->failure_code || in->dc->deleting)
        return out->error;
    for (size_t i = 0; oc && i < oc->n_nodes; i++) {
        const struct observed_node *n = &oc->nodes[i];
        if (plan_alive(n) && !n->finished && bootstrap_is(n, "done"))
            add(out,
                (struct plan_action){.kind = PLAN_TAG_DONE, .node = n->name,
                                     .instance_id = n->instance_id, .region = n->region,
                                     .attempt = n->attempt},
                NULL, NULL);
    }
    plan_head(in, out);
    if (oc && out->converged && in->dc->first_complete == 0)
        add(out, (struct plan_action){.kind = PLAN_COMPLETE, .group = PLAN_GROUP_END}, NULL,
            NULL);
    return out->error;
}

bool plan_next_attempt(const struct plan_intent *stored, int generation, int launched,
                       struct plan_intent *next)
{
    struct plan_intent in = *stored;
    if (in.generation != generation)
        in.tries = 0; /* a new config is a new chance */
    if (in.attempt == 0) {
        in.attempt = 1;
        in.tries = 1;
    } else if (launched > 0) { /* that instance is gone: a replacement is a new attempt */
        in.attempt++;
        in.tries++;
    } else if (in.tries == 0) {
        in.tries = 1;
    }
    in.generation = generation;
    *next = in;
    return in.tries <= PLAN_MAX_ATTEMPTS;
}

bool plan_transient(const char *code)
{
    /* The code alone: launch_node reports no HTTP status, and aws/ knows
     * which codes say "try later" (its client retries the same ones). */
    return aws_error_classify(0, code) == AWS_ERROR_TRANSIENT;
}

enum plan_launch_error plan_launch_error(const char *code, int tries)
{
    if (!code[0] || plan_transient(code))
        return PLAN_RETRY;
    /* No capacity: a try that counts, so a type EC2 cannot give ends in a
     * failure that says why rather than in retries forever. */
    if (aws_error_classify(0, code) == AWS_ERROR_NO_CAPACITY && tries < PLAN_MAX_ATTEMPTS)
        return PLAN_RETRY_COUNTED;
    return PLAN_REFUSED;
}
