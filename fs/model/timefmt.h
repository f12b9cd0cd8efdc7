/* Times as the tree shows them: RFC 3339 UTC, second precision. */
#ifndef PCFS_TIMEFMT_H
#define PCFS_TIMEFMT_H
#include <stddef.h>
#include <time.h>

#define RFC3339_LEN 21 /* "2026-11-27T01:02:03Z" + NUL */

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least RFC3339_LEN bytes). */
void timefmt_rfc3339(time_t t, char *buf, size_t buflen);

#endif
