/* The published Slurm view and its heartbeat; see view.h. */
#include "slurm/view.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "slurm/parse.h"

static json_t *load_object(const char *buf, size_t len, char *msg, size_t msglen)
{
    json_error_t e;
    json_t *root = json_loadb(buf, len, 0, &e);
    if (!root) {
        snprintf(msg, msglen, "not JSON: %s (line %d)", e.text, e.line);
        return NULL;
    }
    if (!json_is_object(root)) {
        snprintf(msg, msglen, "not a JSON object");
        json_decref(root);
        return NULL;
    }
    return root;
}

/* RFC 3339 UTC, as the agent writes it ("2026-12-01T06:19:41Z"). */
static int observed_at(const json_t *root, int64_t *out, char *msg, size_t msglen)
{
    const char *s = json_string_value(json_object_get(root, "observed_at"));
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (!end || *end) {
        snprintf(msg, msglen, "no \"observed_at\" time (RFC 3339 UTC)");
        return -EPROTO;
    }
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* The writer's instance id into out (outlen bytes): required. */
static int instance_id(const json_t *root, char *out, size_t outlen, char *msg, size_t msglen)
{
    const char *s = json_string_value(json_object_get(root, "instance_id"));
    if (!s || !*s || strlen(s) >= outlen) {
        snprintf(msg, msglen, "no \"instance_id\" of the head that wrote it");
        return -EPROTO;
    }
    snprintf(out, outlen, "%s", s);
    return 0;
}

/* One part of the view, through the parser of its answer. */
static int part(const json_t *root, const char *name, char **text, size_t *len, char *msg,
                size_t msglen)
{
    const json_t *p = json_object_get(root, name);
    if (!json_is_object(p)) {
        snprintf(msg, msglen, "the view has no \"%s\" answer", name);
        return -EPROTO;
    }
    *text = json_dumps(p, JSON_COMPACT);
    if (!*text) {
        snprintf(msg, msglen, "out of memory");
        return -ENOMEM;
    }
    *len = strlen(*text);
    return 0;
}

static int parse_parts(const json_t *root, struct slurm_view *v, char *msg, size_t msglen)
{
    static const char *const names[] = {"nodes", "partitions", "jobs", "ping"};
    char part_msg[400];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *text = NULL;
        size_t len = 0;
        int rc = part(root, names[i], &text, &len, msg, msglen);
        if (rc < 0)
            return rc;
        switch (i) {
        case 0: rc = slurm_parse_nodes(text, len, &v->nodes, part_msg, sizeof(part_msg)); break;
        case 1:
            rc = slurm_parse_partitions(text, len, &v->partitions, part_msg, sizeof(part_msg));
            break;
        case 2: rc = slurm_parse_jobs(text, len, &v->jobs, part_msg, sizeof(part_msg)); break;
        default: rc = slurm_parse_ping(text, len, &v->ping, part_msg, sizeof(part_msg)); break;
        }
        free(text);
        if (rc < 0) {
            snprintf(msg, msglen, "the view's %s: %s", names[i], part_msg);
            return rc;
        }
    }
    return 0;
}

int slurm_view_parse(const char *buf, size_t len, struct slurm_view *out, char *msg,
                     size_t msglen)
{
    memset(out, 0, sizeof(*out));
    json_t *root = load_object(buf, len, msg, msglen);
    if (!root)
        return -EPROTO;
    int rc = 0;
    const char *version = json_string_value(json_object_get(root, "api_version"));
    if (json_integer_value(json_object_get(root, "format")) != SLURM_VIEW_FORMAT) {
        snprintf(msg, msglen, "the view is not of format %d", SLURM_VIEW_FORMAT);
        rc = -EPROTO;
    } else if (!version || strlen(version) >= sizeof(out->api_version)) {
        snprintf(msg, msglen, "the view names no API version");
        rc = -EPROTO;
    } else {
        snprintf(out->api_version, sizeof(out->api_version), "%s", version);
        rc = instance_id(root, out->instance_id, sizeof(out->instance_id), msg, msglen);
    }
    if (rc == 0)
        rc = observed_at(root, &out->observed_at, msg, msglen);
    if (rc == 0)
        rc = parse_parts(root, out, msg, msglen);
    json_decref(root);
    if (rc < 0)
        slurm_view_free(out);
    return rc;
}

void slurm_view_free(struct slurm_view *v)
{
    if (v->nodes)
        slurmrest_node_list_release(v->nodes);
    slurmrest_partition_list_free(v->partitions);
    slurmrest_job_list_free(v->jobs);
    memset(v, 0, sizeof(*v));
}

int slurm_heartbeat_parse(const char *buf, size_t len, struct slurm_heartbeat *out, char *msg,
                          size_t msglen)
{
    memset(out, 0, sizeof(*out));
    json_t *root = load_object(buf, len, msg, msglen);
    if (!root)
        return -EPROTO;
    int rc = instance_id(root, out->instance_id, sizeof(out->instance_id), msg, msglen);
    if (rc == 0)
        rc = observed_at(root, &out->observed_at, msg, msglen);
    const json_t *error = json_object_get(root, "error");
    if (rc == 0 && json_is_string(error))
        snprintf(out->error, sizeof(out->error), "%s", json_string_value(error));
    else if (rc == 0 && error && !json_is_null(error)) {
        snprintf(msg, msglen, "the heartbeat's \"error\" is neither text nor null");
        rc = -EPROTO;
    }
    json_decref(root);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}
