/* The cluster's event log: one line per event, "TIME LEVEL message", kept in
 * the desired-state store so every mount shows the same history. Messages
 * are sanitized to one printable line before they are stored. */
#ifndef PCFS_EVENTS_H
#define PCFS_EVENTS_H
#include <time.h>

#include "fs/store/store.h"

#define EVENT_MAX 2048

/* Formats one event line (with its newline) into buf. */
void events_format(char *buf, size_t buflen, time_t when, const char *level, const char *msg);

/* Appends one event; returns 0 or the store's negative errno. */
int events_append(struct store *store, const char *cluster, const char *level, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

#endif
