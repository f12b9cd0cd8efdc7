/* The head's events (clusters/<c>/head/events, written by the head's agent,
 * scripts/embed/agent_events.py): what the head did by itself (dynamic
 * nodes launched and stopped, failures), one event a line, oldest first:
 *
 *   2026-12-02T16:50:00Z info launched compute-dy-t2micro-1 (i-0abc...)
 *
 * The head writes it, so it is untrusted: a line counts only in that form
 * (an ISO 8601 UTC time, a level of info, warning or error, a message),
 * and the message is sanitized (sanitize.h) and cut to
 * HEAD_EVENT_MESSAGE_MAX bytes. Pure parsing, no I/O. */
#ifndef PCFS_HEAD_EVENT_H
#define PCFS_HEAD_EVENT_H
#include <stdbool.h>
#include <stddef.h>

#define HEAD_EVENT_MESSAGE_MAX 400

struct head_event {
    char time[21];   /* YYYY-MM-DDTHH:MM:SSZ */
    char level[8];   /* info, warning, error */
    char message[HEAD_EVENT_MESSAGE_MAX + 1];
};

/* Reads the next line of text[*at..len) into ev and moves *at past it.
 * Returns 1 when the line is an event, 0 when it is not (skipped), -1 at
 * the end of the text. */
int head_event_next(const char *text, size_t len, size_t *at, struct head_event *ev);

#endif
