/* The cluster's event log: one line per event, "TIME LEVEL message", kept in
 * the desired-state store so every mount shows the same history. Messages
 * are sanitized to one printable line before they are stored.
 *
 * Its size in the bucket is bounded: appends go to clusters/<c>/events, and
 * once that object would pass EVENTS_PART_BYTES its lines roll into the next
 * numbered part (events.1, events.2, ...), so an append rewrites at most one
 * part, never the whole history. At most EVENTS_PARTS_MAX parts are kept;
 * past that the oldest goes (its lines leave the front of `events`). A load
 * joins the parts, oldest first, then the live object: the `events` file
 * shows the whole history in order and grows at its end. The memory store
 * keeps the same bound on the joined text. */
#ifndef PCFS_EVENTS_H
#define PCFS_EVENTS_H
#include <time.h>

#include "fs/store/store.h"

#define EVENT_MAX 2048
#define EVENTS_PART_BYTES (64 * 1024)
#define EVENTS_PARTS_MAX 15 /* with the live object, about 1 MiB per cluster */
#define EVENTS_KEPT_BYTES ((size_t)EVENTS_PART_BYTES * (EVENTS_PARTS_MAX + 1))

/* Formats one event line (with its newline) into buf. */
void events_format(char *buf, size_t buflen, time_t when, const char *level, const char *msg);

/* The events text from its pieces, oldest first (parts by number, then the
 * live object; NULL pieces are skipped). A roll cut short between writing a
 * part and emptying the live object leaves the part's lines at the start of
 * the next piece too: they are shown once. NULL on ENOMEM. */
struct blob *events_join(struct blob *const *pieces, size_t n);

/* text with its oldest whole lines dropped so that it is at most max bytes
 * (a new reference; text itself when it fits). NULL on ENOMEM. */
struct blob *events_trim(struct blob *text, size_t max);

/* The part number of "events.N" (N > 0), else 0. */
unsigned events_part_number(const char *rest);

/* Appends one event. It returns nothing to ignore: a failure is logged here
 * (cluster, reason, the event), and the bucket store keeps the lines to
 * write when the bucket answers again (store_s3.c). */
void events_append(struct store *store, const char *cluster, const char *level, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

#endif
