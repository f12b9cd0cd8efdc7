/* AWS's time stamps, parsed and formatted in one place: the ISO 8601 /
 * RFC 3339 UTC times AWS answers with (EC2 launchTime, S3 LastModified,
 * credential Expiration) and SigV4's compact amz-date. fs/ parses AWS's
 * times with these too. */
#ifndef PCFS_AWS_TIMESTAMP_H
#define PCFS_AWS_TIMESTAMP_H
#include <time.h>

/* "20150830T123600Z" (the date alone is its first 8 characters). */
void aws_format_amz_date(time_t t, char out[17]);
/* Parses "2026-11-27T01:02:03Z" (a fraction allowed, "+00:00" for "Z");
 * returns 0, or -1 (out untouched) for anything else. */
int aws_parse_iso8601(const char *s, time_t *out);
/* The same, for a time that may be missing: 0 when s is NULL or unparsable. */
time_t aws_iso8601_or_zero(const char *s);
#endif
