/* The open-file state machine (fs/fuse/edit_state.h), every transition
 * named by the file operation that makes it. */
#include "fs/fuse/edit_state.h"
#include "tests/unit/check.h"

static const enum edit_state all[] = {EDIT_CLEAN, EDIT_TRUNCATED, EDIT_DIRTY, EDIT_TORN,
                                      EDIT_TORN_REPORTED};
#define N_STATES (sizeof all / sizeof *all)

static void test_open_and_create(void)
{
    CHECK_INT(edit_opened(false), EDIT_CLEAN);
    CHECK_INT(edit_opened(true), EDIT_TRUNCATED);
    /* creat(): an empty new hook is still stored; with O_TRUNC, at release. */
    CHECK_INT(edit_created(edit_opened(false), true), EDIT_DIRTY);
    CHECK_INT(edit_created(edit_opened(true), true), EDIT_TRUNCATED);
    /* A scratch file never commits, truncated or not. */
    CHECK_INT(edit_created(edit_opened(false), false), EDIT_CLEAN);
    CHECK_INT(edit_created(edit_opened(true), false), EDIT_CLEAN);
}

static void test_writes(void)
{
    static const enum edit_state after_write[] = {EDIT_DIRTY, EDIT_DIRTY, EDIT_DIRTY, EDIT_TORN,
                                                  EDIT_TORN_REPORTED};
    static const enum edit_state after_refusal[] = {EDIT_TORN, EDIT_TORN, EDIT_TORN, EDIT_TORN,
                                                    EDIT_TORN_REPORTED};
    for (size_t i = 0; i < N_STATES; i++) {
        CHECK_INT(edit_changed(all[i]), after_write[i]);
        CHECK_INT(edit_refused(all[i]), after_refusal[i]);
    }
}

static void test_commit_points(void)
{
    static const enum edit_action flush[] = {EDIT_NOTHING, EDIT_NOTHING, EDIT_COMMIT,
                                             EDIT_REPORT_TORN, EDIT_NOTHING};
    static const enum edit_action release[] = {EDIT_NOTHING, EDIT_COMMIT, EDIT_COMMIT,
                                               EDIT_REPORT_TORN, EDIT_NOTHING};
    static const enum edit_state after[] = {EDIT_CLEAN, EDIT_CLEAN, EDIT_CLEAN,
                                            EDIT_TORN_REPORTED, EDIT_TORN_REPORTED};
    for (size_t i = 0; i < N_STATES; i++) {
        CHECK_INT(edit_on_flush(all[i]), flush[i]);
        CHECK_INT(edit_on_release(all[i]), release[i]);
        CHECK_INT(edit_after_commit(all[i]), after[i]);
    }
}

/* `echo x > hooks/pre/a` as a shell runs it: open O_TRUNC, close a dup
 * (flush: nothing), write, close (flush: commit), release: nothing left. */
static void test_shell_redirect(void)
{
    enum edit_state s = edit_opened(true);
    CHECK_INT(edit_on_flush(s), EDIT_NOTHING);
    s = edit_changed(s);
    CHECK_INT(edit_on_flush(s), EDIT_COMMIT);
    s = edit_after_commit(s);
    CHECK_INT(edit_on_release(s), EDIT_NOTHING);
}

/* A write past the limit, then more writes: one report, never a commit. */
static void test_torn_reports_once(void)
{
    enum edit_state s = edit_refused(edit_changed(edit_opened(false)));
    CHECK_INT(edit_on_flush(s), EDIT_REPORT_TORN);
    s = edit_after_commit(s);
    s = edit_changed(s);
    s = edit_refused(s);
    CHECK_INT(edit_on_flush(s), EDIT_NOTHING);
    CHECK_INT(edit_on_release(s), EDIT_NOTHING);
}

int main(void)
{
    RUN(test_open_and_create);
    RUN(test_writes);
    RUN(test_commit_points);
    RUN(test_shell_redirect);
    RUN(test_torn_reports_once);
    return check_finish();
}
