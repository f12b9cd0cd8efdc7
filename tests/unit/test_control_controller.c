/* The controller itself (fs/control/controller.c) and the commits that feed
 * it (fs/control/commit.c), over the in-memory cloud: a mount as fs/main.c
 * builds it, its store the bucket store (store_s3) on the cloud's bucket so
 * node reports and verdicts meet as in S3, or with no cloud the memory
 * store (-o memory); the cloud injected, driven by commits and by
 * controller_refresh (the controller thread's pass, run in the test's
 * thread). Crash points are a controller freed mid-way and a new one made
 * on the same cloud and bucket, as a restarted mount would. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/control/cloud_mem.h"
#include "fs/control/commit.h"
#include "fs/control/controller.h"
#include "fs/model/status.h"
#include "fs/store/bucket_mem.h"
#include "fs/store/layout.h"
#include "fs/store/store_s3.h"
#include "tests/unit/check.h"

#define REGION "ap-northeast-1"

static const char config_text[] = "[aws]\naws_region_name = " REGION "\n\n"
                                  "[cluster default]\nkey_name = k\nvpc_settings = public\n"
                                  "base_os = alinux2\nscheduler = slurm\n"
                                  "master_instance_type = t3.small\n"
                                  "compute_instance_type = t2.micro\n"
                                  "initial_queue_size = 0\nmax_queue_size = 2\n"
                                  "\n[vpc public]\nvpc_id = vpc-0123456789abcdef0\n"
                                  "master_subnet_id = subnet-0123456789abcdef0\n";

/* One mount: its context and controller, on a cloud (NULL: -o memory). */
struct mount {
    struct pcfs fs;
    struct cloud *cloud;
};

/* The bucket store on the cloud's bucket, shared by every mount of a test. */
static void bucket_store(struct store *out, struct cloud *cl)
{
    char err[256];
    CHECK_INT(store_s3_open_on(out, &cl->objects, err, sizeof(err)), 0);
}

static void mount_open(struct mount *m, struct store *shared, struct cloud *cloud)
{
    memset(m, 0, sizeof(*m));
    m->cloud = cloud;
    m->fs.mount_region = REGION;
    pthread_mutex_init(&m->fs.commit_lock, NULL);
    memfile_table_init(&m->fs.memfiles);
    if (shared)
        m->fs.store = *shared;
    else
        CHECK_INT(store_mem_open(&m->fs.store), 0);
    struct snapshot *empty = snapshot_build(calloc(1, sizeof(struct desired_state)),
                                            &(struct observed_state){.observed_at = time(NULL)},
                                            &(struct snapshot_inputs){.mount_region = REGION});
    CHECK(empty != NULL);
    snapshot_holder_init(&m->fs.snaps, empty);
    struct controller_deps deps = {.cloud = cloud,
                                   .owner = "bk",
                                   .account = "123456789012",
                                   .bootstrap_timeout = 1800,
                                   .store = &m->fs.store,
                                   .snaps = &m->fs.snaps,
                                   .memfiles = &m->fs.memfiles,
                                   .mount_region = REGION,
                                   .refresh_seconds = 1};
    m->fs.controller = controller_new(&deps);
    CHECK(m->fs.controller != NULL);
}

/* Unmounts (or, for a crash, just stops: the state stays where it is). */
static void mount_close(struct mount *m, bool owns_store)
{
    controller_free(m->fs.controller);
    snapshot_holder_destroy(&m->fs.snaps);
    memfile_table_destroy(&m->fs.memfiles);
    pthread_mutex_destroy(&m->fs.commit_lock);
    if (owns_store)
        m->fs.store.ops->destroy(m->fs.store.impl);
}

static void refresh(struct mount *m)
{
    char err[512];
    CHECK_INT(controller_refresh(m->fs.controller, err, sizeof(err)), 0);
}

static enum cluster_status status_of(struct mount *m, const char *cluster)
{
    struct snapshot *s = snapshot_holder_get(&m->fs.snaps);
    const struct snap_cluster *c = snapshot_find(s, cluster);
    enum cluster_status st = c ? c->status : (enum cluster_status)-1;
    snapshot_unref(s);
    return st;
}

static bool has_cluster(struct mount *m, const char *cluster)
{
    struct snapshot *s = snapshot_holder_get(&m->fs.snaps);
    bool found = snapshot_find(s, cluster) != NULL;
    snapshot_unref(s);
    return found;
}

/* The cluster's events and last_error, as the published snapshot holds them. */
static void events_of(struct mount *m, const char *cluster, char *out, size_t len)
{
    struct snapshot *s = snapshot_holder_get(&m->fs.snaps);
    const struct snap_cluster *c = snapshot_find(s, cluster);
    const struct blob *ev = c ? c->desired->events : NULL;
    snprintf(out, len, "%.*s|%s", ev ? (int)ev->len : 0, ev ? ev->data : "",
             c && c->desired->last_error ? c->desired->last_error : "");
    snapshot_unref(s);
}

static void report(struct cloud *cl, const char *node, const char *state)
{
    const char *id = NULL;
    CHECK_INT(cloud_mem_live(cl, node, &id), 1);
    if (!id)
        return;
    const char *attempt = cloud_mem_tag(cl, id, "pclusterfs:attempt");
    char body[256], err[256];
    snprintf(body, sizeof(body), "state %s\nattempt %s\ninstance %s\n--\n", state,
             attempt ? attempt : "0", id);
    char *key = layout_report_key("c", node);
    CHECK_INT(cloud_put(cl, key, body, strlen(body), NULL, err, sizeof(err)), 0);
    free(key);
}

static void create(struct mount *m)
{
    CHECK_INT(commit_create_cluster(&m->fs, "c"), 0);
    CHECK_INT(commit_config(&m->fs, "c", config_text, strlen(config_text)), 0);
}

/* A mount on the in-memory cloud with the bucket store, cluster "c"
 * created with config_text: where most tests start. */
struct world {
    struct cloud cl;
    struct store store;
    struct mount m;
};

static void world_open(struct world *w)
{
    CHECK_INT(cloud_mem_init(&w->cl, "bk"), 0);
    bucket_store(&w->store, &w->cl);
    mount_open(&w->m, &w->store, &w->cl);
    create(&w->m);
}

static void world_close(struct world *w)
{
    mount_close(&w->m, true);
    cloud_mem_destroy(&w->cl);
}

static void whole_loop(void)
{
    /* A commit publishes at once; the pass launches the head, and the
     * cluster completes once the head reports done and Slurm answers. */
    struct world w;
    world_open(&w);
    CHECK_INT(status_of(&w.m, "c"), ST_CREATE_IN_PROGRESS);
    refresh(&w.m);
    CHECK_INT(cloud_mem_runs(&w.cl), 1);
    CHECK_INT(cloud_mem_live(&w.cl, "head", NULL), 1);
    CHECK(cloud_mem_object(&w.cl, layout_lease_key(), NULL) != NULL);
    cloud_mem_settle(&w.cl);
    report(&w.cl, "head", "done");
    cloud_mem_slurm_up(&w.cl, true);
    /* The verdict's first write fails: it is written by a later pass. */
    bucket_mem_fail(&w.cl.objects, "/completed", 0, 1, -ETIMEDOUT, false);
    refresh(&w.m);
    CHECK(cloud_mem_object(&w.cl, "clusters/c/completed", NULL) == NULL);
    char ev[16384];
    events_of(&w.m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "recording that the cluster is complete") != NULL);
    refresh(&w.m);
    CHECK_INT(status_of(&w.m, "c"), ST_CREATE_COMPLETE);
    CHECK_INT(cloud_mem_runs(&w.cl), 1);
    mount_close(&w.m, true);
    CHECK(cloud_mem_object(&w.cl, "clusters/c/completed", NULL) != NULL);
    /* Unmounting gave the lease up (expired it): the next mount takes over
     * at once. */
    const char *lease = cloud_mem_object(&w.cl, layout_lease_key(), NULL);
    CHECK(lease && strstr(lease, " 0\n") != NULL);
    cloud_mem_destroy(&w.cl);
}

/* A mount dies after the pass recorded its intent and sent RunInstances
 * (`what` says how far the call got); a new mount on the same bucket and
 * cloud must end with one head, never two. */
static void crash_and_restart(enum cloud_mem_run what)
{
    struct world w;
    world_open(&w);
    cloud_mem_next_run(&w.cl, what, NULL);
    refresh(&w.m);
    CHECK_INT(cloud_mem_runs(&w.cl), what == CLOUD_MEM_RUN_ANSWER_LOST ? 1 : 0);
    mount_close(&w.m, false); /* the crash: nothing cleaned up but memory */
    /* A dead mount gives no lease up; its lease lapses (time passes). */
    char err[256];
    const char lapsed[] = "dead-mount 1\n";
    CHECK_INT(cloud_put(&w.cl, layout_lease_key(), lapsed, strlen(lapsed), NULL, err, sizeof(err)),
              0);
    mount_open(&w.m, &w.store, &w.cl);
    refresh(&w.m);
    refresh(&w.m);
    CHECK_INT(cloud_mem_live(&w.cl, "head", NULL), 1);
    CHECK_INT(cloud_mem_runs(&w.cl), 1);
    CHECK_INT(status_of(&w.m, "c"), ST_CREATE_IN_PROGRESS);
    world_close(&w);
}

static void crash_before_launch(void)
{
    /* Rule: a launch whose request never arrived is made again, once. */
    crash_and_restart(CLOUD_MEM_RUN_LOST);
}

static void crash_after_launch(void)
{
    /* Rule: a launch whose answer was lost is found by its client token or
     * tags, not made twice. */
    crash_and_restart(CLOUD_MEM_RUN_ANSWER_LOST);
}

static void lease_between_mounts(void)
{
    /* Rule: only the lease holder acts; the other mount takes over once the
     * holder unmounts. */
    struct cloud cl;
    CHECK_INT(cloud_mem_init(&cl, "bk"), 0);
    struct store store;
    bucket_store(&store, &cl);
    struct mount a, b;
    mount_open(&a, &store, &cl);
    mount_open(&b, &store, &cl);
    refresh(&a); /* a takes the lease with nothing to do */
    create(&b);
    refresh(&b);
    CHECK_INT(cloud_mem_runs(&cl), 0);
    CHECK_INT(status_of(&b, "c"), ST_CREATE_IN_PROGRESS);
    refresh(&a);
    CHECK_INT(cloud_mem_runs(&cl), 1);
    mount_close(&a, false);
    cloud_mem_settle(&cl);
    report(&cl, "head", "done");
    cloud_mem_slurm_up(&cl, true);
    refresh(&b);
    refresh(&b);
    CHECK_INT(status_of(&b, "c"), ST_CREATE_COMPLETE);
    CHECK_INT(cloud_mem_runs(&cl), 1);
    mount_close(&b, true);
    cloud_mem_destroy(&cl);
}

static void deletion(void)
{
    /* Rule: delete terminates every instance, then removes the state. */
    struct world w;
    world_open(&w);
    refresh(&w.m);
    CHECK_INT(cloud_mem_live(&w.cl, "head", NULL), 1);
    CHECK_INT(commit_delete_cluster(&w.m.fs, "c"), 0);
    CHECK_INT(status_of(&w.m, "c"), ST_DELETE_IN_PROGRESS);
    CHECK_INT(commit_delete_cluster(&w.m.fs, "c"), 0); /* again: nothing new */
    /* EC2 refuses the first TerminateInstances: told, and tried again. */
    cloud_mem_terminate_fails(&w.cl, 1);
    refresh(&w.m);
    CHECK_INT(cloud_mem_live(&w.cl, "head", NULL), 1);
    char ev[8192];
    events_of(&w.m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "UnauthorizedOperation") != NULL);
    refresh(&w.m);
    CHECK_INT(cloud_mem_live(&w.cl, "head", NULL), 0);
    events_of(&w.m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "terminating i-") != NULL);
    CHECK(has_cluster(&w.m, "c"));
    cloud_mem_settle(&w.cl);
    /* The state's removal fails once: told, the cluster stays, and the
     * next pass removes it. */
    bucket_mem_fail(&w.cl.objects, "clusters/c/config", 0, 1, -ETIMEDOUT, false);
    refresh(&w.m);
    CHECK(has_cluster(&w.m, "c"));
    events_of(&w.m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "deleting the cluster's state") != NULL);
    refresh(&w.m);
    CHECK(!has_cluster(&w.m, "c"));
    CHECK_INT(commit_delete_cluster(&w.m.fs, "c"), -ENOENT);
    const char *left[4];
    CHECK_INT(cloud_mem_keys(&w.cl, "clusters/c/", left, 4), 0);
    world_close(&w);
}

static void memory_mount(void)
{
    /* With no cloud a deletion has nothing to wait for: rmdir removes the
     * cluster at once; the refresh thread starts, is woken and stops. */
    struct mount m;
    mount_open(&m, NULL, NULL);
    CHECK_INT(controller_start(m.fs.controller), 0);
    create(&m);
    CHECK_INT(status_of(&m, "c"), ST_CREATE_IN_PROGRESS);
    CHECK_INT(commit_create_cluster(&m.fs, "c"), -EEXIST);
    CHECK_INT(commit_delete_cluster(&m.fs, "c"), 0);
    CHECK(!has_cluster(&m, "c"));
    controller_wake(m.fs.controller);
    refresh(&m);
    mount_close(&m, true);
}

static void commits(void)
{
    /* Commits validate first and change nothing on failure; failures are
     * told in events and last_error, and a good commit clears it. */
    struct mount m;
    mount_open(&m, NULL, NULL);
    CHECK_INT(commit_config(&m.fs, "nosuch", config_text, strlen(config_text)), -ENOENT);
    CHECK_INT(commit_create_cluster(&m.fs, "bad/name"), -EINVAL);
    create(&m);
    char ev[8192];
    const char broken[] = "[cluster default]\nno_such_key = 1\n";
    CHECK(commit_config(&m.fs, "c", broken, strlen(broken)) < 0);
    events_of(&m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "no_such_key") != NULL);
    struct snapshot *s = snapshot_holder_get(&m.fs.snaps);
    CHECK_INT(snapshot_find(s, "c")->desired->generation, 1);
    snapshot_unref(s);
    /* The same bytes again are no new generation; a good change clears
     * last_error. */
    CHECK_INT(commit_config(&m.fs, "c", config_text, strlen(config_text)), 0);
    char grown[sizeof(config_text) + 32];
    snprintf(grown, sizeof(grown), "%s", config_text);
    memcpy(strstr(grown, "max_queue_size = 2"), "max_queue_size = 3", 18);
    CHECK_INT(commit_config(&m.fs, "c", grown, strlen(grown)), 0);
    events_of(&m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "|") && strstr(ev, "|")[1] == '\0'); /* last_error cleared */
    /* A change the update rules refuse (the head's type) is refused. */
    char changed[sizeof(config_text) + 16];
    snprintf(changed, sizeof(changed), "%s", config_text);
    char *t = strstr(changed, "t3.small");
    memcpy(t, "t3.large", 8);
    int rc = commit_config(&m.fs, "c", changed, strlen(changed));
    s = snapshot_holder_get(&m.fs.snaps);
    int generation = snapshot_find(s, "c")->desired->generation;
    snapshot_unref(s);
    CHECK_INT(rc, -EINVAL);
    CHECK_INT(generation, 2);
    /* Hooks: written, replaced, removed, and the absent one refused. */
    const char hook[] = "#!/bin/sh\necho hi\n";
    CHECK_INT(commit_hook(&m.fs, "c", HOOK_PRE, "10-hi", hook, strlen(hook)), 0);
    CHECK_INT(commit_hook(&m.fs, "c", HOOK_PRE, "10-hi", "x", 1), 0);
    s = snapshot_holder_get(&m.fs.snaps);
    const struct desired_hook *h = desired_find_hook(snapshot_find(s, "c")->desired, HOOK_PRE,
                                                     "10-hi");
    CHECK(h && h->content->len == 1);
    snapshot_unref(s);
    CHECK_INT(commit_delete_hook(&m.fs, "c", HOOK_PRE, "10-hi"), 0);
    CHECK_INT(commit_delete_hook(&m.fs, "c", HOOK_PRE, "10-hi"), -ENOENT);
    CHECK_INT(commit_refuse(&m.fs, "c", -EFBIG, "hooks/pre/big: over %d bytes", 10), -EFBIG);
    events_of(&m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "over 10 bytes") != NULL);
    mount_close(&m, true);
}

static bool stale_in(struct mount *m, const char *cluster)
{
    struct snapshot *s = snapshot_holder_get(&m->fs.snaps);
    const struct snap_cluster *c = snapshot_find(s, cluster);
    const struct blob *j = c ? c->status_json.content : NULL;
    bool stale = j && strstr(j->data, "\"stale\": true") != NULL;
    snapshot_unref(s);
    return stale;
}

static void bucket_or_ec2_away(void)
{
    /* Rule: nothing is done on an old view. With the bucket away the pass
     * publishes the last known state, stale, and launches nothing; with EC2
     * away it keeps the last observation, stale, and acts on nothing. */
    struct world w;
    world_open(&w);
    bucket_mem_fail(&w.cl.objects, NULL, 0, 1000, -ETIMEDOUT, false);
    char err[512];
    CHECK_INT(controller_refresh(w.m.fs.controller, err, sizeof(err)), 0);
    CHECK(has_cluster(&w.m, "c"));
    CHECK(stale_in(&w.m, "c"));
    CHECK_INT(cloud_mem_runs(&w.cl), 0);
    bucket_mem_fail(&w.cl.objects, NULL, 0, 0, 0, false);
    cloud_mem_ec2_down(&w.cl, 1);
    refresh(&w.m);
    CHECK(stale_in(&w.m, "c"));
    CHECK_INT(cloud_mem_runs(&w.cl), 0);
    refresh(&w.m);
    CHECK(!stale_in(&w.m, "c"));
    CHECK_INT(cloud_mem_runs(&w.cl), 1);
    world_close(&w);
}

static void bucket_fails_mid_pass(void)
{
    /* A launch is held back, not made blind, when its intent cannot be
     * read or written; once the bucket answers it is made, once. */
    struct world w;
    world_open(&w);
    bucket_mem_fail(&w.cl.objects, "/launch/", 0, 1, -ETIMEDOUT, false);
    refresh(&w.m);
    CHECK_INT(cloud_mem_runs(&w.cl), 0);
    char ev[16384];
    events_of(&w.m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "its launch intent cannot be read") != NULL);
    bucket_mem_fail(&w.cl.objects, "/launch/", 1, 1, -ETIMEDOUT, false);
    refresh(&w.m);
    CHECK_INT(cloud_mem_runs(&w.cl), 0);
    events_of(&w.m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "writing its launch intent") != NULL);
    refresh(&w.m);
    refresh(&w.m);
    CHECK_INT(cloud_mem_runs(&w.cl), 1);
    CHECK_INT(cloud_mem_live(&w.cl, "head", NULL), 1);
    world_close(&w);
}

static void stored_config_unparsable(void)
{
    /* Rule: only validated configs are acted on. One that no longer parses
     * (written by another version) holds the cluster back, saying why. */
    struct world w;
    world_open(&w);
    char *key = layout_key("c", LAYOUT_CONFIG), err[256];
    const char bad[] = "[cluster default]\nno_such_key = 1\n";
    CHECK_INT(cloud_put(&w.cl, key, bad, strlen(bad), NULL, err, sizeof(err)), 0);
    free(key);
    refresh(&w.m);
    CHECK_INT(cloud_mem_runs(&w.cl), 0);
    char ev[16384];
    events_of(&w.m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "not acting: the stored config does not parse") != NULL);
    world_close(&w);
}

static void no_capacity(void)
{
    /* Rule: no capacity is a try that counts: retried, told with its count. */
    struct world w;
    world_open(&w);
    cloud_mem_next_run(&w.cl, CLOUD_MEM_RUN_REFUSED, "InsufficientInstanceCapacity");
    refresh(&w.m);
    CHECK_INT(cloud_mem_runs(&w.cl), 0);
    char ev[16384];
    events_of(&w.m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "will retry (try 1 of") != NULL);
    refresh(&w.m);
    CHECK_INT(cloud_mem_runs(&w.cl), 1);
    world_close(&w);
}

static void two_regions(void)
{
    /* Every cluster's region is observed: a cluster elsewhere than the
     * mount's region gets its head there. */
    struct cloud cl;
    CHECK_INT(cloud_mem_init(&cl, "bk"), 0);
    struct store store;
    bucket_store(&store, &cl);
    struct mount m;
    mount_open(&m, &store, &cl);
    char text[sizeof(config_text)];
    snprintf(text, sizeof(text), "%s", config_text);
    memcpy(strstr(text, REGION), "eu-west-1     ", strlen(REGION));
    CHECK_INT(commit_create_cluster(&m.fs, "c"), 0);
    CHECK_INT(commit_config(&m.fs, "c", text, strlen(text)), 0);
    refresh(&m);
    const char *id = NULL;
    CHECK_INT(cloud_mem_live(&cl, "head", &id), 1);
    refresh(&m); /* the head is seen in its region: no second launch */
    CHECK_INT(cloud_mem_runs(&cl), 1);
    mount_close(&m, true);
    cloud_mem_destroy(&cl);
}

static void refresh_thread(void)
{
    /* The thread runs a pass when woken (the commit path's wake). */
    struct mount m;
    mount_open(&m, NULL, NULL);
    struct snapshot *before = snapshot_holder_get(&m.fs.snaps);
    CHECK_INT(controller_start(m.fs.controller), 0);
    bool swapped = false;
    for (int i = 0; i < 500 && !swapped; i++) {
        controller_wake(m.fs.controller);
        struct timespec ms10 = {0, 10 * 1000 * 1000};
        nanosleep(&ms10, NULL);
        struct snapshot *now = snapshot_holder_get(&m.fs.snaps);
        swapped = now != before;
        snapshot_unref(now);
    }
    CHECK(swapped);
    snapshot_unref(before);
    mount_close(&m, true);
}

static void commit_limits(void)
{
    /* Refused before anything is stored: a config or hook over its limit,
     * a bad hook name, a full hooks/ stage; a store that fails is -EIO
     * with the reason in events. */
    struct cloud cl;
    CHECK_INT(cloud_mem_init(&cl, "bk"), 0);
    struct store store;
    bucket_store(&store, &cl);
    struct mount m;
    mount_open(&m, &store, NULL);
    create(&m);
    char *big = calloc(1, HOOK_MAX_BYTES + 2);
    memset(big, '#', HOOK_MAX_BYTES + 1);
    CHECK_INT(commit_config(&m.fs, "c", big, CONFIG_MAX_BYTES + 1), -EFBIG);
    CHECK_INT(commit_hook(&m.fs, "c", HOOK_PRE, "big", big, HOOK_MAX_BYTES + 1), -EFBIG);
    free(big);
    CHECK_INT(commit_hook(&m.fs, "c", HOOK_PRE, "..", "x", 1), -EINVAL);
    CHECK_INT(commit_hook(&m.fs, "nosuch", HOOK_PRE, "x", "x", 1), -ENOENT);
    CHECK_INT(commit_hook(&m.fs, "c", HOOK_PRE, "same", "x", 1), 0);
    CHECK_INT(commit_hook(&m.fs, "c", HOOK_PRE, "same", "x", 1), 0); /* no change */
    for (int i = 1; i < HOOKS_PER_STAGE_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "h%03d", i);
        CHECK_INT(commit_hook(&m.fs, "c", HOOK_POST, name, "x", 1), 0);
    }
    CHECK_INT(commit_hook(&m.fs, "c", HOOK_POST, "h999", "x", 1), 0);
    CHECK_INT(commit_hook(&m.fs, "c", HOOK_POST, "h998", "x", 1), -ENOSPC);
    bucket_mem_fail(&cl.objects, NULL, 0, 3, -ETIMEDOUT, false);
    CHECK_INT(commit_hook(&m.fs, "c", HOOK_PRE, "late", "x", 1), -EIO);
    bucket_mem_fail(&cl.objects, NULL, 0, 3, -ETIMEDOUT, false);
    CHECK_INT(commit_delete_hook(&m.fs, "c", HOOK_PRE, "same"), -EIO);
    char grown[sizeof(config_text) + 32];
    snprintf(grown, sizeof(grown), "%s", config_text);
    memcpy(strstr(grown, "max_queue_size = 2"), "max_queue_size = 3", 18);
    bucket_mem_fail(&cl.objects, NULL, 0, 3, -ETIMEDOUT, false);
    CHECK_INT(commit_config(&m.fs, "c", grown, strlen(grown)), -EIO);
    refresh(&m);
    char ev[65536];
    events_of(&m, "c", ev, sizeof(ev));
    CHECK(strstr(ev, "not stored") != NULL);
    CHECK(strstr(ev, "not removed") != NULL);
    CHECK(strstr(ev, "config not stored") != NULL);
    mount_close(&m, true);
    cloud_mem_destroy(&cl);
}

static void image_patterns(void)
{
    /* The commit's cloud check looks the AMI up by base_os: ParallelCluster
     * images only, one pattern each; an unknown base_os has none. */
    CHECK_STR(cloudcheck_image_pattern("alinux2"), "aws-parallelcluster-*-amzn2-hvm-x86_64*");
    CHECK_STR(cloudcheck_image_pattern("ubuntu2004"),
              "aws-parallelcluster-*-ubuntu-2004-lts-hvm-x86_64*");
    CHECK(cloudcheck_image_pattern("windows") == NULL);
}

int main(void)
{
    RUN(whole_loop);
    RUN(crash_before_launch);
    RUN(crash_after_launch);
    RUN(lease_between_mounts);
    RUN(deletion);
    RUN(memory_mount);
    RUN(commits);
    RUN(bucket_or_ec2_away);
    RUN(bucket_fails_mid_pass);
    RUN(stored_config_unparsable);
    RUN(no_capacity);
    RUN(two_regions);
    RUN(refresh_thread);
    RUN(commit_limits);
    RUN(image_patterns);
    return check_finish();
}
