/* ISO 8601 parsing and amz-date formatting; see timestamp.h. */
#include "aws/timestamp.h"

#include <ctype.h>
#include <string.h>

void aws_format_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int aws_parse_iso8601(const char *s, time_t *out)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (*p != 'Z' && *p != 'z' && strcmp(p, "+00:00") != 0)
        return -1;
    *out = timegm(&tm);
    return 0;
}

time_t aws_iso8601_or_zero(const char *s)
{
    time_t t = 0;
    if (s)
        aws_parse_iso8601(s, &t);
    return t;
}
