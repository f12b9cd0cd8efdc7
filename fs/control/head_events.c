/* Telling the head's events once; see head_events.h. */
#include "fs/control/head_events.h"

#include <stdio.h>
#include <string.h>

#include "fs/control/observe.h"
#include "fs/model/head_event.h"
#include "fs/store/events.h"
#include "fs/store/layout.h"
#include "fs/store/objcache.h"

void head_events_tell(struct reconcile_ctx *rc, const struct desired_cluster *dc)
{
    const struct desired_object *o = desired_find_object(dc, layout_head_events_rest());
    if (!o)
        return; /* the head told nothing yet */
    /* A version told whole is not read again: the events may be long. */
    char memo[160];
    snprintf(memo, sizeof(memo), "head-events-told:%s", dc->name);
    struct blob *told_memo = rc->objects ? objcache_lookup(rc->objects, memo, o->etag) : NULL;
    if (told_memo) {
        blob_unref(told_memo);
        return;
    }
    struct blob *b = NULL;
    if (observe_listed_object(rc, dc, layout_head_events_rest(), &b) != 0)
        return; /* gone since the listing, or unreadable now: the next pass */
    size_t at = 0;
    struct head_event ev;
    int r;
    while ((r = head_event_next(b->data, b->len, &at, &ev)) >= 0) {
        if (r == 0)
            continue;
        char line[HEAD_EVENT_MESSAGE_MAX + 64];
        snprintf(line, sizeof(line), "head: %s (at %s)", ev.message, ev.time);
        const struct blob *told = dc->events;
        if (told && memmem(told->data, told->len, line, strlen(line)))
            continue;
        events_append(rc->store, dc->name, ev.level, "%s", line);
    }
    blob_unref(b);
    struct blob *none = rc->objects ? blob_new("", 0) : NULL;
    if (none)
        objcache_keep(rc->objects, memo, o->etag, none);
    blob_unref(none);
}
