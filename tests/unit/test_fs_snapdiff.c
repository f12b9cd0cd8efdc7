/* Unit tests of snapdiff (fs/snapdiff.c) and of the mtimes snapshots carry
 * over (fs/snapshot.c): what a swap must invalidate in the kernel's cache,
 * and nothing that did not change, so a big tree stays cached. */
#include <stdlib.h>
#include <string.h>

#include "fs/model/observed.h"
#include "fs/model/snapdiff.h"
#include "fs/model/snapshot.h"
#include "fs/store/store.h"
#include "slurm/slurmrest.h"
#include "tests/unit/check.h"

struct seen {
    char paths[64][128];
    size_t n;
};

static void collect(const char *path, void *arg)
{
    struct seen *s = arg;
    if (s->n < 64)
        snprintf(s->paths[s->n++], sizeof(s->paths[0]), "%s", path);
}

static bool has(const struct seen *s, const char *path)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->paths[i], path) == 0)
            return true;
    return false;
}

/* An observation at time t of cluster "a" with nodes head and c-1. */
static struct observed_state *observe(time_t t, const char *c1_state)
{
    struct observed_state *obs = observed_new_empty(t);
    obs->n = 1;
    obs->clusters = calloc(1, sizeof(*obs->clusters));
    obs->clusters[0].name = strdup("a");
    obs->clusters[0].n_nodes = 2;
    obs->clusters[0].nodes = calloc(2, sizeof(struct observed_node));
    const char *names[] = {"c-1", "head"}, *states[] = {c1_state, "running"};
    for (int i = 0; i < 2; i++) {
        struct observed_node *n = &obs->clusters[0].nodes[i];
        n->name = strdup(names[i]);
        n->instance_id = strdup(i ? "i-0head" : "i-0c1");
        n->ec2_state = strdup(states[i]);
    }
    return obs;
}

static struct snapshot *build(struct store *st, const struct observed_state *obs,
                              const struct snapshot *prev)
{
    struct desired_state *ds = NULL;
    char err[128];
    CHECK_INT(st->ops->load(st->impl, &ds, err, sizeof(err)), 0);
    struct snapshot_inputs in = {.mount_region = "eu-west-1", .prev = prev};
    return snapshot_build(ds, obs, &in);
}

static void unchanged_files_keep_their_mtime(void)
{
    struct store st;
    char err[128];
    CHECK_INT(store_mem_open(&st), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "a", 1, err, sizeof(err)), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "b", 1, err, sizeof(err)), 0);
    struct observed_state *o1 = observe(100, "running"), *o2 = observe(110, "running"),
                          *o3 = observe(120, "shutting-down");
    struct snapshot *s1 = build(&st, o1, NULL);
    struct snapshot *s2 = build(&st, o2, s1);
    const struct snap_node *h2 = snap_cluster_find_node(snapshot_find(s2, "a"), "head");
    CHECK_INT(snap_node_find_file(h2, "ec2_state")->mtime, 100); /* same bytes */
    CHECK_INT(h2->mtime, 100);

    struct seen d = {0};
    snapdiff(s1, s2, collect, &d);
    /* Same clusters, same nodes: the directories' cached listings stay. */
    CHECK(!has(&d, "/"));
    CHECK(!has(&d, "/a/nodes"));
    CHECK_INT(s2->root_mtime, 100);
    CHECK_INT(snapshot_find(s2, "a")->nodes_mtime, 100);
    CHECK(has(&d, "/a/status.json"));
    CHECK(!has(&d, "/a/nodes/head"));
    CHECK(!has(&d, "/a/nodes/head/ec2_state"));
    CHECK(!has(&d, "/a/status"));

    /* c-1 leaves: its state file and its node's files differ; head does not. */
    struct snapshot *s3 = build(&st, o3, s2);
    struct seen d3 = {0};
    snapdiff(s2, s3, collect, &d3);
    CHECK(has(&d3, "/a/nodes/c-1"));
    CHECK(has(&d3, "/a/nodes/c-1/ec2_state"));
    CHECK(has(&d3, "/a/nodes/c-1/node.json"));
    CHECK(!has(&d3, "/a/nodes/c-1/instance_id"));
    CHECK(!has(&d3, "/a/nodes/head/ec2_state"));
    CHECK_INT(snap_node_find_file(snap_cluster_find_node(snapshot_find(s3, "a"), "c-1"),
                                  "ec2_state")->mtime, 120);

    /* A cluster that goes: everything under it. A config: its size. */
    struct blob *cfg = blob_from_str("[cluster default]\n");
    int gen = 0;
    CHECK_INT(st.ops->put_config(st.impl, "a", cfg, 130, &gen, err, sizeof(err)), 0);
    CHECK_INT(st.ops->remove_cluster(st.impl, "b", err, sizeof(err)), 0);
    struct snapshot *s4 = build(&st, o3, s3);
    struct seen d4 = {0};
    snapdiff(s3, s4, collect, &d4);
    CHECK(has(&d4, "/a/config"));
    CHECK(has(&d4, "/a/status"));
    CHECK(has(&d4, "/"));       /* b left the listing */
    CHECK(has(&d4, "/b"));
    CHECK(has(&d4, "/b/config"));
    CHECK(has(&d4, "/b/hooks/pre"));
    CHECK(!has(&d4, "/a/nodes/head/ec2_state"));

    blob_unref(cfg);
    snapshot_unref(s1);
    snapshot_unref(s2);
    snapshot_unref(s3);
    snapshot_unref(s4);
    observed_free(o1);
    observed_free(o2);
    observed_free(o3);
    st.ops->destroy(st.impl);
}

/* Gives cluster "a" of obs the jobs ids[0..n) in states states[]. */
static void with_jobs(struct observed_state *obs, const int64_t *ids, const char *const *states,
                      size_t n)
{
    struct slurmrest_job_list *l = calloc(1, sizeof(*l));
    l->jobs = calloc(n ? n : 1, sizeof(*l->jobs));
    l->count = n;
    for (size_t i = 0; i < n; i++) {
        struct slurmrest_job *j = &l->jobs[i];
        j->job_id = ids[i];
        j->name = strdup("train.sh");
        j->user = strdup("ec2-user");
        j->state = strdup(states[i]);
        j->reason = strdup(strcmp(states[i], "PENDING") == 0 ? "Resources" : "None");
        j->nodes = strdup(strcmp(states[i], "PENDING") == 0 ? "" : "compute-st-t2micro-[1-2]");
        j->partition = strdup("compute");
        j->exit_code = strcmp(states[i], "FAILED") == 0 ? 3 : 0;
        j->cpus = 2;
        j->node_count = 2;
        j->submit_time = 1700000000;
    }
    obs->clusters[0].jobs = l;
}

static const char *file_text(const struct snap_node *dir, const char *name)
{
    const struct snap_file *f = dir ? snap_node_find_file(dir, name) : NULL;
    static char buf[256];
    snprintf(buf, sizeof(buf), "%.*s", f ? (int)f->content->len : 0, f ? f->content->data : "");
    return buf;
}

/* jobs/<id>/ as Slurm's view lists them: one-value files, an exit code
 * only once the job has ended, sorted by name, and a swap invalidates a
 * job whose state changed and jobs/ when the set of ids did. */
static void jobs_show_slurms_view(void)
{
    struct store st;
    char err[128];
    CHECK_INT(store_mem_open(&st), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "a", 1, err, sizeof(err)), 0);
    struct observed_state *o1 = observe(100, "running"), *o2 = observe(110, "running"),
                          *o3 = observe(120, "running");
    const int64_t ids1[] = {9, 10}, ids3[] = {9, 10, 11};
    const char *const st1[] = {"RUNNING", "PENDING"}, *const st2[] = {"RUNNING", "RUNNING"},
                      *const st3[] = {"COMPLETED", "FAILED", "PENDING"};
    with_jobs(o1, ids1, st1, 2);
    free(o1->clusters[0].jobs->jobs[0].name); /* a job's name is its submitter's words */
    o1->clusters[0].jobs->jobs[0].name = strdup("\x1b]0;owned\x07ok\x1b[2J");
    with_jobs(o2, ids1, st2, 2);
    free(o2->clusters[0].jobs->jobs[0].name);
    o2->clusters[0].jobs->jobs[0].name = strdup("\x1b]0;owned\x07ok\x1b[2J");
    with_jobs(o3, ids3, st3, 3);
    struct snapshot *s1 = build(&st, o1, NULL);
    const struct snap_cluster *a1 = snapshot_find(s1, "a");
    CHECK_INT((int)a1->n_jobs, 2);
    CHECK_STR(a1->jobs[0].name, "10"); /* by name, as lookups expect */
    CHECK_STR(file_text(snap_cluster_find_job(a1, "9"), "state"), "RUNNING\n");
    CHECK_STR(file_text(snap_cluster_find_job(a1, "9"), "exit_code"), "");
    CHECK_STR(file_text(snap_cluster_find_job(a1, "10"), "reason"), "Resources\n");
    CHECK_STR(file_text(snap_cluster_find_job(a1, "10"), "nodes"), "");
    CHECK(strstr(file_text(snap_cluster_find_job(a1, "9"), "job.json"), "\"exitCode\": null"));
    CHECK(snap_cluster_find_job(a1, "11") == NULL);
    CHECK_STR(file_text(snap_cluster_find_job(a1, "9"), "name"), "ok\n");

    struct snapshot *s2 = build(&st, o2, s1);
    struct seen d2 = {0};
    snapdiff(s1, s2, collect, &d2);
    CHECK(!has(&d2, "/a/jobs")); /* same ids: the listing stays cached */
    CHECK(has(&d2, "/a/jobs/10/state"));
    CHECK(!has(&d2, "/a/jobs/9/state"));
    CHECK(!has(&d2, "/a/jobs/9"));
    CHECK_INT(snapshot_find(s2, "a")->jobs_mtime, 100);

    struct snapshot *s3 = build(&st, o3, s2);
    struct seen d3 = {0};
    snapdiff(s2, s3, collect, &d3);
    CHECK(has(&d3, "/a/jobs"));
    CHECK(has(&d3, "/a/jobs/11"));
    CHECK(has(&d3, "/a/jobs/9/exit_code"));
    const struct snap_cluster *a3 = snapshot_find(s3, "a");
    CHECK_STR(file_text(snap_cluster_find_job(a3, "9"), "exit_code"), "0\n");
    CHECK_STR(file_text(snap_cluster_find_job(a3, "10"), "exit_code"), "3\n");
    CHECK_STR(file_text(snap_cluster_find_job(a3, "10"), "state"), "FAILED\n");
    CHECK(strstr(file_text(snap_cluster_find_job(a3, "10"), "job.json"), "\"exitCode\": 3"));

    snapshot_unref(s1);
    snapshot_unref(s2);
    snapshot_unref(s3);
    observed_free(o1);
    observed_free(o2);
    observed_free(o3);
    st.ops->destroy(st.impl);
}

int main(void)
{
    RUN(unchanged_files_keep_their_mtime);
    RUN(jobs_show_slurms_view);
    return check_finish();
}
