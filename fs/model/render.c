/* fs/ uses jansson here only to render the .json files of the tree; it never
 * parses JSON from the network (that is slurm/'s job). */
#include "fs/model/render.h"

#include <errno.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config/config.h"
#include "fs/model/sanitize.h"
#include "fs/model/timefmt.h"
#include "slurm/slurmrest.h"

static json_t *time_or_null(time_t t)
{
    if (t <= 0)
        return json_null();
    char buf[RFC3339_LEN];
    timefmt_rfc3339(t, buf, sizeof(buf));
    return json_string(buf);
}

/* Every string of a .json file passes the sanitize policy: text from the
 * bucket or a node that is not valid UTF-8 would make jansson refuse the
 * whole document. */
static json_t *text(const char *s)
{
    char *clean = sanitize_dup(s, 0);
    json_t *j = clean ? json_string(clean) : NULL;
    free(clean);
    return j;
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? text(s) : json_null();
}

/* A blob of text for a plain file: sanitized, as every file of the tree. */
static struct blob *text_blob(const char *s, int keep_newlines)
{
    char *clean = sanitize_dup(s, keep_newlines);
    struct blob *b = clean ? blob_from_str(clean) : NULL;
    free(clean);
    return b;
}

static struct blob *json_to_blob(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(doc);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    struct blob *b = blob_new(text, len + 1);
    free(text);
    if (b)
        b->data[len] = '\n'; /* text ends with a newline */
    return b;
}

/* Counts nodes per EC2 state and per Slurm state. */
static json_t *node_counts(const struct observed_cluster *oc)
{
    json_t *ec2 = json_object(), *slurm = json_object();
    size_t total = oc ? oc->n_nodes : 0;
    for (size_t i = 0; i < total; i++) {
        const struct observed_node *n = &oc->nodes[i];
        const char *keys[2] = {n->ec2_state, n->slurm_state};
        json_t *maps[2] = {ec2, slurm};
        for (int k = 0; k < 2; k++) {
            if (!keys[k] || !*keys[k] || strcmp(keys[k], "none") == 0)
                continue;
            json_int_t prev = json_integer_value(json_object_get(maps[k], keys[k]));
            json_object_set_new(maps[k], keys[k], json_integer(prev + 1));
        }
    }
    return json_pack("{s:I, s:o, s:o}", "total", (json_int_t)total, "ec2", ec2, "slurm", slurm);
}

/* The image's default user, as its cloud-init makes it: who logs in to
 * the head with the key pair (ssh -i KEY USER@ADDRESS). NULL: unknown. */
static const char *ssh_user(const struct desired_cluster *dc)
{
    static const struct {
        const char *os, *user;
    } users[] = {{"alinux2", "ec2-user"}, {"centos7", "centos"},
                 {"ubuntu1804", "ubuntu"}, {"ubuntu2004", "ubuntu"}};
    const struct cluster_config *cfg = dc->parsed ? dc->parsed->cfg : NULL;
    for (size_t i = 0; cfg && i < sizeof(users) / sizeof(users[0]); i++)
        if (strcmp(cfg->base_os, users[i].os) == 0)
            return users[i].user;
    return NULL;
}

static json_t *head_node(const struct observed_cluster *oc, const struct desired_cluster *dc)
{
    for (size_t i = 0; oc && i < oc->n_nodes; i++) {
        const struct observed_node *n = &oc->nodes[i];
        if (strcmp(n->name, "head") != 0)
            continue;
        return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "instanceId",
                         str_or_null(n->instance_id), "state", str_or_null(n->ec2_state),
                         "privateIpAddress", str_or_null(n->private_ip), "publicIpAddress",
                         str_or_null(n->public_ip), "instanceType", str_or_null(n->instance_type),
                         "sshUser", str_or_null(ssh_user(dc)));
    }
    return json_null();
}

/* v3-style failures: the controller's verdict, if any. */
static json_t *failures(const struct desired_cluster *dc)
{
    json_t *list = json_array();
    if (dc->failure_code)
        json_array_append_new(list, json_pack("{s:o, s:o}", "failureCode",
                                              text(dc->failure_code), "failureReason",
                                              text(dc->failure_reason)));
    return list;
}

struct blob *render_status_json(const struct status_json_inputs *in)
{
    const struct desired_cluster *dc = in->desired;
    json_t *hooks = json_object();
    for (int s = 0; s < HOOK_STAGES; s++) {
        json_t *names = json_array();
        for (size_t h = 0; h < dc->n_hooks[s]; h++)
            json_array_append_new(names, text(dc->hooks[s][h].name));
        json_object_set_new(hooks, hook_stage_name((enum hook_stage)s), names);
    }
    json_t *doc = json_pack(
        "{s:o, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o}",
        "clusterName", text(dc->name), "region", text(in->region), "clusterStatus", status_name(in->status),
        "generation", dc->generation, "creationTime", time_or_null(dc->created_at),
        "lastUpdatedTime", time_or_null(dc->updated_at), "headNode", head_node(in->observed, dc),
        "nodes", node_counts(in->observed), "hooks", hooks, "failures", failures(dc),
        "last_error", str_or_null(dc->last_error), "observed_at", time_or_null(in->observed_at),
        "stale", in->stale, "stale_reason", str_or_null(in->stale ? in->stale_reason : NULL));
    if (!doc)
        return NULL;
    const char *slurm_error = in->observed ? in->observed->slurm_error : NULL;
    json_object_set_new(doc, "slurm_stale", json_boolean(slurm_error != NULL));
    json_object_set_new(doc, "slurm_stale_reason", str_or_null(slurm_error));
    /* The fleet spec generation the head's agent applied, if it said so. */
    int applied = in->observed ? in->observed->fleet_generation_applied : 0;
    json_object_set_new(doc, "fleetGenerationApplied",
                        applied > 0 ? json_integer(applied) : json_null());
    /* Why the controller is stuck, if it is: a failed or held-back action. */
    json_object_set_new(doc, "action_error",
                        str_or_null(in->observed ? in->observed->action_error : NULL));
    return json_to_blob(doc);
}

struct blob *render_status_unrenderable(const struct desired_cluster *dc,
                                        enum cluster_status status)
{
    json_t *doc = json_pack("{s:o, s:s, s:s}", "clusterName", text(dc->name), "clusterStatus",
                            status_name(status), "renderError",
                            "this cluster's state could not be rendered; its nodes are not shown");
    return doc ? json_to_blob(doc) : NULL;
}

static struct blob *line_blob(const char *value)
{
    char *v = sanitize_dup(value, 0);
    if (!v)
        return NULL;
    size_t len = strlen(v);
    struct blob *b = blob_new(v, len + (len ? 1 : 0));
    if (b && len)
        b->data[len] = '\n';
    free(v);
    return b;
}

static json_t *count_or_null(long long n)
{
    return n > 0 ? json_integer((json_int_t)n) : json_null();
}

static json_t *text_array(char *const *words, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        json_array_append_new(list, text(words[i]));
    return list;
}

/* What Slurm says of the node (DESIGN: cpus, memory, partitions, reason
 * and every flag); null or empty while Slurm has not answered for it. */
static void add_slurm_facts(json_t *doc, const struct observed_node *on)
{
    json_object_set_new(doc, "cpus", count_or_null(on->cpus));
    json_object_set_new(doc, "memoryMiB", count_or_null(on->memory_mib));
    json_object_set_new(doc, "partitions", text_array(on->partitions, on->n_partitions));
    json_object_set_new(doc, "reason", str_or_null(on->slurm_reason));
    json_object_set_new(doc, "slurmFlags", text_array(on->slurm_flags, on->n_slurm_flags));
}

/* The hook set the node's bootstrap ran (DESIGN 1: nodes keep what they
 * booted with): its config generation (null until a report names it) and
 * the names of hooks/pre and hooks/post it ran, in order. */
static void add_hook_set(json_t *doc, const struct observed_node *on)
{
    json_t *set = json_object();
    if (!set)
        return;
    json_object_set_new(set, "generation",
                        on->hooks_generation > 0 ? json_integer(on->hooks_generation)
                                                 : json_null());
    json_object_set_new(set, "pre", text_array(on->hooks_ran[0], on->n_hooks_ran[0]));
    json_object_set_new(set, "post", text_array(on->hooks_ran[1], on->n_hooks_ran[1]));
    json_object_set_new(doc, "hooks", set);
}

int render_node(const struct observed_node *on, time_t observed_at, struct snap_node *node)
{
    static const char *const names[] = {"bootstrap",   "bootstrap.log", "ec2_state",
                                        "instance_id", "instance_type", "node.json",
                                        "private_ip",  "slurm_state"};
    const char *none_if_empty[2] = {on->ec2_state, on->slurm_state};
    for (int i = 0; i < 2; i++)
        if (!none_if_empty[i] || !*none_if_empty[i])
            none_if_empty[i] = "none";
    json_t *doc = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", text(on->name), "instanceId",
        str_or_null(on->instance_id), "instanceType", str_or_null(on->instance_type),
        "privateIpAddress", str_or_null(on->private_ip), "publicIpAddress",
        str_or_null(on->public_ip), "ec2State", text(none_if_empty[0]), "slurmState", text(none_if_empty[1]),
        "bootstrap", str_or_null(on->bootstrap), "launchTime", time_or_null(on->launch_time));
    if (doc) {
        json_object_set_new(doc, "market", str_or_null(on->market));
        add_slurm_facts(doc, on);
        add_hook_set(doc, on);
    }
    struct blob *contents[NODE_FILES] = {
        line_blob(on->bootstrap ? on->bootstrap : "pending"),
        text_blob(on->bootstrap_log, 1),
        line_blob(none_if_empty[0]),
        line_blob(on->instance_id),
        line_blob(on->instance_type),
        doc ? json_to_blob(doc) : NULL,
        line_blob(on->private_ip),
        line_blob(none_if_empty[1]),
    };
    node->name = strdup(on->name);
    node->n_files = NODE_FILES;
    node->mtime = observed_at;
    int rc = node->name ? 0 : -ENOMEM;
    for (int i = 0; i < NODE_FILES; i++) {
        node->files[i] = (struct snap_file){names[i], contents[i], observed_at};
        if (!contents[i])
            rc = -ENOMEM;
    }
    return rc;
}

static bool job_finished(const char *state)
{
    static const char *const ended[] = {"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE",
                                        "FAILED",    "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
                                        "TIMEOUT"};
    for (size_t i = 0; state && i < sizeof(ended) / sizeof(ended[0]); i++)
        if (strcmp(state, ended[i]) == 0)
            return true;
    return false;
}

bool render_job_ended(const struct slurmrest_job *j)
{
    return job_finished(j->state);
}

int render_job(const struct slurmrest_job *j, time_t observed_at, struct snap_node *dir)
{
    static const char *const names[] = {"exit_code", "job.json", "name",   "nodes",
                                        "partition", "reason",   "state",  "user"};
    char id[24], code[24] = "";
    snprintf(id, sizeof(id), "%lld", (long long)j->job_id);
    bool ended = job_finished(j->state) && j->exit_code >= 0;
    if (ended)
        snprintf(code, sizeof(code), "%lld", (long long)j->exit_code);
    json_t *doc = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "jobId",
                            (json_int_t)j->job_id, "name", text(j->name), "user", text(j->user),
                            "state", text(j->state), "reason", str_or_null(j->reason), "nodes",
                            str_or_null(j->nodes), "partition", str_or_null(j->partition),
                            "cpus", count_or_null(j->cpus), "nodeCount",
                            count_or_null(j->node_count), "exitCode",
                            ended ? json_integer((json_int_t)j->exit_code) : json_null(),
                            "exitSignal",
                            ended && j->exit_signal > 0 ? json_integer((json_int_t)j->exit_signal)
                                                        : json_null());
    if (doc) {
        json_object_set_new(doc, "submitTime", time_or_null((time_t)j->submit_time));
        json_object_set_new(doc, "startTime", time_or_null((time_t)j->start_time));
        json_object_set_new(doc, "endTime", time_or_null((time_t)j->end_time));
    }
    struct blob *contents[NODE_FILES] = {
        line_blob(code),          doc ? json_to_blob(doc) : NULL, line_blob(j->name),
        line_blob(j->nodes),      line_blob(j->partition),        line_blob(j->reason),
        line_blob(j->state),      line_blob(j->user),
    };
    dir->name = strdup(id);
    dir->n_files = NODE_FILES;
    dir->mtime = observed_at;
    int rc = dir->name ? 0 : -ENOMEM;
    for (int i = 0; i < NODE_FILES; i++) {
        dir->files[i] = (struct snap_file){names[i], contents[i], observed_at};
        if (!contents[i])
            rc = -ENOMEM;
    }
    return rc;
}
