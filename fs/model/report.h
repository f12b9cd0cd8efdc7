/* A node's bootstrap report, as scripts/embed/bootstrap.sh PUTs it to its
 * presigned URL: header lines "state X", "step ...", "failure CODE",
 * "exit N", "attempt N", "instance ID" (read from the node's IMDS),
 * "generation N" (the config generation its hooks came from) and one
 * "hook pre|post NAME" per hook it has run, in order; then a line "--" and
 * the tail of the bootstrap's output. The text comes from the node, so it is untrusted:
 * every field is bounded and sanitized (no control characters or terminal
 * escapes) before it is kept, and report_judge decides whether it may count
 * at all for the instance it claims to come from. */
#ifndef PCFS_REPORT_H
#define PCFS_REPORT_H
#include <stdbool.h>
#include <stddef.h>

#define REPORT_LOG_MAX (64 * 1024)
#define REPORT_HOOKS_MAX 100 /* per stage, as many as a cluster may hold */

/* The hooks of one stage a node ran, in the order it ran them. */
struct report_hooks {
    char **names; /* sanitized */
    size_t n;
};

struct node_report {
    char state[16];    /* pending|pre|configuring|post|done|failed */
    char step[256];
    char failure[64];  /* failureCode on failed, "" otherwise */
    int exit_code;     /* -1 when not given */
    int attempt;       /* the launch attempt it was issued to, 0 when not given */
    char instance[32]; /* the instance it says it runs on, "" when not given */
    int generation;    /* config generation its hooks came from, 0 when not given */
    struct report_hooks ran[2]; /* [0] hooks/pre, [1] hooks/post */
    char *log;         /* sanitized, newline-separated, at most REPORT_LOG_MAX */
};

/* 0, or -EINVAL when text is not a report (no known state), -ENOMEM. */
int report_parse(const char *text, size_t len, struct node_report *out);
void report_free(struct node_report *r);
/* The last n lines of the log (into buf), for failure reasons. */
void report_log_tail(const struct node_report *r, int n, char *buf, size_t buflen);

/* What is known of the instance a report is read for. */
struct report_target {
    const char *instance_id; /* the node's current instance, "" or NULL when none */
    int attempt;             /* the attempt that instance was launched as, 0 = unknown */
    bool finished;           /* its bootstrap was seen done before */
};

/* Whether report r may count for target: true, or false with why (for an
 * event). A report counts only for the attempt and instance it was issued
 * to, and once a bootstrap was seen done no later report can undo that. */
bool report_judge(const struct node_report *r, const struct report_target *target, char *why,
                  size_t whylen);

/* "STEP exited N on NODE: last lines" for a failed report; a report with no
 * log has no ": ", one with no step says "the bootstrap". */
void report_failure_reason(const struct node_report *r, const char *node, char *buf,
                           size_t buflen);

#endif
