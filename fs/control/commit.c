#include "fs/control/commit.h"
#include "fs/aws_policy.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "fs/control/cloudcheck.h"
#include "fs/config/config.h"
#include "fs/store/events.h"
#include "fs/fuse/names.h"
#include "fs/model/jobscript.h"
#include "fs/model/nodectl.h"
#include "fs/model/timefmt.h"
#include "fs/model/sanitize.h"

#define MSG_MAX 1024
/* A commit answers within COMMIT_SECONDS + PUBLISH_SECONDS_MIN (README:
 * 15 s) however the cloud behaves, waiting for this mount's other commits
 * included: its calls share COMMIT_SECONDS, and showing the result (a
 * refresh from the bucket) gets what is left, at least PUBLISH_SECONDS_MIN. */
#define COMMIT_SECONDS PCFS_COMMIT_SECONDS
#define PUBLISH_SECONDS_MIN PCFS_PUBLISH_SECONDS_MIN

static struct timespec limit_from_now(int seconds)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += seconds;
    return t;
}

/* Takes the commit lock and bounds the time of the calls that follow. */
static void begin_commit(struct pcfs *fs)
{
    struct timespec limit = limit_from_now(COMMIT_SECONDS);
    pthread_mutex_lock(&fs->commit_lock);
    fs->commit_limit = limit;
    fs->store.ops->set_deadline(fs->store.impl, &limit);
}

static void end_commit(struct pcfs *fs)
{
    fs->store.ops->set_deadline(fs->store.impl, NULL);
    pthread_mutex_unlock(&fs->commit_lock);
}

/* Milliseconds since *t, and *t moved to now: the phases of a commit. */
static double lap_ms(struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
    *t = now;
    return ms;
}

/* Shows the new state: a commit is not done until reads see it. */
static void publish(struct pcfs *fs)
{
    char err[256];
    struct timespec floor = limit_from_now(PUBLISH_SECONDS_MIN), *limit = &fs->commit_limit;
    if (floor.tv_sec > limit->tv_sec ||
        (floor.tv_sec == limit->tv_sec && floor.tv_nsec > limit->tv_nsec))
        limit = &floor;
    fs->store.ops->set_deadline(fs->store.impl, limit);
    if (controller_pass(fs->controller, err, sizeof(err)) != 0)
        fprintf(stderr, "pclusterfs: refresh after commit failed: %s\n", err);
    controller_wake(fs->controller); /* and reconcile soon */
}

/* Records a failed commit in events and last_error, and returns rc. */
static int fail(struct pcfs *fs, const char *cluster, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct pcfs *fs, const char *cluster, int rc, const char *fmt, ...)
{
    char raw[MSG_MAX], msg[MSG_MAX], err[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    sanitize_text(raw, strlen(raw), msg, sizeof(msg), 0); /* vsnprintf may cut a character */
    /* The log has it at once; events and last_error when the bucket takes them. */
    fprintf(stderr, "pclusterfs: %s: %s\n", cluster, msg);
    fs->store.ops->set_last_error(fs->store.impl, cluster, msg, err, sizeof(err));
    events_append(&fs->store, cluster, "error", "%s", msg);
    publish(fs);
    return rc;
}

int commit_refuse(struct pcfs *fs, const char *cluster, int rc, const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    begin_commit(fs);
    fail(fs, cluster, rc, "%s", msg);
    end_commit(fs);
    return rc;
}

static void clear_last_error(struct pcfs *fs, const char *cluster)
{
    char err[256];
    fs->store.ops->set_last_error(fs->store.impl, cluster, NULL, err, sizeof(err));
}

/* The cluster as the current snapshot shows it; -ENOENT/-EBUSY otherwise. */
static int find_cluster(struct snapshot *snap, const char *cluster,
                        const struct snap_cluster **out)
{
    const struct snap_cluster *c = snapshot_find(snap, cluster);
    if (!c)
        return -ENOENT;
    if (c->desired->deleting)
        return -EBUSY;
    *out = c;
    return 0;
}

static bool same_bytes(const struct blob *b, const char *data, size_t len)
{
    return b && b->len == len && memcmp(b->data, data, len) == 0;
}

/* A live cluster cannot change some fields; a new or failed one can. */
static int check_update(const struct snap_cluster *c, const struct cluster_config *next,
                        char *msg, size_t msglen)
{
    if (!c->desired->config || c->status == ST_NO_CONFIG || c->status == ST_CREATE_FAILED)
        return 0;
    /* parsed once when its generation was loaded; one that no longer
     * parses cannot constrain */
    const struct parsed_config *prev = c->desired->parsed;
    return prev && prev->cfg ? config_check_update(prev->cfg, next, msg, msglen) : 0;
}

/* The checks that ask the cloud; skipped when state lives in memory. */
static int check_in_cloud(struct pcfs *fs, const struct cluster_config *cfg, char *msg,
                          size_t msglen)
{
    if (!fs->creds)
        return 0;
    const char *region = cfg->region[0] ? cfg->region : fs->mount_region;
    struct aws_client *c = aws_client_new_with(fs->creds, region, &PCFS_AWS_COMMIT);
    if (!c) {
        snprintf(msg, msglen, "out of memory");
        return -ENOMEM;
    }
    aws_client_set_deadline(c, &fs->commit_limit);
    struct cloudcheck_result found;
    int rc = cloudcheck_config(c, cfg, &found, msg, msglen);
    aws_client_free(c);
    return rc;
}

static int commit_config_locked(struct pcfs *fs, struct snapshot *snap, const char *cluster,
                                const char *data, size_t len)
{
    const struct snap_cluster *c;
    int rc = find_cluster(snap, cluster, &c);
    if (rc)
        return rc;
    if (len > CONFIG_MAX_BYTES)
        return fail(fs, cluster, -EFBIG, "config is %zu bytes; the limit is %d", len,
                    CONFIG_MAX_BYTES);
    if (same_bytes(c->desired->config, data, len))
        return 0; /* rewriting the same bytes is not an update */

    char msg[MSG_MAX];
    struct config_limits limits = {.max_instances = fs->opts.max_instances};
    struct cluster_config *cfg = NULL;
    struct timespec t;
    double validate_ms = 0, cloud_ms = 0, write_ms;
    clock_gettime(CLOCK_MONOTONIC, &t);
    rc = config_parse(data, len, &limits, &cfg, msg, sizeof(msg));
    if (rc)
        return fail(fs, cluster, -EINVAL, "%s", msg);
    rc = check_update(c, cfg, msg, sizeof(msg));
    validate_ms = lap_ms(&t);
    if (rc == 0) {
        rc = check_in_cloud(fs, cfg, msg, sizeof(msg));
        cloud_ms = lap_ms(&t);
    }
    if (rc) {
        config_free(cfg);
        return fail(fs, cluster, rc == -EINVAL ? -EINVAL : -EIO, "%s", msg);
    }

    struct blob *b = blob_new(data, len);
    if (!b) {
        config_free(cfg);
        return -ENOMEM;
    }
    int generation = 0;
    rc = fs->store.ops->put_config(fs->store.impl, cluster, b, time(NULL), &generation, msg,
                                   sizeof(msg));
    blob_unref(b);
    write_ms = lap_ms(&t);
    if (rc) {
        config_free(cfg);
        return fail(fs, cluster, rc == -ENOENT || rc == -EBUSY ? rc : -EIO,
                    "config not stored: %s", msg);
    }
    clear_last_error(fs, cluster);
    /* Where the time went, for users wondering why close() took long. */
    events_append(&fs->store, cluster, "info",
                  "config committed (%zu bytes, generation %d; validate %.2f ms, cloud checks "
                  "%.1f ms, write %.1f ms)",
                  len, generation, validate_ms, cloud_ms, write_ms);
    for (size_t i = 0; i < cfg->n_warnings; i++)
        events_append(&fs->store, cluster, "warn", "%s", cfg->warnings[i]);
    config_free(cfg);
    publish(fs);
    return 0;
}

int commit_config(struct pcfs *fs, const char *cluster, const char *data, size_t len)
{
    begin_commit(fs);
    struct snapshot *snap = snapshot_holder_get(&fs->snaps);
    int rc = commit_config_locked(fs, snap, cluster, data, len);
    snapshot_unref(snap);
    end_commit(fs);
    return rc;
}

static int commit_hook_locked(struct pcfs *fs, struct snapshot *snap, const char *cluster,
                              enum hook_stage stage, const char *name, const char *data,
                              size_t len)
{
    const struct snap_cluster *c;
    int rc = find_cluster(snap, cluster, &c);
    if (rc)
        return rc;
    const char *st = hook_stage_name(stage);
    char msg[MSG_MAX];
    rc = names_check_file(name, msg, sizeof(msg));
    if (rc)
        return fail(fs, cluster, rc, "hooks/%s: %s", st, msg);
    if (len > HOOK_MAX_BYTES)
        return fail(fs, cluster, -EFBIG, "hooks/%s/%s is %zu bytes; the limit is %d", st, name,
                    len, HOOK_MAX_BYTES);
    const struct desired_hook *existing = desired_find_hook(c->desired, stage, name);
    if (existing && same_bytes(existing->content, data, len))
        return 0;
    if (!existing && c->desired->n_hooks[stage] >= HOOKS_PER_STAGE_MAX)
        return fail(fs, cluster, -ENOSPC, "hooks/%s already holds %d scripts, the limit", st,
                    HOOKS_PER_STAGE_MAX);
    struct blob *b = blob_new(data, len);
    if (!b)
        return -ENOMEM;
    rc = fs->store.ops->put_hook(fs->store.impl, cluster, stage, name, b, time(NULL), msg,
                                 sizeof(msg));
    blob_unref(b);
    if (rc)
        return fail(fs, cluster, -EIO, "hooks/%s/%s not stored: %s", st, name, msg);
    events_append(&fs->store, cluster, "info",
                  "hooks/%s/%s stored (%zu bytes); nodes launched from now on run it", st, name,
                  len);
    publish(fs);
    return 0;
}

int commit_hook(struct pcfs *fs, const char *cluster, enum hook_stage stage, const char *name,
                const char *data, size_t len)
{
    begin_commit(fs);
    struct snapshot *snap = snapshot_holder_get(&fs->snaps);
    int rc = commit_hook_locked(fs, snap, cluster, stage, name, data, len);
    snapshot_unref(snap);
    end_commit(fs);
    return rc;
}

int commit_delete_hook(struct pcfs *fs, const char *cluster, enum hook_stage stage,
                       const char *name)
{
    char msg[MSG_MAX];
    begin_commit(fs);
    int rc = fs->store.ops->delete_hook(fs->store.impl, cluster, stage, name, time(NULL), msg,
                                        sizeof(msg));
    if (rc == 0) {
        events_append(&fs->store, cluster, "info", "hooks/%s/%s removed", hook_stage_name(stage),
                      name);
        publish(fs);
    } else if (rc != -ENOENT) {
        rc = fail(fs, cluster, -EIO, "hooks/%s/%s not removed: %s", hook_stage_name(stage), name,
                  msg);
    }
    end_commit(fs);
    return rc;
}

int commit_create_cluster(struct pcfs *fs, const char *cluster)
{
    char msg[MSG_MAX];
    int rc = names_check_cluster(cluster, msg, sizeof(msg));
    if (rc) {
        /* No cluster to record it in: the log says it (msg quotes the name
         * safely; the raw name could forge log lines). */
        fprintf(stderr, "pclusterfs: mkdir refused: %s\n", msg);
        return rc;
    }
    begin_commit(fs);
    rc = fs->store.ops->create_cluster(fs->store.impl, cluster, time(NULL), msg, sizeof(msg));
    if (rc == 0) {
        events_append(&fs->store, cluster, "info", "cluster directory created; write config to "
                                                   "create the cluster");
        publish(fs);
    } else if (rc != -EEXIST && rc != -EBUSY) {
        fprintf(stderr, "pclusterfs: mkdir %s: %s\n", cluster, msg);
        rc = -EIO;
    }
    end_commit(fs);
    return rc;
}

int commit_delete_cluster(struct pcfs *fs, const char *cluster)
{
    char msg[MSG_MAX];
    begin_commit(fs);
    struct snapshot *snap = snapshot_holder_get(&fs->snaps);
    const struct snap_cluster *c = snapshot_find(snap, cluster);
    int rc = 0;
    if (!c)
        rc = -ENOENT;
    else if (!c->desired->deleting)
        rc = fs->store.ops->mark_deleting(fs->store.impl, cluster, msg, sizeof(msg));
    snapshot_unref(snap);
    if (rc == 0) {
        events_append(&fs->store, cluster, "info", "deletion requested");
        publish(fs);
        controller_wake(fs->controller);
    } else if (rc != -ENOENT) {
        fprintf(stderr, "pclusterfs: rmdir %s: %s\n", cluster, msg);
        rc = -EIO;
    }
    end_commit(fs);
    return rc;
}

/* A command id unique to this request: sortable by time, then random, so
 * commands of one node run in the order given and two workstations never
 * pick the same key. */
static int command_id(char *out, size_t outlen)
{
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -EIO;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
    snprintf(out, outlen, "%s.%03ldZ-%02x%02x%02x%02x%02x%02x%02x%02x", stamp,
             now.tv_nsec / 1000000, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
             rnd[7]);
    return 0;
}

/* The node's instance id as the snapshot shows it ("" when none). */
static void node_instance(const struct snap_node *n, char *out, size_t outlen)
{
    const struct snap_file *f = snap_node_find_file(n, "instance_id");
    size_t len = f ? strcspn(f->content->data, "\n") : 0;
    snprintf(out, outlen, "%.*s", (int)len, f ? f->content->data : "");
}

static int commit_node_command_locked(struct pcfs *fs, struct snapshot *snap, const char *cluster,
                                      const char *node, const char *data, size_t len)
{
    const struct snap_cluster *c;
    int rc = find_cluster(snap, cluster, &c);
    if (rc)
        return rc;
    char msg[MSG_MAX];
    struct nodectl_cmd cmd;
    if (nodectl_parse(data, len, &cmd, msg, sizeof(msg)) != 0)
        return fail(fs, cluster, -EINVAL, "nodes/%s/ctl: %s", node, msg);
    const struct snap_node *n = snap_cluster_find_node(c, node);
    if (!n)
        return fail(fs, cluster, -EINVAL,
                    "nodes/%s/ctl: the cluster has no node %s now; %s not sent", node, node,
                    nodectl_verb_name(cmd.verb));
    if (strcmp(node, "head") == 0)
        return fail(fs, cluster, -EINVAL, "nodes/head/ctl: the head node is no Slurm compute node");
    switch (c->status) {
    case ST_CREATE_IN_PROGRESS:
    case ST_CREATE_COMPLETE:
    case ST_UPDATE_IN_PROGRESS:
    case ST_UPDATE_COMPLETE:
    case ST_UPDATE_FAILED:
        break;
    default:
        return fail(fs, cluster, -EINVAL,
                    "nodes/%s/ctl: the cluster is %s, so no head node would carry out %s",
                    node, status_name(c->status), nodectl_verb_name(cmd.verb));
    }
    char id[80], instance[32], now[RFC3339_LEN + 1];
    if (command_id(id, sizeof(id)) != 0)
        return fail(fs, cluster, -EIO, "nodes/%s/ctl: no random bytes for a command id", node);
    node_instance(n, instance, sizeof(instance));
    timefmt_rfc3339(time(NULL), now, sizeof(now));
    json_t *doc = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "format", 1, "id", id,
                            "node", node, "command", nodectl_verb_name(cmd.verb), "reason",
                            cmd.reason, "instance_id", instance, "requested_at", now);
    char *body = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(doc);
    if (!body)
        return -ENOMEM;
    rc = fs->store.ops->put_node_command(fs->store.impl, cluster, node, id, body, strlen(body),
                                         msg, sizeof(msg));
    free(body);
    if (rc)
        return fail(fs, cluster, rc == -EOPNOTSUPP ? -EOPNOTSUPP : -EIO,
                    "nodes/%s/ctl: %s not stored: %s", node, nodectl_verb_name(cmd.verb), msg);
    if (cmd.verb == NODECTL_DRAIN)
        events_append(&fs->store, cluster, "info",
                      "nodes/%s/ctl: drain (reason: %s) sent to the head as %s", node,
                      cmd.reason, id);
    else
        events_append(&fs->store, cluster, "info", "nodes/%s/ctl: %s%s%s sent to the head as %s",
                      node, nodectl_verb_name(cmd.verb),
                      cmd.verb == NODECTL_REPLACE && instance[0] ? " of " : "",
                      cmd.verb == NODECTL_REPLACE ? instance : "", id);
    publish(fs);
    return 0;
}

int commit_node_command(struct pcfs *fs, const char *cluster, const char *node,
                        const char *data, size_t len)
{
    begin_commit(fs);
    struct snapshot *snap = snapshot_holder_get(&fs->snaps);
    int rc = commit_node_command_locked(fs, snap, cluster, node, data, len);
    snapshot_unref(snap);
    end_commit(fs);
    return rc;
}

/* Whether the cluster's head runs jobs now: once created, and through
 * updates (a failed update leaves the cluster running). */
static bool takes_jobs(enum cluster_status st)
{
    return st == ST_CREATE_COMPLETE || st == ST_UPDATE_IN_PROGRESS ||
           st == ST_UPDATE_COMPLETE || st == ST_UPDATE_FAILED;
}

static int commit_job_locked(struct pcfs *fs, struct snapshot *snap, const char *cluster,
                             const char *name, const char *data, size_t len)
{
    const struct snap_cluster *c;
    int rc = find_cluster(snap, cluster, &c);
    if (rc)
        return rc;
    char msg[MSG_MAX];
    struct jobscript_info info;
    if (jobscript_check(data, len, &info, msg, sizeof(msg)) != 0)
        return fail(fs, cluster, -EINVAL, "jobs/%s: %s; not submitted", name, msg);
    if (!takes_jobs(c->status))
        return fail(fs, cluster, -EINVAL,
                    "jobs/%s: the cluster is %s: jobs are taken from CREATE_COMPLETE on; "
                    "not submitted",
                    name, status_name(c->status));
    rc = fs->store.ops->put_job_object(fs->store.impl, cluster, LAYOUT_JOB_SUBMIT, name, data,
                                       len, msg, sizeof(msg));
    if (rc == -EEXIST)
        return fail(fs, cluster, -EEXIST,
                    "jobs/%s was submitted already; to submit it again, copy it under a new name",
                    name);
    if (rc)
        return fail(fs, cluster, rc == -EOPNOTSUPP ? -EOPNOTSUPP : -EIO,
                    "jobs/%s: not submitted: %s", name, msg);
    char ignored[160] = "";
    if (info.ignored_directives)
        snprintf(ignored, sizeof(ignored),
                 "; %u #SBATCH line%s from line %u on come after the first command, and "
                 "Slurm ignores them",
                 info.ignored_directives, info.ignored_directives == 1 ? "" : "s",
                 info.first_ignored_line);
    events_append(&fs->store, cluster, "info", "jobs/%s: sent to the head (%u #SBATCH line%s)%s",
                  name, info.directives, info.directives == 1 ? "" : "s", ignored);
    publish(fs);
    return 0;
}

int commit_job(struct pcfs *fs, const char *cluster, const char *name, const char *data,
               size_t len)
{
    begin_commit(fs);
    struct snapshot *snap = snapshot_holder_get(&fs->snaps);
    int rc = commit_job_locked(fs, snap, cluster, name, data, len);
    snapshot_unref(snap);
    end_commit(fs);
    return rc;
}

static int commit_cancel_job_locked(struct pcfs *fs, struct snapshot *snap, const char *cluster,
                                    const char *id)
{
    const struct snap_cluster *c;
    int rc = find_cluster(snap, cluster, &c);
    if (rc)
        return rc;
    const struct snap_node *job = snap_cluster_find_job(c, id);
    if (!job)
        return -ENOENT;
    const struct snap_file *state = snap_node_find_file(job, "state");
    char word[32] = "";
    if (state && state->content->len)
        snprintf(word, sizeof(word), "%.*s", (int)state->content->len - 1, state->content->data);
    char msg[MSG_MAX];
    rc = fs->store.ops->put_job_object(fs->store.impl, cluster, LAYOUT_JOB_CANCEL, id, "", 0, msg,
                                       sizeof(msg));
    if (rc == -EEXIST) /* another workstation, or an earlier rmdir: it is on its way */
        return 0;
    if (rc)
        return fail(fs, cluster, rc == -EOPNOTSUPP ? -EOPNOTSUPP : -EIO,
                    "jobs/%s: the cancel was not sent: %s", id, msg);
    events_append(&fs->store, cluster, "info", "jobs/%s: %s job: cancel sent to the head; it "
                  "leaves jobs/ once Slurm says it ended", id, word[0] ? word : "a");
    publish(fs);
    return 0;
}

int commit_cancel_job(struct pcfs *fs, const char *cluster, const char *id)
{
    begin_commit(fs);
    struct snapshot *snap = snapshot_holder_get(&fs->snaps);
    int rc = commit_cancel_job_locked(fs, snap, cluster, id);
    snapshot_unref(snap);
    end_commit(fs);
    return rc;
}
