/* Parsers of slurmrestd answers; see parse.h. */
#include "slurm/parse.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "slurm/state.h"

const int slurm_known_versions[] = {42, 41, 40, 38};
const size_t slurm_known_versions_count =
    sizeof slurm_known_versions / sizeof *slurm_known_versions;

/* Bodies of more than this are refused before parsing (64 MiB). */
#define MAX_BODY (64u << 20)

static json_t *load(const char *buf, size_t len, char *msg, size_t msglen)
{
    if (len > MAX_BODY) {
        snprintf(msg, msglen, "answer too large (%zu bytes)", len);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(msg, msglen, "answer is not JSON: %s (line %d)", jerr.text,
                 jerr.line);
        return NULL;
    }
    if (!json_is_object(root)) {
        snprintf(msg, msglen, "answer is not a JSON object");
        json_decref(root);
        return NULL;
    }
    return root;
}

/* A number in either generation's form: plain integer/real, or
 * {"set": bool, "infinite": bool, "number": n}. False when absent, unset
 * or infinite. */
static bool num(const json_t *v, int64_t *out)
{
    if (json_is_object(v)) {
        const json_t *set = json_object_get(v, "set");
        const json_t *inf = json_object_get(v, "infinite");
        if ((set && !json_is_true(set)) || (inf && json_is_true(inf)))
            return false;
        v = json_object_get(v, "number");
    }
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != d || d > 9.2e18 || d < -9.2e18)
            return false;
        *out = (int64_t)d;
        return true;
    }
    return false;
}

static int64_t num_or(const json_t *obj, const char *key, int64_t dflt)
{
    int64_t v;
    return num(json_object_get(obj, key), &v) ? v : dflt;
}

/* A string field as a new heap string ("" when absent or not a string). */
static char *str_dup(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    return strdup(s);
}

/* A field that is a string in one generation and an array of strings (of
 * which the first counts) in the other. */
static const char *first_word(const json_t *v)
{
    if (json_is_array(v))
        v = json_array_get(v, 0);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Appends s (copied) to a growing vector. */
static int strv_push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    if (!(nv[*n] = strdup(s)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

static bool strv_has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i], s) == 0)
            return true;
    return false;
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

/* ------------------------------------------------------------ versions */

int slurm_parse_versions(const char *buf, size_t len, int max_minor,
                         char *msg, size_t msglen)
{
    json_t *root = load(buf, len, msg, msglen);
    if (!root)
        return -EPROTO;
    const json_t *paths = json_object_get(root, "paths");
    if (!json_is_object(paths)) {
        snprintf(msg, msglen, "OpenAPI document has no \"paths\"");
        json_decref(root);
        return -EPROTO;
    }
    bool seen[100] = {false};
    const char *path;
    const json_t *val;
    json_object_foreach((json_t *)paths, path, val) {
        int minor = -1, end = 0;
        if (sscanf(path, "/slurm/v0.0.%2d%n", &minor, &end) == 1 &&
            minor >= 0 && minor < 100 && (path[end] == '/' || !path[end]))
            seen[minor] = true;
    }
    json_decref(root);
    for (size_t i = 0; i < slurm_known_versions_count; i++)
        if (seen[slurm_known_versions[i]] &&
            (max_minor <= 0 || slurm_known_versions[i] <= max_minor))
            return slurm_known_versions[i];
    size_t off = (size_t)snprintf(msg, msglen,
                                  "slurmrestd offers no API version this "
                                  "client speaks (v0.0.38, v0.0.40..42%s); "
                                  "it offers:",
                                  max_minor > 0 ? ", limited by max_version"
                                                : "");
    bool any = false;
    for (int m = 0; m < 100 && off < msglen; m++)
        if (seen[m]) {
            off += (size_t)snprintf(msg + off, msglen - off, " v0.0.%d", m);
            any = true;
        }
    if (!any && off < msglen)
        snprintf(msg + off, msglen - off, " none under /slurm/");
    return -ENOTSUP;
}

/* ------------------------------------------------------------ errors */

static int errors_of(const json_t *root, int *number, char *msg,
                     size_t msglen)
{
    const json_t *errs = json_object_get(root, "errors");
    const json_t *e = json_is_array(errs) ? json_array_get(errs, 0) : NULL;
    if (!json_is_object(e))
        return 0;
    int64_t n = 0;
    if (!num(json_object_get(e, "error_number"), &n))
        num(json_object_get(e, "errno"), &n);
    *number = (n > INT32_MAX || n < INT32_MIN) ? -1 : (int)n;
    const json_t *d = json_object_get(e, "description");
    const json_t *t = json_object_get(e, "error");
    const char *ds = json_is_string(d) ? json_string_value(d) : "";
    const char *ts = json_is_string(t) ? json_string_value(t) : "";
    if (*ds && *ts)
        snprintf(msg, msglen, "%s: %s", ds, ts);
    else
        snprintf(msg, msglen, "%s", *ds ? ds : *ts ? ts : "unspecified error");
    return 1;
}

int slurm_parse_errors(const char *buf, size_t len, int *number, char *msg,
                       size_t msglen)
{
    char tmp[256];
    json_t *root = load(buf, len, tmp, sizeof tmp);
    if (!root) {
        snprintf(msg, msglen, "%s", tmp);
        return -EPROTO;
    }
    int rc = errors_of(root, number, msg, msglen);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------ nodes */

void slurm_node_list_free(struct slurmrest_node_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++) {
        struct slurmrest_node *n = &l->nodes[i];
        free(n->name);
        free(n->hostname);
        free(n->address);
        free(n->reason);
        free(n->version);
        free_strv(n->flags, n->nflags);
        free_strv(n->partitions, n->npartitions);
    }
    free(l->nodes);
    free(l);
}

static int parse_node(const json_t *o, struct slurmrest_node *n, char *msg,
                      size_t msglen)
{
    const json_t *name = json_object_get(o, "name");
    if (!json_is_string(name) || !*json_string_value(name)) {
        snprintf(msg, msglen, "a node has no name");
        return -EPROTO;
    }
    n->name = strdup(json_string_value(name));
    n->hostname = str_dup(o, "hostname");
    n->address = str_dup(o, "address");
    n->reason = str_dup(o, "reason");
    const json_t *ver = json_object_get(o, "version");
    n->version = str_dup(o, json_is_string(ver) ? "version" : "slurmd_version");
    if (!n->name || !n->hostname || !n->address || !n->reason || !n->version)
        return -ENOMEM;

    /* State: v0.0.4x gives an array mixing the base state and flags; v0.0.38
     * a base-state string plus a state_flags array. */
    const json_t *state = json_object_get(o, "state");
    const char *base = NULL;
    int rc = 0;
    size_t i;
    const json_t *w;
    if (json_is_string(state)) {
        base = json_string_value(state);
    } else if (json_is_array(state)) {
        json_array_foreach(state, i, w) {
            if (!json_is_string(w))
                continue;
            const char *s = json_string_value(w);
            if (!base && slurm_state_is_base(s))
                base = s;
            else if (*s && !strv_has(n->flags, n->nflags, s) &&
                     (rc = strv_push(&n->flags, &n->nflags, s)) < 0)
                return rc;
        }
    }
    const json_t *sflags = json_object_get(o, "state_flags");
    if (json_is_array(sflags)) {
        json_array_foreach(sflags, i, w) {
            const char *s = json_is_string(w) ? json_string_value(w) : "";
            if (*s && !strv_has(n->flags, n->nflags, s) &&
                (rc = strv_push(&n->flags, &n->nflags, s)) < 0)
                return rc;
        }
    }
    for (i = 0; i < n->nflags; i++)
        upper(n->flags[i]);
    if (!base || !slurm_state_is_base(base))
        base = "UNKNOWN";
    snprintf(n->base, sizeof n->base, "%s", base);
    upper(n->base);
    slurm_state_word(n->base, (const char *const *)n->flags, n->nflags,
                     n->state, sizeof n->state);

    const json_t *parts = json_object_get(o, "partitions");
    if (json_is_array(parts)) {
        json_array_foreach(parts, i, w) {
            if (json_is_string(w) &&
                (rc = strv_push(&n->partitions, &n->npartitions,
                                json_string_value(w))) < 0)
                return rc;
        }
    }
    n->cpus = num_or(o, "cpus", -1);
    n->alloc_cpus = num_or(o, "alloc_cpus", -1);
    n->real_memory_mb = num_or(o, "real_memory", -1);
    n->alloc_memory_mb = num_or(o, "alloc_memory", -1);
    n->boot_time = num_or(o, "boot_time", 0);
    n->last_busy = num_or(o, "last_busy", 0);
    n->slurmd_start_time = num_or(o, "slurmd_start_time", 0);
    n->reason_changed_at = num_or(o, "reason_changed_at", 0);
    return 0;
}

int slurm_parse_nodes(const char *buf, size_t len,
                      struct slurmrest_node_list **out, char *msg,
                      size_t msglen)
{
    *out = NULL;
    json_t *root = load(buf, len, msg, msglen);
    if (!root)
        return -EPROTO;
    const json_t *nodes = json_object_get(root, "nodes");
    if (!json_is_array(nodes)) {
        snprintf(msg, msglen, "answer has no \"nodes\" array");
        json_decref(root);
        return -EPROTO;
    }
    struct slurmrest_node_list *l = calloc(1, sizeof *l);
    size_t n = json_array_size(nodes);
    if (!l || (n && !(l->nodes = calloc(n, sizeof *l->nodes)))) {
        free(l);
        json_decref(root);
        return -ENOMEM;
    }
    l->refs = 1;
    l->last_update = num_or(root, "last_update", 0);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const json_t *o = json_array_get(nodes, i);
        if (!json_is_object(o)) {
            snprintf(msg, msglen, "nodes[%zu] is not an object", i);
            rc = -EPROTO;
            break;
        }
        l->count = i + 1;
        rc = parse_node(o, &l->nodes[i], msg, msglen);
        if (rc == -ENOMEM)
            snprintf(msg, msglen, "out of memory");
    }
    json_decref(root);
    if (rc < 0) {
        slurm_node_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

/* ------------------------------------------------------------ partitions */

void slurmrest_partition_list_free(struct slurmrest_partition_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++) {
        free(l->partitions[i].name);
        free(l->partitions[i].nodes);
        free(l->partitions[i].state);
    }
    free(l->partitions);
    free(l);
}

int slurm_parse_partitions(const char *buf, size_t len,
                           struct slurmrest_partition_list **out, char *msg,
                           size_t msglen)
{
    *out = NULL;
    json_t *root = load(buf, len, msg, msglen);
    if (!root)
        return -EPROTO;
    const json_t *parts = json_object_get(root, "partitions");
    if (!json_is_array(parts)) {
        snprintf(msg, msglen, "answer has no \"partitions\" array");
        json_decref(root);
        return -EPROTO;
    }
    struct slurmrest_partition_list *l = calloc(1, sizeof *l);
    size_t n = json_array_size(parts);
    if (!l || (n && !(l->partitions = calloc(n, sizeof *l->partitions)))) {
        free(l);
        json_decref(root);
        return -ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(parts, i);
        const json_t *name = json_object_get(o, "name");
        if (!json_is_object(o) || !json_is_string(name)) {
            snprintf(msg, msglen, "partitions[%zu] has no name", i);
            rc = -EPROTO;
            break;
        }
        struct slurmrest_partition *p = &l->partitions[i];
        l->count = i + 1;
        const json_t *nodes = json_object_get(o, "nodes");
        const json_t *cpus = json_object_get(o, "cpus");
        const json_t *pstate = json_object_get(json_object_get(o, "partition"),
                                               "state");
        const char *state = first_word(pstate ? pstate
                                              : json_object_get(o, "state"));
        p->name = strdup(json_string_value(name));
        if (json_is_object(nodes)) {          /* v0.0.4x */
            p->nodes = str_dup(nodes, "configured");
            p->total_nodes = num_or(nodes, "total", -1);
            p->total_cpus = num_or(cpus, "total", -1);
        } else {                              /* v0.0.38 */
            p->nodes = str_dup(o, "nodes");
            p->total_nodes = num_or(o, "total_nodes", -1);
            p->total_cpus = num_or(o, "total_cpus", -1);
        }
        p->state = strdup(state ? state : "UNKNOWN");
        if (!p->name || !p->nodes || !p->state) {
            snprintf(msg, msglen, "out of memory");
            rc = -ENOMEM;
            break;
        }
        upper(p->state);
    }
    json_decref(root);
    if (rc < 0) {
        slurmrest_partition_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

/* ------------------------------------------------------------ jobs */

void slurmrest_job_list_free(struct slurmrest_job_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++) {
        struct slurmrest_job *j = &l->jobs[i];
        free(j->name);
        free(j->user);
        free(j->state);
        free(j->nodes);
        free(j->partition);
        free(j->reason);
    }
    free(l->jobs);
    free(l);
}

/* exit_code in either generation's form: v0.0.38 gives the wait status
 * (code << 8 | signal); v0.0.40 on give {"return_code": n, "signal":
 * {"id": n}} with unset numbers while the job runs. */
static void job_exit(const json_t *v, struct slurmrest_job *j)
{
    int64_t status;
    j->exit_code = -1;
    j->exit_signal = 0;
    if (json_is_object(v)) {
        const json_t *sig = json_object_get(v, "signal");
        num(json_object_get(v, "return_code"), &j->exit_code);
        if (json_is_object(sig) && num(json_object_get(sig, "id"), &status))
            j->exit_signal = status;
    } else if (num(v, &status) && status >= 0) {
        j->exit_code = (status >> 8) & 0xff;
        j->exit_signal = status & 0x7f;
    }
}

int slurm_parse_jobs(const char *buf, size_t len,
                     struct slurmrest_job_list **out, char *msg, size_t msglen)
{
    *out = NULL;
    json_t *root = load(buf, len, msg, msglen);
    if (!root)
        return -EPROTO;
    const json_t *jobs = json_object_get(root, "jobs");
    if (!json_is_array(jobs)) {
        snprintf(msg, msglen, "answer has no \"jobs\" array");
        json_decref(root);
        return -EPROTO;
    }
    struct slurmrest_job_list *l = calloc(1, sizeof *l);
    size_t n = json_array_size(jobs);
    if (!l || (n && !(l->jobs = calloc(n, sizeof *l->jobs)))) {
        free(l);
        json_decref(root);
        return -ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(jobs, i);
        struct slurmrest_job *j = &l->jobs[i];
        if (!json_is_object(o) || !num(json_object_get(o, "job_id"), &j->job_id)) {
            snprintf(msg, msglen, "jobs[%zu] has no job_id", i);
            rc = -EPROTO;
            break;
        }
        l->count = i + 1;
        const char *state = first_word(json_object_get(o, "job_state"));
        j->name = str_dup(o, "name");
        j->user = str_dup(o, "user_name");
        j->nodes = str_dup(o, "nodes");
        j->partition = str_dup(o, "partition");
        j->reason = str_dup(o, "state_reason");
        j->state = strdup(state ? state : "UNKNOWN");
        if (!j->name || !j->user || !j->nodes || !j->partition || !j->state || !j->reason) {
            snprintf(msg, msglen, "out of memory");
            rc = -ENOMEM;
            break;
        }
        upper(j->state);
        j->cpus = num_or(o, "cpus", -1);
        j->node_count = num_or(o, "node_count", -1);
        j->submit_time = num_or(o, "submit_time", 0);
        j->start_time = num_or(o, "start_time", 0);
        j->end_time = num_or(o, "end_time", 0);
        job_exit(json_object_get(o, "exit_code"), j);
    }
    json_decref(root);
    if (rc < 0) {
        slurmrest_job_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

/* ------------------------------------------------------------ ping */

int slurm_parse_ping(const char *buf, size_t len, struct slurmrest_ping *out,
                     char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    json_t *root = load(buf, len, msg, msglen);
    if (!root)
        return -EPROTO;
    const json_t *pings = json_object_get(root, "pings");
    if (!json_is_array(pings)) {
        snprintf(msg, msglen, "answer has no \"pings\" array");
        json_decref(root);
        return -EPROTO;
    }
    size_t i;
    const json_t *o;
    json_array_foreach(pings, i, o) {
        if (out->count == SLURMREST_MAX_CONTROLLERS)
            break;
        if (!json_is_object(o))
            continue;
        __typeof__(out->controller[0]) *c = &out->controller[out->count++];
        const json_t *h = json_object_get(o, "hostname");
        const json_t *m = json_object_get(o, "mode");
        snprintf(c->hostname, sizeof c->hostname, "%s",
                 json_is_string(h) ? json_string_value(h) : "");
        snprintf(c->mode, sizeof c->mode, "%s",
                 json_is_string(m) ? json_string_value(m) : "");
        /* v0.0.42: responding; v0.0.40/41: pinged; v0.0.38: ping. */
        const json_t *resp = json_object_get(o, "responding");
        const json_t *word = json_object_get(o, "pinged");
        if (!word)
            word = json_object_get(o, "ping");
        if (json_is_boolean(resp))
            c->responding = json_is_true(resp);
        else
            c->responding = json_is_string(word) &&
                            strcasecmp(json_string_value(word), "UP") == 0;
        c->latency_us = num_or(o, "latency", -1);
    }
    json_decref(root);
    return 0;
}
