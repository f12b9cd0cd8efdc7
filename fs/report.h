/* A node's bootstrap report, as scripts/embed/bootstrap.sh PUTs it to its
 * presigned URL: header lines "state X", "step ...", "failure CODE",
 * "exit N", then a line "--" and the tail of the bootstrap's output. The
 * text comes from the node, so it is untrusted: every field is bounded and
 * sanitized (no control characters or terminal escapes) before it is kept. */
#ifndef PCFS_REPORT_H
#define PCFS_REPORT_H
#include <stddef.h>

#define REPORT_LOG_MAX (64 * 1024)

struct node_report {
    char state[16];    /* pending|pre|configuring|post|done|failed */
    char step[256];
    char failure[64];  /* failureCode on failed, "" otherwise */
    int exit_code;     /* -1 when not given */
    char *log;         /* sanitized, newline-separated, at most REPORT_LOG_MAX */
};

/* 0, or -EINVAL when text is not a report (no known state), -ENOMEM. */
int report_parse(const char *text, size_t len, struct node_report *out);
void report_free(struct node_report *r);
/* The last n lines of the log (into buf), for failure reasons. */
void report_log_tail(const struct node_report *r, int n, char *buf, size_t buflen);

#endif
