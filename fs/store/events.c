#include "fs/store/events.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fs/model/sanitize.h"
#include "fs/model/timefmt.h"

void events_format(char *buf, size_t buflen, time_t when, const char *level, const char *msg)
{
    char ts[RFC3339_LEN];
    char clean[EVENT_MAX];
    timefmt_rfc3339(when, ts, sizeof(ts));
    sanitize_text(msg, strlen(msg), clean, sizeof(clean), 0);
    snprintf(buf, buflen, "%s %s %s\n", ts, level, clean);
}

int events_append(struct store *store, const char *cluster, const char *level, const char *fmt,
                  ...)
{
    char msg[EVENT_MAX];
    char line[EVENT_MAX + 64];
    char err[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    events_format(line, sizeof(line), time(NULL), level, msg);
    int rc = store->ops->append_events(store->impl, cluster, line, err, sizeof(err));
    if (rc == 0)
        atomic_fetch_add_explicit(&store->appended, 1, memory_order_relaxed);
    return rc;
}
