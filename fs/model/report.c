#include "fs/model/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/sanitize.h"

static const char *const states[] = {"pending", "pre", "configuring", "post", "done", "failed"};

/* Copies the rest of a header line after "key ", sanitized. */
static void field(const char *line, size_t len, size_t skip, char *dst, size_t dstlen)
{
    sanitize_text(line + skip, len - skip, dst, dstlen, 0);
}

/* A whole number in 1..max from the rest of a header line, else 0. */
static int number(const char *line, size_t len, size_t skip, long max)
{
    char num[16];
    field(line, len, skip, num, sizeof(num));
    char *end;
    long v = strtol(num, &end, 10);
    return end != num && *end == '\0' && v > 0 && v <= max ? (int)v : 0;
}

/* "hook pre NAME" or "hook post NAME": NAME joins its stage's list. */
static int add_hook(struct node_report *r, const char *line, size_t len)
{
    int stage = len > 9 && memcmp(line, "hook pre ", 9) == 0    ? 0
                : len > 10 && memcmp(line, "hook post ", 10) == 0 ? 1
                                                                   : -1;
    if (stage < 0 || r->ran[stage].n >= REPORT_HOOKS_MAX)
        return 0;
    char name[256];
    field(line, len, stage == 0 ? 9 : 10, name, sizeof(name));
    struct report_hooks *h = &r->ran[stage];
    char **grown = realloc(h->names, (h->n + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    h->names = grown;
    if (!(grown[h->n] = strdup(name)))
        return -ENOMEM;
    h->n++;
    return 0;
}

int report_parse(const char *text, size_t len, struct node_report *out)
{
    memset(out, 0, sizeof(*out));
    out->exit_code = -1;
    size_t pos = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - line) : len - pos;
        pos += llen + (nl ? 1 : 0);
        if (llen == 2 && memcmp(line, "--", 2) == 0)
            break;
        if (llen > 6 && memcmp(line, "state ", 6) == 0)
            field(line, llen, 6, out->state, sizeof(out->state));
        else if (llen > 5 && memcmp(line, "step ", 5) == 0)
            field(line, llen, 5, out->step, sizeof(out->step));
        else if (llen > 8 && memcmp(line, "failure ", 8) == 0)
            field(line, llen, 8, out->failure, sizeof(out->failure));
        else if (llen > 9 && memcmp(line, "instance ", 9) == 0)
            field(line, llen, 9, out->instance, sizeof(out->instance));
        else if (llen > 8 && memcmp(line, "attempt ", 8) == 0)
            out->attempt = number(line, llen, 8, 999999);
        else if (llen > 11 && memcmp(line, "generation ", 11) == 0)
            out->generation = number(line, llen, 11, 1000000000);
        else if (llen > 5 && memcmp(line, "hook ", 5) == 0) {
            if (add_hook(out, line, llen) != 0) {
                report_free(out);
                return -ENOMEM;
            }
        } else if (llen > 5 && memcmp(line, "exit ", 5) == 0) {
            char num[16];
            field(line, llen, 5, num, sizeof(num));
            char *end;
            long v = strtol(num, &end, 10);
            if (end != num && v >= 0 && v <= 255)
                out->exit_code = (int)v;
        }
    }
    int known = 0;
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        known |= strcmp(out->state, states[i]) == 0;
    if (!known) {
        report_free(out);
        out->state[0] = '\0';
        return -EINVAL;
    }
    /* Keep the end of an over-long log: the last lines say what failed. */
    size_t rest = len - pos;
    const char *log = text + pos;
    size_t skip = utf8_suffix_start(log, rest, REPORT_LOG_MAX);
    log += skip;
    rest -= skip;
    out->log = malloc(rest + 1);
    if (!out->log) {
        report_free(out);
        return -ENOMEM;
    }
    sanitize_text(log, rest, out->log, rest + 1, 1);
    return 0;
}

void report_free(struct node_report *r)
{
    free(r->log);
    r->log = NULL;
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < r->ran[s].n; i++)
            free(r->ran[s].names[i]);
        free(r->ran[s].names);
        r->ran[s] = (struct report_hooks){0};
    }
}

void report_log_tail(const struct node_report *r, int n, char *buf, size_t buflen)
{
    buf[0] = '\0';
    if (!r->log || buflen == 0)
        return;
    size_t len = strlen(r->log);
    while (len && r->log[len - 1] == '\n')
        len--;
    size_t start = len;
    for (int lines = 0; start > 0; start--) {
        if (r->log[start - 1] == '\n' && ++lines == n)
            break;
    }
    size_t take = len - start;
    if (take >= buflen) {
        start += utf8_suffix_start(r->log + start, take, buflen - 1);
        take = len - start;
    }
    memcpy(buf, r->log + start, take);
    buf[take] = '\0';
    for (size_t i = 0; i < take; i++)
        if (buf[i] == '\n')
            buf[i] = '|'; /* one line, for failureReason and events */
}

bool report_judge(const struct node_report *r, const struct report_target *target, char *why,
                  size_t whylen)
{
    why[0] = '\0';
    const char *id = target->instance_id ? target->instance_id : "";
    if (target->attempt > 0 && r->attempt != target->attempt) {
        snprintf(why, whylen, "a report for attempt %d, but instance %s is attempt %d",
                 r->attempt, *id ? id : "(none)", target->attempt);
        return false;
    }
    if (r->instance[0] && strcmp(r->instance, id) != 0) {
        snprintf(why, whylen, "a report from instance %s, but the node's instance is %s",
                 r->instance, *id ? id : "(none)");
        return false;
    }
    if (target->finished && strcmp(r->state, "done") != 0) {
        snprintf(why, whylen, "a report '%s' after its bootstrap finished (instance %s)",
                 r->state, *id ? id : "(none)");
        return false;
    }
    return true;
}

void report_failure_reason(const struct node_report *r, const char *node, char *buf,
                           size_t buflen)
{
    char tail[1024];
    report_log_tail(r, 10, tail, sizeof(tail));
    const char *step = r->step[0] ? r->step : "the bootstrap";
    int n = r->exit_code >= 0
                ? snprintf(buf, buflen, "%s exited %d on %s", step, r->exit_code, node)
                : snprintf(buf, buflen, "%s failed on %s", step, node);
    if (tail[0] && n >= 0 && (size_t)n < buflen)
        snprintf(buf + n, buflen - (size_t)n, ": %s", tail);
}
