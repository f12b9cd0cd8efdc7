/* The open-file state machine; see edit_state.h. */
#include "fs/fuse/edit_state.h"

static bool torn(enum edit_state s)
{
    return s == EDIT_TORN || s == EDIT_TORN_REPORTED;
}

enum edit_state edit_opened(bool truncated)
{
    return truncated ? EDIT_TRUNCATED : EDIT_CLEAN;
}

enum edit_state edit_created(enum edit_state s, bool new_hook)
{
    if (!new_hook)
        return EDIT_CLEAN;
    return s == EDIT_CLEAN ? EDIT_DIRTY : s;
}

enum edit_state edit_changed(enum edit_state s)
{
    return torn(s) ? s : EDIT_DIRTY;
}

enum edit_state edit_refused(enum edit_state s)
{
    return s == EDIT_TORN_REPORTED ? s : EDIT_TORN;
}

enum edit_action edit_on_release(enum edit_state s)
{
    switch (s) {
    case EDIT_TRUNCATED:
    case EDIT_DIRTY:
        return EDIT_COMMIT;
    case EDIT_TORN:
        return EDIT_REPORT_TORN;
    case EDIT_CLEAN:
    case EDIT_TORN_REPORTED:
        break;
    }
    return EDIT_NOTHING;
}

enum edit_action edit_on_flush(enum edit_state s)
{
    return s == EDIT_TRUNCATED ? EDIT_NOTHING : edit_on_release(s);
}

enum edit_state edit_after_commit(enum edit_state s)
{
    switch (s) {
    case EDIT_TRUNCATED:
    case EDIT_DIRTY:
        return EDIT_CLEAN;
    case EDIT_TORN:
        return EDIT_TORN_REPORTED;
    case EDIT_CLEAN:
    case EDIT_TORN_REPORTED:
        break;
    }
    return s;
}
