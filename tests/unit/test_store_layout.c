/* Unit tests of the bucket's layout (fs/store/layout.c): every key it
 * builds, who writes each (the workstation, the nodes, the head node's
 * agent of a later issue) with both sides' prefixes disjoint, and that no
 * other file of fs/ builds a key itself. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/store/layout.h"
#include "tests/unit/check.h"

/* Checks key against want, then that the layout's table names its writer. */
static void check_key(char *key, const char *want, enum layout_writer writer)
{
    CHECK_STR(key, want);
    const char *cluster, *rest;
    size_t len;
    CHECK(key && layout_split_key(key, &cluster, &len, &rest));
    const struct layout_entry *e = key ? layout_entry_of(rest) : NULL;
    CHECK(e != NULL);
    if (e)
        CHECK_INT(e->writer, writer);
    free(key);
}

static void every_key(void)
{
    const char *c = "c1";
    enum layout_writer ws = LAYOUT_BY_WORKSTATION;
    check_key(layout_key(c, LAYOUT_MARKER), "clusters/c1/cluster", ws);
    check_key(layout_key(c, LAYOUT_CONFIG), "clusters/c1/config", ws);
    check_key(layout_key(c, LAYOUT_GENERATION), "clusters/c1/generation", ws);
    check_key(layout_key(c, LAYOUT_COMMIT_LOCK), "clusters/c1/commit.lock", ws);
    check_key(layout_key(c, LAYOUT_EVENTS), "clusters/c1/events", ws);
    check_key(layout_key(c, LAYOUT_LAST_ERROR), "clusters/c1/last_error", ws);
    check_key(layout_key(c, LAYOUT_DELETING), "clusters/c1/deleting", ws);
    check_key(layout_key(c, LAYOUT_FAILURE), "clusters/c1/failure", ws);
    check_key(layout_key(c, LAYOUT_COMPLETED), "clusters/c1/completed", ws);
    check_key(layout_hook_key(c, HOOK_PRE, "10-a.sh"), "clusters/c1/hooks/pre/10-a.sh", ws);
    check_key(layout_hook_key(c, HOOK_POST, "x"), "clusters/c1/hooks/post/x", ws);
    check_key(layout_generated_key(c, LAYOUT_JWT_KEY), "clusters/c1/generated/jwt.key", ws);
    check_key(layout_intent_key(c, "head"), "clusters/c1/launch/head/intent", ws);
    check_key(layout_manifest_key(c, "head", 2), "clusters/c1/launch/head/2/manifest", ws);
    check_key(layout_report_key(c, "head"), "clusters/c1/reports/head", LAYOUT_BY_NODE);
    check_key(layout_head_slurm_key(c, "nodes.json"), "clusters/c1/head/slurm/nodes.json",
              LAYOUT_BY_HEAD);
    check_key(layout_head_ack_key(c, "7"), "clusters/c1/head/acks/7", LAYOUT_BY_HEAD);
    check_key(layout_head_events_key(c), "clusters/c1/head/events", LAYOUT_BY_HEAD);
    check_key(layout_head_report_key(c, "q-dy-r-1"), "clusters/c1/head/reports/q-dy-r-1",
              LAYOUT_BY_HEAD);
    CHECK(layout_is_head_report("head/reports/q-dy-r-1"));
    CHECK(!layout_is_head_report("head/reports/"));
    CHECK(!layout_is_head_report("head/reports/a/b"));
    CHECK(!layout_is_head_report("reports/q-dy-r-1"));
    check_key(layout_nodectl_key(c, "q-st-t-1", "20261202T000000.000Z-0a"),
              "clusters/c1/ctl/q-st-t-1/20261202T000000.000Z-0a", ws);
    check_key(layout_nodectl_ack_key(c, "q-st-t-1", "x1"), "clusters/c1/head/acks/ctl/q-st-t-1/x1",
              LAYOUT_BY_HEAD);
    char *ctl = layout_nodectl_prefix(c);
    CHECK_STR(ctl, "clusters/c1/ctl/");
    free(ctl);
    char node[16], id[16];
    CHECK(layout_nodectl_of("ctl/n-1/abc", node, sizeof(node), id, sizeof(id)));
    CHECK_STR(node, "n-1");
    CHECK_STR(id, "abc");
    CHECK(layout_nodectl_ack_of("head/acks/ctl/n-2/def", node, sizeof(node), id, sizeof(id)));
    CHECK_STR(node, "n-2");
    CHECK_STR(id, "def");
    CHECK(!layout_nodectl_of("ctl/n-1", node, sizeof(node), id, sizeof(id)));
    CHECK(!layout_nodectl_of("ctl//abc", node, sizeof(node), id, sizeof(id)));
    CHECK(!layout_nodectl_of("ctl/n/abc/d", node, sizeof(node), id, sizeof(id)));
    CHECK(!layout_nodectl_of("ctl/n/", node, sizeof(node), id, sizeof(id)));
    CHECK(!layout_nodectl_of("ctl/a-very-long-node-name/x", node, sizeof(node), id, sizeof(id)));
    CHECK(!layout_nodectl_ack_of("ctl/n/abc", node, sizeof(node), id, sizeof(id)));
    check_key(layout_fleet_spec_key(c), "clusters/c1/fleet/spec.json", ws);
    check_key(layout_head_ack_key(c, LAYOUT_HEAD_ACK_FLEET), "clusters/c1/head/acks/fleet.json",
              LAYOUT_BY_HEAD);
    char *prefix = layout_cluster_prefix(c);
    CHECK_STR(prefix, "clusters/c1/");
    free(prefix);
    CHECK_STR(layout_clusters_prefix(), "clusters/");
    CHECK_STR(layout_lease_key(), "lease");
    CHECK(strncmp(layout_lease_key(), layout_clusters_prefix(), 9) != 0);
}

static void rests_parse_back(void)
{
    char rest[64];
    CHECK(layout_report_rest("compute-st-a-1", rest, sizeof(rest)));
    CHECK_STR(layout_report_node(rest), "compute-st-a-1");
    CHECK(layout_report_node("reports/") == NULL);
    CHECK(layout_report_node("reports/a/b") == NULL);
    CHECK(layout_report_node("config") == NULL);
    CHECK(!layout_report_rest("a-very-long-node-name", rest, 12)); /* too small: refused */
    enum hook_stage st;
    const char *name;
    CHECK(layout_hook_of("hooks/post/x.sh", &st, &name));
    CHECK_INT(st, HOOK_POST);
    CHECK_STR(name, "x.sh");
    CHECK(!layout_hook_of("hooks/mid/x.sh", &st, &name));
    for (int o = 0; o < LAYOUT_OBJECTS; o++)
        CHECK_INT(layout_object_of(layout_object_rest((enum layout_object)o)), o);
    CHECK_INT(layout_object_of("reports/head"), -1);
    const char *cluster, *r;
    size_t len;
    CHECK(!layout_split_key("lease", &cluster, &len, &r));
    CHECK(!layout_split_key("clusters//config", &cluster, &len, &r));
    CHECK(layout_split_key("clusters/a b/hooks/pre/x", &cluster, &len, &r));
    CHECK_INT(len, 3);
    CHECK_STR(r, "hooks/pre/x");
}

/* No row's keys fall under another row of a different writer, so the
 * workstation and the head never write one key (nor the nodes). */
static void writers_disjoint(void)
{
    for (size_t i = 0; i < layout_n_writers; i++) {
        const struct layout_entry *a = &layout_writers[i];
        CHECK(a->what && a->what[0]);
        for (size_t j = 0; j < layout_n_writers; j++) {
            const struct layout_entry *b = &layout_writers[j];
            if (i == j)
                continue;
            size_t na = strlen(a->rest), nb = strlen(b->rest);
            bool a_under_b = b->rest[nb - 1] == '/' ? strncmp(a->rest, b->rest, nb) == 0
                                                    : strcmp(a->rest, b->rest) == 0;
            bool b_under_a = a->rest[na - 1] == '/' ? strncmp(b->rest, a->rest, na) == 0
                                                    : strcmp(a->rest, b->rest) == 0;
            if (a_under_b || b_under_a) {
                fprintf(stderr, "layout rows overlap: %s and %s\n", a->rest, b->rest);
                CHECK(false);
            }
        }
    }
    /* Every fixed object has its row. */
    for (int o = 0; o < LAYOUT_OBJECTS; o++)
        CHECK(layout_entry_of(layout_object_rest((enum layout_object)o)) != NULL);
}

/* Whether a source file spells a key of the bucket itself. */
static int keys_built_in(const char *path)
{
    static const char *const spelled[] = {"\"clusters/", "\"reports/", "\"launch/",
                                          "\"generated/", "\"head/", "key_of("};
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof(line), f))
        for (size_t i = 0; i < sizeof(spelled) / sizeof(spelled[0]); i++)
            if (strstr(line, spelled[i])) {
                fprintf(stderr, "%s builds a key itself: %s", path, line);
                found++;
            }
    fclose(f);
    return found;
}

static void no_key_outside_layout(void)
{
    const char *root = getenv("PCFS_ROOT");
    static const char *const rooms[] = {"fs", "fs/fuse", "fs/config", "fs/model", "fs/store",
                                        "fs/control"};
    int found = 0, files = 0;
    for (size_t r = 0; root && r < sizeof(rooms) / sizeof(rooms[0]); r++) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/%s", root, rooms[r]);
        DIR *d = opendir(dir);
        CHECK(d != NULL);
        for (struct dirent *e; d && (e = readdir(d));) {
            size_t n = strlen(e->d_name);
            if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0 || strcmp(e->d_name, "layout.c") == 0)
                continue;
            char path[8192];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            found += keys_built_in(path);
            files++;
        }
        if (d)
            closedir(d);
    }
    CHECK(root != NULL); /* make unit sets it */
    CHECK(files > 30);
    CHECK_INT(found, 0);
}

/* jobs/'s objects: keys, and rests read back with their kind and name. */
static void job_keys(void)
{
    char *k = layout_job_key("lab", LAYOUT_JOB_SUBMIT, "train.sh");
    CHECK_STR(k, "clusters/lab/jobs/submit/train.sh");
    free(k);
    k = layout_job_key("lab", LAYOUT_JOB_CANCEL_ACK, "12");
    CHECK_STR(k, "clusters/lab/head/acks/cancel/12");
    free(k);
    enum layout_job kind;
    char name[16];
    CHECK(layout_job_of("jobs/cancel/12", &kind, name, sizeof(name)));
    CHECK_INT(kind, LAYOUT_JOB_CANCEL);
    CHECK_STR(name, "12");
    CHECK(layout_job_of("head/acks/jobs/a.sh", &kind, name, sizeof(name)));
    CHECK_INT(kind, LAYOUT_JOB_ACK);
    CHECK(!layout_job_of("jobs/submit/", &kind, name, sizeof(name)));
    CHECK(!layout_job_of("jobs/submit/a/b", &kind, name, sizeof(name)));
    CHECK(!layout_job_of("jobs/submit/0123456789abcdef", &kind, name, sizeof(name)));
    CHECK(!layout_job_of("jobs/other/x", &kind, name, sizeof(name)));
    CHECK(layout_entry_of("jobs/submit/a.sh") != NULL);
    CHECK_INT(layout_entry_of("jobs/cancel/1")->writer, LAYOUT_BY_WORKSTATION);
    CHECK_INT(layout_entry_of("head/acks/jobs/a.sh")->writer, LAYOUT_BY_HEAD);
}

int main(void)
{
    RUN(every_key);
    RUN(rests_parse_back);
    RUN(writers_disjoint);
    RUN(no_key_outside_layout);
    RUN(job_keys);
    return check_finish();
}
