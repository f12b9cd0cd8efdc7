#include "fs/control/observe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/launch.h"
#include "fs/control/plan.h"
#include "fs/control/job_acks.h"
#include "fs/model/fleet_ack.h"
#include "fs/store/layout.h"
#include "slurm/view.h"

int observe_listed_object(struct reconcile_ctx *rc, const struct desired_cluster *dc,
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
        r = objcache_get(rc->objects, &rc->cloud->objects, key, o->etag, out, err, sizeof(err));
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

/* Appends a copy of s to the list; 0 or -ENOMEM. */
static int push(char ***v, size_t *n, const char *s)
{
    char **grown = realloc(*v, (*n + 1) * sizeof(**v));
    if (!grown)
        return -ENOMEM;
    *v = grown;
    if (!(grown[*n] = strdup(s)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

bool observe_node_report(struct observed_node *n, struct node_report *r, bool got,
                         char *ignored, size_t ignored_len)
{
    char why[256];
    ignored[0] = '\0';
    struct report_target target = {
        .instance_id = n->instance_id, .attempt = n->attempt, .finished = n->finished};
    if (got && plan_alive(n) && !report_judge(r, &target, why, sizeof(why))) {
        snprintf(ignored, ignored_len, "ignored %s for %s: it does not count", why, n->name);
        report_free(r);
        memset(r, 0, sizeof(*r));
        got = false;
    }
    if (!got && n->finished && plan_alive(n))
        snprintf(r->state, sizeof(r->state), "done");
    if (got || !n->bootstrap || n->finished)
        observed_node_set_report(n, r);
    return got;
}

/* The node's report, read and judged (observe_node_report); one that does
 * not count is noted in v->ignored. *failure: why the bootstrap the report
 * tells of failed ("" if it did not), whether or not the report counts.
 * 0 or -ENOMEM. */
static int read_report(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                        struct observed_node *n, struct node_report *out, char **failure,
                        struct cluster_view *v)
{
    memset(out, 0, sizeof(*out));
    char rest[300], why[1536] = "";
    struct blob *b = NULL;
    /* a dynamic node reports where the head that launched it may let it */
    const struct cluster_config *cfg = dc->parsed ? dc->parsed->cfg : NULL;
    bool dynamic = cfg && config_is_dynamic_node(cfg, n->name);
    bool got = (dynamic ? layout_head_report_rest(n->name, rest, sizeof(rest))
                        : layout_report_rest(n->name, rest, sizeof(rest))) &&
               observe_listed_object(rc, dc, rest, &b) == 0 && report_parse(b->data, b->len, out) == 0;
    blob_unref(b);
    if (got && strcmp(out->state, "failed") == 0)
        report_failure_reason(out, n->name, why, sizeof(why));
    if (!(*failure = strdup(why)))
        return -ENOMEM;
    char ignored[400];
    observe_node_report(n, out, got, ignored, sizeof(ignored));
    return ignored[0] ? push(&v->ignored, &v->n_ignored, ignored) : 0;
}

bool observe_slurm_access(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                          const struct observed_node *head, struct slurm_access *access,
                          char **jwtp, char *why, size_t whylen)
{
    char *jwt = NULL, err[512];
    size_t jwt_len = 0;
    *jwtp = NULL;
    if (!head->private_ip || !*head->private_ip) {
        snprintf(why, whylen, "the head node has no private address");
        return false;
    }
    struct blob *key = NULL;
    char jwt_rest[64];
    layout_generated_rest(LAYOUT_JWT_KEY, jwt_rest, sizeof(jwt_rest));
    if (observe_listed_object(rc, dc, jwt_rest, &key) == 0) {
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
    } else if (launch_cluster_secret(rc->cloud, dc->name, LAYOUT_JWT_KEY, 32, &jwt, &jwt_len,
                                     err, sizeof(err)) != 0) {
        snprintf(why, whylen, "cannot read the cluster's JWT key: %s", err);
        return false;
    }
    *access = (struct slurm_access){.cluster = dc->name,
                                    .head_address = head->private_ip,
                                    .key = (const unsigned char *)jwt,
                                    .key_len = jwt_len};
    *jwtp = jwt;
    return true;
}

static int by_node_name(const void *a, const void *b)
{
    return strcmp(((const struct observed_node *)a)->name, ((const struct observed_node *)b)->name);
}

/* A dynamic node of the config that Slurm lists and EC2 showed no instance
 * of (powered down, most of the time) into v->dynamic, to join the
 * cluster's nodes once the observation is done (join_dynamic_nodes). */
static int keep_dynamic_node(const struct desired_cluster *dc, const struct observed_cluster *oc,
                             const struct slurmrest_node *sn, struct cluster_view *v)
{
    const struct cluster_config *cfg = dc->parsed ? dc->parsed->cfg : NULL;
    struct observed_node probe = {.name = sn->name};
    if (!cfg || !config_is_dynamic_node(cfg, sn->name) ||
        (oc->n_nodes && bsearch(&probe, oc->nodes, oc->n_nodes, sizeof(*oc->nodes), by_node_name)))
        return 0;
    struct observed_node *grown = realloc(v->dynamic, (v->n_dynamic + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    v->dynamic = grown;
    struct observed_node *n = &grown[v->n_dynamic];
    *n = (struct observed_node){.name = strdup(sn->name), .ec2_state = strdup("none")};
    if (!n->name || !n->ec2_state || observed_node_set_slurm(n, sn) != 0) {
        observed_node_clear(n);
        return -ENOMEM;
    }
    v->n_dynamic++;
    return 0;
}

/* Slurm's nodes into the cluster's nodes, and the names Slurm lists. */
static int take_slurm_nodes(const struct desired_cluster *dc,
                            const struct slurmrest_node_list *nodes,
                            struct observed_cluster *oc, struct cluster_view *v)
{
    int rc = 0;
    for (size_t i = 0; i < oc->n_nodes; i++)
        if (observed_node_set_slurm(&oc->nodes[i],
                                    slurmrest_node_find(nodes, oc->nodes[i].name)) != 0)
            rc = -ENOMEM;
    for (size_t i = 0; i < nodes->count; i++)
        if (push(&v->slurm_listed, &v->n_slurm_listed, nodes->nodes[i].name) != 0 ||
            keep_dynamic_node(dc, oc, &nodes->nodes[i], v) != 0)
            rc = -ENOMEM;
    return rc;
}

/* v->dynamic joins oc->nodes, both sorted by name, merged so that
 * v->node_failures stays parallel to oc->nodes. */
static int join_dynamic_nodes(struct observed_cluster *oc, struct cluster_view *v)
{
    if (!v->n_dynamic)
        return 0;
    size_t total = oc->n_nodes + v->n_dynamic;
    struct observed_node *nodes = calloc(total, sizeof(*nodes));
    char **failures = calloc(total, sizeof(*failures));
    if (!nodes || !failures) {
        free(nodes);
        free(failures);
        return -ENOMEM;
    }
    qsort(v->dynamic, v->n_dynamic, sizeof(*v->dynamic), by_node_name);
    size_t a = 0, b = 0;
    for (size_t k = 0; k < total; k++) {
        if (b == v->n_dynamic ||
            (a < oc->n_nodes && strcmp(oc->nodes[a].name, v->dynamic[b].name) < 0)) {
            failures[k] = v->node_failures ? v->node_failures[a] : NULL;
            nodes[k] = oc->nodes[a++];
        } else {
            nodes[k] = v->dynamic[b++];
        }
    }
    free(oc->nodes);
    free(v->node_failures);
    free(v->dynamic);
    oc->nodes = nodes;
    oc->n_nodes = total;
    v->node_failures = failures;
    v->dynamic = NULL;
    v->n_dynamic = 0;
    return 0;
}

/* The head's published Slurm view (and its heartbeat, whichever is newer,
 * says how fresh it is; each counts only when this head wrote it): 1 when
 * it is fresh and was taken, 0 when it cannot be used (why says why: too
 * old, another head's, or the agent could not read Slurm), -ENOENT when
 * the head has published none. */
static int read_published(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                          const struct observed_node *head, struct observed_cluster *oc,
                          struct cluster_view *v, int *nomem, char *why, size_t whylen)
{
    char view_rest[64], beat_rest[64], msg[512];
    struct blob *b = NULL;
    layout_head_slurm_rest(LAYOUT_HEAD_SLURM_VIEW, view_rest, sizeof(view_rest));
    layout_head_slurm_rest(LAYOUT_HEAD_SLURM_HEARTBEAT, beat_rest, sizeof(beat_rest));
    int r = observe_listed_object(rc, dc, view_rest, &b);
    if (r == -ENOENT)
        return -ENOENT;
    struct slurm_view view;
    if (r < 0 || slurm_view_parse(b->data, b->len, &view, msg, sizeof(msg)) < 0) {
        snprintf(why, whylen, "the head's published Slurm view cannot be read: %s",
                 r < 0 ? strerror(-r) : msg);
        blob_unref(b);
        return 0;
    }
    blob_unref(b);
    const char *head_id = head->instance_id ? head->instance_id : "";
    int64_t fresh = view.observed_at;
    struct slurm_heartbeat beat = {0};
    if (observe_listed_object(rc, dc, beat_rest, &b) == 0 &&
        slurm_heartbeat_parse(b->data, b->len, &beat, msg, sizeof(msg)) == 0 &&
        strcmp(beat.instance_id, head_id) == 0 && beat.observed_at > fresh)
        fresh = beat.observed_at;
    blob_unref(b);
    long long age = (long long)rc->now - (long long)fresh;
    int used = 0;
    if (strcmp(view.instance_id, head_id) != 0)
        snprintf(why, whylen, "the head's published Slurm view is of instance %s, not of the "
                 "head %s", view.instance_id, *head_id ? head_id : "(none)");
    else if (age > OBSERVE_SLURM_VIEW_STALE_S)
        snprintf(why, whylen, "the head's published Slurm view is %lld s old (the limit is %d s)",
                 age, OBSERVE_SLURM_VIEW_STALE_S);
    else if (beat.error[0] && strcmp(beat.instance_id, head_id) == 0 &&
             beat.observed_at >= view.observed_at)
        snprintf(why, whylen, "the head's agent cannot read Slurm: %s", beat.error);
    else
        used = 1;
    if (used && take_slurm_nodes(dc, view.nodes, oc, v) != 0)
        *nomem = -ENOMEM;
    if (used) { /* jobs/ shows them: the view's list moves into the cluster */
        slurmrest_job_list_free(oc->jobs);
        oc->jobs = view.jobs;
        view.jobs = NULL;
    }
    slurm_view_free(&view);
    return used;
}

/* Slurm's view: the one the head publishes through the bucket, else (a
 * head that publishes none) the head's slurmrestd asked directly. Fills
 * each node's state word and the nodes Slurm lists. Returns true when Slurm
 * answered; else why not is in `why`. */
static bool read_slurm(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                       struct observed_node *head, struct observed_cluster *oc,
                       struct cluster_view *v, int *nomem, char *why, size_t whylen)
{
    int published = read_published(rc, dc, head, oc, v, nomem, why, whylen);
    if (published != -ENOENT)
        return published == 1;
    struct slurm_access access;
    char *jwt = NULL;
    if (!observe_slurm_access(rc, dc, head, &access, &jwt, why, whylen))
        return false;
    struct slurmrest_node_list *nodes = NULL;
    bool up = cloud_slurm_nodes(rc->cloud, &access, &nodes, why, whylen);
    if (up && take_slurm_nodes(dc, nodes, oc, v) != 0)
        *nomem = -ENOMEM;
    if (nodes)
        cloud_slurm_release(rc->cloud, nodes);
    free(jwt);
    return up;
}

/* Slurm cannot be asked: say why, and that no node's Slurm state is known
 * (rather than "none", which would claim the node is not in Slurm). */
static int slurm_unknown(struct observed_cluster *oc, const char *why)
{
    free(oc->slurm_error);
    int rc = (oc->slurm_error = strdup(why)) ? 0 : -ENOMEM;
    for (size_t i = 0; i < oc->n_nodes; i++) {
        if (!plan_alive(&oc->nodes[i]))
            continue;
        free(oc->nodes[i].slurm_state);
        if (!(oc->nodes[i].slurm_state = strdup("unknown")))
            rc = -ENOMEM;
    }
    return rc;
}

/* The fleet spec the live head's agent acknowledged into oc (nothing when it
 * wrote none, another head wrote it, or it does not parse). 0 or -ENOMEM. */
static int read_fleet_ack(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                          const struct observed_node *head, struct observed_cluster *oc)
{
    char rest[64], msg[256];
    struct blob *b = NULL;
    if (!oc || !plan_alive(head) || !head->instance_id ||
        !layout_head_ack_rest(LAYOUT_HEAD_ACK_FLEET, rest, sizeof(rest)))
        return 0;
    int r = observe_listed_object(rc, dc, rest, &b);
    if (r == -ENOMEM)
        return r;
    struct fleet_ack ack;
    bool counts = r == 0 && fleet_ack_parse(b->data, b->len, &ack, msg, sizeof(msg)) == 0 &&
                  strcmp(ack.instance_id, head->instance_id) == 0 &&
                  strcmp(ack.cluster, dc->name) == 0;
    blob_unref(b);
    if (!counts)
        return 0;
    free(oc->fleet_spec_applied);
    oc->fleet_generation_applied = ack.generation;
    return (oc->fleet_spec_applied = strdup(ack.spec_id)) ? 0 : -ENOMEM;
}

int observe_cluster(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                    struct observed_cluster *oc, struct cluster_view *v)
{
    int nomem = 0;
    memset(v, 0, sizeof(*v));
    v->oc = oc;
    struct observed_node *head = NULL;
    if (oc && oc->n_nodes && !(v->node_failures = calloc(oc->n_nodes, sizeof(*v->node_failures))))
        return -ENOMEM;
    for (size_t i = 0; oc && i < oc->n_nodes; i++) {
        struct node_report r;
        char *failure = NULL;
        if (read_report(rc, dc, &oc->nodes[i], &r, &failure, v) != 0)
            nomem = -ENOMEM;
        v->node_failures[i] = failure;
        if (strcmp(oc->nodes[i].name, "head") == 0) {
            head = &oc->nodes[i];
            v->head_report = r;
        } else {
            report_free(&r);
        }
    }
    bool head_done = plan_alive(head) && strcmp(v->head_report.state, "done") == 0;
    char slurm_why[1024] = "";
    v->slurm_up =
        head_done && read_slurm(rc, dc, head, oc, v, &nomem, slurm_why, sizeof(slurm_why));
    if (head_done && !v->slurm_up && slurm_unknown(oc, slurm_why) != 0)
        nomem = -ENOMEM;
    if (read_fleet_ack(rc, dc, head, oc) != 0)
        nomem = -ENOMEM;
    if (oc && job_acks_read(rc, dc, oc) != 0)
        nomem = -ENOMEM;
    if (oc && join_dynamic_nodes(oc, v) != 0) /* last: head points into oc->nodes */
        nomem = -ENOMEM;
    return nomem;
}

void cluster_view_free(struct cluster_view *v)
{
    for (size_t i = 0; v->node_failures && v->oc && i < v->oc->n_nodes; i++)
        free(v->node_failures[i]);
    free(v->node_failures);
    for (size_t i = 0; i < v->n_ignored; i++)
        free(v->ignored[i]);
    free(v->ignored);
    for (size_t i = 0; i < v->n_slurm_listed; i++)
        free(v->slurm_listed[i]);
    free(v->slurm_listed);
    for (size_t i = 0; i < v->n_dynamic; i++)
        observed_node_clear(&v->dynamic[i]);
    free(v->dynamic);
    report_free(&v->head_report);
    memset(v, 0, sizeof(*v));
}

/* Adds a node of name with ec2_state and slurm_state none, unless one of
 * oc->nodes[0..sorted) has it (sorted by name: a binary search keeps this
 * linear in the nodes of big clusters). */
static int add_absent_node(struct observed_cluster *oc, size_t sorted, const char *name)
{
    struct observed_node probe = {.name = (char *)name};
    if (sorted && bsearch(&probe, oc->nodes, sorted, sizeof(*oc->nodes), by_node_name))
        return 0;
    struct observed_node *nodes = realloc(oc->nodes, (oc->n_nodes + 1) * sizeof(*nodes));
    if (!nodes)
        return -ENOMEM;
    oc->nodes = nodes;
    struct observed_node *n = &nodes[oc->n_nodes];
    memset(n, 0, sizeof(*n));
    n->name = strdup(name);
    n->ec2_state = strdup("none");
    n->slurm_state = strdup("none");
    if (!n->name || !n->ec2_state || !n->slurm_state) {
        observed_node_clear(n); /* never listed: sorting needs its name */
        return -ENOMEM;
    }
    oc->n_nodes++;
    return 0;
}

int observe_reported_nodes(struct observed_state *obs, const struct desired_cluster *dc,
                           struct observed_cluster **ocp)
{
    size_t n_reports = 0;
    for (size_t i = 0; i < dc->n_objects; i++)
        n_reports += layout_report_node(dc->objects[i].rest) != NULL;
    if (!n_reports)
        return 0;
    struct observed_cluster *oc = *ocp;
    if (!oc) {
        struct observed_cluster *grown = realloc(obs->clusters, (obs->n + 1) * sizeof(*grown));
        if (grown)
            obs->clusters = grown;
        char *name = grown ? strdup(dc->name) : NULL;
        if (!name)
            return -ENOMEM;
        oc = &grown[obs->n++];
        *oc = (struct observed_cluster){.name = name};
    }
    int rc = 0;
    size_t before = oc->n_nodes;
    for (size_t i = 0; rc == 0 && i < dc->n_objects; i++) {
        const char *node = layout_report_node(dc->objects[i].rest);
        if (node)
            rc = add_absent_node(oc, before, node);
    }
    if (oc->n_nodes > before && oc->n_nodes > 1)
        qsort(oc->nodes, oc->n_nodes, sizeof(*oc->nodes), by_node_name);
    *ocp = oc;
    return rc;
}

void observe_prefetch(struct reconcile_ctx *rc, const struct desired_state *ds)
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
        objcache_prefetch(rc->objects, &rc->cloud->objects, (const char *const *)keys, etags, k);
    for (size_t i = 0; keys && i < k; i++)
        free(keys[i]);
    free(keys);
    free(etags);
}
