/* Unit tests of the in-memory desired-state store (fs/store_mem.c) and of
 * snapshots built from it (fs/snapshot.c, fs/status.c, fs/render.c). */
#include <errno.h>
#include <stdlib.h>

#include "fs/model/observed.h"
#include "fs/model/snapshot.h"
#include "fs/store/store.h"
#include "slurm/slurmrest.h"
#include "tests/unit/check.h"

static struct snapshot *snap_of(struct store *st, const struct observed_state *obs)
{
    struct desired_state *ds = NULL;
    char err[128];
    CHECK_INT(st->ops->load(st->impl, &ds, err, sizeof(err)), 0);
    struct snapshot_inputs in = {.mount_region = "eu-west-1"};
    return snapshot_build(ds, obs, &in);
}

static void store_round_trip(void)
{
    struct store st;
    char err[128];
    CHECK_INT(store_mem_open(&st), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "b", 100, err, sizeof(err)), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "a", 100, err, sizeof(err)), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "a", 100, err, sizeof(err)), -EEXIST);
    struct blob *cfg = blob_from_str("[cluster default]\n");
    int gen = 0;
    CHECK_INT(st.ops->put_config(st.impl, "a", cfg, 200, &gen, err, sizeof(err)), 0);
    CHECK_INT(gen, 1);
    CHECK_INT(st.ops->put_config(st.impl, "zz", cfg, 200, &gen, err, sizeof(err)), -ENOENT);
    struct blob *h = blob_from_str("echo\n");
    CHECK_INT(st.ops->put_hook(st.impl, "a", HOOK_PRE, "20", h, 300, err, sizeof(err)), 0);
    CHECK_INT(st.ops->put_hook(st.impl, "a", HOOK_PRE, "10", h, 300, err, sizeof(err)), 0);
    CHECK_INT(st.ops->delete_hook(st.impl, "a", HOOK_POST, "10", 300, err, sizeof(err)), -ENOENT);
    CHECK_INT(st.ops->append_events(st.impl, "a", "one\n", err, sizeof(err)), 0);
    CHECK_INT(st.ops->append_events(st.impl, "a", "two\n", err, sizeof(err)), 0);
    CHECK_INT(st.ops->set_last_error(st.impl, "b", "config:1: bad", err, sizeof(err)), 0);

    struct observed_state *obs = observed_new_empty(400);
    struct snapshot *s = snap_of(&st, obs);
    CHECK(s != NULL);
    CHECK_INT(s->n, 2);
    CHECK_STR(s->clusters[0].name, "a"); /* sorted */
    const struct snap_cluster *a = snapshot_find(s, "a");
    CHECK_INT(a->status, ST_CREATE_IN_PROGRESS);
    CHECK_STR(a->status_file.content->data, "CREATE_IN_PROGRESS\n");
    CHECK_STR(a->events.content->data, "one\ntwo\n");
    CHECK_INT(a->desired->n_hooks[HOOK_PRE], 2);
    CHECK_STR(a->desired->hooks[HOOK_PRE][0].name, "10"); /* byte order */
    CHECK_CONTAINS(a->status_json.content->data, "\"generation\": 1");
    const struct snap_cluster *b = snapshot_find(s, "b");
    CHECK_INT(b->status, ST_NO_CONFIG);
    CHECK_STR(b->config->data, "");
    CHECK_CONTAINS(b->status_json.content->data, "\"last_error\": \"config:1: bad\"");
    CHECK_CONTAINS(b->status_json.content->data, "\"region\": \"eu-west-1\"");
    CHECK(snapshot_find(s, "c") == NULL);

    /* A snapshot is immutable: later changes show only in the next one. */
    CHECK_INT(st.ops->mark_deleting(st.impl, "a", err, sizeof(err)), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "a", 500, err, sizeof(err)), -EBUSY);
    struct snapshot *s2 = snap_of(&st, obs);
    CHECK_INT(snapshot_find(s, "a")->status, ST_CREATE_IN_PROGRESS);
    CHECK_INT(snapshot_find(s2, "a")->status, ST_DELETE_IN_PROGRESS);
    CHECK_INT(st.ops->remove_cluster(st.impl, "a", err, sizeof(err)), 0);
    struct snapshot *s3 = snap_of(&st, obs);
    CHECK_INT(s3->n, 1);
    snapshot_unref(s);
    snapshot_unref(s2);
    snapshot_unref(s3);
    observed_free(obs);
    blob_unref(cfg);
    blob_unref(h);
    st.ops->destroy(st.impl);
}

/* What was seen of cluster c: one node, to be filled in. */
static struct observed_state *observed_one_node(const char *cluster)
{
    struct observed_state *obs = observed_new_empty(10);
    obs->n = 1;
    obs->clusters = calloc(1, sizeof(*obs->clusters));
    obs->clusters[0].name = strdup(cluster);
    obs->clusters[0].n_nodes = 1;
    obs->clusters[0].nodes = calloc(1, sizeof(struct observed_node));
    return obs;
}

static void observed_nodes_render(void)
{
    struct store st;
    char err[128];
    CHECK_INT(store_mem_open(&st), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "c", 1, err, sizeof(err)), 0);
    struct observed_state *obs = observed_one_node("c");
    struct observed_node *n = &obs->clusters[0].nodes[0];
    n->name = strdup("head");
    n->instance_id = strdup("i-0123");
    n->ec2_state = strdup("running");
    n->private_ip = strdup("10.0.0.5");
    struct snapshot *s = snap_of(&st, obs);
    const struct snap_cluster *c = snapshot_find(s, "c");
    CHECK_INT(c->n_nodes, 1);
    const struct snap_node *head = snap_cluster_find_node(c, "head");
    CHECK_STR(snap_node_find_file(head, "instance_id")->content->data, "i-0123\n");
    CHECK_STR(snap_node_find_file(head, "ec2_state")->content->data, "running\n");
    CHECK_STR(snap_node_find_file(head, "slurm_state")->content->data, "none\n");
    CHECK_STR(snap_node_find_file(head, "instance_type")->content->data, "");
    CHECK_CONTAINS(snap_node_find_file(head, "node.json")->content->data, "\"i-0123\"");
    CHECK_CONTAINS(snap_node_find_file(head, "node.json")->content->data, "\"cpus\": null");
    CHECK_CONTAINS(snap_node_find_file(head, "node.json")->content->data, "\"slurmFlags\": []");
    CHECK_CONTAINS(c->status_json.content->data, "\"privateIpAddress\": \"10.0.0.5\"");
    CHECK_CONTAINS(c->status_json.content->data, "\"running\": 1");
    CHECK_CONTAINS(c->status_json.content->data, "\"slurm_stale\": false");
    CHECK_CONTAINS(c->status_json.content->data, "\"slurm_stale_reason\": null");
    snapshot_unref(s);
    /* slurmrestd did not answer: status.json says so and why. */
    obs->clusters[0].slurm_error = strdup("slurmrestd at http://10.0.0.5:6820 does not answer");
    s = snap_of(&st, obs);
    c = snapshot_find(s, "c");
    CHECK_CONTAINS(c->status_json.content->data, "\"slurm_stale\": true");
    CHECK_CONTAINS(c->status_json.content->data,
                   "\"slurm_stale_reason\": \"slurmrestd at http://10.0.0.5:6820 does not answer\"");
    CHECK_CONTAINS(c->status_json.content->data, "\"action_error\": null");
    snapshot_unref(s);
    /* An action held back: status.json says which and why. */
    obs->clusters[0].action_error = strdup("not launching head: the client-token lookup failed");
    s = snap_of(&st, obs);
    c = snapshot_find(s, "c");
    CHECK_CONTAINS(c->status_json.content->data,
                   "\"action_error\": \"not launching head: the client-token lookup failed\"");
    snapshot_unref(s);
    observed_free(obs);
    st.ops->destroy(st.impl);
}

/* node.json carries what Slurm says of a node (DESIGN section 1). */
static void node_json_has_slurm_facts(void)
{
    struct store st;
    char err[128];
    CHECK_INT(store_mem_open(&st), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "c", 1, err, sizeof(err)), 0);
    struct observed_state *obs = observed_one_node("c");
    struct observed_node *n = &obs->clusters[0].nodes[0];
    n->name = strdup("compute-st-t2micro-1");
    char *flags[] = {"CLOUD", "DRAIN"}, *parts[] = {"compute", "debug"};
    struct slurmrest_node sn = {.state = "drained", .base = "IDLE", .flags = flags, .nflags = 2,
                                .partitions = parts, .npartitions = 2,
                                .reason = "disk full", .cpus = 2, .real_memory_mb = 950};
    CHECK_INT(observed_node_set_slurm(n, &sn), 0);
    struct snapshot *s = snap_of(&st, obs);
    const struct snap_node *node =
        snap_cluster_find_node(snapshot_find(s, "c"), "compute-st-t2micro-1");
    const char *json = snap_node_find_file(node, "node.json")->content->data;
    CHECK_CONTAINS(json, "\"cpus\": 2,");
    CHECK_CONTAINS(json, "\"memoryMiB\": 950,");
    CHECK_CONTAINS(json, "\"partitions\": [\n    \"compute\",\n    \"debug\"\n  ]");
    CHECK_CONTAINS(json, "\"reason\": \"disk full\"");
    CHECK_CONTAINS(json, "\"slurmFlags\": [\n    \"CLOUD\",\n    \"DRAIN\"\n  ]");
    CHECK_CONTAINS(json, "\"slurmState\": \"drained\"");
    CHECK_STR(snap_node_find_file(node, "slurm_state")->content->data, "drained\n");
    snapshot_unref(s);
    CHECK_INT(observed_node_set_slurm(n, NULL), 0); /* gone from Slurm */
    CHECK_STR(n->slurm_state, "none");
    CHECK_INT((int)n->n_slurm_flags, 0);
    observed_free(obs);
    st.ops->destroy(st.impl);
}

/* Losing sight of Slurm does not turn a created cluster back into one
 * being created; an update that was never seen complete stays in progress. */
static void status_without_slurm(void)
{
    struct desired_cluster dc = {.generation = 1, .first_complete = 1};
    dc.config = blob_new("x", 1);
    struct observed_cluster oc = {0};
    CHECK_INT(status_derive(&dc, &oc), ST_CREATE_IN_PROGRESS);
    oc.slurm_error = (char *)"slurmrestd does not answer";
    CHECK_INT(status_derive(&dc, &oc), ST_CREATE_COMPLETE);
    dc.first_complete = 0;
    CHECK_INT(status_derive(&dc, &oc), ST_CREATE_IN_PROGRESS);
    dc.first_complete = 1;
    dc.generation = 2;
    CHECK_INT(status_derive(&dc, &oc), ST_UPDATE_IN_PROGRESS);
    blob_unref(dc.config);
}

/* Only a cluster that never completed can fail its creation; after that a
 * failure leaves it running, as UPDATE_FAILED. */
static void status_of_failures(void)
{
    struct desired_cluster dc = {.generation = 1, .failure_code = (char *)"X"};
    dc.config = blob_new("x", 1);
    CHECK_INT(status_derive(&dc, NULL), ST_CREATE_FAILED);
    dc.first_complete = 1; /* a node it could not bring back, same generation */
    CHECK_INT(status_derive(&dc, NULL), ST_UPDATE_FAILED);
    dc.generation = 2;
    CHECK_INT(status_derive(&dc, NULL), ST_UPDATE_FAILED);
    blob_unref(dc.config);
}

int main(void)
{
    RUN(store_round_trip);
    RUN(observed_nodes_render);
    RUN(status_without_slurm);
    RUN(status_of_failures);
    RUN(node_json_has_slurm_facts);
    return check_finish();
}
