/* Unit tests of node reports (fs/report.c): which report counts for which
 * instance, and the failure reasons made of them; and of launch tokens
 * (fs/launch.c), which must differ between incarnations of a cluster name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/launch.h"
#include "fs/model/observed.h"
#include "fs/model/render.h"
#include "fs/model/report.h"
#include "fs/model/snapshot.h"
#include "tests/unit/check.h"

static struct node_report parsed(const char *text)
{
    struct node_report r;
    CHECK_INT(report_parse(text, strlen(text), &r), 0);
    return r;
}

static void parse_attempt_and_instance(void)
{
    struct node_report r = parsed("state done\nattempt 2\ninstance i-0abc\n--\nlog\n");
    CHECK_STR(r.state, "done");
    CHECK_INT(r.attempt, 2);
    CHECK_STR(r.instance, "i-0abc");
    report_free(&r);
    r = parsed("state failed\nattempt 2x\n--\n");
    CHECK_INT(r.attempt, 0); /* not a number: not given */
    CHECK_STR(r.instance, "");
    report_free(&r);
}

static void judge(void)
{
    char why[256];
    struct node_report r = parsed("state failed\nattempt 2\n--\n");
    struct report_target current = {.instance_id = "i-2", .attempt = 2};
    CHECK(report_judge(&r, &current, why, sizeof(why)));
    CHECK_STR(why, "");
    /* An old attempt's URL, or a report with no attempt, does not count. */
    struct report_target newer = {.instance_id = "i-3", .attempt = 3};
    CHECK(!report_judge(&r, &newer, why, sizeof(why)));
    CHECK_CONTAINS(why, "attempt 2, but instance i-3 is attempt 3");
    report_free(&r);
    r = parsed("state failed\n--\n");
    CHECK(!report_judge(&r, &current, why, sizeof(why)));
    report_free(&r);
    /* Another instance's report. */
    r = parsed("state done\nattempt 2\ninstance i-9\n--\n");
    CHECK(!report_judge(&r, &current, why, sizeof(why)));
    CHECK_CONTAINS(why, "from instance i-9");
    report_free(&r);
    /* After done, only done counts. */
    struct report_target finished = {.instance_id = "i-2", .attempt = 2, .finished = true};
    r = parsed("state failed\nattempt 2\n--\n");
    CHECK(!report_judge(&r, &finished, why, sizeof(why)));
    CHECK_CONTAINS(why, "'failed' after its bootstrap finished");
    report_free(&r);
    r = parsed("state done\nattempt 2\n--\n");
    CHECK(report_judge(&r, &finished, why, sizeof(why)));
    report_free(&r);
    /* An instance launched before attempts were tagged: its attempt is unknown. */
    struct report_target untagged = {.instance_id = "i-1"};
    r = parsed("state done\n--\n");
    CHECK(report_judge(&r, &untagged, why, sizeof(why)));
    report_free(&r);
}

static void failure_reasons(void)
{
    char buf[512];
    struct node_report r =
        parsed("state failed\nstep hooks/post/x.sh\nexit 3\nattempt 1\n--\na\nb\nno disk\n");
    report_failure_reason(&r, "compute-st-t2micro-2", buf, sizeof(buf));
    CHECK_STR(buf, "hooks/post/x.sh exited 3 on compute-st-t2micro-2: a|b|no disk");
    report_free(&r);
    r = parsed("state failed\n--\n"); /* no step, no exit, no log: no dangling ": " */
    report_failure_reason(&r, "head", buf, sizeof(buf));
    CHECK_STR(buf, "the bootstrap failed on head");
    report_free(&r);
}

static void tokens_per_incarnation(void)
{
    char a[65], b[65], c[65];
    launch_client_token("bkt", "lab", 1700000000, "head", 1, a);
    launch_client_token("bkt", "lab", 1700000000, "head", 1, b);
    CHECK_STR(a, b); /* a retry after a restart: the same token */
    CHECK_INT((int)strlen(a), 64);
    launch_client_token("bkt", "lab", 1700000100, "head", 1, c);
    CHECK(strcmp(a, c) != 0); /* the name re-created: a new launch */
    launch_client_token("bkt", "lab", 1700000000, "head", 2, c);
    CHECK(strcmp(a, c) != 0);
}

/* The hook set a node ran: its names in order per stage, sanitized, and
 * the config generation they came from; then node.json names it. */
static void hook_set_reaches_node_json(void)
{
    struct node_report r = parsed("state post\nattempt 1\ninstance i-0abc\ngeneration 3\n"
                                  "hook pre 10-pre.sh\nhook pre two words\n"
                                  "hook post 10-post.py\nhook post \x1b[31mred\n"
                                  "hook other x\n--\nlog\n");
    CHECK_STR(r.instance, "i-0abc");
    CHECK_INT(r.generation, 3);
    CHECK_INT((int)r.ran[0].n, 2);
    CHECK_STR(r.ran[0].names[0], "10-pre.sh");
    CHECK_STR(r.ran[0].names[1], "two words");
    CHECK_INT((int)r.ran[1].n, 2);
    CHECK_STR(r.ran[1].names[0], "10-post.py");
    CHECK(strchr(r.ran[1].names[1], '\x1b') == NULL); /* no terminal escapes */

    struct observed_node n = {.name = strdup("head")};
    CHECK_INT(observed_node_set_report(&n, &r), 0);
    report_free(&r);
    CHECK_STR(n.bootstrap, "post");
    struct snap_node node = {0};
    CHECK_INT(render_node(&n, 100, &node), 0);
    const struct snap_file *f = snap_node_find_file(&node, "node.json");
    CHECK(f != NULL);
    const char *json = f->content->data;
    CHECK_CONTAINS(json, "\"hooks\": {");
    CHECK_CONTAINS(json, "\"generation\": 3");
    CHECK_CONTAINS(json, "\"pre\": [\n      \"10-pre.sh\",\n      \"two words\"\n    ]");
    CHECK_CONTAINS(json, "\"10-post.py\"");
    free(node.name);
    for (size_t i = 0; i < node.n_files; i++)
        blob_unref(node.files[i].content);

    /* a report without them: no generation, no hooks */
    r = parsed("state pre\n--\n");
    CHECK_INT(r.generation, 0);
    CHECK_INT((int)r.ran[0].n + (int)r.ran[1].n, 0);
    CHECK_INT(observed_node_set_report(&n, &r), 0);
    report_free(&r);
    CHECK_INT((int)n.n_hooks_ran[0], 0);
    CHECK_INT(n.hooks_generation, 0);
    r = parsed("state done\ngeneration 0\ngeneration x\n--\n");
    CHECK_INT(r.generation, 0);
    report_free(&r);
    /* no report at all: pending */
    CHECK_INT(observed_node_set_report(&n, NULL), 0);
    CHECK_STR(n.bootstrap, "pending");
    observed_node_clear(&n);

    /* a hook list is bounded */
    char big[REPORT_HOOKS_MAX * 16 + 64];
    size_t at = (size_t)snprintf(big, sizeof(big), "state pre\n");
    for (int i = 0; i < REPORT_HOOKS_MAX + 5; i++)
        at += (size_t)snprintf(big + at, sizeof(big) - at, "hook pre h%d\n", i);
    r = parsed(big);
    CHECK_INT((int)r.ran[0].n, REPORT_HOOKS_MAX);
    report_free(&r);
}

int main(void)
{
    RUN(hook_set_reaches_node_json);
    RUN(parse_attempt_and_instance);
    RUN(judge);
    RUN(failure_reasons);
    RUN(tokens_per_incarnation);
    return check_finish();
}
