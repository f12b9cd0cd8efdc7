/* The controller's whole loop (observe -> plan -> act) over the in-memory
 * cloud (fs/control/cloud_mem.c) and store: each test names the DESIGN.md
 * section 4 rule it checks, crash points around RunInstances included.
 * One pass is what the controller thread does as lease holder: load the
 * bucket, observe EC2, reconcile. Runs in milliseconds. */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/cloud_mem.h"
#include "fs/control/job_acks.h"
#include "fs/control/lease.h"
#include "fs/control/observe_ec2.h"
#include "fs/control/reconcile.h"
#include "fs/control/roles.h"
#include "fs/store/layout.h"
#include "tests/unit/check.h"

#define REGION "ap-northeast-1"
#define T0 1700000000
#define COMPUTE1 "compute-st-t2micro-1"
#define COMPUTE2 "compute-st-t2micro-2"

static const char base_config[] = "[aws]\naws_region_name = " REGION "\n\n"
                                  "[cluster default]\nkey_name = k\nvpc_settings = public\n"
                                  "base_os = alinux2\nscheduler = slurm\n"
                                  "master_instance_type = t3.small\n"
                                  "compute_instance_type = t2.micro\n";
static const char vpc[] = "\n[vpc public]\nvpc_id = vpc-0123456789abcdef0\n"
                          "master_subnet_id = subnet-0123456789abcdef0\n";

struct world {
    struct cloud cloud;
    struct store store;
    time_t now;
    char events[65536];
    struct objcache *objects; /* the controller's cache across passes; NULL: none */
};

/* extra: more [cluster] lines ("" for none). */
static void put_config_with(struct world *w, int static_nodes, const char *extra)
{
    char text[2048], err[256];
    snprintf(text, sizeof(text), "%sinitial_queue_size = %d\nmax_queue_size = %d\n%s%s%s",
             base_config, static_nodes, static_nodes + 2,
             static_nodes ? "maintain_initial_size = true\n" : "", extra, vpc);
    struct blob *b = blob_new(text, strlen(text));
    int gen = 0;
    CHECK_INT(w->store.ops->put_config(w->store.impl, "c", b, w->now, &gen, err, sizeof(err)), 0);
    blob_unref(b);
}

static void put_config(struct world *w, int static_nodes)
{
    put_config_with(w, static_nodes, "");
}

static void world_init(struct world *w, int static_nodes)
{
    memset(w, 0, sizeof(*w));
    char err[256];
    w->now = T0;
    CHECK_INT(cloud_mem_init(&w->cloud, "bk"), 0);
    cloud_mem_set_now(&w->cloud, w->now);
    CHECK_INT(store_mem_open(&w->store), 0);
    CHECK_INT(w->store.ops->create_cluster(w->store.impl, "c", w->now, err, sizeof(err)), 0);
    put_config(w, static_nodes);
}

static void world_free(struct world *w)
{
    w->store.ops->destroy(w->store.impl);
    cloud_mem_destroy(&w->cloud);
}

static int by_rest(const void *a, const void *b)
{
    return strcmp(((const struct desired_object *)a)->rest,
                  ((const struct desired_object *)b)->rest);
}

/* The cluster's reports as a bucket listing shows them. */
static void list_reports(struct world *w, struct desired_cluster *dc)
{
    char *prefix = layout_cluster_prefix(dc->name);
    const char *keys[64];
    size_t n = cloud_mem_keys(&w->cloud, prefix, keys, 64);
    for (size_t i = 0; i < n; i++) {
        const char *rest = keys[i] + strlen(prefix);
        enum layout_job kind;
        char job[64];
        if (!layout_report_node(rest) && strcmp(rest, "head/acks/fleet.json") != 0 &&
            !layout_job_of(rest, &kind, job, sizeof(job)) &&
            strcmp(rest, layout_head_events_rest()) != 0)
            continue;
        char etag[32];
        cloud_mem_etag(&w->cloud, keys[i], etag, sizeof(etag));
        dc->objects = realloc(dc->objects, (dc->n_objects + 1) * sizeof(*dc->objects));
        /* as a listing dates them: here, all were written at the start */
        dc->objects[dc->n_objects++] = (struct desired_object){strdup(rest), strdup(etag), T0};
    }
    if (dc->n_objects > 1)
        qsort(dc->objects, dc->n_objects, sizeof(*dc->objects), by_rest);
    free(prefix);
}

static struct desired_state *load(struct world *w)
{
    struct desired_state *ds = NULL;
    char err[256];
    CHECK_INT(w->store.ops->load(w->store.impl, &ds, err, sizeof(err)), 0);
    return ds;
}

/* One controller pass; act: this mount holds the lease; nodes (when not
 * NULL, of len bytes) gets the observed nodes, "name ec2 slurm" a line. */
static void pass_seeing(struct world *w, bool act, char *nodes, size_t len)
{
    struct desired_state *ds = load(w);
    if (!ds)
        return;
    for (size_t i = 0; i < ds->n; i++)
        list_reports(w, &ds->clusters[i]);
    const char *regions[] = {REGION};
    struct observed_state *obs = NULL;
    char err[512];
    CHECK_INT(observe_ec2(&w->cloud, regions, 1, w->now, &obs, err, sizeof(err)), 0);
    struct reconcile_ctx rc = {.cloud = &w->cloud,
                               .store = &w->store,
                               .mount_region = REGION,
                               .bootstrap_timeout = 1800,
                               .now = w->now,
                               .act = act,
                               .objects = w->objects};
    if (obs)
        reconcile(&rc, ds, obs);
    for (size_t i = 0, at = 0; nodes && obs && i < obs->n; i++)
        for (size_t k = 0; k < obs->clusters[i].n_nodes && at < len; k++) {
            const struct observed_node *n = &obs->clusters[i].nodes[k];
            int wrote = snprintf(nodes + at, len - at, "%s %s %s\n", n->name, n->ec2_state,
                                 n->slurm_state ? n->slurm_state : "-");
            at += wrote > 0 ? (size_t)wrote : 0;
        }
    observed_free(obs);
    desired_state_free(ds);
    /* The events so far, for the checks. */
    ds = load(w);
    const struct desired_cluster *dc = ds ? desired_find(ds, "c") : NULL;
    snprintf(w->events, sizeof(w->events), "%.*s", dc ? (int)dc->events->len : 0,
             dc ? dc->events->data : "");
    desired_state_free(ds);
}

static void pass_as(struct world *w, bool act)
{
    pass_seeing(w, act, NULL, 0);
}

static void pass(struct world *w)
{
    pass_as(w, true);
}

/* Time passes: instances come up or go, as EC2 moves them on. */
static void later(struct world *w, int seconds)
{
    w->now += seconds;
    cloud_mem_set_now(&w->cloud, w->now);
    cloud_mem_settle(&w->cloud);
}

/* The node's instance reports state, for its own attempt. */
static void report(struct world *w, const char *node, const char *state)
{
    const char *id = NULL;
    CHECK_INT(cloud_mem_live(&w->cloud, node, &id), 1);
    if (!id)
        return;
    const char *attempt = cloud_mem_tag(&w->cloud, id, "pclusterfs:attempt");
    char body[256], err[256];
    snprintf(body, sizeof(body), "state %s\nattempt %s\ninstance %s\n--\nlog line\n", state,
             attempt ? attempt : "0", id);
    char *key = layout_report_key("c", node);
    CHECK_INT(cloud_put(&w->cloud, key, body, strlen(body), NULL, err, sizeof(err)), 0);
    free(key);
}

static int first_complete(struct world *w)
{
    struct desired_state *ds = load(w);
    const struct desired_cluster *dc = ds ? desired_find(ds, "c") : NULL;
    int gen = dc ? dc->first_complete : -1;
    desired_state_free(ds);
    return gen;
}

static char *failure(struct world *w)
{
    struct desired_state *ds = load(w);
    const struct desired_cluster *dc = ds ? desired_find(ds, "c") : NULL;
    char *code = dc && dc->failure_code ? strdup(dc->failure_code) : NULL;
    desired_state_free(ds);
    return code;
}

/* Brings the cluster up: head, then its static nodes, all done, in Slurm. */
static void bring_up(struct world *w, int static_nodes)
{
    pass(w);
    later(w, 60);
    report(w, "head", "done");
    cloud_mem_slurm_up(&w->cloud, true);
    pass(w);
    later(w, 60);
    for (int i = 1; i <= static_nodes; i++) {
        char node[64];
        snprintf(node, sizeof(node), "compute-st-t2micro-%d", i);
        report(w, node, "done");
        cloud_mem_slurm_add(&w->cloud, node);
    }
    pass(w);
}

static void head_manifest_names_the_agent(void)
{
    /* Rule: the head's manifest names every file of its agent and the
     * agent's config (cluster, state bucket and owner, region); a compute
     * node's names neither. */
    struct world w;
    world_init(&w, 1);
    pass(&w);
    char *key = layout_manifest_key("c", "head", 1);
    const char *m = cloud_mem_object(&w.cloud, key, NULL);
    free(key);
    CHECK(m != NULL);
    m = m ? m : "";
    CHECK_CONTAINS(m, "\nfile agent agent.sh ");
    CHECK_CONTAINS(m, "\nfile agent agent_main.py ");
    CHECK_CONTAINS(m, "\nfile agent agent_publish.py ");
    CHECK_CONTAINS(m, "\nfile agent agent_ctl.py ");
    CHECK_CONTAINS(m, "\nfile agent agent_spec.py ");
    const char *line = strstr(m, "\nagent_config ");
    CHECK(line != NULL);
    if (line) {
        line += strlen("\nagent_config ");
        size_t n = strcspn(line, "\n");
        unsigned char text[2048] = {0};
        CHECK(n < sizeof(text) * 3 / 4 && EVP_DecodeBlock(text, (const unsigned char *)line,
                                                          (int)n) > 0);
        json_t *cfg = json_loads((const char *)text, JSON_ALLOW_NUL, NULL);
        CHECK(cfg != NULL);
        CHECK_STR(json_string_value(json_object_get(cfg, "cluster")), "c");
        CHECK_STR(json_string_value(json_object_get(cfg, "bucket")), "bk");
        CHECK_STR(json_string_value(json_object_get(cfg, "bucket_owner")), "123456789012");
        CHECK(json_string_value(json_object_get(cfg, "region")) != NULL);
        json_decref(cfg);
    }
    report(&w, "head", "done");
    cloud_mem_slurm_up(&w.cloud, true);
    pass(&w);
    key = layout_manifest_key("c", COMPUTE1, 1);
    m = cloud_mem_object(&w.cloud, key, NULL);
    free(key);
    CHECK(m != NULL && !strstr(m, "agent"));
    world_free(&w);
}

static void launch_order(void)
{
    /* Rule: launch order: head first, then static nodes once the head is done. */
    struct world w;
    world_init(&w, 1);
    pass(&w);
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 1);
    CHECK_INT(cloud_mem_live(&w.cloud, COMPUTE1, NULL), 0);
    later(&w, 60);
    report(&w, "head", "configuring");
    pass(&w);
    CHECK_INT(cloud_mem_runs(&w.cloud), 1); /* nothing more while the head configures */
    report(&w, "head", "done");
    cloud_mem_slurm_up(&w.cloud, true);
    pass(&w);
    const char *head = NULL;
    cloud_mem_live(&w.cloud, "head", &head);
    CHECK_STR(cloud_mem_tag(&w.cloud, head, "pclusterfs:bootstrap"), "done");
    CHECK_INT(cloud_mem_live(&w.cloud, COMPUTE1, NULL), 1);
    CHECK_INT(first_complete(&w), 0);
    /* Rule: the head launches in its group and the cluster's, a compute
     * node in the cluster's (secgroups.h). */
    const char *compute = NULL;
    cloud_mem_live(&w.cloud, COMPUTE1, &compute);
    const char *hg = cloud_mem_groups_of(&w.cloud, head), *cg = cloud_mem_groups_of(&w.cloud, compute);
    CHECK(hg && cg && strchr(hg, ',') && !strchr(cg, ',') && strstr(hg, cg));
    /* Rule: converged (Slurm answers, every static node done and in Slurm) -> completed. */
    later(&w, 60);
    report(&w, COMPUTE1, "done");
    cloud_mem_slurm_add(&w.cloud, COMPUTE1);
    pass(&w);
    CHECK_INT(first_complete(&w), 1);
    CHECK_CONTAINS(w.events, "cluster complete");
    /* Rule: manifests deleted after the report (the launch's one-time objects). */
    char *manifest = layout_manifest_key("c", COMPUTE1, 1);
    CHECK(cloud_mem_object(&w.cloud, manifest, NULL) == NULL);
    free(manifest);
    pass(&w);
    CHECK_INT(cloud_mem_runs(&w.cloud), 2); /* level-triggered: nothing more to do */
    world_free(&w);
}

static void crash_before_run(void)
{
    /* Rule: idempotent launch after a crash between the intent and
     * RunInstances: the same attempt, the same ClientToken, one instance. */
    struct world w;
    world_init(&w, 0);
    cloud_mem_next_run(&w.cloud, CLOUD_MEM_RUN_LOST, NULL);
    pass(&w);
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 0);
    char *intent = layout_intent_key("c", "head");
    CHECK(cloud_mem_object(&w.cloud, intent, NULL) != NULL);
    CHECK_CONTAINS(w.events, "will retry");
    pass(&w);
    const char *head = NULL;
    CHECK_INT(cloud_mem_live(&w.cloud, "head", &head), 1);
    CHECK_STR(cloud_mem_tag(&w.cloud, head, "pclusterfs:attempt"), "1");
    CHECK_CONTAINS(cloud_mem_object(&w.cloud, intent, NULL), "attempt 1 ");
    free(intent);
    world_free(&w);
}

static void crash_after_run(void)
{
    /* Rule: idempotent launch when RunInstances' answer is lost: the
     * instance EC2 started is the node's; no second one. */
    struct world w;
    world_init(&w, 0);
    cloud_mem_next_run(&w.cloud, CLOUD_MEM_RUN_ANSWER_LOST, NULL);
    pass(&w);
    CHECK_INT(cloud_mem_runs(&w.cloud), 1);
    pass(&w);
    later(&w, 30);
    pass(&w);
    CHECK_INT(cloud_mem_runs(&w.cloud), 1);
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 1);
    world_free(&w);
}

static void idempotent_parameter_mismatch(void)
{
    /* Rule: the token launched already (its answer lost, and EC2's listings
     * lag): RunInstances says IdempotentParameterMismatch, which means
     * "look it up by the client-token filter": that instance is the node's. */
    struct world w;
    world_init(&w, 0);
    cloud_mem_next_run(&w.cloud, CLOUD_MEM_RUN_ANSWER_LOST, NULL);
    pass(&w);
    cloud_mem_hide(&w.cloud, 2); /* the pass's listing and the token lookup miss it */
    pass(&w);
    CHECK_INT(cloud_mem_runs(&w.cloud), 1);
    const char *head = NULL;
    CHECK_INT(cloud_mem_live(&w.cloud, "head", &head), 1);
    char want[128];
    snprintf(want, sizeof(want), "launched head %s (t3.small, attempt 1)", head ? head : "?");
    CHECK_CONTAINS(w.events, want);
    world_free(&w);
}

static void replacement_is_new_attempt(void)
{
    /* Rule: a replacement is a new attempt (a new token), and a report of
     * the old attempt does not count for the new instance. */
    struct world w;
    world_init(&w, 1);
    bring_up(&w, 0);
    later(&w, 60);
    report(&w, COMPUTE1, "failed");
    pass(&w); /* terminates the failed node */
    CHECK_CONTAINS(w.events, "its bootstrap failed");
    later(&w, 60);
    pass(&w); /* relaunches it */
    const char *id = NULL;
    CHECK_INT(cloud_mem_live(&w.cloud, COMPUTE1, &id), 1);
    CHECK_STR(cloud_mem_tag(&w.cloud, id, "pclusterfs:attempt"), "2");
    /* The last attempt's report comes late: it does not count. */
    char body[] = "state failed\nattempt 1\n--\n", err[128];
    char *key = layout_report_key("c", COMPUTE1);
    cloud_put(&w.cloud, key, body, strlen(body), NULL, err, sizeof(err));
    free(key);
    later(&w, 10);
    pass(&w);
    CHECK_CONTAINS(w.events, "does not count");
    CHECK_INT(cloud_mem_live(&w.cloud, COMPUTE1, NULL), 1); /* not terminated for it */
    world_free(&w);
}

static void relaunch_cap_creation_failure(void)
{
    /* Rules: relaunch cap (3 per config) -> StaticNodeBootstrapFailure;
     * creation failure terminates everything. */
    struct world w;
    world_init(&w, 1);
    bring_up(&w, 0);
    for (int round = 0; round < 3; round++) {
        later(&w, 60);
        report(&w, COMPUTE1, "failed");
        pass(&w);
        later(&w, 60);
        pass(&w);
    }
    char *code = failure(&w);
    CHECK_STR(code, "StaticNodeBootstrapFailure");
    free(code);
    CHECK_CONTAINS(w.events, "failed to come up 3 times");
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 0);
    CHECK_INT(cloud_mem_live(&w.cloud, COMPUTE1, NULL), 0);
    /* Rule: rewriting the config tries again. */
    put_config(&w, 1);
    later(&w, 60);
    pass(&w);
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 1);
    world_free(&w);
}

static void update_failure_keeps_cluster(void)
{
    /* Rule: a failed update keeps the head and healthy nodes; what it added
     * and failed goes. */
    struct world w;
    world_init(&w, 1);
    bring_up(&w, 1);
    CHECK_INT(first_complete(&w), 1);
    put_config(&w, 2);
    for (int round = 0; round < 8; round++) {
        later(&w, 60);
        pass(&w);
        if (cloud_mem_live(&w.cloud, COMPUTE2, NULL))
            report(&w, COMPUTE2, "failed");
    }
    later(&w, 60);
    pass(&w);
    char *code = failure(&w);
    CHECK_STR(code, "StaticNodeBootstrapFailure");
    free(code);
    CHECK_CONTAINS(w.events, "the update failed");
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 1);
    CHECK_INT(cloud_mem_live(&w.cloud, COMPUTE1, NULL), 1);
    CHECK_INT(cloud_mem_live(&w.cloud, COMPUTE2, NULL), 0);
    world_free(&w);
}

static void bootstrap_timeout(void)
{
    /* Rule: a head not done after bootstrap_timeout: HeadNodeBootstrapFailure. */
    struct world w;
    world_init(&w, 1);
    pass(&w);
    later(&w, 1800);
    report(&w, "head", "configuring");
    pass(&w);
    CHECK(failure(&w) == NULL);
    later(&w, 2);
    pass(&w);
    char *code = failure(&w);
    CHECK_STR(code, "HeadNodeBootstrapFailure");
    free(code);
    CHECK_CONTAINS(w.events, "did not finish within 1800 s");
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 0);
    world_free(&w);
}

static void refused_launch(void)
{
    /* Rule: EC2 refusing the launch itself fails the creation; "not now" retries. */
    struct world w;
    world_init(&w, 0);
    cloud_mem_next_run(&w.cloud, CLOUD_MEM_RUN_REFUSED, "RequestLimitExceeded");
    pass(&w);
    CHECK(failure(&w) == NULL);
    CHECK_CONTAINS(w.events, "will retry");
    cloud_mem_next_run(&w.cloud, CLOUD_MEM_RUN_REFUSED, "InvalidKeyPair.NotFound");
    pass(&w);
    char *code = failure(&w);
    CHECK_STR(code, "InvalidKeyPair.NotFound");
    free(code);
    world_free(&w);
}

static void dropped_nodes(void)
{
    /* Rule: nodes dropped from the config are terminated; their report and
     * intent go; the workstation leaves Slurm alone (the head's agent
     * removes them, agent_gone.py). */
    struct world w;
    world_init(&w, 1);
    bring_up(&w, 1);
    put_config(&w, 0);
    later(&w, 10);
    pass(&w);
    CHECK_INT(cloud_mem_live(&w.cloud, COMPUTE1, NULL), 0);
    CHECK_CONTAINS(w.events, "no longer in the config");
    char *report_key = layout_report_key("c", COMPUTE1), *intent = layout_intent_key("c", COMPUTE1);
    CHECK(cloud_mem_object(&w.cloud, report_key, NULL) == NULL);
    CHECK(cloud_mem_object(&w.cloud, intent, NULL) == NULL);
    free(report_key);
    free(intent);
    later(&w, 10);
    pass(&w);
    CHECK(cloud_mem_slurm_has(&w.cloud, COMPUTE1));
    CHECK(strstr(w.events, "from Slurm") == NULL);
    world_free(&w);
}

static void lease(void)
{
    /* Rule: only the lease holder acts; the other mount only observes. */
    struct world w;
    world_init(&w, 0);
    struct lease a, b;
    CHECK_INT(lease_init(&a), 0);
    CHECK_INT(lease_init(&b), 0);
    CHECK(lease_hold(&a, &w.cloud, 30, w.now));
    CHECK(!lease_hold(&b, &w.cloud, 30, w.now));
    pass_as(&w, b.held);
    CHECK_INT(cloud_mem_runs(&w.cloud), 0);
    pass_as(&w, a.held);
    CHECK_INT(cloud_mem_runs(&w.cloud), 1);
    /* A lapsed lease is taken over. */
    CHECK(lease_hold(&b, &w.cloud, 30, w.now + 31));
    CHECK(!lease_hold(&a, &w.cloud, 30, w.now + 32));
    world_free(&w);
}

/* The instance profile live node runs with ("" if none or no instance). */
static const char *profile_of(struct world *w, const char *node)
{
    const char *id = NULL;
    return cloud_mem_live(&w->cloud, node, &id) == 1 && id ? cloud_mem_profile_of(&w->cloud, id)
                                                          : "";
}

static void roles_before_head(void)
{
    /* Rule: the cluster's head role and profile are made before the head
     * launches, which names the profile; no compute role unless asked. */
    struct world w;
    world_init(&w, 1);
    char head[ROLES_NAME_MAX + 1];
    roles_name("bk", "c", ROLES_HEAD, head);
    pass(&w);
    CHECK_INT(cloud_mem_iam_roles(&w.cloud), 1);
    CHECK_INT(cloud_mem_iam_profiles(&w.cloud), 1);
    CHECK_STR(cloud_mem_iam_profile_role(&w.cloud, head), head);
    CHECK(cloud_mem_iam_policy(&w.cloud, head, "pclusterfs-head") != NULL);
    CHECK_STR(profile_of(&w, "head"), head);
    bring_up(&w, 1);
    CHECK_STR(profile_of(&w, COMPUTE1), ""); /* the config asks no access for them */
    world_free(&w);
}

static void crash_between_roles_and_launch(void)
{
    /* Rule: level-triggered: roles made, then the daemon dies before the
     * launch (the request lost); the next pass leaves exactly one set. */
    struct world w;
    world_init(&w, 0);
    cloud_mem_next_run(&w.cloud, CLOUD_MEM_RUN_LOST, NULL);
    pass(&w);
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 0);
    CHECK_INT(cloud_mem_iam_roles(&w.cloud), 1);
    pass(&w);
    pass(&w);
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 1);
    CHECK_INT(cloud_mem_iam_roles(&w.cloud), 1);
    CHECK_INT(cloud_mem_iam_profiles(&w.cloud), 1);
    world_free(&w);
}

static void profile_propagation_is_retried(void)
{
    /* Rule: EC2 not seeing the new profile yet is no verdict: retried. */
    struct world w;
    world_init(&w, 0);
    cloud_mem_iam_lag(&w.cloud, 2);
    pass(&w);
    pass(&w);
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 0);
    CHECK(failure(&w) == NULL);
    CHECK_CONTAINS(w.events, "does not see the new instance profile yet");
    pass(&w);
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 1);
    CHECK(failure(&w) == NULL);
    world_free(&w);
}

static void failed_creation_removes_roles(void)
{
    /* Rule: a failed creation's roles go once its instances are gone. */
    struct world w;
    world_init(&w, 0);
    pass(&w);
    later(&w, 60);
    report(&w, "head", "failed");
    pass(&w); /* the verdict, the head terminated */
    char *code = failure(&w);
    CHECK(code != NULL);
    free(code);
    CHECK_INT(cloud_mem_iam_roles(&w.cloud), 1); /* still shutting down: kept */
    later(&w, 60);
    pass(&w);
    CHECK_INT(cloud_mem_iam_roles(&w.cloud), 0);
    CHECK_INT(cloud_mem_iam_profiles(&w.cloud), 0);
    CHECK_CONTAINS(w.events, "removed the cluster's IAM roles and instance profiles (2)");
    CHECK_CONTAINS(w.events, "removed the cluster's security groups (2)");
    struct aws_ec2_security_groups left = {0};
    struct aws_error e = {0};
    CHECK_INT(cloud_sg_describe(&w.cloud, REGION, NULL, 0, NULL, 0, &left, &e), 0);
    CHECK_INT(left.n, 0);
    aws_ec2_security_groups_free(&left);
    /* Once seen gone, IAM is not asked again while the failure stands. */
    w.objects = objcache_new();
    pass(&w);
    unsigned long calls = cloud_mem_iam_calls(&w.cloud);
    pass(&w);
    pass(&w);
    CHECK_INT(cloud_mem_iam_calls(&w.cloud), calls);
    objcache_free(w.objects);
    world_free(&w);
}

static void foreign_role_untouched(void)
{
    /* Rule: a role without the owner tag is never changed nor deleted. */
    struct world w;
    world_init(&w, 0);
    char head[ROLES_NAME_MAX + 1], err[512];
    roles_name("bk", "c", ROLES_HEAD, head);
    struct aws_error e = {0};
    const struct aws_tag other[] = {{"pclusterfs:owner", "another-bucket"}};
    CHECK_INT(cloud_iam_create_role(&w.cloud, head, "{\"Action\":\"sts:AssumeRole\"}", other,
                                    1, &e), 0);
    pass(&w);
    CHECK_INT(cloud_mem_live(&w.cloud, "head", NULL), 0);
    CHECK(cloud_mem_iam_policy(&w.cloud, head, "pclusterfs-head") == NULL);
    CHECK_CONTAINS(w.events, "without the tag pclusterfs:owner=bk");
    int removed = -1;
    CHECK_INT(roles_remove(&w.cloud, "c", &removed, err, sizeof(err)), 0);
    CHECK_INT(cloud_mem_iam_roles(&w.cloud), 1);
    world_free(&w);
}

#define S3_READ_LINE "s3_read_resource = arn:aws:s3:::some-bucket/*\n"

static void compute_access_roles(void)
{
    /* Rule: the access keys give both roles their policies, compute nodes
     * their own profile, and the head may pass only that role; dropping
     * the keys removes the compute role at the next head launch. */
    struct world w;
    world_init(&w, 1);
    put_config_with(&w, 1, S3_READ_LINE
                           "additional_iam_policies = arn:aws:iam::aws:policy/P\n");
    char head[ROLES_NAME_MAX + 1], compute[ROLES_NAME_MAX + 1];
    roles_name("bk", "c", ROLES_HEAD, head);
    roles_name("bk", "c", ROLES_COMPUTE, compute);
    bring_up(&w, 1);
    CHECK_INT(cloud_mem_iam_roles(&w.cloud), 2);
    CHECK_STR(profile_of(&w, COMPUTE1), compute);
    const char *read = cloud_mem_iam_policy(&w.cloud, compute, "S3Read");
    CHECK_CONTAINS(read, "arn:aws:s3:::some-bucket/*");
    CHECK(cloud_mem_iam_policy(&w.cloud, compute, "pclusterfs-head") == NULL);
    CHECK(cloud_mem_iam_policy(&w.cloud, head, "S3Read") != NULL);
    CHECK(cloud_mem_iam_attached(&w.cloud, compute, "arn:aws:iam::aws:policy/P"));
    CHECK(cloud_mem_iam_attached(&w.cloud, head, "arn:aws:iam::aws:policy/P"));
    CHECK_CONTAINS(cloud_mem_iam_policy(&w.cloud, head, "pclusterfs-head"), compute);
    /* An update asking compute nodes for access after the head launched:
     * their profile is made when EC2 says it does not know it. */
    struct world v;
    world_init(&v, 1);
    bring_up(&v, 1);
    put_config_with(&v, 2, S3_READ_LINE);
    later(&v, 10);
    pass(&v);
    CHECK(cloud_mem_iam_policy(&v.cloud, head, "S3Read") != NULL); /* the live head's too */
    pass(&v);
    CHECK_STR(cloud_mem_iam_profile_role(&v.cloud, compute), compute);
    pass(&v);
    CHECK_STR(profile_of(&v, "compute-st-t2micro-2"), compute);
    world_free(&v);
    /* ec2_iam_role: the user's role in the one profile, no role made. */
    struct world u;
    world_init(&u, 0);
    put_config_with(&u, 0, "ec2_iam_role = theirs\n");
    struct aws_error e = {0};
    CHECK_INT(cloud_iam_create_role(&u.cloud, "theirs", "{\"Action\":\"sts:AssumeRole\"}", NULL,
                                    0, &e), 0);
    pass(&u);
    CHECK_INT(cloud_mem_iam_roles(&u.cloud), 1);
    CHECK_STR(cloud_mem_iam_profile_role(&u.cloud, head), "theirs");
    CHECK_STR(profile_of(&u, "head"), head);
    char err[512];
    int removed = 0;
    CHECK_INT(roles_remove(&u.cloud, "c", &removed, err, sizeof(err)), 0);
    CHECK_INT(removed, 1); /* the profile; their role stays */
    CHECK_INT(cloud_mem_iam_roles(&u.cloud), 1);
    world_free(&u);
    world_free(&w);
}

static void roles_put_right_once_per_config(void)
{
    /* Rule: a live cluster's roles are put right once for each config
     * generation (and after a restart), not every pass. */
    struct world w;
    world_init(&w, 0);
    w.objects = objcache_new();
    bring_up(&w, 0);
    pass(&w);
    unsigned long calls = cloud_mem_iam_calls(&w.cloud);
    pass(&w);
    pass(&w);
    CHECK_INT(cloud_mem_iam_calls(&w.cloud), calls);
    char head[ROLES_NAME_MAX + 1];
    roles_name("bk", "c", ROLES_HEAD, head);
    CHECK(cloud_mem_iam_policy(&w.cloud, head, "S3Read") == NULL);
    put_config_with(&w, 0, S3_READ_LINE);
    pass(&w);
    CHECK(cloud_mem_iam_calls(&w.cloud) > calls);
    CHECK(cloud_mem_iam_policy(&w.cloud, head, "S3Read") != NULL);
    objcache_free(w.objects);
    world_free(&w);
}

/* The fleet spec's generation and etag as the bucket has it ("" when none). */
static int spec_generation(struct world *w, char *etag, size_t len)
{
    size_t n = 0;
    const char *text = cloud_mem_object(&w->cloud, "clusters/c/fleet/spec.json", &n);
    etag[0] = '\0';
    if (!text)
        return -1;
    cloud_mem_etag(&w->cloud, "clusters/c/fleet/spec.json", etag, len);
    json_error_t jerr;
    json_t *doc = json_loadb(text, n, 0, &jerr);
    int gen = (int)json_integer_value(json_object_get(doc, "generation"));
    json_decref(doc);
    return gen;
}

static void fleet_spec_published(void)
{
    /* Rule: the lease holder puts the compute fleet's spec in the bucket
     * for the head's agent; again only when it changes (a config commit, a
     * hook), and not at all without the lease. */
    struct world w;
    world_init(&w, 2);
    w.objects = objcache_new();
    char e1[64], e2[64], e3[64];
    pass_as(&w, false);
    CHECK_INT(spec_generation(&w, e1, sizeof(e1)), -1);
    pass(&w); /* makes the security groups the spec names, and launches the head */
    CHECK_INT(spec_generation(&w, e1, sizeof(e1)), -1);
    pass(&w);
    CHECK_INT(spec_generation(&w, e1, sizeof(e1)), 1);
    size_t n = 0;
    const char *text = cloud_mem_object(&w.cloud, "clusters/c/fleet/spec.json", &n);
    CHECK_CONTAINS(text, "\"compute-st-t2micro-2\"");
    CHECK_CONTAINS(text, "\"image\":\"ami-0123456789abcdef0\"");
    /* the cluster's own group: dynamic nodes the head launches reach it */
    CHECK_CONTAINS(text, "\"securityGroups\":[\"sg-");
    pass(&w);
    CHECK_INT(spec_generation(&w, e2, sizeof(e2)), 1);
    CHECK_STR(e2, e1);
    /* Unchanged, it is not written again (taken away here to tell). */
    char err[256];
    CHECK_INT(cloud_delete(&w.cloud, "clusters/c/fleet/spec.json", err, sizeof(err)), 0);
    pass(&w);
    CHECK_INT(spec_generation(&w, e2, sizeof(e2)), -1);
    put_config(&w, 3);
    pass(&w);
    CHECK_INT(spec_generation(&w, e3, sizeof(e3)), 2);
    text = cloud_mem_object(&w.cloud, "clusters/c/fleet/spec.json", &n);
    CHECK_CONTAINS(text, "\"compute-st-t2micro-3\"");
    objcache_free(w.objects);
    world_free(&w);
    /* A failed cluster has nothing for its head to carry out: no spec. */
    world_init(&w, 1);
    CHECK_INT(w.store.ops->set_failure(w.store.impl, "c", "CREATE_FAILED", "test", err,
                                       sizeof(err)),
              0);
    pass(&w);
    CHECK_INT(spec_generation(&w, e1, sizeof(e1)), -1);
    world_free(&w);
}

/* The head's agent acknowledges a spec: status shows its generation, and
 * the events tell it once; an ack of another instance does not count. */
static void fleet_ack_shown_once(void)
{
    struct world w;
    world_init(&w, 1);
    w.objects = objcache_new();
    pass(&w);
    pass(&w); /* the spec names the security groups the first pass made */
    const char *head = NULL;
    CHECK_INT(cloud_mem_live(&w.cloud, "head", &head), 1);
    size_t n = 0;
    const char *spec = cloud_mem_object(&w.cloud, "clusters/c/fleet/spec.json", &n);
    json_error_t jerr;
    json_t *doc = spec ? json_loadb(spec, n, 0, &jerr) : NULL;
    const char *id = json_string_value(json_object_get(doc, "specId"));
    CHECK(id != NULL);
    char ack[512], err[256];
    snprintf(ack, sizeof(ack),
             "{\"format\":1,\"cluster\":\"c\",\"instance_id\":\"%s\",\"generation\":1,"
             "\"specId\":\"%s\"}",
             "i-0000000000000000f", id ? id : "");
    CHECK_INT(cloud_put(&w.cloud, "clusters/c/head/acks/fleet.json", ack, strlen(ack), NULL, err,
                        sizeof(err)),
              0);
    pass(&w);
    CHECK(strstr(w.events, "applied fleet spec") == NULL); /* not this head's */
    snprintf(ack, sizeof(ack),
             "{\"format\":1,\"cluster\":\"c\",\"instance_id\":\"%s\",\"generation\":1,"
             "\"specId\":\"%s\"}",
             head ? head : "", id ? id : "");
    CHECK_INT(cloud_put(&w.cloud, "clusters/c/head/acks/fleet.json", ack, strlen(ack), NULL, err,
                        sizeof(err)),
              0);
    pass(&w);
    char want[128];
    snprintf(want, sizeof(want), "the head node applied fleet spec generation 1 (spec %.12s)",
             id ? id : "");
    CHECK_CONTAINS(w.events, want);
    pass(&w);
    /* A restarted controller (no cache) does not tell it again either. */
    objcache_free(w.objects);
    w.objects = objcache_new();
    pass(&w);
    const char *first = strstr(w.events, want);
    CHECK(first && !strstr(first + 1, want));
    json_decref(doc);
    objcache_free(w.objects);
    world_free(&w);
}

/* v2's defaults, initial_queue_size 0: the head alone completes the
 * cluster; the dynamic nodes Slurm lists join the nodes without an
 * instance, and the workstation launches none of them. */
static void put_object(struct world *w, const char *key, const char *body)
{
    char err[256];
    CHECK_INT(cloud_put(&w->cloud, key, body, strlen(body), NULL, err, sizeof(err)), 0);
}

/* What the head did alone (its events) is told once in the cluster's
 * events, by the lease holder, across remounts; junk lines are not. */
static void head_events_told_once(void)
{
    struct world w;
    world_init(&w, 0);
    w.objects = objcache_new();
    bring_up(&w, 0);
    put_object(&w, "clusters/c/head/events",
               "2026-12-02T16:50:00Z info launched compute-dy-t2micro-1 (i-1)\n"
               "rm -rf /\n"
               "2026-12-02T16:52:00Z error compute-dy-t2micro-2 failed to resume\n");
    pass_as(&w, false);
    CHECK(strstr(w.events, "launched compute-dy") == NULL); /* not the lease holder */
    pass(&w);
    const char *want = "info head: launched compute-dy-t2micro-1 (i-1) (at 2026-12-02T16:50:00Z)";
    CHECK_CONTAINS(w.events, want);
    CHECK_CONTAINS(w.events, "error head: compute-dy-t2micro-2 failed to resume (at ");
    CHECK(strstr(w.events, "rm -rf") == NULL);
    put_object(&w, "clusters/c/head/events",
               "2026-12-02T16:50:00Z info launched compute-dy-t2micro-1 (i-1)\n"
               "2026-12-02T16:52:00Z error compute-dy-t2micro-2 failed to resume\n"
               "2026-12-02T16:58:00Z info stopped compute-dy-t2micro-1 (i-1): idle\n");
    pass(&w);
    objcache_free(w.objects);
    w.objects = objcache_new(); /* a remount */
    pass(&w);
    const char *first = strstr(w.events, want);
    CHECK(first && !strstr(first + 1, want));
    CHECK_CONTAINS(w.events, "head: stopped compute-dy-t2micro-1 (i-1): idle");
    objcache_free(w.objects);
    world_free(&w);
}

static void dynamic_nodes_listed_as_slurm_has_them(void)
{
    struct world w;
    world_init(&w, 0); /* max_queue_size 2: compute-dy-t2micro-1 and -2 */
    bring_up(&w, 0);
    CHECK(first_complete(&w) > 0);
    cloud_mem_slurm_add(&w.cloud, "compute-dy-t2micro-1");
    cloud_mem_slurm_add(&w.cloud, "compute-dy-t2micro-9"); /* no node of the config */
    char nodes[1024] = "";
    pass_seeing(&w, true, nodes, sizeof(nodes));
    CHECK_CONTAINS(nodes, "compute-dy-t2micro-1 none ");
    CHECK(strstr(nodes, "compute-dy-t2micro-2") == NULL); /* Slurm does not list it */
    CHECK(strstr(nodes, "compute-dy-t2micro-9") == NULL);
    CHECK_CONTAINS(nodes, "head running ");
    const char *id = NULL;
    CHECK_INT(cloud_mem_live(&w.cloud, "compute-dy-t2micro-1", &id), 0);
    CHECK_INT(cloud_mem_runs(&w.cloud), 1); /* the head alone */
    world_free(&w);
}

/* The head's answers for jobs/ are told once each in events, by the lease
 * holder only, a remount (no cache) included; one that does not parse is
 * told as a failure. */
static void job_answers_told_once(void)
{
    struct world w;
    world_init(&w, 1);
    w.objects = objcache_new();
    bring_up(&w, 1);
    put_object(&w, "clusters/c/jobs/submit/a.sh", "#!/bin/sh\nhostname\n");
    put_object(&w, "clusters/c/head/acks/jobs/a.sh",
               "{\"format\": 1, \"name\": \"a.sh\", \"outcome\": \"submitted\", "
               "\"job_id\": 12, \"user\": \"ec2-user\", \"message\": \"\"}");
    put_object(&w, "clusters/c/head/acks/jobs/b.sh",
               "{\"format\": 1, \"name\": \"b.sh\", \"outcome\": \"failed\", "
               "\"job_id\": null, \"user\": \"ec2-user\", "
               "\"message\": \"sbatch: error: Invalid node count specification\"}");
    put_object(&w, "clusters/c/head/acks/jobs/c.sh", "{\"format\": 7}");
    put_object(&w, "clusters/c/head/acks/cancel/12",
               "{\"format\": 1, \"job_id\": 12, \"outcome\": \"done\", \"message\": \"\"}");
    pass_as(&w, false);
    CHECK(strstr(w.events, "jobs/a.sh") == NULL); /* not the lease holder: reads, tells nothing */
    pass(&w);
    const char *want = "jobs/a.sh: the head submitted it to Slurm as job 12 (jobs/12/)";
    CHECK_CONTAINS(w.events, want);
    CHECK_CONTAINS(w.events,
                   "jobs/b.sh: not submitted: sbatch: error: Invalid node count specification");
    CHECK_CONTAINS(w.events, "jobs/c.sh: not submitted: the head's answer for a job: format");
    CHECK_CONTAINS(w.events, "jobs/12: the head cancelled it");
    pass(&w);
    objcache_free(w.objects);
    w.objects = objcache_new();
    pass(&w);
    const char *first = strstr(w.events, want);
    CHECK(first && !strstr(first + 1, want));
    /* A week on, the answered record goes, submission and answer; the
     * answer without a submission and the cancel's (Slurm's jobs unknown
     * here) stay. */
    CHECK(cloud_mem_object(&w.cloud, "clusters/c/jobs/submit/a.sh", NULL) != NULL);
    later(&w, JOB_RECORD_KEEP_S + 60);
    pass(&w);
    CHECK(cloud_mem_object(&w.cloud, "clusters/c/jobs/submit/a.sh", NULL) == NULL);
    CHECK(cloud_mem_object(&w.cloud, "clusters/c/head/acks/jobs/a.sh", NULL) == NULL);
    CHECK(cloud_mem_object(&w.cloud, "clusters/c/head/acks/jobs/b.sh", NULL) != NULL);
    CHECK(cloud_mem_object(&w.cloud, "clusters/c/head/acks/cancel/12", NULL) != NULL);
    CHECK_CONTAINS(w.events, "jobs/a.sh: its record is removed, 7 days after it was submitted");
    objcache_free(w.objects);
    world_free(&w);
}

int main(void)
{
    RUN(launch_order);
    RUN(head_manifest_names_the_agent);
    RUN(crash_before_run);
    RUN(crash_after_run);
    RUN(idempotent_parameter_mismatch);
    RUN(replacement_is_new_attempt);
    RUN(relaunch_cap_creation_failure);
    RUN(update_failure_keeps_cluster);
    RUN(bootstrap_timeout);
    RUN(refused_launch);
    RUN(dropped_nodes);
    RUN(lease);
    RUN(roles_before_head);
    RUN(crash_between_roles_and_launch);
    RUN(profile_propagation_is_retried);
    RUN(failed_creation_removes_roles);
    RUN(foreign_role_untouched);
    RUN(compute_access_roles);
    RUN(roles_put_right_once_per_config);
    RUN(fleet_spec_published);
    RUN(fleet_ack_shown_once);
    RUN(job_answers_told_once);
    RUN(dynamic_nodes_listed_as_slurm_has_them);
    RUN(head_events_told_once);
    return check_finish();
}
