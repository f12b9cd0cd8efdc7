/* slurmprobe: drives the slurmrest library from the command line, for the
 * integration tests. Prints one JSON document on stdout; on failure
 * {"error": {"code", "errno", "http_status", "message"}} and exit status 2.
 *
 *   slurmprobe --url URL --user NAME --key-file FILE
 *              [--timeout-ms N] [--connect-timeout-ms N] [--lifetime S]
 *              [--max-version v0.0.N]
 *              version | ping | nodes | nodes-twice | partitions | jobs |
 *              drain NODE REASON | resume NODE | delete NODE
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "slurm/slurmrest.h"

static json_t *strv(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *node_json(const struct slurmrest_node *n)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:I,s:I,s:I,s:I,"
                     "s:I,s:I,s:I,s:s}",
                     "name", n->name, "hostname", n->hostname, "address",
                     n->address, "state", n->state, "base", n->base, "flags",
                     strv(n->flags, n->nflags), "partitions",
                     strv(n->partitions, n->npartitions), "reason", n->reason,
                     "cpus", (json_int_t)n->cpus, "alloc_cpus",
                     (json_int_t)n->alloc_cpus, "real_memory",
                     (json_int_t)n->real_memory_mb, "alloc_memory",
                     (json_int_t)n->alloc_memory_mb, "boot_time",
                     (json_int_t)n->boot_time, "last_busy",
                     (json_int_t)n->last_busy, "slurmd_start_time",
                     (json_int_t)n->slurmd_start_time, "version", n->version);
}

static json_t *nodes_json(const struct slurmrest_node_list *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->count; i++)
        json_array_append_new(a, node_json(&l->nodes[i]));
    return json_pack("{s:o,s:I}", "nodes", a, "last_update",
                     (json_int_t)l->last_update);
}

static int usage(void)
{
    fprintf(stderr, "usage: slurmprobe --url URL --user NAME --key-file FILE "
                    "[--timeout-ms N] [--connect-timeout-ms N] [--lifetime S] "
                    "[--max-version v0.0.N] "
                    "COMMAND [ARGS]\n");
    return 64;
}

int main(int argc, char **argv)
{
    struct slurmrest_options opt = {0};
    const char *key_file = NULL;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (!strcmp(argv[i], "--url"))
            opt.url = argv[i + 1];
        else if (!strcmp(argv[i], "--user"))
            opt.user = argv[i + 1];
        else if (!strcmp(argv[i], "--key-file"))
            key_file = argv[i + 1];
        else if (!strcmp(argv[i], "--timeout-ms"))
            opt.timeout_ms = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--connect-timeout-ms"))
            opt.connect_timeout_ms = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-version"))
            opt.max_version = argv[i + 1];
        else if (!strcmp(argv[i], "--lifetime"))
            opt.token_lifetime_s = (unsigned)atol(argv[i + 1]);
        else
            return usage();
    }
    if (i >= argc || !key_file)
        return usage();
    const char *cmd = argv[i++];

    unsigned char key[8192];
    FILE *f = fopen(key_file, "rb");
    if (!f) {
        perror(key_file);
        return 66;
    }
    opt.key_len = fread(key, 1, sizeof key, f);
    fclose(f);
    opt.key = key;

    struct slurmrest_error err = {0};
    slurmrest_client *c = NULL;
    json_t *out = NULL;
    int rc = slurmrest_client_new(&opt, &c, &err);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rc == 0 && !strcmp(cmd, "version")) {
        const char *v;
        if ((rc = slurmrest_version(c, &v, &err)) == 0)
            out = json_pack("{s:s}", "version", v);
    } else if (rc == 0 && !strcmp(cmd, "ping")) {
        struct slurmrest_ping p;
        if ((rc = slurmrest_ping(c, &p, &err)) == 0) {
            json_t *a = json_array();
            for (size_t k = 0; k < p.count; k++)
                json_array_append_new(
                    a, json_pack("{s:s,s:s,s:b,s:I}", "hostname",
                                 p.controller[k].hostname, "mode",
                                 p.controller[k].mode, "responding",
                                 p.controller[k].responding, "latency_us",
                                 (json_int_t)p.controller[k].latency_us));
            out = json_pack("{s:o}", "controllers", a);
        }
    } else if (rc == 0 && (!strcmp(cmd, "nodes") ||
                           !strcmp(cmd, "nodes-twice"))) {
        struct slurmrest_node_list *l = NULL, *l2 = NULL;
        if ((rc = slurmrest_nodes(c, &l, &err)) == 0) {
            out = nodes_json(l);
            if (!strcmp(cmd, "nodes-twice") &&
                (rc = slurmrest_nodes(c, &l2, &err)) == 0) {
                /* Same pointer: the second poll was answered "unchanged". */
                json_object_set_new(out, "second_unchanged",
                                    json_boolean(l2 == l));
                json_object_set_new(out, "second", nodes_json(l2));
            }
        }
        slurmrest_node_list_release(l2);
        slurmrest_node_list_release(l);
    } else if (rc == 0 && !strcmp(cmd, "partitions")) {
        struct slurmrest_partition_list *l;
        if ((rc = slurmrest_partitions(c, &l, &err)) == 0) {
            json_t *a = json_array();
            for (size_t k = 0; k < l->count; k++) {
                const struct slurmrest_partition *p = &l->partitions[k];
                json_array_append_new(
                    a, json_pack("{s:s,s:s,s:s,s:I,s:I}", "name", p->name,
                                 "nodes", p->nodes, "state", p->state,
                                 "total_cpus", (json_int_t)p->total_cpus,
                                 "total_nodes", (json_int_t)p->total_nodes));
            }
            out = json_pack("{s:o}", "partitions", a);
            slurmrest_partition_list_free(l);
        }
    } else if (rc == 0 && !strcmp(cmd, "jobs")) {
        struct slurmrest_job_list *l;
        if ((rc = slurmrest_jobs(c, &l, &err)) == 0) {
            json_t *a = json_array();
            for (size_t k = 0; k < l->count; k++) {
                const struct slurmrest_job *j = &l->jobs[k];
                json_array_append_new(
                    a, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I}", "job_id",
                                 (json_int_t)j->job_id, "name", j->name,
                                 "user", j->user, "state", j->state, "nodes",
                                 j->nodes, "partition", j->partition, "cpus",
                                 (json_int_t)j->cpus));
            }
            out = json_pack("{s:o}", "jobs", a);
            slurmrest_job_list_free(l);
        }
    } else if (rc == 0 && !strcmp(cmd, "drain") && i + 1 < argc) {
        if ((rc = slurmrest_node_drain(c, argv[i], argv[i + 1], &err)) == 0)
            out = json_pack("{s:b}", "ok", 1);
    } else if (rc == 0 && !strcmp(cmd, "resume") && i < argc) {
        if ((rc = slurmrest_node_resume(c, argv[i], &err)) == 0)
            out = json_pack("{s:b}", "ok", 1);
    } else if (rc == 0 && !strcmp(cmd, "delete") && i < argc) {
        if ((rc = slurmrest_node_delete(c, argv[i], &err)) == 0)
            out = json_pack("{s:b}", "ok", 1);
    } else if (rc == 0) {
        slurmrest_client_free(c);
        return usage();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc < 0)
        out = json_pack("{s:{s:i,s:s,s:i,s:s},s:f}", "error", "code", rc,
                        "errno", strerrorname_np(-rc) ? strerrorname_np(-rc)
                                                      : "?",
                        "http_status", err.http_status, "message",
                        err.message, "seconds", secs);
    else
        json_object_set_new(out, "seconds", json_real(secs));
    char *s = json_dumps(out, JSON_INDENT(1) | JSON_SORT_KEYS);
    puts(s ? s : "{}");
    free(s);
    json_decref(out);
    slurmrest_client_free(c);
    return rc < 0 ? 2 : 0;
}
