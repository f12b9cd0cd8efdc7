/* Parsing of real slurmrestd answers captured from Slurm 22.05 (v0.0.38)
 * and 24.11 (v0.0.40, v0.0.41, v0.0.42), in tests/data/slurm/. The
 * cluster they came from: n1 idle, n2 running one 1-CPU job (mixed), n3
 * drained with reason "disk check", n4 a CLOUD node never started
 * (powered down); CLOUD nodes with CPUs=2, RealMemory=500, partitions
 * batch (all) and other (n1). Expected values are scontrol's, saved beside
 * the answers in scontrol.txt. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurm/parse.h"
#include "tests/unit/check.h"

static char *slurp(const char *rel, size_t *len)
{
    char path[1024];
    const char *root = getenv("PCFS_ROOT");
    snprintf(path, sizeof path, "%s/tests/data/slurm/%s", root ? root : ".",
             rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        *len = 0;
        return calloc(1, 1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static const char *const answers[] = {
    "22.05/%s_v0.0.38.json", "24.11/%s_v0.0.40.json",
    "24.11/%s_v0.0.41.json", "24.11/%s_v0.0.42.json",
};

static char *answer(size_t i, const char *what, size_t *len)
{
    char rel[128];
    snprintf(rel, sizeof rel, answers[i], what);
    return slurp(rel, len);
}

static void flags_are(const struct slurmrest_node *n, const char *csv)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", csv);
    size_t want = 0;
    for (char *save, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save), want++)
        CHECK(slurmrest_node_has_flag(n, t));
    CHECK_INT(n->nflags, want);
}

static void test_nodes_all_versions(void)
{
    for (size_t v = 0; v < 4; v++) {
        size_t len;
        char *buf = answer(v, "nodes", &len);
        struct slurmrest_node_list *l = NULL;
        char msg[256] = "";
        CHECK_INT(slurm_parse_nodes(buf, len, &l, msg, sizeof msg), 0);
        free(buf);
        if (!l)
            continue;
        fprintf(stderr, "  %s\n", answers[v]);
        CHECK_INT(l->count, 4);
        CHECK(v == 0 ? l->last_update == 0 : l->last_update > 1700000000);

        const struct slurmrest_node *n1 = slurmrest_node_find(l, "n1");
        const struct slurmrest_node *n2 = slurmrest_node_find(l, "n2");
        const struct slurmrest_node *n3 = slurmrest_node_find(l, "n3");
        const struct slurmrest_node *n4 = slurmrest_node_find(l, "n4");
        CHECK(n1 && n2 && n3 && n4);
        if (!n1 || !n2 || !n3 || !n4) {
            slurmrest_node_list_release(l);
            continue;
        }
        CHECK_STR(n1->state, "idle");
        CHECK_STR(n1->base, "IDLE");
        flags_are(n1, "CLOUD");
        CHECK_INT(n1->cpus, 2);
        CHECK_INT(n1->alloc_cpus, 0);
        CHECK_INT(n1->real_memory_mb, 500);
        CHECK_STR(n1->address, "127.0.0.1");
        CHECK_STR(n1->hostname, "n1");
        CHECK_INT(n1->npartitions, 2);
        if (n1->npartitions == 2) {
            CHECK_STR(n1->partitions[0], "batch");
            CHECK_STR(n1->partitions[1], "other");
        }
        CHECK(n1->boot_time > 1700000000);
        CHECK(n1->slurmd_start_time > 1700000000);
        CHECK_STR(n1->reason, "");
        CHECK_STR(n1->version, v == 0 ? "22.05.8" : "24.11.5");

        CHECK_STR(n2->state, "mixed");
        flags_are(n2, "CLOUD");
        CHECK_INT(n2->alloc_cpus, 1);

        CHECK_STR(n3->state, "drained");
        flags_are(n3, "CLOUD,DRAIN");
        CHECK_STR(n3->reason, "disk check");
        CHECK(n3->reason_changed_at > 1700000000);

        CHECK_STR(n4->state, "powered_down");
        flags_are(n4, "CLOUD,POWERED_DOWN");
        CHECK_STR(n4->address, "n4");   /* never registered: NodeAddr=name */
        CHECK_INT(n4->boot_time, 0);
        CHECK_INT(n4->npartitions, 1);
        CHECK_INT(n4->cpus, 2);
        slurmrest_node_list_release(l);
    }
}

static void test_partitions_all_versions(void)
{
    for (size_t v = 0; v < 4; v++) {
        size_t len;
        char *buf = answer(v, "partitions", &len);
        struct slurmrest_partition_list *l = NULL;
        char msg[256];
        CHECK_INT(slurm_parse_partitions(buf, len, &l, msg, sizeof msg), 0);
        free(buf);
        if (!l)
            continue;
        CHECK_INT(l->count, 2);
        if (l->count == 2) {
            CHECK_STR(l->partitions[0].name, "batch");
            CHECK_STR(l->partitions[0].nodes, "n[1-4]");
            CHECK_STR(l->partitions[0].state, "UP");
            CHECK_INT(l->partitions[0].total_cpus, 8);
            CHECK_INT(l->partitions[0].total_nodes, 4);
            CHECK_STR(l->partitions[1].name, "other");
            CHECK_STR(l->partitions[1].nodes, "n1");
        }
        slurmrest_partition_list_free(l);
    }
}

static void test_jobs_all_versions(void)
{
    for (size_t v = 0; v < 4; v++) {
        size_t len;
        char *buf = answer(v, "jobs", &len);
        struct slurmrest_job_list *l = NULL;
        char msg[256];
        CHECK_INT(slurm_parse_jobs(buf, len, &l, msg, sizeof msg), 0);
        free(buf);
        if (!l)
            continue;
        CHECK_INT(l->count, 1);
        if (l->count == 1) {
            CHECK_INT(l->jobs[0].job_id, 1);
            CHECK_STR(l->jobs[0].name, "wrap");
            CHECK_STR(l->jobs[0].user, "root");
            CHECK_STR(l->jobs[0].state, "RUNNING");
            CHECK_STR(l->jobs[0].nodes, "n2");
            CHECK_STR(l->jobs[0].partition, "batch");
            CHECK_INT(l->jobs[0].cpus, 1);
            CHECK_INT(l->jobs[0].node_count, 1);
            CHECK(l->jobs[0].start_time >= l->jobs[0].submit_time);
            CHECK(l->jobs[0].submit_time > 1700000000);
            CHECK_STR(l->jobs[0].reason, "None");
            CHECK_INT(l->jobs[0].exit_code, 0);
            CHECK_INT(l->jobs[0].exit_signal, 0);
        }
        slurmrest_job_list_free(l);
    }
}

/* The exit code in both generations' forms: a wait status (v0.0.38) and
 * {"return_code", "signal"} with unset numbers while the job runs. */
static void test_job_exit_codes(void)
{
    static const struct {
        const char *exit_code;
        int64_t code, signal;
    } cases[] = {
        {"768", 3, 0},
        {"9", 0, 9},
        {"-1", -1, 0},
        {"{\"return_code\": {\"set\": true, \"infinite\": false, \"number\": 2}, "
         "\"signal\": {\"id\": {\"set\": false, \"number\": 0}}}", 2, 0},
        {"{\"return_code\": {\"set\": false, \"number\": 0}}", -1, 0},
        {"{\"return_code\": 0, \"signal\": {\"id\": 15}}", 0, 15},
        {"\"weird\"", -1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[512];
        snprintf(buf, sizeof buf,
                 "{\"jobs\": [{\"job_id\": 7, \"job_state\": \"FAILED\", "
                 "\"state_reason\": \"NonZeroExitCode\", \"exit_code\": %s}]}",
                 cases[i].exit_code);
        struct slurmrest_job_list *l = NULL;
        char msg[256];
        CHECK_INT(slurm_parse_jobs(buf, strlen(buf), &l, msg, sizeof msg), 0);
        if (!l)
            continue;
        CHECK_STR(l->jobs[0].reason, "NonZeroExitCode");
        CHECK_INT(l->jobs[0].exit_code, cases[i].code);
        CHECK_INT(l->jobs[0].exit_signal, cases[i].signal);
        slurmrest_job_list_free(l);
    }
}

static void test_ping_all_versions(void)
{
    for (size_t v = 0; v < 4; v++) {
        size_t len;
        char *buf = answer(v, "ping", &len);
        struct slurmrest_ping p;
        char msg[256];
        CHECK_INT(slurm_parse_ping(buf, len, &p, msg, sizeof msg), 0);
        free(buf);
        CHECK_INT(p.count, 1);
        CHECK(p.controller[0].responding);
        CHECK_STR(p.controller[0].mode, "primary");
        CHECK(strstr(p.controller[0].hostname, "ctl") != NULL);
        CHECK(v == 0 ? p.controller[0].latency_us == -1
                     : p.controller[0].latency_us > 0);
    }
    /* Slurm 24.11 answers a ping with a rejected token with 200 and
     * "pinged": "DOWN". */
    size_t len;
    char *buf = slurp("24.11/badtoken_v0.0.42.json", &len);
    struct slurmrest_ping p;
    char msg[256];
    CHECK_INT(slurm_parse_ping(buf, len, &p, msg, sizeof msg), 0);
    CHECK(!p.controller[0].responding);
    free(buf);
    buf = slurp("24.11/badtoken_v0.0.40.json", &len);
    CHECK_INT(slurm_parse_ping(buf, len, &p, msg, sizeof msg), 0);
    CHECK(!p.controller[0].responding);
    free(buf);
}

static void test_versions(void)
{
    size_t len;
    char msg[512];
    char *buf = slurp("22.05/openapi_v3.json", &len);
    CHECK_INT(slurm_parse_versions(buf, len, 0, msg, sizeof msg), 38);
    free(buf);
    buf = slurp("24.11/openapi_v3.json", &len);
    CHECK_INT(slurm_parse_versions(buf, len, 0, msg, sizeof msg), 42);
    CHECK_INT(slurm_parse_versions(buf, len, 41, msg, sizeof msg), 41);
    CHECK_INT(slurm_parse_versions(buf, len, 40, msg, sizeof msg), 40);
    CHECK_INT(slurm_parse_versions(buf, len, 39, msg, sizeof msg), -ENOTSUP);
    CHECK_CONTAINS(msg, "v0.0.40 v0.0.41 v0.0.42");
    free(buf);
    const char *only41 = "{\"paths\":{\"/slurm/v0.0.41/ping/\":{},"
                         "\"/slurm/v0.0.40/nodes/\":{}}}";
    CHECK_INT(slurm_parse_versions(only41, strlen(only41), 0, msg, sizeof msg), 41);
    const char *old = "{\"paths\":{\"/slurm/v0.0.37/ping\":{},"
                      "\"/slurm/v0.0.39/ping\":{},\"/slurmdb/v0.0.38/x\":{}}}";
    CHECK_INT(slurm_parse_versions(old, strlen(old), 0, msg, sizeof msg),
              -ENOTSUP);
    CHECK_CONTAINS(msg, "v0.0.37 v0.0.39");
    CHECK_INT(slurm_parse_versions("[]", 2, 0, msg, sizeof msg), -EPROTO);
    CHECK_INT(slurm_parse_versions("{}", 2, 0, msg, sizeof msg), -EPROTO);
}

static void test_errors(void)
{
    size_t len;
    int number = 0;
    char msg[256];
    char *buf = slurp("24.11/badtoken_nodes_v0.0.42.json", &len);
    CHECK_INT(slurm_parse_errors(buf, len, &number, msg, sizeof msg), 1);
    CHECK_INT(number, 1007);
    CHECK_STR(msg, "Failure to query nodes: Protocol authentication error");
    free(buf);
    buf = slurp("22.05/badtoken_nodes_v0.0.38.json", &len);
    CHECK_INT(slurm_parse_errors(buf, len, &number, msg, sizeof msg), 1);
    CHECK_INT(number, -1);
    CHECK_STR(msg, "Unspecified error");
    free(buf);
    buf = slurp("22.05/nonode_v0.0.38.json", &len);
    CHECK_INT(slurm_parse_errors(buf, len, &number, msg, sizeof msg), 1);
    CHECK_INT(number, 2018);
    free(buf);
    buf = slurp("24.11/delete_v0.0.42.json", &len);
    CHECK_INT(slurm_parse_errors(buf, len, &number, msg, sizeof msg), 1);
    CHECK_INT(number, 2028);
    free(buf);
    buf = slurp("24.11/update_drain_v0.0.42.json", &len);
    CHECK_INT(slurm_parse_errors(buf, len, &number, msg, sizeof msg), 0);
    free(buf);
    buf = slurp("22.05/update_v0.0.38.json", &len);   /* plain text */
    CHECK_INT(slurm_parse_errors(buf, len, &number, msg, sizeof msg), -EPROTO);
    free(buf);
}

static void test_malformed(void)
{
    struct slurmrest_node_list *l = NULL;
    char msg[256];
    static const char *bad[] = {
        "", "{", "[]", "{\"nodes\": 3}", "{\"nodes\": [1]}",
        "{\"nodes\": [{\"state\": [\"IDLE\"]}]}",
        "{\"nodes\": [{\"name\": \"\"}]}",
        "{\"nodes\": [], \"nodes\": []}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(slurm_parse_nodes(bad[i], strlen(bad[i]), &l, msg,
                                    sizeof msg),
                  -EPROTO);
        CHECK(l == NULL);
    }
    /* Odd but valid: unknown state words, numbers of every shape. */
    const char *odd = "{\"nodes\":[{\"name\":\"x\",\"state\":[\"WEIRD\","
                      "\"CLOUD\",\"CLOUD\"],\"cpus\":{\"set\":false,"
                      "\"number\":9},\"alloc_cpus\":{\"infinite\":true},"
                      "\"real_memory\":1.5e3,\"boot_time\":\"x\","
                      "\"partitions\":[1,\"p\"]}]}";
    CHECK_INT(slurm_parse_nodes(odd, strlen(odd), &l, msg, sizeof msg), 0);
    if (l) {
        CHECK_STR(l->nodes[0].state, "unknown");
        CHECK_INT(l->nodes[0].nflags, 2);   /* WEIRD kept, CLOUD once */
        CHECK_INT(l->nodes[0].cpus, -1);
        CHECK_INT(l->nodes[0].alloc_cpus, -1);
        CHECK_INT(l->nodes[0].real_memory_mb, 1500);
        CHECK_INT(l->nodes[0].boot_time, 0);
        CHECK_INT(l->nodes[0].npartitions, 1);
        slurmrest_node_list_release(l);
    }
    struct slurmrest_ping p;
    CHECK_INT(slurm_parse_ping("{\"pings\":{}}", 12, &p, msg, sizeof msg),
              -EPROTO);
    struct slurmrest_job_list *j;
    CHECK_INT(slurm_parse_jobs("{\"jobs\":[{}]}", 13, &j, msg, sizeof msg),
              -EPROTO);
    CHECK_CONTAINS(msg, "job_id");
}

int main(void)
{
    RUN(test_nodes_all_versions);
    RUN(test_partitions_all_versions);
    RUN(test_jobs_all_versions);
    RUN(test_job_exit_codes);
    RUN(test_ping_all_versions);
    RUN(test_versions);
    RUN(test_errors);
    RUN(test_malformed);
    return check_finish();
}
