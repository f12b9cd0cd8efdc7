/* Where a writable open file's buffer stands against what is stored, and
 * the events that move it: the state machine of fuse_ops' handles, kept
 * pure so it is tested alone (tests/unit/test_fs_edit_state.c). Read-only
 * handles stay EDIT_CLEAN. The caller holds the handle's lock.
 *
 *   open                        -> CLEAN, or TRUNCATED with O_TRUNC
 *   create of a new hook        CLEAN -> DIRTY (even empty, it is stored);
 *   create of a scratch file    -> CLEAN (a scratch file never commits)
 *   write or truncate succeeds  CLEAN, TRUNCATED, DIRTY -> DIRTY
 *   write refused (EFBIG)       CLEAN, TRUNCATED, DIRTY, TORN -> TORN
 *   flush                       TRUNCATED: waits for the final close (a
 *                               shell's `> file` closes a descriptor before
 *                               writing); any other: commit, below
 *   commit (flush, release), when the handle commits at all:
 *                               TRUNCATED, DIRTY -> CLEAN (whatever the
 *                               commit answered: its error went to events);
 *                               TORN -> TORN_REPORTED (events say so, once)
 * A torn file never commits: its buffer is not what the writer meant. */
#ifndef PCFS_FUSE_EDIT_STATE_H
#define PCFS_FUSE_EDIT_STATE_H
#include <stdbool.h>

enum edit_state {
    EDIT_CLEAN,          /* as stored, or as last committed */
    EDIT_TRUNCATED,      /* opened with O_TRUNC and not written: empty until written */
    EDIT_DIRTY,          /* written or truncated since open or the last commit */
    EDIT_TORN,           /* a write was refused: never commit a torn file */
    EDIT_TORN_REPORTED,  /* ... and events say so */
};

enum edit_state edit_opened(bool truncated);
enum edit_state edit_created(enum edit_state s, bool new_hook);
enum edit_state edit_changed(enum edit_state s);
enum edit_state edit_refused(enum edit_state s);
/* What a commit point (flush, release) does in state s. */
enum edit_action {
    EDIT_NOTHING,        /* clean, already reported, or waiting for the final close */
    EDIT_COMMIT,         /* commit the buffer, then edit_after_commit */
    EDIT_REPORT_TORN,    /* say in events that nothing was committed, then edit_after_commit */
};
enum edit_action edit_on_flush(enum edit_state s);
enum edit_action edit_on_release(enum edit_state s);
enum edit_state edit_after_commit(enum edit_state s);
#endif
