/* Unit tests of the text policy (fs/sanitize.c) and of its use where text
 * leaves pclusterfs: node log tails (fs/report.c) and the rendered files of
 * a snapshot (fs/render.c, fs/snapshot.c), which must never fail on text. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "fs/model/observed.h"
#include "fs/model/report.h"
#include "fs/model/sanitize.h"
#include "fs/model/snapshot.h"
#include "fs/store/store.h"
#include "tests/unit/check.h"

#define EMOJI "\xf0\x9f\x98\x80" /* U+1F600, four bytes */

static bool valid_utf8(const char *s)
{
    json_t *j = json_string(s); /* jansson checks UTF-8 as RFC 3629 says */
    json_decref(j);
    return j != NULL;
}

static void malformed_sequences_become_question_marks(void)
{
    char out[64];
    static const char *const bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, three bytes */
        "\xed\xa0\x80",     /* a UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf0\x9f\x98",     /* cut short */
        "\x80",             /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sanitize_text(bad[i], strlen(bad[i]), out, sizeof(out), 0);
        CHECK(valid_utf8(out));
        CHECK(strchr(out, '?') != NULL);
    }
    sanitize_text("a" EMOJI "\xe6\x97\xa5", 8, out, sizeof(out), 0);
    CHECK_STR(out, "a" EMOJI "\xe6\x97\xa5");
    /* A destination too short for the next character stops before it. */
    sanitize_text("ab" EMOJI, 6, out, 5, 0);
    CHECK_STR(out, "ab");
}

static void excerpts_cut_on_character_boundaries(void)
{
    char line[64];
    memset(line, 'a', 39);
    strcpy(line + 39, EMOJI EMOJI);
    CHECK_INT((int)utf8_prefix_len(line, strlen(line), 40), 39);
    CHECK_INT((int)utf8_prefix_len(line, strlen(line), 43), 43);
    CHECK_INT((int)utf8_prefix_len("abc", 3, 40), 3);
    CHECK_INT((int)utf8_prefix_len("a\xff" "b", 3, 2), 2); /* an invalid byte counts alone */
    /* Tails start on a character. */
    const char *tail = "x" EMOJI "yz";
    CHECK_INT((int)utf8_suffix_start(tail, strlen(tail), 5), 5);
    CHECK_INT((int)utf8_suffix_start(tail, strlen(tail), 6), 1);
    CHECK_INT((int)utf8_suffix_start(tail, strlen(tail), 60), 0);
    char *d = sanitize_dup("a\xff\nb", 1);
    CHECK_STR(d, "a?\nb");
    free(d);
    d = sanitize_dup(NULL, 0);
    CHECK_STR(d, "");
    free(d);
}

static void log_tail_cut_mid_character(void)
{
    char text[2100];
    strcpy(text, "state failed\nstep post\n--\n");
    size_t pos = strlen(text);
    for (int i = 0; i < 400; i++, pos += 4)
        memcpy(text + pos, EMOJI, 4);
    text[pos] = '\0';
    struct node_report r;
    CHECK_INT(report_parse(text, pos, &r), 0);
    CHECK(valid_utf8(r.log));
    for (size_t len = 2; len < 12; len++) { /* every cut of a four-byte character */
        char tail[16];
        report_log_tail(&r, 10, tail, len);
        CHECK(valid_utf8(tail));
        CHECK_INT((int)strlen(tail) % 4, 0);
    }
    report_free(&r);
}

/* One cluster with bytes no JSON encoder takes, in every text field the
 * renderer reads; the other cluster renders as usual and so does this one. */
static void bad_text_never_fails_a_snapshot(void)
{
    struct store st;
    char err[128];
    CHECK_INT(store_mem_open(&st), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "bad", 1, err, sizeof(err)), 0);
    CHECK_INT(st.ops->create_cluster(st.impl, "good", 1, err, sizeof(err)), 0);
    CHECK_INT(st.ops->set_last_error(st.impl, "bad", "'aaaa\xf0\x9f' is not", err, sizeof(err)),
              0);
    struct desired_state *ds = NULL;
    CHECK_INT(st.ops->load(st.impl, &ds, err, sizeof(err)), 0);
    ds->clusters[0].failure_code = strdup("CREATE_FAILED");
    ds->clusters[0].failure_reason = strdup("post exited 1: \xe6\x97");
    struct observed_state *obs = observed_new_empty(10);
    obs->n = 1;
    obs->clusters = calloc(1, sizeof(*obs->clusters));
    obs->clusters[0].name = strdup("bad");
    obs->clusters[0].slurm_error = strdup("slurm \xff");
    obs->clusters[0].n_nodes = 1;
    obs->clusters[0].nodes = calloc(1, sizeof(struct observed_node));
    struct observed_node *n = &obs->clusters[0].nodes[0];
    n->name = strdup("head");
    n->instance_id = strdup("i-\xc3");
    n->instance_type = strdup("t2.\xed\xa0\x80");
    n->ec2_state = strdup("running\xfe");
    n->slurm_state = strdup("idle\x80");
    n->bootstrap = strdup("failed\xc0\xaf");
    n->bootstrap_log = strdup("line one\n\xf0\x9f\x98");
    n->private_ip = strdup("10.0.0.5\xff");
    struct snapshot_inputs in = {.mount_region = "eu-west-1", .stale_reason = "gone \xe2\x82"};
    struct snapshot *s = snapshot_build(ds, obs, &in);
    CHECK(s != NULL);
    const struct snap_cluster *bad = snapshot_find(s, "bad");
    CHECK(bad && snapshot_find(s, "good"));
    CHECK_CONTAINS(bad->status_json.content->data, "\"last_error\": \"'aaaa?" "?' is not\"");
    CHECK_CONTAINS(bad->status_json.content->data, "post exited 1: ?" "?");
    CHECK_INT((int)bad->n_nodes, 1);
    const struct snap_node *head = snap_cluster_find_node(bad, "head");
    for (size_t i = 0; i < head->n_files; i++)
        CHECK(valid_utf8(head->files[i].content->data));
    CHECK_CONTAINS(snap_node_find_file(head, "bootstrap.log")->content->data, "line one\n?");
    snapshot_unref(s);
    observed_free(obs);
    st.ops->destroy(st.impl);
}

int main(void)
{
    RUN(malformed_sequences_become_question_marks);
    RUN(excerpts_cut_on_character_boundaries);
    RUN(log_tail_cut_mid_character);
    RUN(bad_text_never_fails_a_snapshot);
    return check_finish();
}
