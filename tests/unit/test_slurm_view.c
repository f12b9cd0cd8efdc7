/* The Slurm view a head's agent publishes, made here the way the agent
 * makes it (each slurmrestd answer untouched under its name, from Slurm
 * 22.05's and 24.11's recorded answers in tests/data/slurm/), read back
 * into the same records the answers give on their own; and its heartbeat.
 * Malformed input is -EPROTO with a message. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurm/parse.h"
#include "slurm/view.h"
#include "tests/unit/check.h"

static json_t *answer(const char *gen, const char *what, const char *version)
{
    char path[1024];
    const char *root = getenv("PCFS_ROOT");
    snprintf(path, sizeof path, "%s/tests/data/slurm/%s/%s_%s.json", root ? root : ".", gen,
             what, version);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fprintf(stderr, "cannot read %s: %s\n", path, e.text);
    return j;
}

/* The view of one recorded cluster, as text (free it). */
static char *view_of(const char *gen, const char *version, const char *observed_at)
{
    json_t *v = json_pack("{s:i, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "format", 1,
                          "cluster", "lab3", "instance_id", "i-0123456789abcdef0",
                          "api_version", version, "observed_at", observed_at,
                          "nodes", answer(gen, "nodes", version),
                          "partitions", answer(gen, "partitions", version),
                          "jobs", answer(gen, "jobs", version),
                          "ping", answer(gen, "ping", version));
    char *text = v ? json_dumps(v, 0) : NULL;
    json_decref(v);
    return text;
}

static void test_views_read_as_their_answers(void)
{
    static const char *const cases[][2] = {{"22.05", "v0.0.38"}, {"24.11", "v0.0.40"},
                                           {"24.11", "v0.0.41"}, {"24.11", "v0.0.42"}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        char *text = view_of(cases[c][0], cases[c][1], "2026-12-01T06:19:41Z");
        CHECK(text != NULL);
        if (!text)
            continue;
        struct slurm_view v;
        char msg[400] = "";
        CHECK_INT(slurm_view_parse(text, strlen(text), &v, msg, sizeof msg), 0);
        CHECK_STR(v.api_version, cases[c][1]);
        CHECK_STR(v.instance_id, "i-0123456789abcdef0");
        CHECK_INT(v.observed_at, 1796105981);   /* 2026-12-01T06:19:41Z */
        /* The same records as the nodes answer parsed alone. */
        json_t *raw = answer(cases[c][0], "nodes", cases[c][1]);
        char *raw_text = json_dumps(raw, 0);
        struct slurmrest_node_list *alone = NULL;
        CHECK_INT(slurm_parse_nodes(raw_text, strlen(raw_text), &alone, msg, sizeof msg), 0);
        CHECK(v.nodes && alone && v.nodes->count == alone->count && alone->count == 4);
        for (size_t i = 0; v.nodes && alone && i < alone->count && i < v.nodes->count; i++) {
            CHECK_STR(v.nodes->nodes[i].name, alone->nodes[i].name);
            CHECK_STR(v.nodes->nodes[i].state, alone->nodes[i].state);
            CHECK_STR(v.nodes->nodes[i].reason, alone->nodes[i].reason);
        }
        const struct slurmrest_node *n3 = v.nodes ? slurmrest_node_find(v.nodes, "n3") : NULL;
        CHECK(n3 && strcmp(n3->state, "drained") == 0 && strcmp(n3->reason, "disk check") == 0);
        CHECK(v.partitions && v.partitions->count == 2);
        CHECK(v.jobs && v.jobs->count >= 1);
        CHECK_INT(v.ping.count, 1);
        if (alone)
            slurmrest_node_list_release(alone);
        free(raw_text);
        json_decref(raw);
        slurm_view_free(&v);
        CHECK(v.nodes == NULL);
        free(text);
    }
}

static void test_malformed_views(void)
{
    struct slurm_view v;
    char msg[400];
    static const char *const bad[][2] = {
        {"[]", "not a JSON object"},
        {"{\"format\":1", "not JSON"},
        {"{\"format\":2,\"api_version\":\"v0.0.42\"}", "format 1"},
        {"{\"format\":1}", "API version"},
        {"{\"format\":1,\"api_version\":\"v0.0.42\",\"observed_at\":\"2026-12-01T06:19:41Z\"}",
         "instance_id"},
        {"{\"format\":1,\"api_version\":\"v0.0.42\",\"instance_id\":\"i-1\","
         "\"observed_at\":\"yesterday\"}",
         "observed_at"},
        {"{\"format\":1,\"api_version\":\"v0.0.42\",\"instance_id\":\"i-1\","
         "\"observed_at\":\"2026-12-01T06:19:41Z\"}",
         "no \"nodes\""},
        {"{\"format\":1,\"api_version\":\"v0.0.42\",\"instance_id\":\"i-1\","
         "\"observed_at\":\"2026-12-01T06:19:41Z\",\"nodes\":{\"nodes\":[{}]},\"partitions\":{\"partitions\":[]},\"jobs\":{\"jobs\":[]},"
         "\"ping\":{\"pings\":[]}}",
         "the view's nodes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msg[0] = '\0';
        CHECK_INT(slurm_view_parse(bad[i][0], strlen(bad[i][0]), &v, msg, sizeof msg), -EPROTO);
        CHECK_CONTAINS(msg, bad[i][1]);
        CHECK(v.nodes == NULL && v.partitions == NULL && v.jobs == NULL);
    }
}

static void test_heartbeats(void)
{
    struct slurm_heartbeat h;
    char msg[400];
    const char *ok = "{\"observed_at\":\"1970-01-02T00:00:01Z\",\"view_etag\":\"\\\"x\\\"\","
                     "\"instance_id\":\"i-1\",\"error\":null}";
    CHECK_INT(slurm_heartbeat_parse(ok, strlen(ok), &h, msg, sizeof msg), 0);
    CHECK_INT(h.observed_at, 86401);
    CHECK_STR(h.error, "");
    CHECK_STR(h.instance_id, "i-1");
    const char *down = "{\"observed_at\":\"2026-12-01T06:19:41Z\",\"instance_id\":\"i-1\","
                       "\"error\":\"slurmrestd at "
                       "http://127.0.0.1:6820: GET /openapi/v3: connection refused\"}";
    CHECK_INT(slurm_heartbeat_parse(down, strlen(down), &h, msg, sizeof msg), 0);
    CHECK_CONTAINS(h.error, "connection refused");
    const char *bad_error =
        "{\"observed_at\":\"2026-12-01T06:19:41Z\",\"instance_id\":\"i-1\",\"error\":7}";
    CHECK_INT(slurm_heartbeat_parse(bad_error, strlen(bad_error), &h, msg, sizeof msg), -EPROTO);
    CHECK_INT(slurm_heartbeat_parse("{}", 2, &h, msg, sizeof msg), -EPROTO);
    CHECK_CONTAINS(msg, "instance_id");
    const char *no_time = "{\"instance_id\":\"i-1\"}";
    CHECK_INT(slurm_heartbeat_parse(no_time, strlen(no_time), &h, msg, sizeof msg), -EPROTO);
    CHECK_CONTAINS(msg, "observed_at");
}

int main(void)
{
    RUN(test_views_read_as_their_answers);
    RUN(test_malformed_views);
    RUN(test_heartbeats);
    return check_finish();
}
