#include "fs/store/layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTERS "clusters/"
#define CTL "ctl/"
#define CTL_ACKS "head/acks/ctl/"

static const char *const object_rest[LAYOUT_OBJECTS] = {
    [LAYOUT_MARKER] = "cluster",         [LAYOUT_CONFIG] = "config",
    [LAYOUT_GENERATION] = "generation",  [LAYOUT_COMMIT_LOCK] = "commit.lock",
    [LAYOUT_EVENTS] = "events",          [LAYOUT_LAST_ERROR] = "last_error",
    [LAYOUT_DELETING] = "deleting",      [LAYOUT_FAILURE] = "failure",
    [LAYOUT_COMPLETED] = "completed",
};

const struct layout_entry layout_writers[] = {
    {"cluster", LAYOUT_BY_WORKSTATION, "the cluster's marker and incarnation"},
    {"config", LAYOUT_BY_WORKSTATION, "the last good config"},
    {"generation", LAYOUT_BY_WORKSTATION, "the number of good config commits"},
    {"commit.lock", LAYOUT_BY_WORKSTATION, "the commit lock"},
    {"events", LAYOUT_BY_WORKSTATION, "the cluster's events"},
    {"events.", LAYOUT_BY_WORKSTATION, "older events, rolled into numbered parts"},
    {"last_error", LAYOUT_BY_WORKSTATION, "the last failed commit"},
    {"deleting", LAYOUT_BY_WORKSTATION, "the deletion marker"},
    {"failure", LAYOUT_BY_WORKSTATION, "the creation or update verdict: failed"},
    {"completed", LAYOUT_BY_WORKSTATION, "the creation verdict: completed"},
    {"hooks/pre/", LAYOUT_BY_WORKSTATION, "bootstrap actions before the node's setup"},
    {"hooks/post/", LAYOUT_BY_WORKSTATION, "bootstrap actions after the node's setup"},
    {"generated/", LAYOUT_BY_WORKSTATION, "files rendered for the nodes, cluster secrets"},
    {"launch/", LAYOUT_BY_WORKSTATION, "launch intents and manifests"},
    {CTL, LAYOUT_BY_WORKSTATION, "node commands (nodes/<n>/ctl) for the head, one object each"},
    {"fleet/spec.json", LAYOUT_BY_WORKSTATION, "the compute fleet's spec for the head's agent"},
    {"jobs/submit/", LAYOUT_BY_WORKSTATION, "batch scripts from jobs/ for the head to submit"},
    {"jobs/cancel/", LAYOUT_BY_WORKSTATION, "jobs to cancel (rmdir jobs/<id>), for the head"},
    {"reports/", LAYOUT_BY_NODE, "a node's bootstrap report (presigned PUT)"},
    {"head/slurm/", LAYOUT_BY_HEAD, "the head's published Slurm view"},
    {"head/acks/", LAYOUT_BY_HEAD, "the head's acknowledgements"},
    {"head/events", LAYOUT_BY_HEAD, "the head's events"},
    {"head/launch/", LAYOUT_BY_HEAD, "the head's launch manifests of dynamic nodes"},
    {"head/reports/", LAYOUT_BY_HEAD,
     "dynamic nodes' bootstrap reports (a PUT presigned by the head)"},
};
const size_t layout_n_writers = sizeof(layout_writers) / sizeof(layout_writers[0]);

const struct layout_entry *layout_entry_of(const char *rest)
{
    for (size_t i = 0; rest && i < layout_n_writers; i++) {
        const char *r = layout_writers[i].rest;
        size_t n = strlen(r);
        bool prefix = r[n - 1] == '/' || r[n - 1] == '.'; /* a folder, or numbered parts */
        if (prefix ? strncmp(rest, r, n) == 0 && rest[n] : strcmp(rest, r) == 0)
            return &layout_writers[i];
    }
    return NULL;
}

const char *layout_clusters_prefix(void)
{
    return CLUSTERS;
}

const char *layout_lease_key(void)
{
    return "lease";
}

const char *layout_object_rest(enum layout_object o)
{
    return o >= 0 && o < LAYOUT_OBJECTS ? object_rest[o] : NULL;
}

int layout_object_of(const char *rest)
{
    for (int o = 0; o < LAYOUT_OBJECTS; o++)
        if (strcmp(rest, object_rest[o]) == 0)
            return o;
    return -1;
}

static char *cluster_keyf(const char *cluster, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *cluster_keyf(const char *cluster, const char *fmt, ...)
{
    char *rest = NULL, *key = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&rest, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    if (asprintf(&key, CLUSTERS "%s/%s", cluster, rest) < 0)
        key = NULL;
    free(rest);
    return key;
}

char *layout_cluster_prefix(const char *cluster)
{
    return cluster_keyf(cluster, "%s", "");
}

char *layout_key(const char *cluster, enum layout_object o)
{
    const char *rest = layout_object_rest(o);
    return rest ? cluster_keyf(cluster, "%s", rest) : NULL;
}

char *layout_rest_key(const char *cluster, const char *rest)
{
    return cluster_keyf(cluster, "%s", rest);
}

bool layout_split_key(const char *key, const char **cluster, size_t *cluster_len,
                      const char **rest)
{
    if (strncmp(key, CLUSTERS, strlen(CLUSTERS)) != 0)
        return false;
    const char *name = key + strlen(CLUSTERS), *slash = strchr(name, '/');
    if (!slash || slash == name)
        return false;
    *cluster = name;
    *cluster_len = (size_t)(slash - name);
    *rest = slash + 1;
    return true;
}

char *layout_hook_key(const char *cluster, enum hook_stage stage, const char *name)
{
    return cluster_keyf(cluster, "hooks/%s/%s", hook_stage_name(stage), name);
}

bool layout_hook_of(const char *rest, enum hook_stage *stage, const char **name)
{
    for (int st = 0; st < HOOK_STAGES; st++) {
        char prefix[32];
        int n = snprintf(prefix, sizeof(prefix), "hooks/%s/", hook_stage_name(st));
        if (strncmp(rest, prefix, (size_t)n) == 0) {
            *stage = (enum hook_stage)st;
            *name = rest + n;
            return true;
        }
    }
    return false;
}

char *layout_generated_key(const char *cluster, const char *name)
{
    return cluster_keyf(cluster, "generated/%s", name);
}

bool layout_generated_rest(const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "generated/%s", name);
    return n >= 0 && (size_t)n < len;
}

char *layout_intent_key(const char *cluster, const char *node)
{
    return cluster_keyf(cluster, "launch/%s/intent", node);
}

char *layout_manifest_key(const char *cluster, const char *node, int attempt)
{
    return cluster_keyf(cluster, "launch/%s/%d/manifest", node, attempt);
}

#define REPORTS "reports/"

char *layout_report_key(const char *cluster, const char *node)
{
    return cluster_keyf(cluster, REPORTS "%s", node);
}

bool layout_report_rest(const char *node, char *buf, size_t len)
{
    int n = snprintf(buf, len, REPORTS "%s", node);
    return n >= 0 && (size_t)n < len;
}

#define HEAD_REPORTS "head/reports/"

bool layout_head_report_rest(const char *node, char *buf, size_t len)
{
    int n = snprintf(buf, len, HEAD_REPORTS "%s", node);
    return n >= 0 && (size_t)n < len;
}

char *layout_head_report_key(const char *cluster, const char *node)
{
    return cluster_keyf(cluster, HEAD_REPORTS "%s", node);
}

bool layout_is_head_report(const char *rest)
{
    size_t n = strlen(HEAD_REPORTS);
    return strncmp(rest, HEAD_REPORTS, n) == 0 && rest[n] && !strchr(rest + n, '/');
}

const char *layout_report_node(const char *rest)
{
    size_t n = strlen(REPORTS);
    if (strncmp(rest, REPORTS, n) != 0 || !rest[n] || strchr(rest + n, '/'))
        return NULL;
    return rest + n;
}

#define HEAD_SLURM "head/slurm/"

char *layout_head_slurm_key(const char *cluster, const char *name)
{
    return cluster_keyf(cluster, HEAD_SLURM "%s", name);
}

bool layout_head_slurm_rest(const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, HEAD_SLURM "%s", name);
    return n >= 0 && (size_t)n < len;
}

bool layout_is_head_slurm(const char *rest)
{
    size_t n = strlen(HEAD_SLURM);
    return strncmp(rest, HEAD_SLURM, n) == 0 && rest[n] && !strchr(rest + n, '/');
}

char *layout_head_ack_key(const char *cluster, const char *name)
{
    return cluster_keyf(cluster, "head/acks/%s", name);
}

bool layout_head_ack_rest(const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "head/acks/%s", name);
    return n >= 0 && (size_t)n < len;
}

char *layout_fleet_spec_key(const char *cluster)
{
    return cluster_keyf(cluster, "%s", LAYOUT_FLEET_SPEC_REST);
}

char *layout_events_part_key(const char *cluster, unsigned num)
{
    return cluster_keyf(cluster, "%s.%u", object_rest[LAYOUT_EVENTS], num);
}

char *layout_events_parts_prefix(const char *cluster)
{
    return cluster_keyf(cluster, "%s.", object_rest[LAYOUT_EVENTS]);
}

const char *layout_head_events_rest(void)
{
    return "head/events";
}

char *layout_head_events_key(const char *cluster)
{
    return cluster_keyf(cluster, "%s", layout_head_events_rest());
}


const char *layout_nodectl_rest(void)
{
    return CTL;
}

char *layout_nodectl_prefix(const char *cluster)
{
    return cluster_keyf(cluster, "%s", CTL);
}

char *layout_nodectl_key(const char *cluster, const char *node, const char *id)
{
    return cluster_keyf(cluster, CTL "%s/%s", node, id);
}

char *layout_nodectl_ack_key(const char *cluster, const char *node, const char *id)
{
    return cluster_keyf(cluster, CTL_ACKS "%s/%s", node, id);
}

/* "<prefix><node>/<id>" with both parts non-empty and no further '/'. */
static bool split_node_id(const char *rest, const char *prefix, char *node, size_t nodelen,
                          char *id, size_t idlen)
{
    size_t n = strlen(prefix);
    if (strncmp(rest, prefix, n) != 0)
        return false;
    const char *name = rest + n, *slash = strchr(name, '/');
    if (!slash || slash == name || !slash[1] || strchr(slash + 1, '/'))
        return false;
    size_t len = (size_t)(slash - name);
    if (len >= nodelen || strlen(slash + 1) >= idlen)
        return false;
    memcpy(node, name, len);
    node[len] = '\0';
    strcpy(id, slash + 1);
    return true;
}

bool layout_nodectl_of(const char *rest, char *node, size_t nodelen, char *id, size_t idlen)
{
    return split_node_id(rest, CTL, node, nodelen, id, idlen);
}

bool layout_nodectl_ack_of(const char *rest, char *node, size_t nodelen, char *id, size_t idlen)
{
    return split_node_id(rest, CTL_ACKS, node, nodelen, id, idlen);
}

static const char *const job_rests[LAYOUT_JOB_KINDS] = {
    [LAYOUT_JOB_SUBMIT] = "jobs/submit/",
    [LAYOUT_JOB_CANCEL] = "jobs/cancel/",
    [LAYOUT_JOB_ACK] = "head/acks/jobs/",
    [LAYOUT_JOB_CANCEL_ACK] = "head/acks/cancel/",
};

const char *layout_job_rest(enum layout_job kind)
{
    return kind >= 0 && kind < LAYOUT_JOB_KINDS ? job_rests[kind] : NULL;
}

char *layout_job_key(const char *cluster, enum layout_job kind, const char *name)
{
    const char *rest = layout_job_rest(kind);
    return rest ? cluster_keyf(cluster, "%s%s", rest, name) : NULL;
}

bool layout_job_of(const char *rest, enum layout_job *kind, char *name, size_t namelen)
{
    for (int k = 0; k < LAYOUT_JOB_KINDS; k++) {
        size_t n = strlen(job_rests[k]);
        if (strncmp(rest, job_rests[k], n) != 0)
            continue;
        const char *tail = rest + n;
        if (!*tail || strchr(tail, '/') || strlen(tail) >= namelen)
            return false;
        strcpy(name, tail);
        *kind = (enum layout_job)k;
        return true;
    }
    return false;
}
