/* Parsing the head's events; see head_event.h. */
#include "fs/model/head_event.h"

#include <ctype.h>
#include <string.h>

#include "fs/model/sanitize.h"

/* YYYY-MM-DDTHH:MM:SSZ, digits where digits belong. */
static bool is_utc_time(const char *s, size_t n)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (n != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; i < n; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return false;
    return true;
}

static bool is_level(const char *s, size_t n)
{
    static const char *const levels[] = {"info", "warning", "error"};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strlen(levels[i]) == n && memcmp(s, levels[i], n) == 0)
            return true;
    return false;
}

int head_event_next(const char *text, size_t len, size_t *at, struct head_event *ev)
{
    if (!text || *at >= len)
        return -1;
    const char *line = text + *at;
    const char *nl = memchr(line, '\n', len - *at);
    size_t n = nl ? (size_t)(nl - line) : len - *at;
    *at += n + (nl ? 1 : 0);
    memset(ev, 0, sizeof(*ev));
    const char *sp1 = memchr(line, ' ', n);
    if (!sp1 || !is_utc_time(line, (size_t)(sp1 - line)))
        return 0;
    const char *level = sp1 + 1;
    const char *sp2 = memchr(level, ' ', n - (size_t)(level - line));
    if (!sp2 || !is_level(level, (size_t)(sp2 - level)))
        return 0;
    const char *msg = sp2 + 1;
    size_t msg_len = n - (size_t)(msg - line);
    memcpy(ev->time, line, (size_t)(sp1 - line));
    memcpy(ev->level, level, (size_t)(sp2 - level));
    sanitize_text(msg, msg_len, ev->message, sizeof(ev->message), 0);
    if (!ev->message[0]) {
        memset(ev, 0, sizeof(*ev));
        return 0;
    }
    return 1;
}
