#include "fs/control/reconcile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/cloudcheck.h"
#include "fs/config/cluster_region.h"
#include "fs/config/config.h"
#include "fs/store/events.h"
#include "fs/store/layout.h"
#include "fs/control/launch.h"
#include "fs/store/objcache.h"
#include "fs/model/report.h"
#include "slurm/scontrol.h"
#include "slurm/slurmrest.h"

#define MAX_ATTEMPTS 3
#define URL_SECONDS (6 * 3600)
#define SLURMRESTD_PORT 6820

static bool alive(const struct observed_node *n)
{
    return n && (strcmp(n->ec2_state, "pending") == 0 || strcmp(n->ec2_state, "running") == 0);
}

static struct observed_node *find_node(struct observed_cluster *oc, const char *name)
{
    for (size_t i = 0; oc && i < oc->n_nodes; i++)
        if (strcmp(oc->nodes[i].name, name) == 0)
            return &oc->nodes[i];
    return NULL;
}

static bool error_once(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                       const char *msg);

/* ---------------------------------------------------------------- observing */

/* The bytes of clusters/<dc>/<rest>, an object this pass's listing showed
 * (-ENOENT when it did not): from the object cache while its ETag stays. */
static int listed_object(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                         const char *rest, struct blob **out)
{
    *out = NULL;
    const struct desired_object *o = desired_find_object(dc, rest);
    if (!o)
        return -ENOENT;
    char *key = layout_rest_key(dc->name, rest);
    char err[512];
    if (!key)
        return -ENOMEM;
    int r;
    if (rc->objects) {
        r = objcache_get(rc->objects, rc->cloud, key, o->etag, out, err, sizeof(err));
    } else {
        char *data = NULL;
        size_t len = 0;
        r = cloud_get(rc->cloud, key, &data, &len, NULL, 0, err, sizeof(err));
        if (r == 0 && !(*out = blob_new(data, len)))
            r = -ENOMEM;
        free(data);
    }
    free(key);
    return r;
}

/* The node's report, when its instance has written one and it counts for
 * that instance (report_judge: its attempt and instance, and nothing after
 * a finished bootstrap); one that does not count is told in events and
 * read as if it were not there. */
static void read_report(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                        struct observed_node *n, struct node_report *out)
{
    memset(out, 0, sizeof(*out));
    char rest[300];
    layout_report_rest(n->name, rest, sizeof(rest));
    struct blob *b = NULL;
    bool got = listed_object(rc, dc, rest, &b) == 0 && report_parse(b->data, b->len, out) == 0;
    blob_unref(b);
    struct report_target target = {
        .instance_id = n->instance_id, .attempt = n->attempt, .finished = n->finished};
    char why[256];
    if (got && alive(n) && !report_judge(out, &target, why, sizeof(why))) {
        if (rc->act) {
            char msg[400];
            snprintf(msg, sizeof(msg), "ignored %s for %s: it does not count", why, n->name);
            error_once(rc, dc, msg);
        }
        report_free(out);
        memset(out, 0, sizeof(*out));
        got = false;
    }
    if (!got && n->finished && alive(n))
        snprintf(out->state, sizeof(out->state), "done");
    if (got || !n->bootstrap || n->finished) {
        free(n->bootstrap);
        n->bootstrap = strdup(out->state[0] ? out->state : "pending");
        free(n->bootstrap_log);
        n->bootstrap_log = out->log ? strdup(out->log) : NULL;
    }
}

/* Removes from Slurm a node whose instance is gone: through the REST API
 * where it can (v0.0.39 and later), else with scontrol and a token. */
static void forget_node(struct reconcile_ctx *rc, slurmrest_client *c, const char *cluster,
                        const struct observed_node *head, const char *jwt, size_t jwt_len,
                        const char *node)
{
    struct slurmrest_error e = {0};
    char err[600];
    int r = slurmrest_node_delete(c, node, &e);
    if (r == -ENOTSUP) {
        struct scontrol_target t = {.cluster_name = cluster,
                                    .controller_host = "head",
                                    .controller_addr = head->private_ip,
                                    .key = (const unsigned char *)jwt,
                                    .key_len = jwt_len,
                                    .user = "slurm",
                                    .timeout_s = 10};
        r = slurm_scontrol_delete_node(&t, node, err, sizeof(err));
    } else if (r) {
        snprintf(err, sizeof(err), "%s", e.message);
    }
    if (r == 0)
        events_append(rc->store, cluster, "info", "removed %s from Slurm: its instance is gone",
                      node);
    else
        events_append(rc->store, cluster, "error", "removing %s from Slurm: %s", node, err);
}

/* Slurm's view through the head's slurmrestd: each node's state word; and
 * (when acting) nodes Slurm still lists whose instance is gone leave it.
 * Returns true when slurmrestd answered; else why not is in `why`. */
static bool read_slurm(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                       struct observed_node *head, struct observed_cluster *oc, char *why,
                       size_t whylen)
{
    const char *cluster = dc->name;
    char *jwt = NULL, err[512];
    size_t jwt_len = 0;
    if (!head->private_ip || !*head->private_ip) {
        snprintf(why, whylen, "the head node has no private address");
        return false;
    }
    struct blob *key = NULL;
    char jwt_rest[64];
    layout_generated_rest(LAYOUT_JWT_KEY, jwt_rest, sizeof(jwt_rest));
    if (listed_object(rc, dc, jwt_rest, &key) == 0) {
        jwt = malloc(key->len ? key->len : 1);
        if (jwt) {
            memcpy(jwt, key->data, key->len);
            jwt_len = key->len;
        }
        blob_unref(key);
        if (!jwt) {
            snprintf(why, whylen, "out of memory");
            return false;
        }
    } else if (launch_cluster_secret(rc->cloud, cluster, LAYOUT_JWT_KEY, 32, &jwt, &jwt_len, err,
                                     sizeof(err)) != 0) {
        snprintf(why, whylen, "cannot read the cluster's JWT key: %s", err);
        return false;
    }
    char url[128];
    snprintf(url, sizeof(url), "http://%s:%d", head->private_ip, SLURMRESTD_PORT);
    struct slurmrest_options opt = {.url = url,
                                    .user = "slurm",
                                    .key = (const unsigned char *)jwt,
                                    .key_len = jwt_len,
                                    .connect_timeout_ms = 2000,
                                    .timeout_ms = 5000};
    slurmrest_client *c = NULL;
    struct slurmrest_error e = {0};
    struct slurmrest_node_list *nodes = NULL;
    bool up = slurmrest_client_new(&opt, &c, &e) == 0 && slurmrest_nodes(c, &nodes, &e) == 0;
    if (!up && e.message[0])
        snprintf(why, whylen, "%s", e.message); /* names the URL and what failed */
    else if (!up)
        snprintf(why, whylen, "slurmrestd at %s does not answer", url);
    for (size_t i = 0; up && i < oc->n_nodes; i++) {
        struct observed_node *n = &oc->nodes[i];
        const struct slurmrest_node *sn = slurmrest_node_find(nodes, n->name);
        observed_node_set_slurm(n, sn);
    }
    for (size_t i = 0; up && rc->act && i < nodes->count; i++) {
        const char *name = nodes->nodes[i].name;
        if (!alive(find_node(oc, name)))
            forget_node(rc, c, cluster, head, jwt, jwt_len, name);
    }
    if (nodes)
        slurmrest_node_list_release(nodes);
    slurmrest_client_free(c);
    free(jwt);
    return up;
}

/* Slurm cannot be asked: say why, and that no node's Slurm state is known
 * (rather than "none", which would claim the node is not in Slurm). */
static void slurm_unknown(struct observed_cluster *oc, const char *why)
{
    free(oc->slurm_error);
    oc->slurm_error = strdup(why);
    for (size_t i = 0; i < oc->n_nodes; i++) {
        if (!alive(&oc->nodes[i]))
            continue;
        free(oc->nodes[i].slurm_state);
        oc->nodes[i].slurm_state = strdup("unknown");
    }
}

/* ---------------------------------------------------------------- acting */

struct cluster_plan {
    const struct desired_cluster *dc;
    const struct cluster_config *cfg;
    struct observed_cluster *oc;
    struct observed_state *obs;
    char region[CONFIG_VALUE_MAX];
};

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

static struct observed_cluster *observed_slot(struct observed_state *obs, const char *name)
{
    for (size_t i = 0; obs && i < obs->n; i++)
        if (strcmp(obs->clusters[i].name, name) == 0)
            return &obs->clusters[i];
    return NULL;
}

/* The cluster's observed entry, made empty when EC2 showed nothing of it. */
static struct observed_cluster *observed_slot_new(struct observed_state *obs, const char *name)
{
    struct observed_cluster *oc = observed_slot(obs, name);
    if (oc || !obs)
        return oc;
    struct observed_cluster *grown = realloc(obs->clusters, (obs->n + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    obs->clusters = grown;
    oc = &grown[obs->n];
    memset(oc, 0, sizeof(*oc));
    if (!(oc->name = strdup(name)))
        return NULL;
    obs->n++;
    return oc;
}

/* An action failed or was held back: the reason goes to the cluster's
 * events (once while it stays the same), to status.json (action_error) and
 * to the daemon's log, so no stall is silent. */
static void held_back(struct reconcile_ctx *rc, struct cluster_plan *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void held_back(struct reconcile_ctx *rc, struct cluster_plan *p, const char *fmt, ...)
{
    char msg[EVENT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!p->oc)
        p->oc = observed_slot_new(p->obs, p->dc->name);
    if (p->oc && !p->oc->action_error)
        p->oc->action_error = strdup(msg); /* the first of a pass: what blocks the rest */
    if (error_once(rc, p->dc, msg))
        fprintf(stderr, "pclusterfs: %s: %s\n", p->dc->name, msg);
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

/* Whether node is one the failure of an update must leave running: the
 * head, and nodes whose bootstrap finished on the instance in question. */
static bool healthy(const struct observed_cluster *oc, const struct observed_instance *in)
{
    if (strcmp(in->node, "head") == 0)
        return true;
    for (size_t i = 0; oc && i < oc->n_nodes; i++) {
        const struct observed_node *n = &oc->nodes[i];
        if (strcmp(n->name, in->node) == 0)
            return strcmp(n->instance_id, in->id) == 0 &&
                   (n->finished || (n->bootstrap && strcmp(n->bootstrap, "done") == 0));
    }
    return false;
}

/* Terminates one instance of node, saying why, or why it could not. */
static void terminate(struct reconcile_ctx *rc, struct cluster_plan *p, const char *region,
                      const char *id, const char *node, const char *why)
{
    struct aws_client *c = cloud_client(rc->cloud, region);
    struct aws_ec2_instances out = {0};
    struct aws_error e = {0};
    const char *ids[] = {id};
    if (c && aws_ec2_terminate_instances(c, ids, 1, &out, &e) == 0) {
        events_append(rc->store, p->dc->name, "info", "terminating %s (%s): %s", id, node, why);
    } else {
        char buf[512];
        held_back(rc, p, "terminating %s (%s): %s", id, node,
                  c ? aws_error_format(&e, buf, sizeof(buf)) : "out of memory");
    }
    aws_ec2_instances_free(&out);
}

/* Records the cluster's failure. A failed creation stops everything it
 * runs, so nothing keeps billing; a failed update (the cluster completed
 * once) leaves the head and healthy nodes running as they were and stops
 * only what the update added and did not come up, as ParallelCluster does. */
static void fail_cluster(struct reconcile_ctx *rc, struct cluster_plan *p, const char *code,
                         const char *reason)
{
    const struct desired_cluster *dc = p->dc;
    bool update = dc->first_complete > 0;
    char err[512] = "out of memory";
    int put = rc->store->ops->set_failure(rc->store->impl, dc->name, code, reason, err,
                                          sizeof(err));
    events_append(rc->store, dc->name, "error", "%s: %s", code, reason);
    if (put != 0) /* the verdict is not stored: the next pass will judge again */
        held_back(rc, p, "recording the failure %s: %s", code, err);
    if (update)
        events_append(rc->store, dc->name, "info",
                      "the update failed: the head node and healthy nodes keep running");
    for (size_t i = 0; p->oc && i < p->oc->n_instances; i++) {
        struct observed_instance *in = &p->oc->instances[i];
        if (strcmp(in->state, "shutting-down") == 0 || (update && healthy(p->oc, in)))
            continue;
        terminate(rc, p, in->region, in->id, in->node,
                  update ? "the update added it and it did not come up" : "the cluster failed");
    }
    /* Launches that will not report any more leave nothing presigned behind. */
    for (size_t i = 0; p->oc && i < p->oc->n_nodes; i++) {
        const struct observed_node *n = &p->oc->nodes[i];
        if (n->attempt > 0 && !(update && n->finished))
            forget_launch(rc, dc->name, n->name, n->attempt);
    }
}

static void terminate_node(struct reconcile_ctx *rc, struct cluster_plan *p,
                           const struct observed_node *n, const char *why)
{
    terminate(rc, p, n->region, n->instance_id, n->name, why);
}

/* A node's launch intent: the last attempt (its ClientToken's number, never
 * reused), and how many tries the current config generation has had. */
struct intent {
    int attempt, generation, tries;
};

/* 0 with the node's intent ({0} when it has none), or a negative errno
 * (why in err) when the bucket could not say: then nothing may be launched,
 * since starting again from attempt 1 would overwrite the intent and reuse
 * old tokens. */
static int stored_intent(struct reconcile_ctx *rc, const char *cluster, const char *node,
                         struct intent *in, char *err, size_t errlen)
{
    *in = (struct intent){0, 0, 0};
    char *key = layout_intent_key(cluster, node);
    char *data = NULL;
    size_t len = 0;
    snprintf(err, errlen, "out of memory");
    int r = key ? cloud_get(rc->cloud, key, &data, &len, NULL, 0, err, errlen) : -ENOMEM;
    if (r == 0 && sscanf(data, "attempt %d generation %d tries %d", &in->attempt,
                         &in->generation, &in->tries) != 3)
        *in = (struct intent){0, 0, 0};
    free(data);
    free(key);
    return r == -ENOENT ? 0 : r;
}

static int write_intent(struct reconcile_ctx *rc, const char *cluster, const char *node,
                        const struct intent *in, char *err, size_t errlen)
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

/* Whether EC2 ever started the launch of this attempt (any state): the
 * number of instances, or a negative errno with why in err. */
static int attempt_launched(struct reconcile_ctx *rc, const struct cluster_plan *p,
                            const char *node, int attempt, char *err, size_t errlen)
{
    char token[65];
    launch_client_token(rc->cloud->bucket, p->dc->name, p->dc->created_at, node, attempt, token);
    const char *tokens[] = {token};
    struct aws_filter by_token = {"client-token", tokens, 1};
    struct aws_ec2_describe_query q = {.filters = &by_token, .n_filters = 1};
    struct aws_client *c = cloud_client(rc->cloud, p->region);
    struct aws_ec2_instances out = {0};
    struct aws_error e = {0};
    int rcode = c ? aws_ec2_describe_instances(c, &q, &out, &e) : -ENOMEM;
    if (rcode && c)
        aws_error_format(&e, err, errlen);
    else if (rcode)
        snprintf(err, errlen, "out of memory");
    int found = rcode == 0 ? (int)out.n : rcode;
    aws_ec2_instances_free(&out);
    return found;
}

/* Instance type facts for slurmd and slurm.conf. */
static void type_facts(struct reconcile_ctx *rc, const char *region, const char *type, int *cpus,
                       long *mem)
{
    *cpus = 1;
    *mem = 512;
    struct aws_client *c = cloud_client(rc->cloud, region);
    struct aws_ec2_instance_types t = {0};
    struct aws_error e = {0};
    const char *names[] = {type};
    if (c && aws_ec2_describe_instance_types(c, names, 1, &t, &e) == 0 && t.n > 0) {
        *cpus = t.v[0].vcpus > 0 ? t.v[0].vcpus : 1;
        *mem = t.v[0].memory_mib > 0 ? t.v[0].memory_mib : 512;
    }
    aws_ec2_instance_types_free(&t);
}

/* Why node's last bootstrap failed, from its report ("" when it left none). */
static void last_failure(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                         const char *node, char *buf, size_t buflen)
{
    buf[0] = '\0';
    char rest[300];
    layout_report_rest(node, rest, sizeof(rest));
    struct blob *b = NULL;
    struct node_report r;
    if (listed_object(rc, dc, rest, &b) == 0 && report_parse(b->data, b->len, &r) == 0) {
        if (strcmp(r.state, "failed") == 0)
            report_failure_reason(&r, node, buf, buflen);
        report_free(&r);
    }
    blob_unref(b);
}

/* EC2 answers that say "not now" rather than "never": retried. */
static bool transient(const char *code)
{
    return strstr(code, "Throttl") || strstr(code, "RequestLimitExceeded") ||
           strstr(code, "InternalError") || strstr(code, "Unavailable");
}

/* Launches (or relaunches) one node; returns false when it may not. */
static bool launch(struct reconcile_ctx *rc, struct cluster_plan *p, const char *node,
                   const char *type, const char *head_address)
{
    const char *cluster = p->dc->name;
    char err[1024], code[96];
    struct intent in;
    if (stored_intent(rc, cluster, node, &in, err, sizeof(err)) != 0) {
        held_back(rc, p, "not launching %s: its launch intent cannot be read: %s", node, err);
        return true;
    }
    if (in.generation != p->dc->generation)
        in.tries = 0; /* a new config is a new chance */
    int attempt = in.attempt;
    if (attempt == 0) {
        attempt = 1;
        in.tries = 1;
    } else {
        int launched = attempt_launched(rc, p, node, attempt, err, sizeof(err));
        if (launched < 0) {
            held_back(rc, p,
                      "not launching %s: EC2 cannot say whether attempt %d launched "
                      "(client-token lookup): %s",
                      node, attempt, err);
            return true;
        }
        if (launched > 0) { /* that instance is gone: a replacement is a new attempt */
            attempt++;
            in.tries++;
        } else if (in.tries == 0) {
            in.tries = 1;
        }
    }
    bool head = strcmp(node, "head") == 0;
    if (in.tries > MAX_ATTEMPTS) {
        char reason[2048], why[1536];
        last_failure(rc, p->dc, node, why, sizeof(why));
        snprintf(reason, sizeof(reason), "%s failed to come up %d times%s%s", node,
                 MAX_ATTEMPTS, why[0] ? "; last: " : "", why);
        fail_cluster(rc, p, head ? "HeadNodeBootstrapFailure" : "StaticNodeBootstrapFailure",
                     reason);
        return false;
    }
    struct cloudcheck_result found;
    struct aws_client *c = cloud_client(rc->cloud, p->region);
    snprintf(err, sizeof(err), "out of memory");
    int rcode = c ? cloudcheck_config(c, p->cfg, &found, err, sizeof(err)) : -ENOMEM;
    if (rcode == -EINVAL) {
        fail_cluster(rc, p, "ConfigurationError", err);
        return false;
    }
    if (rcode) {
        held_back(rc, p, "not launching %s: checking the config against EC2: %s", node, err);
        return true;
    }
    /* The intent first: a crash after RunInstances retries the same token. */
    in.attempt = attempt;
    in.generation = p->dc->generation;
    if (write_intent(rc, cluster, node, &in, err, sizeof(err)) != 0) {
        held_back(rc, p, "not launching %s: writing its launch intent: %s", node, err);
        return true;
    }
    char *report = layout_report_key(cluster, node);
    if (report)
        cloud_delete(rc->cloud, report, err, sizeof(err)); /* last attempt's report */
    free(report);

    int max_nodes = 1;
    for (size_t q = 0; q < p->cfg->n_queues; q++)
        for (size_t r = 0; r < p->cfg->queues[q].n_resources; r++)
            max_nodes += p->cfg->queues[q].resources[r].max_count;
    struct launch_plan lp = {.cluster = p->dc,
                             .cfg = p->cfg,
                             .region = p->region,
                             .node = node,
                             .instance_type = type,
                             .image_id = found.image_id,
                             .head_address = head_address,
                             .max_nodes = max_nodes,
                             .attempt = attempt,
                             .url_seconds = URL_SECONDS};
    type_facts(rc, p->region, type, &lp.cpus, &lp.memory_mib);
    char instance_id[32] = "";
    rcode = launch_node(rc->cloud, &lp, instance_id, code, sizeof(code), err, sizeof(err));
    if (rcode == 0) {
        events_append(rc->store, cluster, "info", "launched %s %s (%s, attempt %d)", node,
                      instance_id, type, attempt);
        return true;
    }
    if (!code[0] || transient(code)) { /* no verdict, or "not now" */
        held_back(rc, p, "%s; will retry", err);
        return false;
    }
    /* No capacity: a try that counts, so a type EC2 cannot give ends in a
     * failure that says why rather than in retries forever. */
    if (strstr(code, "InsufficientInstanceCapacity") && in.tries < MAX_ATTEMPTS) {
        in.tries++;
        char werr[512];
        if (write_intent(rc, cluster, node, &in, werr, sizeof(werr)) != 0)
            held_back(rc, p, "counting the failed launch of %s: %s", node, werr);
        held_back(rc, p, "%s; will retry (try %d of %d)", err, in.tries - 1, MAX_ATTEMPTS);
        return false;
    }
    /* EC2 refused the launch itself (a bad key pair, image, type...): that
     * does not get better by retrying. */
    error_once(rc, p->dc, err);
    fail_cluster(rc, p, code, err);
    return false;
}

/* Nodes whose accepted report says done get their instance tagged so (no
 * later report can undo it, across restarts), and their launch's one-time
 * objects go. */
static void mark_finished_nodes(struct reconcile_ctx *rc, struct cluster_plan *p)
{
    for (size_t i = 0; p->oc && i < p->oc->n_nodes; i++) {
        struct observed_node *n = &p->oc->nodes[i];
        if (!alive(n) || n->finished || !n->bootstrap || strcmp(n->bootstrap, "done") != 0)
            continue;
        struct aws_client *c = cloud_client(rc->cloud, n->region);
        const char *ids[] = {n->instance_id};
        const struct aws_tag done[] = {{"pclusterfs:bootstrap", "done"}};
        struct aws_error e = {0};
        if (c && aws_ec2_create_tags(c, ids, 1, done, 1, &e) == 0) {
            n->finished = true;
            forget_launch(rc, p->dc->name, n->name, n->attempt);
        } else {
            char buf[512];
            held_back(rc, p, "tagging %s (%s) as bootstrapped: %s", n->instance_id, n->name,
                      c ? aws_error_format(&e, buf, sizeof(buf)) : "out of memory");
        }
    }
}

/* The static compute nodes the config wants, with their instance types. */
struct wanted {
    char **names;
    const char **types;
    size_t n;
};

static int wanted_nodes(const struct cluster_config *cfg, struct wanted *w)
{
    memset(w, 0, sizeof(*w));
    int rc = config_static_node_names(cfg, &w->names, &w->n);
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
    free(w->types);
}

/* One cluster: observe its reports and Slurm, then act. */
static void reconcile_cluster(struct reconcile_ctx *rc, struct cluster_plan *p)
{
    const struct desired_cluster *dc = p->dc;
    struct observed_cluster *oc = p->oc;
    struct node_report head_report = {0};
    struct observed_node *head = find_node(oc, "head");
    for (size_t i = 0; oc && i < oc->n_nodes; i++) {
        struct node_report r;
        read_report(rc, dc, &oc->nodes[i], &r);
        if (&oc->nodes[i] == head)
            head_report = r;
        else
            report_free(&r);
    }
    bool head_done = alive(head) && strcmp(head_report.state, "done") == 0;
    char slurm_why[1024] = "";
    bool slurm_up = head_done && read_slurm(rc, dc, head, oc, slurm_why, sizeof(slurm_why));
    if (head_done && !slurm_up)
        slurm_unknown(oc, slurm_why);
    struct wanted w;
    if (wanted_nodes(p->cfg, &w) != 0) {
        report_free(&head_report);
        return;
    }
    bool converged = slurm_up;
    for (size_t i = 0; i < w.n; i++) {
        struct observed_node *n = find_node(oc, w.names[i]);
        converged = converged && alive(n) && n->bootstrap && strcmp(n->bootstrap, "done") == 0 &&
                    n->slurm_state && strcmp(n->slurm_state, "none") != 0;
    }
    if (oc) {
        oc->converged = converged && !dc->failure_code;
        oc->converged_generation = dc->generation;
    }

    if (!rc->act || dc->failure_code || dc->deleting) {
        wanted_free(&w);
        report_free(&head_report);
        return;
    }
    mark_finished_nodes(rc, p);
    char reason[2048], tail[1024];
    if (!alive(head)) {
        launch(rc, p, "head", p->cfg->master_instance_type, NULL);
    } else if (strcmp(head_report.state, "failed") == 0) {
        report_failure_reason(&head_report, "head", reason, sizeof(reason));
        fail_cluster(rc, p,
                     head_report.failure[0] ? head_report.failure : "HeadNodeBootstrapFailure",
                     reason);
    } else if (!head_done && head->launch_time > 0 &&
               rc->now - head->launch_time > rc->bootstrap_timeout) {
        report_log_tail(&head_report, 10, tail, sizeof(tail));
        snprintf(reason, sizeof(reason),
                 "the head node's bootstrap did not finish within %d s (at: %s)%s%s",
                 rc->bootstrap_timeout,
                 head_report.step[0] ? head_report.step
                                     : head_report.state[0] ? head_report.state : "no report",
                 tail[0] ? ": " : "", tail);
        fail_cluster(rc, p, "HeadNodeBootstrapFailure", reason);
    } else if (head_done) {
        for (size_t i = 0; i < w.n; i++) {
            struct observed_node *n = find_node(oc, w.names[i]);
            if (alive(n) && n->bootstrap && strcmp(n->bootstrap, "failed") == 0) {
                char why[1536];
                last_failure(rc, dc, n->name, why, sizeof(why));
                snprintf(reason, sizeof(reason), "its bootstrap failed (%s); it will be replaced",
                         why[0] ? why : "no reason given");
                terminate_node(rc, p, n, reason);
                forget_launch(rc, dc->name, n->name, n->attempt);
            } else if (!alive(n)) {
                if (!launch(rc, p, w.names[i], w.types[i], head->private_ip))
                    break;
            }
        }
        /* Nodes no longer wanted (a smaller queue, another instance type). */
        for (size_t i = 0; oc && i < oc->n_nodes; i++) {
            struct observed_node *n = &oc->nodes[i];
            bool wanted = strcmp(n->name, "head") == 0;
            for (size_t k = 0; k < w.n && !wanted; k++)
                wanted = strcmp(w.names[k], n->name) == 0;
            if (!wanted && alive(n)) {
                terminate_node(rc, p, n, "no longer in the config");
                /* Its report, intent and manifest go too: the node is not coming back. */
                char err[512];
                char *report = layout_report_key(dc->name, n->name);
                char *intent = layout_intent_key(dc->name, n->name);
                if (report)
                    cloud_delete(rc->cloud, report, err, sizeof(err));
                if (intent)
                    cloud_delete(rc->cloud, intent, err, sizeof(err));
                free(report);
                free(intent);
                forget_launch(rc, dc->name, n->name, n->attempt);
            }
        }
    }
    if (oc && oc->converged && dc->first_complete == 0) {
        char err[512] = "out of memory";
        if (rc->store->ops->set_completed(rc->store->impl, dc->name, dc->generation, err,
                                          sizeof(err)) == 0)
            events_append(rc->store, dc->name, "info", "cluster complete: Slurm answers and "
                                                       "every static node is registered");
        else
            held_back(rc, p, "recording that the cluster is complete: %s", err);
    }
    wanted_free(&w);
    report_free(&head_report);
}

static int by_node_name(const void *a, const void *b)
{
    return strcmp(((const struct observed_node *)a)->name, ((const struct observed_node *)b)->name);
}

/* Nodes whose instance is gone but whose report is kept (a failed cluster's,
 * say) stay listed, with ec2_state none, so bootstrap.log can be read. The
 * reports are those this pass's listing of the bucket showed. */
static void add_reported_nodes(struct observed_state *obs, const struct desired_cluster *dc,
                               struct observed_cluster **ocp)
{
    size_t n_reports = 0;
    for (size_t i = 0; i < dc->n_objects; i++)
        n_reports += layout_report_node(dc->objects[i].rest) != NULL;
    if (!n_reports)
        return;
    struct observed_cluster *oc = *ocp;
    if (!oc) {
        struct observed_cluster *grown = realloc(obs->clusters, (obs->n + 1) * sizeof(*grown));
        if (!grown)
            return;
        obs->clusters = grown;
        oc = &grown[obs->n++];
        memset(oc, 0, sizeof(*oc));
        oc->name = strdup(dc->name);
    }
    size_t before = oc->n_nodes;
    for (size_t i = 0; i < dc->n_objects; i++) {
        const char *node = layout_report_node(dc->objects[i].rest);
        if (!node)
            continue;
        /* oc->nodes[0..before) is sorted by name: a binary search keeps
         * this linear in the nodes of big clusters. */
        struct observed_node probe = {.name = (char *)node};
        if (before && bsearch(&probe, oc->nodes, before, sizeof(*oc->nodes), by_node_name))
            continue;
        struct observed_node *nodes = realloc(oc->nodes, (oc->n_nodes + 1) * sizeof(*nodes));
        if (!nodes)
            break;
        oc->nodes = nodes;
        struct observed_node *n = &nodes[oc->n_nodes++];
        memset(n, 0, sizeof(*n));
        n->name = strdup(node);
        n->ec2_state = strdup("none");
        n->slurm_state = strdup("none");
    }
    if (oc->n_nodes > before && oc->n_nodes > 1)
        qsort(oc->nodes, oc->n_nodes, sizeof(*oc->nodes), by_node_name);
    *ocp = oc;
}

/* Brings the listed reports that changed into the object cache,
 * several GETs at a time, before the clusters are gone through in order. */
static void prefetch_objects(struct reconcile_ctx *rc, const struct desired_state *ds)
{
    if (!rc->objects)
        return;
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++)
        n += ds->clusters[i].n_objects;
    char **keys = calloc(n ? n : 1, sizeof(*keys));
    const char **etags = calloc(n ? n : 1, sizeof(*etags));
    size_t k = 0;
    for (size_t i = 0; keys && etags && i < ds->n; i++) {
        const struct desired_cluster *dc = &ds->clusters[i];
        if (!dc->config || dc->deleting)
            continue;
        for (size_t j = 0; j < dc->n_objects; j++) {
            /* Only reports: read_report asks for every one. A JWT key is
             * read only once Slurm is up; fetched before, it would be
             * swept unasked and fetched again every pass. */
            if (!layout_report_node(dc->objects[j].rest))
                continue;
            if (!(keys[k] = layout_rest_key(dc->name, dc->objects[j].rest)))
                continue;
            etags[k++] = dc->objects[j].etag;
        }
    }
    if (keys && etags)
        objcache_prefetch(rc->objects, rc->cloud, (const char *const *)keys, etags, k);
    for (size_t i = 0; keys && i < k; i++)
        free(keys[i]);
    free(keys);
    free(etags);
}

void reconcile(struct reconcile_ctx *rc, const struct desired_state *ds,
               struct observed_state *obs)
{
    if (obs->stale)
        return; /* acting on an old picture could launch twice */
    prefetch_objects(rc, ds);
    for (size_t i = 0; i < ds->n; i++) {
        const struct desired_cluster *dc = &ds->clusters[i];
        if (!dc->config || dc->deleting)
            continue;
        struct cluster_plan p = {.dc = dc, .oc = observed_slot(obs, dc->name), .obs = obs};
        add_reported_nodes(obs, dc, &p.oc);
        struct config_limits unlimited = {.max_instances = 1 << 30};
        struct cluster_config *cfg = NULL;
        char err[512];
        if (config_parse(dc->config->data, dc->config->len, &unlimited, &cfg, err,
                         sizeof(err)) != 0) {
            /* Only validated configs are stored; one of an older version may not parse. */
            if (rc->act)
                held_back(rc, &p, "not acting: the stored config does not parse: %s", err);
            continue;
        }
        p.cfg = cfg;
        cluster_region(dc, rc->mount_region, p.region, sizeof(p.region));
        reconcile_cluster(rc, &p);
        config_free(cfg);
    }
    if (rc->objects)
        objcache_sweep(rc->objects); /* reports and keys of nodes and clusters now gone */
}
