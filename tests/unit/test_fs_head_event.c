/* Unit tests of the head's events (fs/model/head_event.c): lines as
 * agent_events.py writes them are events; anything else is skipped, and a
 * message never carries control characters or runs past its cap. */
#include <string.h>

#include "fs/model/head_event.h"
#include "tests/unit/check.h"

static void lines_in_order(void)
{
    const char text[] = "2026-12-02T16:50:00Z info launched compute-dy-t2micro-1 (i-0abc)\n"
                        "garbage line\n"
                        "\n"
                        "2026-12-02T16:52:01Z error compute-dy-t2micro-2 failed: \x1b[2Jboom\n"
                        "2026-12-02T16:53:00Z debug not a level\n"
                        "2026-12-02 16:53:00Z info not a time\n"
                        "2026-12-02T16:54:00Z info \n"
                        "2026-12-02T16:55:00Z warning last, no newline";
    size_t at = 0;
    struct head_event ev;
    CHECK_INT(head_event_next(text, strlen(text), &at, &ev), 1);
    CHECK_STR(ev.time, "2026-12-02T16:50:00Z");
    CHECK_STR(ev.level, "info");
    CHECK_STR(ev.message, "launched compute-dy-t2micro-1 (i-0abc)");
    CHECK_INT(head_event_next(text, strlen(text), &at, &ev), 0); /* garbage */
    CHECK_INT(head_event_next(text, strlen(text), &at, &ev), 0); /* empty */
    CHECK_INT(head_event_next(text, strlen(text), &at, &ev), 1);
    CHECK_STR(ev.level, "error");
    CHECK_STR(ev.message, "compute-dy-t2micro-2 failed: boom"); /* no escape */
    CHECK_INT(head_event_next(text, strlen(text), &at, &ev), 0); /* level */
    CHECK_INT(head_event_next(text, strlen(text), &at, &ev), 0); /* time */
    CHECK_INT(head_event_next(text, strlen(text), &at, &ev), 0); /* no message */
    CHECK_INT(head_event_next(text, strlen(text), &at, &ev), 1);
    CHECK_STR(ev.level, "warning");
    CHECK_STR(ev.message, "last, no newline");
    CHECK_INT(head_event_next(text, strlen(text), &at, &ev), -1);
    CHECK_INT(head_event_next(NULL, 0, &at, &ev), -1);
}

static void long_message_cut(void)
{
    char text[2048] = "2026-12-02T16:50:00Z info ";
    size_t n = strlen(text);
    memset(text + n, 'x', 1000);
    text[n + 1000] = '\0';
    size_t at = 0;
    struct head_event ev;
    CHECK_INT(head_event_next(text, strlen(text), &at, &ev), 1);
    CHECK_INT((int)strlen(ev.message), HEAD_EVENT_MESSAGE_MAX);
    CHECK_INT((int)at, (int)strlen(text));
}

int main(void)
{
    RUN(lines_in_order);
    RUN(long_message_cut);
    return check_finish();
}
