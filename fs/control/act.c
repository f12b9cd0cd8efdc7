#include "fs/control/act.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/launch.h"
#include "fs/control/observe.h"
#include "fs/control/roles.h"
#include "fs/control/secgroups.h"
#include "fs/store/events.h"
#include "fs/store/layout.h"
#include "fs/store/objcache.h"

#define URL_SECONDS (6 * 3600)

/* Appends an error event unless one of the cluster's last few events says
 * the same: a failure that every pass meets again (or two that alternate)
 * is worth one line, not one a pass. Returns whether it appended. */
static bool error_once(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                       const char *msg)
{
    enum { RECENT_EVENTS = 8 };
    char line[EVENT_MAX + 64];
    events_format(line, sizeof(line), 0, "error", msg);
    const char *tail = strchr(line, ' '); /* the line without its time */
    const struct blob *ev = dc->events;
    if (tail && ev && ev->len) {
        size_t start = ev->len - 1; /* past the last line's newline */
        for (int lines = 0; start > 0; start--)
            if (ev->data[start - 1] == '\n' && ++lines == RECENT_EVENTS)
                break;
        /* A request id differs in every answer: it does not make news. */
        const char *rid = strstr(tail, "request id ");
        size_t keylen = rid ? (size_t)(rid - tail) : strlen(tail);
        if (memmem(ev->data + start, ev->len - start, tail, keylen))
            return false;
    }
    events_append(rc->store, dc->name, "error", "%s", msg);
    return true;
}

/* The cluster's observed entry, made empty when EC2 showed nothing of it. */
static struct observed_cluster *observed_slot_new(struct observed_state *obs, const char *name)
{
    for (size_t i = 0; obs && i < obs->n; i++)
        if (strcmp(obs->clusters[i].name, name) == 0)
            return &obs->clusters[i];
    if (!obs)
        return NULL;
    struct observed_cluster *grown = realloc(obs->clusters, (obs->n + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    obs->clusters = grown;
    struct observed_cluster *oc = &grown[obs->n];
    memset(oc, 0, sizeof(*oc));
    if (!(oc->name = strdup(name)))
        return NULL;
    obs->n++;
    return oc;
}

/* An action failed or was held back: the reason goes to the cluster's
 * events (once while it stays the same), to status.json (action_error) and
 * to the daemon's log, so no stall is silent. */
static void held_back(struct reconcile_ctx *rc, struct act_target *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void held_back(struct reconcile_ctx *rc, struct act_target *t, const char *fmt, ...)
{
    char msg[EVENT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!t->oc)
        t->oc = observed_slot_new(t->obs, t->dc->name);
    if (t->oc && !t->oc->action_error)
        t->oc->action_error = strdup(msg); /* the first of a pass: what blocks the rest;
                                              NULL on ENOMEM: events and the log tell it */
    if (error_once(rc, t->dc, msg))
        fprintf(stderr, "pclusterfs: %s: %s\n", t->dc->name, msg);
}

/* Deletes what served only one launch of a node: its manifest (with the
 * presigned URLs of the cluster's files). Its report stays: the tree shows it. */
static void forget_launch(struct reconcile_ctx *rc, const char *cluster, const char *node,
                          int attempt)
{
    char err[512];
    char *key = layout_manifest_key(cluster, node, attempt);
    if (key)
        cloud_delete(rc->cloud, key, err, sizeof(err)); /* gone already is fine */
    free(key);
}

/* The node's report and intent: it is not coming back. */
static void forget_node(struct reconcile_ctx *rc, const char *cluster, const char *node)
{
    char err[512];
    char *report = layout_report_key(cluster, node);
    char *intent = layout_intent_key(cluster, node);
    if (report)
        cloud_delete(rc->cloud, report, err, sizeof(err));
    if (intent)
        cloud_delete(rc->cloud, intent, err, sizeof(err));
    free(report);
    free(intent);
}

/* Terminates one instance of node, saying why, or why it could not. */
static void terminate(struct reconcile_ctx *rc, struct act_target *t, const char *region,
                      const char *id, const char *node, const char *why)
{
    struct aws_error e = {0};
    if (cloud_terminate(rc->cloud, region, id, &e) == 0) {
        events_append(rc->store, t->dc->name, "info", "terminating %s (%s): %s", id, node, why);
    } else {
        char buf[512];
        held_back(rc, t, "terminating %s (%s): %s", id, node,
                  aws_error_format(&e, buf, sizeof(buf)));
    }
}

/* Records the verdict; what it stops follows in the plan. */
static void record_failure(struct reconcile_ctx *rc, struct act_target *t,
                           const struct plan_action *a)
{
    const char *cluster = t->dc->name;
    char err[512] = "out of memory";
    int put = rc->store->ops->set_failure(rc->store->impl, cluster, a->code, a->text, err,
                                          sizeof(err));
    events_append(rc->store, cluster, "error", "%s: %s", a->code, a->text);
    if (put != 0) /* the verdict is not stored: the next pass will judge again */
        held_back(rc, t, "recording the failure %s: %s", a->code, err);
    if (a->update)
        events_append(rc->store, cluster, "info",
                      "the update failed: the head node and healthy nodes keep running");
}

static void perform(struct reconcile_ctx *rc, struct act_target *t, const struct plan_action *a,
                    bool *go_on);

/* Plans the verdict (plan_failure) and performs it. */
static void fail_cluster(struct reconcile_ctx *rc, struct act_target *t, const char *code,
                         const char *reason)
{
    struct plan p = {0};
    plan_failure(t->in, code, reason, &p);
    bool go_on = true;
    for (size_t i = 0; i < p.n; i++)
        perform(rc, t, &p.v[i], &go_on);
    if (p.error)
        held_back(rc, t, "recording the failure %s: out of memory", code);
    plan_free(&p);
}

/* 0 with the node's intent ({0} when it has none), or a negative errno
 * (why in err) when the bucket could not say: then nothing may be launched,
 * since starting again from attempt 1 would overwrite the intent and reuse
 * old tokens. */
static int stored_intent(struct reconcile_ctx *rc, const char *cluster, const char *node,
                         struct plan_intent *in, char *err, size_t errlen)
{
    *in = (struct plan_intent){0, 0, 0};
    char *key = layout_intent_key(cluster, node);
    char *data = NULL;
    size_t len = 0;
    snprintf(err, errlen, "out of memory");
    int r = key ? cloud_get(rc->cloud, key, &data, &len, NULL, 0, err, errlen) : -ENOMEM;
    if (r == 0 && sscanf(data, "attempt %d generation %d tries %d", &in->attempt,
                         &in->generation, &in->tries) != 3)
        *in = (struct plan_intent){0, 0, 0};
    free(data);
    free(key);
    return r == -ENOENT ? 0 : r;
}

static int write_intent(struct reconcile_ctx *rc, const char *cluster, const char *node,
                        const struct plan_intent *in, char *err, size_t errlen)
{
    char *key = layout_intent_key(cluster, node);
    char body[96];
    snprintf(body, sizeof(body), "attempt %d generation %d tries %d\n", in->attempt,
             in->generation, in->tries);
    struct aws_s3_put_options plain = {.content_type = "text/plain"};
    snprintf(err, errlen, "out of memory");
    int r = key ? cloud_put(rc->cloud, key, body, strlen(body), &plain, err, errlen) : -ENOMEM;
    free(key);
    return r;
}

void act_forgive_relaunch(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                          const char *node)
{
    char err[512];
    struct plan_intent in;
    if (stored_intent(rc, dc->name, node, &in, err, sizeof(err)) != 0 || in.attempt == 0)
        return;
    if (in.tries > 0)
        in.tries--;
    if (write_intent(rc, dc->name, node, &in, err, sizeof(err)) != 0)
        fprintf(stderr, "pclusterfs: %s: giving %s's replace back its try: %s\n", dc->name, node,
                err);
}

/* Whether EC2 ever started the launch of this attempt (any state): the
 * number of instances, or a negative errno with why in err. */
static int attempt_launched(struct reconcile_ctx *rc, const struct act_target *t,
                            const char *node, int attempt, char *err, size_t errlen)
{
    char token[65];
    launch_client_token(rc->cloud->bucket, t->dc->name, t->dc->created_at, node, attempt, token);
    const char *tokens[] = {token};
    struct aws_filter by_token = {"client-token", tokens, 1};
    struct aws_ec2_describe_query q = {.filters = &by_token, .n_filters = 1};
    struct aws_ec2_instances out = {0};
    struct aws_error e = {0};
    int rcode = cloud_describe_instances(rc->cloud, t->region, &q, &out, &e);
    if (rcode)
        aws_error_format(&e, err, errlen);
    int found = rcode == 0 ? (int)out.n : rcode;
    aws_ec2_instances_free(&out);
    return found;
}

void act_type_facts(struct reconcile_ctx *rc, const char *region, const char *type, int *cpus,
                    long *mem)
{
    *cpus = 1;
    *mem = 512;
    char memo[160];
    snprintf(memo, sizeof(memo), "type-facts:%s:%s", region, type);
    struct blob *kept = rc->objects ? objcache_lookup(rc->objects, memo, "1") : NULL;
    if (kept) {
        char text[64];
        snprintf(text, sizeof(text), "%.*s", (int)kept->len, kept->data);
        blob_unref(kept);
        if (sscanf(text, "%d %ld", cpus, mem) == 2)
            return;
        *cpus = 1;
        *mem = 512;
    }
    struct aws_ec2_instance_types types = {0};
    struct aws_error e = {0};
    const char *names[] = {type};
    if (cloud_instance_types(rc->cloud, region, names, 1, &types, &e) == 0 && types.n > 0) {
        *cpus = types.v[0].vcpus > 0 ? types.v[0].vcpus : 1;
        *mem = types.v[0].memory_mib > 0 ? types.v[0].memory_mib : 512;
        /* An instance type's facts never change: asked once per mount. */
        char text[64];
        int n = snprintf(text, sizeof(text), "%d %ld", *cpus, *mem);
        struct blob *b = rc->objects ? blob_new(text, (size_t)n) : NULL;
        if (b)
            objcache_keep(rc->objects, memo, "1", b);
        blob_unref(b);
    }
    aws_ec2_instance_types_free(&types);
}

/* Why node's last bootstrap failed, as the observer read it. */
static const char *last_failure(const struct act_target *t, const char *node)
{
    const struct observed_cluster *oc = t->in->oc;
    for (size_t i = 0; oc && t->in->node_failures && i < oc->n_nodes; i++)
        if (strcmp(oc->nodes[i].name, node) == 0)
            return t->in->node_failures[i] ? t->in->node_failures[i] : "";
    return "";
}

/* Launches (or relaunches) one node; returns false when the rest of its
 * group may not go on. */
static bool launch(struct reconcile_ctx *rc, struct act_target *t, const char *node,
                   const char *type, const char *head_address)
{
    const char *cluster = t->dc->name;
    char err[1024], code[96];
    struct plan_intent stored, in;
    if (stored_intent(rc, cluster, node, &stored, err, sizeof(err)) != 0) {
        held_back(rc, t, "not launching %s: its launch intent cannot be read: %s", node, err);
        return true;
    }
    int launched = 0;
    if (stored.attempt > 0) {
        launched = attempt_launched(rc, t, node, stored.attempt, err, sizeof(err));
        if (launched < 0) {
            held_back(rc, t,
                      "not launching %s: EC2 cannot say whether attempt %d launched "
                      "(client-token lookup): %s",
                      node, stored.attempt, err);
            return true;
        }
    }
    bool head = strcmp(node, "head") == 0;
    if (!plan_next_attempt(&stored, t->dc->generation, launched, &in)) {
        char reason[2048];
        const char *why = last_failure(t, node);
        snprintf(reason, sizeof(reason), "%s failed to come up %d times%s%s", node,
                 PLAN_MAX_ATTEMPTS, why[0] ? "; last: " : "", why);
        fail_cluster(rc, t, head ? "HeadNodeBootstrapFailure" : "StaticNodeBootstrapFailure",
                     reason);
        return false;
    }
    struct cloudcheck_result found;
    int rcode = cloud_check_config(rc->cloud, t->region, t->cfg, &found, err, sizeof(err));
    if (rcode == -EINVAL) {
        fail_cluster(rc, t, "ConfigurationError", err);
        return false;
    }
    if (rcode) {
        held_back(rc, t, "not launching %s: checking the config against EC2: %s", node, err);
        return true;
    }
    /* The intent first: a crash after RunInstances retries the same token. */
    if (write_intent(rc, cluster, node, &in, err, sizeof(err)) != 0) {
        held_back(rc, t, "not launching %s: writing its launch intent: %s", node, err);
        return true;
    }
    char *report = layout_report_key(cluster, node);
    if (report)
        cloud_delete(rc->cloud, report, err, sizeof(err)); /* last attempt's report */
    free(report);

    char profile[ROLES_NAME_MAX + 1];
    bool with_profile = roles_profile_for(rc->cloud->bucket, cluster, t->cfg, head, profile);
    int max_nodes = 1;
    for (size_t q = 0; q < t->cfg->n_queues; q++)
        for (size_t r = 0; r < t->cfg->queues[q].n_resources; r++)
            max_nodes += t->cfg->queues[q].resources[r].max_count;
    struct launch_plan lp = {.cluster = t->dc,
                             .cfg = t->cfg,
                             .region = t->region,
                             .node = node,
                             .instance_type = type,
                             .image_id = found.image_id,
                             .head_address = head_address,
                             .max_nodes = max_nodes,
                             .attempt = in.attempt,
                             .iam_profile = with_profile ? profile : NULL,
                             .url_seconds = URL_SECONDS};
    act_type_facts(rc, t->region, type, &lp.cpus, &lp.memory_mib);
    char sg_ids[SECGROUPS_LAUNCH_MAX][SECGROUPS_ID_MAX];
    const char *sgs[SECGROUPS_LAUNCH_MAX];
    if (secgroups_launch_ids(rc->cloud, cluster, t->region, t->cfg, head, sg_ids,
                             &lp.n_security_groups, err, sizeof(err)) != 0) {
        /* gone since they were ensured (deleted by hand?): made again, the
         * launch tried next pass */
        char serr[1024];
        held_back(rc, t, "not launching %s: %s", node, err);
        if (secgroups_ensure(rc->cloud, cluster, t->region, t->cfg, serr, sizeof(serr)) != 0)
            held_back(rc, t, "the cluster's security groups: %s", serr);
        return false;
    }
    for (size_t g = 0; g < lp.n_security_groups; g++)
        sgs[g] = sg_ids[g];
    lp.security_group_ids = sgs;
    char instance_id[32] = "";
    rcode = launch_node(rc->cloud, &lp, instance_id, code, sizeof(code), err, sizeof(err));
    if (rcode == 0) {
        events_append(rc->store, cluster, "info", "launched %s %s (%s, attempt %d)", node,
                      instance_id, type, in.attempt);
        return true;
    }
    /* A profile EC2 does not see: new (IAM propagates slowly), or one a
     * config update asked for after the head launched: it is made sure of,
     * and the launch tried again next pass. */
    char rerr[1024];
    if (rcode == -ENXIO &&
        roles_ensure(rc->cloud, cluster, t->region, t->cfg, rerr, sizeof(rerr)) != 0)
        held_back(rc, t, "not launching %s: its IAM role: %s", node, rerr);
    switch (plan_launch_error(code, in.tries)) {
    case PLAN_RETRY:
        held_back(rc, t, "%s; will retry", err);
        return false;
    case PLAN_RETRY_COUNTED: {
        in.tries++;
        char werr[512];
        if (write_intent(rc, cluster, node, &in, werr, sizeof(werr)) != 0)
            held_back(rc, t, "counting the failed launch of %s: %s", node, werr);
        held_back(rc, t, "%s; will retry (try %d of %d)", err, in.tries - 1, PLAN_MAX_ATTEMPTS);
        return false;
    }
    case PLAN_REFUSED:
        break;
    }
    /* EC2 refused the launch itself (a bad key pair, image, type...): that
     * does not get better by retrying. */
    error_once(rc, t->dc, err);
    fail_cluster(rc, t, code, err);
    return false;
}

/* Tags the node's instance as bootstrapped (no later report can undo it,
 * across restarts), and its launch's one-time objects go. */
static void tag_done(struct reconcile_ctx *rc, struct act_target *t, const struct plan_action *a)
{
    const char *ids[] = {a->instance_id};
    const struct aws_tag done[] = {{"pclusterfs:bootstrap", "done"}};
    struct aws_error e = {0};
    if (cloud_create_tags(rc->cloud, a->region, ids, 1, done, 1, &e) == 0) {
        for (size_t i = 0; t->oc && i < t->oc->n_nodes; i++)
            if (strcmp(t->oc->nodes[i].name, a->node) == 0)
                t->oc->nodes[i].finished = true;
        forget_launch(rc, t->dc->name, a->node, a->attempt);
    } else {
        char buf[512];
        held_back(rc, t, "tagging %s (%s) as bootstrapped: %s", a->instance_id, a->node,
                  aws_error_format(&e, buf, sizeof(buf)));
    }
}

/* Removes from Slurm a node whose instance is gone. */
static void complete(struct reconcile_ctx *rc, struct act_target *t)
{
    char err[512] = "out of memory";
    if (rc->store->ops->set_completed(rc->store->impl, t->dc->name, t->dc->generation, err,
                                      sizeof(err)) == 0)
        events_append(rc->store, t->dc->name, "info",
                      "cluster complete: Slurm answers and every static node is registered");
    else
        held_back(rc, t, "recording that the cluster is complete: %s", err);
}


/* What the controller's cache remembers of a cluster's roles, per config
 * generation of one incarnation: that they were put right ("ensured") or
 * seen gone ("removed"). Only saves IAM requests: without the cache, or
 * after a restart, IAM is asked again. */
static bool memo_of(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                    const char *kind, const char *what, bool keep)
{
    if (!rc->objects)
        return false;
    char memo[128], which[64];
    snprintf(memo, sizeof(memo), "%s-%s:%s", kind, what, dc->name);
    snprintf(which, sizeof(which), "%lld/%d", (long long)dc->created_at, dc->generation);
    if (keep) {
        struct blob *none = blob_new("", 0);
        if (none)
            objcache_keep(rc->objects, memo, which, none);
        blob_unref(none);
        return true;
    }
    struct blob *done = objcache_lookup(rc->objects, memo, which);
    blob_unref(done);
    return done != NULL;
}

static bool roles_memo(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                       const char *what, bool keep)
{
    return memo_of(rc, dc, "iam-roles", what, keep);
}

static bool sg_memo(struct reconcile_ctx *rc, const struct desired_cluster *dc, const char *what,
                    bool keep)
{
    return memo_of(rc, dc, "secgroups", what, keep);
}

bool act_secgroups_current(struct reconcile_ctx *rc, const struct desired_cluster *dc)
{
    return sg_memo(rc, dc, "ensured", false);
}

bool act_roles_current(struct reconcile_ctx *rc, const struct desired_cluster *dc)
{
    return roles_memo(rc, dc, "ensured", false);
}

/* The cluster's roles and profiles: before its head launches (false: the
 * launch waits when they cannot be made), or put right for a new config. */
static bool ensure_roles(struct reconcile_ctx *rc, struct act_target *t, bool for_head)
{
    char err[1024];
    if (roles_ensure(rc->cloud, t->dc->name, t->region, t->cfg, err, sizeof(err)) == 0) {
        roles_memo(rc, t->dc, "ensured", true);
        return true;
    }
    held_back(rc, t, "%sthe cluster's IAM roles: %s",
              for_head ? "not launching the head node: " : "", err);
    return !for_head;
}

/* A failed creation's roles, once its instances are gone. Planned every
 * pass while the cluster stays failed: once seen gone, IAM is not asked
 * again for that failure (roles_memo). */
static void remove_roles(struct reconcile_ctx *rc, struct act_target *t)
{
    char err[1024];
    if (roles_memo(rc, t->dc, "removed", false))
        return;
    int removed = 0;
    if (roles_remove(rc->cloud, t->dc->name, &removed, err, sizeof(err)) != 0) {
        held_back(rc, t, "removing the cluster's IAM roles: %s", err);
        return;
    }
    if (removed > 0)
        events_append(rc->store, t->dc->name, "info",
                      "removed the cluster's IAM roles and instance profiles (%d)", removed);
    roles_memo(rc, t->dc, "removed", true);
}

/* The cluster's security groups, as its roles (ensure_roles). */
static bool ensure_secgroups(struct reconcile_ctx *rc, struct act_target *t, bool for_head)
{
    char err[1024];
    if (secgroups_ensure(rc->cloud, t->dc->name, t->region, t->cfg, err, sizeof(err)) == 0) {
        sg_memo(rc, t->dc, "ensured", true);
        return true;
    }
    held_back(rc, t, "%sthe cluster's security groups: %s",
              for_head ? "not launching the head node: " : "", err);
    return !for_head;
}

/* A failed creation's security groups, once its instances are gone. */
static void remove_secgroups(struct reconcile_ctx *rc, struct act_target *t)
{
    char err[1024];
    if (sg_memo(rc, t->dc, "removed", false))
        return;
    int removed = 0;
    if (secgroups_remove(rc->cloud, t->dc->name, t->region, &removed, err, sizeof(err)) != 0) {
        held_back(rc, t, "removing the cluster's security groups: %s", err);
        return;
    }
    if (removed > 0)
        events_append(rc->store, t->dc->name, "info", "removed the cluster's security groups (%d)",
                      removed);
    sg_memo(rc, t->dc, "removed", true);
}

static void perform(struct reconcile_ctx *rc, struct act_target *t, const struct plan_action *a,
                    bool *go_on)
{
    switch (a->kind) {
    case PLAN_EVENT:
        error_once(rc, t->dc, a->text);
        break;
    case PLAN_TAG_DONE:
        tag_done(rc, t, a);
        break;
    case PLAN_LAUNCH:
        *go_on = launch(rc, t, a->node, a->instance_type, a->head_address);
        break;
    case PLAN_FAIL:
        record_failure(rc, t, a);
        break;
    case PLAN_TERMINATE:
        terminate(rc, t, a->region, a->instance_id, a->node, a->text);
        break;
    case PLAN_FORGET_LAUNCH:
        forget_launch(rc, t->dc->name, a->node, a->attempt);
        break;
    case PLAN_FORGET_NODE:
        forget_node(rc, t->dc->name, a->node);
        break;
    case PLAN_COMPLETE:
        complete(rc, t);
        break;
    case PLAN_REMOVE: /* deletion is performed by the controller (advance_deletions) */
        break;
    case PLAN_ENSURE_ROLES:
        *go_on = ensure_roles(rc, t, a->node != NULL);
        break;
    case PLAN_REMOVE_ROLES:
        remove_roles(rc, t);
        break;
    case PLAN_ENSURE_SECGROUPS:
        *go_on = ensure_secgroups(rc, t, a->node != NULL);
        break;
    case PLAN_REMOVE_SECGROUPS:
        remove_secgroups(rc, t);
        break;
    }
}

void act_on_plan(struct reconcile_ctx *rc, struct act_target *t, const struct plan *p)
{
    bool go_on = true;
    for (size_t i = 0; i < p->n; i++) {
        if (i > 0 && p->v[i].group != p->v[i - 1].group)
            go_on = true;
        if (go_on)
            perform(rc, t, &p->v[i], &go_on);
    }
    if (p->error)
        held_back(rc, t, "planning: out of memory");
}

void act_held_back(struct reconcile_ctx *rc, struct act_target *t, const char *msg)
{
    held_back(rc, t, "%s", msg);
}
