#include "fs/store/events.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

void events_append(struct store *store, const char *cluster, const char *level, const char *fmt,
                   ...)
{
    char msg[EVENT_MAX];
    char line[EVENT_MAX + 64];
    char err[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    events_format(line, sizeof(line), time(NULL), level, msg);
    int rc = store->ops->append_events(store->impl, cluster, line, err, sizeof(err));
    if (rc == 0)
        atomic_fetch_add_explicit(&store->appended, 1, memory_order_relaxed);
    else /* line ends in its newline */
        fprintf(stderr, "pclusterfs: %s: event not stored now (%s): %s", cluster, err, line);
}

struct blob *events_join(struct blob *const *pieces, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += pieces[i] ? pieces[i]->len : 0;
    char *buf = malloc(total + 1);
    if (!buf)
        return NULL;
    size_t len = 0;
    const struct blob *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct blob *b = pieces[i];
        if (!b)
            continue;
        size_t skip = 0;
        if (prev && prev->len && b->len >= prev->len &&
            memcmp(b->data, prev->data, prev->len) == 0)
            skip = prev->len; /* the same lines, left by a roll cut short */
        memcpy(buf + len, b->data + skip, b->len - skip);
        len += b->len - skip;
        prev = b;
    }
    struct blob *out = blob_new(buf, len);
    free(buf);
    return out;
}

struct blob *events_trim(struct blob *text, size_t max)
{
    if (text->len <= max)
        return blob_ref(text);
    const char *from = text->data + (text->len - max);
    if (from > text->data && from[-1] != '\n') { /* start at a whole line */
        const char *nl = memchr(from, '\n', text->len - (size_t)(from - text->data));
        from = nl ? nl + 1 : text->data + text->len;
    }
    return blob_new(from, text->len - (size_t)(from - text->data));
}

unsigned events_part_number(const char *rest)
{
    if (strncmp(rest, "events.", 7) != 0 || rest[7] < '1' || rest[7] > '9')
        return 0;
    char *end;
    unsigned long n = strtoul(rest + 7, &end, 10);
    return *end == '\0' && n < 1000000 ? (unsigned)n : 0;
}
