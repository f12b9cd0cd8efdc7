/* Table-driven tests of the planner (fs/control/plan.c), each case named
 * after the rule of DESIGN.md section 4 it checks; and of the pure parts
 * of the observer and the launch steps: which report counts, the relaunch
 * cap and client tokens per attempt, what EC2's launch errors mean. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/launch.h"
#include "fs/control/observe.h"
#include "fs/control/plan.h"
#include "tests/unit/check.h"

#define NOW 100000
#define TIMEOUT 1800

struct node_spec {
    const char *name, *ec2, *bootstrap, *slurm;
    int attempt;
    bool finished;
    time_t launch_time;
    const char *failure; /* why its bootstrap failed, as the observer read it */
};

struct plan_case {
    const char *rule;
    int first_complete;
    const char *failure_code;
    bool deleting;
    struct node_spec nodes[6]; /* ends at a NULL name */
    const char *head_state, *head_failure, *head_step;
    bool slurm_up;
    const char *slurm_listed[3];
    const char *ignored;
    bool lease_held;
    const char *want; /* the plan, one action a line */
    bool converged;
    bool roles_stale;
    bool secgroups_stale;
};

static const char *const WANTED[] = {"compute-st-t2micro-1", "compute-st-t2micro-2"};
static const char *const TYPES[] = {"t2.micro", "t2.micro"};
static const char *const DYNAMIC[] = {"compute-dy-t2micro-1", "compute-dy-t2micro-2"};
#define ST1 "compute-st-t2micro-1"
#define ST2 "compute-st-t2micro-2"

/* The observed cluster of a case: its nodes, and an instance of each that
 * EC2 shows (i-<name>, in the node's state). */
static struct observed_cluster *observed_of(const struct plan_case *c, const char **failures)
{
    struct observed_cluster *oc = calloc(1, sizeof(*oc));
    oc->name = strdup("c");
    oc->nodes = calloc(6, sizeof(*oc->nodes));
    oc->instances = calloc(6, sizeof(*oc->instances));
    for (size_t i = 0; i < 6 && c->nodes[i].name; i++) {
        const struct node_spec *s = &c->nodes[i];
        struct observed_node *n = &oc->nodes[oc->n_nodes++];
        char id[64];
        snprintf(id, sizeof(id), "i-%s", s->name);
        n->name = strdup(s->name);
        n->region = strdup("us-east-1");
        n->ec2_state = strdup(s->ec2);
        n->instance_id = strdup(strcmp(s->ec2, "none") ? id : "");
        n->bootstrap = s->bootstrap ? strdup(s->bootstrap) : NULL;
        n->slurm_state = strdup(s->slurm ? s->slurm : "none");
        n->private_ip = strdup(strcmp(s->name, "head") == 0 ? "10.0.0.1" : "10.0.0.9");
        n->attempt = s->attempt;
        n->finished = s->finished;
        n->launch_time = s->launch_time;
        failures[i] = s->failure ? s->failure : "";
        if (strcmp(s->ec2, "none") == 0)
            continue;
        struct observed_instance *in = &oc->instances[oc->n_instances++];
        in->id = strdup(id);
        in->region = strdup("us-east-1");
        in->state = strdup(s->ec2);
        in->node = strdup(s->name);
    }
    return oc;
}

static void render(const struct plan *p, char *buf, size_t len)
{
    static const char *const kinds[] = {
        [PLAN_EVENT] = "event",
        [PLAN_TAG_DONE] = "tag",        [PLAN_LAUNCH] = "launch",
        [PLAN_FAIL] = "fail",           [PLAN_TERMINATE] = "terminate",
        [PLAN_FORGET_LAUNCH] = "forget-launch", [PLAN_FORGET_NODE] = "forget-node",
        [PLAN_COMPLETE] = "complete",   [PLAN_REMOVE] = "remove",
        [PLAN_ENSURE_ROLES] = "roles",  [PLAN_REMOVE_ROLES] = "remove-roles",
        [PLAN_ENSURE_SECGROUPS] = "secgroups", [PLAN_REMOVE_SECGROUPS] = "remove-secgroups"};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->n && used < len; i++) {
        const struct plan_action *a = &p->v[i];
        char line[512];
        switch (a->kind) {
        case PLAN_LAUNCH:
            snprintf(line, sizeof(line), "launch %s %s%s%s", a->node, a->instance_type,
                     a->head_address ? " at " : "", a->head_address ? a->head_address : "");
            break;
        case PLAN_FAIL:
            snprintf(line, sizeof(line), "fail %s%s", a->code, a->update ? " (update)" : "");
            break;
        case PLAN_TERMINATE:
            snprintf(line, sizeof(line), "terminate %s: %s", a->instance_id,
                     a->text ? a->text : "(null)");
            break;
        case PLAN_FORGET_LAUNCH:
            snprintf(line, sizeof(line), "forget-launch %s/%d", a->node, a->attempt);
            break;
        case PLAN_EVENT:
            snprintf(line, sizeof(line), "event %s", a->text);
            break;
        case PLAN_ENSURE_ROLES:
        case PLAN_ENSURE_SECGROUPS:
            snprintf(line, sizeof(line), "%s %s", kinds[a->kind], a->node ? a->node : "(config)");
            break;
        case PLAN_COMPLETE:
        case PLAN_REMOVE:
        case PLAN_REMOVE_ROLES:
        case PLAN_REMOVE_SECGROUPS:
            snprintf(line, sizeof(line), "%s", kinds[a->kind]);
            break;
        default:
            snprintf(line, sizeof(line), "%s %s", kinds[a->kind], a->node);
        }
        used += (size_t)snprintf(buf + used, len - used, "%s\n", line);
    }
}

static void free_observed(struct observed_cluster *oc)
{
    struct observed_state obs = {.clusters = oc, .n = 1};
    struct observed_state *heap = malloc(sizeof(*heap));
    *heap = obs;
    observed_free(heap);
}

/* Runs one case; returns the plan for more checks (plan_free it). */
static struct plan run_case(const struct plan_case *c)
{
    const char *failures[6] = {0};
    struct observed_cluster *oc = observed_of(c, failures);
    struct desired_cluster dc = {.name = "c",
                                 .generation = 2,
                                 .first_complete = c->first_complete,
                                 .failure_code = (char *)c->failure_code,
                                 .deleting = c->deleting};
    struct node_report head = {0};
    snprintf(head.state, sizeof(head.state), "%s", c->head_state ? c->head_state : "");
    snprintf(head.failure, sizeof(head.failure), "%s", c->head_failure ? c->head_failure : "");
    snprintf(head.step, sizeof(head.step), "%s", c->head_step ? c->head_step : "");
    size_t n_listed = 0;
    while (n_listed < 3 && c->slurm_listed[n_listed])
        n_listed++;
    const char *ignored[] = {c->ignored};
    struct plan_input in = {.dc = &dc,
                            .head_type = "t3.small",
                            .wanted = WANTED,
                            .wanted_types = TYPES,
                            .n_wanted = 2,
                            .dynamic = DYNAMIC,
                            .n_dynamic = 2,
                            .oc = oc,
                            .head_report = &head,
                            .node_failures = failures,
                            .ignored_reports = ignored,
                            .n_ignored_reports = c->ignored ? 1 : 0,
                            .slurm_up = c->slurm_up,
                            .slurm_listed = c->slurm_listed,
                            .n_slurm_listed = n_listed,
                            .now = NOW,
                            .bootstrap_timeout = TIMEOUT,
                            .act = c->lease_held,
                            .roles_stale = c->roles_stale,
                            .secgroups_stale = c->secgroups_stale};
    struct plan p = {0};
    CHECK_INT(plan_cluster(&in, &p), 0);
    char got[4096];
    render(&p, got, sizeof(got));
    check_count++;
    if (strcmp(got, c->want) != 0 || p.converged != c->converged) {
        check_failures++;
        fprintf(stderr, "rule \"%s\":\n  plan:\n%s  want:\n%s  converged %d, want %d\n",
                c->rule, got, c->want, p.converged, c->converged);
    }
    /* The text of actions is the plan's own: it outlives the input. */
    free_observed(oc);
    return p;
}

#define HEAD_UP(state) {"head", "running", state, "idle", 1, false, NOW - 60, NULL}
#define HEAD_DONE {"head", "running", "done", "none", 1, true, NOW - 600, NULL}

static const struct plan_case cases[] = {
    {.rule = "launch order: the head node first, its IAM roles before it",
     .lease_held = true,
     .want = "roles head\nsecgroups head\nlaunch head t3.small\n"},
    {.rule = "roles: a head gone (terminated) is launched again with its roles put right",
     .lease_held = true,
     .nodes = {{"head", "terminated", NULL, "none", 1, false, NOW - 60, NULL}},
     .want = "roles head\nsecgroups head\nlaunch head t3.small\n"},
    {.rule = "roles: a failed creation's roles go once no instance of it is left",
     .lease_held = true,
     .failure_code = "HeadNodeBootstrapFailure",
     .want = "remove-roles\nremove-secgroups\n"},
    {.rule = "roles: not while an instance of the failed creation is still going",
     .lease_held = true,
     .failure_code = "HeadNodeBootstrapFailure",
     .nodes = {{"head", "shutting-down", "failed", "none", 1, false, NOW - 60, NULL}},
     .want = ""},
    {.rule = "roles: a failed update keeps them (its head keeps running)",
     .lease_held = true,
     .first_complete = 1,
     .failure_code = "StaticNodeBootstrapFailure",
     .want = ""},
    {.rule = "roles: a config they were not put right for: before the fleet's launches",
     .lease_held = true,
     .roles_stale = true,
     .nodes = {HEAD_DONE},
     .head_state = "done",
     .want = "roles (config)\nlaunch " ST1 " t2.micro at 10.0.0.1\nlaunch " ST2
             " t2.micro at 10.0.0.1\n"},
    {.rule = "roles: not for a head whose bootstrap failed (the cluster fails)",
     .lease_held = true,
     .roles_stale = true,
     .nodes = {HEAD_UP("failed")},
     .head_state = "failed",
     .want = "fail HeadNodeBootstrapFailure\nterminate i-head: the cluster failed\n"
             "forget-launch head/1\n"},
    {.rule = "secgroups: a config they were not put right for: before the fleet's launches",
     .lease_held = true,
     .secgroups_stale = true,
     .nodes = {HEAD_DONE},
     .head_state = "done",
     .want = "secgroups (config)\nlaunch " ST1 " t2.micro at 10.0.0.1\nlaunch " ST2
             " t2.micro at 10.0.0.1\n"},
    {.rule = "secgroups: not while an instance of the failed creation is still going",
     .lease_held = true,
     .failure_code = "HeadNodeBootstrapFailure",
     .nodes = {{"head", "running", "failed", "none", 1, false, NOW - 60, NULL}},
     .want = ""},
    {.rule = "roles: only the lease holder removes them",
     .lease_held = false,
     .failure_code = "HeadNodeBootstrapFailure",
     .want = ""},
    {.rule = "launch order: static nodes only once the head is done",
     .lease_held = true,
     .nodes = {HEAD_UP("configuring")},
     .head_state = "configuring",
     .want = ""},
    {.rule = "launch order: static nodes once the head is done, told the head's address",
     .lease_held = true,
     .nodes = {HEAD_DONE},
     .head_state = "done",
     .want = "launch " ST1 " t2.micro at 10.0.0.1\nlaunch " ST2 " t2.micro at 10.0.0.1\n"},
    {.rule = "a bootstrap seen done gets its instance tagged, its launch forgotten",
     .lease_held = true,
     .nodes = {{"head", "running", "done", "none", 1, false, NOW - 60, NULL}},
     .head_state = "done",
     .want = "tag head\nlaunch " ST1 " t2.micro at 10.0.0.1\nlaunch " ST2
             " t2.micro at 10.0.0.1\n"},
    {.rule = "only the lease holder acts (the others only observe)",
     .lease_held = false,
     .nodes = {HEAD_DONE},
     .head_state = "done",
     .slurm_up = true,
     .slurm_listed = {"gone-node"},
     .ignored = "ignored a report for head: it does not count",
     .want = ""},
    {.rule = "bootstrap timeout: a head not done after bootstrap_timeout fails the creation",
     .lease_held = true,
     .nodes = {{"head", "running", "configuring", "none", 1, false, NOW - TIMEOUT - 1, NULL}},
     .head_state = "configuring",
     .head_step = "installing slurm",
     .want = "fail HeadNodeBootstrapFailure\nterminate i-head: the cluster failed\n"
             "forget-launch head/1\n"},
    {.rule = "bootstrap timeout: not before bootstrap_timeout",
     .lease_held = true,
     .nodes = {{"head", "running", "configuring", "none", 1, false, NOW - TIMEOUT, NULL}},
     .head_state = "configuring",
     .want = ""},
    {.rule = "creation failure terminates everything (the head's failed report)",
     .lease_held = true,
     .nodes = {HEAD_UP("failed"), {ST1, "running", "done", "idle", 1, true, NOW, NULL},
               {ST2, "shutting-down", "done", "none", 1, false, NOW, NULL}},
     .head_state = "failed",
     .head_failure = "HookFailure",
     .want = "fail HookFailure\nterminate i-head: the cluster failed\n"
             "terminate i-" ST1 ": the cluster failed\nforget-launch head/1\n"
             "forget-launch " ST1 "/1\nforget-launch " ST2 "/1\n"},
    {.rule = "update failure keeps the cluster: the head and healthy nodes stay",
     .lease_held = true,
     .first_complete = 1,
     .nodes = {HEAD_UP("failed"), {ST1, "running", "done", "idle", 1, true, NOW, NULL},
               {ST2, "running", "configuring", "none", 2, false, NOW, NULL}},
     .head_state = "failed",
     .want = "fail HeadNodeBootstrapFailure (update)\n"
             "terminate i-" ST2 ": the update added it and it did not come up\n"
             "forget-launch head/1\nforget-launch " ST2 "/2\n"},
    {.rule = "relaunch: a static node whose bootstrap failed is replaced",
     .lease_held = true,
     .nodes = {HEAD_DONE, {ST1, "running", "failed", "none", 2, false, NOW, "hook x exited 3"},
               {ST2, "running", "done", "idle", 1, true, NOW, NULL}},
     .head_state = "done",
     .slurm_up = true,
     .want = "terminate i-" ST1 ": its bootstrap failed (hook x exited 3); it will be "
             "replaced\nforget-launch " ST1 "/2\n"},
    {.rule = "nodes dropped from the config are terminated, their report and intent go",
     .lease_held = true,
     .first_complete = 1,
     .nodes = {HEAD_DONE, {ST1, "running", "done", "idle", 1, true, NOW, NULL},
               {ST2, "running", "done", "idle", 1, true, NOW, NULL},
               {"compute-st-t2micro-3", "running", "done", "idle", 4, true, NOW, NULL}},
     .head_state = "done",
     .slurm_up = true,
     .want = "terminate i-compute-st-t2micro-3: no longer in the config\n"
             "forget-node compute-st-t2micro-3\nforget-launch compute-st-t2micro-3/4\n",
     .converged = true},
    {.rule = "dynamic nodes' instances are the head's: running or failed, never touched",
     .lease_held = true,
     .first_complete = 1,
     .nodes = {HEAD_DONE, {ST1, "running", "done", "idle", 1, true, NOW, NULL},
               {ST2, "running", "done", "idle", 1, true, NOW, NULL},
               {"compute-dy-t2micro-1", "running", NULL, "allocated", 0, false, NOW, NULL},
               {"compute-dy-t2micro-2", "pending", "failed", "none", 0, false, NOW, "x"},
               {"compute-dy-t2micro-3", "running", NULL, "idle", 0, false, NOW, NULL}},
     .head_state = "done",
     .slurm_up = true,
     .want = "terminate i-compute-dy-t2micro-3: no longer in the config\n"
             "forget-node compute-dy-t2micro-3\nforget-launch compute-dy-t2micro-3/0\n",
     .converged = true},
    {.rule = "converged: Slurm answers and every static node is done and in Slurm: completed",
     .lease_held = true,
     .nodes = {HEAD_DONE, {ST1, "running", "done", "idle", 1, true, NOW, NULL},
               {ST2, "running", "done", "idle", 1, true, NOW, NULL}},
     .head_state = "done",
     .slurm_up = true,
     .want = "complete\n",
     .converged = true},
    {.rule = "completed once is for good: no second verdict",
     .lease_held = true,
     .first_complete = 2,
     .nodes = {HEAD_DONE, {ST1, "running", "done", "idle", 1, true, NOW, NULL},
               {ST2, "running", "done", "idle", 1, true, NOW, NULL}},
     .head_state = "done",
     .slurm_up = true,
     .want = "",
     .converged = true},
    {.rule = "not converged while a static node is not in Slurm",
     .lease_held = true,
     .nodes = {HEAD_DONE, {ST1, "running", "done", "none", 1, true, NOW, NULL},
               {ST2, "running", "done", "idle", 1, true, NOW, NULL}},
     .head_state = "done",
     .slurm_up = true,
     .want = ""},
    {.rule = "a failed cluster does nothing more until a new config",
     .lease_held = true,
     .failure_code = "HeadNodeBootstrapFailure",
     .nodes = {HEAD_DONE},
     .head_state = "done",
     .want = ""},
    {.rule = "delete: a cluster being deleted is not planned here (the controller's deletion)",
     .lease_held = true,
     .deleting = true,
     .want = ""},
    {.rule = "a node whose instance is gone is left to the head's agent to remove from Slurm",
     .lease_held = true,
     .nodes = {HEAD_DONE, {ST1, "running", "done", "idle", 1, true, NOW, NULL},
               {ST2, "terminated", NULL, "idle", 1, false, NOW, NULL}},
     .head_state = "done",
     .slurm_up = true,
     .slurm_listed = {ST1, ST2},
     .want = "launch " ST2 " t2.micro at 10.0.0.1\n"},
    {.rule = "reports that do not belong to the instance or attempt are told, once a pass",
     .lease_held = true,
     .nodes = {HEAD_UP("pending")},
     .head_state = "",
     .ignored = "ignored a report of attempt 1 for head: it does not count",
     .want = "event ignored a report of attempt 1 for head: it does not count\n"},
};

/* The case of that rule (cases grow: no index is stable). */
static const struct plan_case *case_named(const char *rule)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(cases[i].rule, rule) == 0)
            return &cases[i];
    fprintf(stderr, "no case \"%s\"\n", rule);
    abort();
}

static void table(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct plan p = run_case(&cases[i]);
        plan_free(&p);
    }
}

/* The reasons a verdict carries. */
static void failure_reasons(void)
{
    struct plan p = run_case(case_named(
        "bootstrap timeout: a head not done after bootstrap_timeout fails the creation"));
    CHECK(p.n > 0 && p.v[0].kind == PLAN_FAIL);
    if (p.n > 0) {
        CHECK_CONTAINS(p.v[0].text, "did not finish within 1800 s");
        CHECK_CONTAINS(p.v[0].text, "(at: installing slurm)");
    }
    plan_free(&p);
}

/* The compute fleet's rules alone, as the head's agent will run them. */
static void compute_fleet_alone(void)
{
    const struct plan_case *c =
        case_named("launch order: static nodes once the head is done, told the head's address");
    const char *failures[6] = {0};
    struct observed_cluster *oc = observed_of(c, failures);
    struct desired_cluster dc = {.name = "c", .generation = 1};
    struct node_report head = {0};
    struct plan_input in = {.dc = &dc, .wanted = WANTED, .wanted_types = TYPES, .n_wanted = 2,
                            .oc = oc, .head_report = &head, .act = true};
    struct plan p = {0};
    CHECK_INT(plan_compute_fleet(&in, &p), 0);
    CHECK_INT(p.n, 2);
    for (size_t i = 0; i < p.n; i++) {
        CHECK_INT(p.v[i].kind, PLAN_LAUNCH);
        CHECK_INT(p.v[i].group, PLAN_GROUP_STATIC);
    }
    plan_free(&p);
    free_observed(oc);
}

/* Delete: instances first (whatever their bootstrap, the head too), then
 * the cluster's objects once EC2 shows nothing of it running. */
static void deletion(void)
{
    const struct plan_case running = {
        .nodes = {HEAD_DONE, {ST1, "shutting-down", "done", "none", 1, true, NOW, NULL},
                  {ST2, "pending", NULL, "none", 1, false, NOW, NULL}}};
    const char *failures[6];
    struct observed_cluster *oc = observed_of(&running, failures);
    struct plan p = {0};
    char got[1024];
    CHECK_INT(plan_deletion(oc, &p), 0);
    render(&p, got, sizeof(got));
    CHECK_STR(got, "terminate i-head: (null)\nterminate i-" ST2 ": (null)\n");
    plan_free(&p);
    for (size_t i = 0; i < oc->n_instances; i++) {
        free(oc->instances[i].state);
        oc->instances[i].state = strdup("shutting-down");
    }
    CHECK_INT(plan_deletion(oc, &p), 0);
    CHECK_INT(p.n, 0); /* going: wait until EC2 shows nothing */
    plan_free(&p);
    free_observed(oc);
    CHECK_INT(plan_deletion(NULL, &p), 0);
    render(&p, got, sizeof(got));
    /* the roles and security groups before the objects that name them */
    CHECK_STR(got, "remove-roles\nremove-secgroups\nremove\n");
    plan_free(&p);
}

/* Relaunch cap (MAX_ATTEMPTS 3 per config generation) and idempotent
 * launch: an attempt EC2 never started is retried with its token. */
static void relaunch_cap_and_attempts(void)
{
    struct plan_intent next;
    struct plan_intent none = {0, 0, 0};
    CHECK(plan_next_attempt(&none, 1, 0, &next));
    CHECK_INT(next.attempt, 1);
    CHECK_INT(next.tries, 1);
    CHECK_INT(next.generation, 1);
    /* A crash between the intent and RunInstances, or before its answer:
     * EC2 shows nothing of the token, so the same attempt (same token). */
    struct plan_intent crashed = {1, 1, 1};
    CHECK(plan_next_attempt(&crashed, 1, 0, &next));
    CHECK_INT(next.attempt, 1);
    CHECK_INT(next.tries, 1);
    /* That attempt's instance is gone: a replacement is a new attempt. */
    struct plan_intent gone = {2, 1, 2};
    CHECK(plan_next_attempt(&gone, 1, 1, &next));
    CHECK_INT(next.attempt, 3);
    CHECK_INT(next.tries, 3);
    struct plan_intent third = {3, 1, 3};
    CHECK(!plan_next_attempt(&third, 1, 1, &next)); /* a 4th launch: the cap */
    /* A new config is a new chance, with a new attempt number all the same. */
    CHECK(plan_next_attempt(&third, 2, 1, &next));
    CHECK_INT(next.attempt, 4);
    CHECK_INT(next.tries, 1);
    struct plan_intent counted = {2, 2, 0};
    CHECK(plan_next_attempt(&counted, 2, 0, &next));
    CHECK_INT(next.tries, 1);
    /* Tokens differ per attempt, per cluster incarnation, and are stable. */
    char t1[65], t1b[65], t2[65];
    launch_client_token("b", "c", 5, "head", 1, t1);
    launch_client_token("b", "c", 5, "head", 1, t1b);
    launch_client_token("b", "c", 5, "head", 2, t2);
    CHECK_STR(t1, t1b);
    CHECK(strcmp(t1, t2) != 0);
}

static void launch_errors(void)
{
    CHECK_INT(plan_launch_error("", 1), PLAN_RETRY); /* no answer: no verdict */
    CHECK_INT(plan_launch_error("RequestLimitExceeded", 1), PLAN_RETRY);
    CHECK_INT(plan_launch_error("Throttling", 3), PLAN_RETRY);
    CHECK_INT(plan_launch_error("ServiceUnavailable", 1), PLAN_RETRY);
    CHECK_INT(plan_launch_error("InsufficientInstanceCapacity", 1), PLAN_RETRY_COUNTED);
    CHECK_INT(plan_launch_error("InsufficientInstanceCapacity", 3), PLAN_REFUSED);
    CHECK_INT(plan_launch_error("InvalidKeyPair.NotFound", 1), PLAN_REFUSED);
    CHECK(plan_transient("InternalError"));
    CHECK(!plan_transient("InvalidAMIID.Malformed"));
}

static struct observed_node node(const char *id, int attempt, bool finished)
{
    struct observed_node n = {.name = strdup("head"), .instance_id = strdup(id),
                              .ec2_state = strdup("running"), .attempt = attempt,
                              .finished = finished};
    return n;
}

static void node_clear(struct observed_node *n)
{
    free(n->name);
    free(n->instance_id);
    free(n->ec2_state);
    free(n->bootstrap);
    free(n->bootstrap_log);
}

static struct node_report report(const char *text)
{
    struct node_report r;
    CHECK_INT(report_parse(text, strlen(text), &r), 0);
    return r;
}

/* Reports count only for the instance and attempt they were issued to, and
 * never after a bootstrap seen done (DESIGN section 4). */
static void report_trust(void)
{
    char ignored[400];
    struct observed_node n = node("i-2", 2, false);
    struct node_report r = report("state configuring\nattempt 2\ninstance i-2\n--\n");
    CHECK(observe_node_report(&n, &r, true, ignored, sizeof(ignored)));
    CHECK_STR(n.bootstrap, "configuring");
    CHECK_STR(ignored, "");
    report_free(&r);
    r = report("state failed\nattempt 1\ninstance i-1\n--\n"); /* the last attempt's */
    CHECK(!observe_node_report(&n, &r, true, ignored, sizeof(ignored)));
    CHECK_CONTAINS(ignored, "does not count");
    CHECK_STR(n.bootstrap, "configuring"); /* unchanged */
    report_free(&r);
    r = report("state failed\nattempt 2\ninstance i-9\n--\n"); /* another instance's */
    CHECK(!observe_node_report(&n, &r, true, ignored, sizeof(ignored)));
    report_free(&r);
    node_clear(&n);
    /* A report after done: the tag says done, whatever comes later. */
    n = node("i-3", 3, true);
    r = report("state failed\nattempt 3\ninstance i-3\n--\n");
    CHECK(!observe_node_report(&n, &r, true, ignored, sizeof(ignored)));
    CHECK_STR(n.bootstrap, "done");
    report_free(&r);
    /* No report at all for a finished node: still done. */
    memset(&r, 0, sizeof(r));
    CHECK(!observe_node_report(&n, &r, false, ignored, sizeof(ignored)));
    CHECK_STR(n.bootstrap, "done");
    CHECK_STR(ignored, "");
    node_clear(&n);
}

int main(void)
{
    RUN(table);
    RUN(failure_reasons);
    RUN(compute_fleet_alone);
    RUN(deletion);
    RUN(relaunch_cap_and_attempts);
    RUN(launch_errors);
    RUN(report_trust);
    return check_finish();
}
