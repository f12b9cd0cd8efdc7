/* The head's answers for jobs/ (written by scripts/embed/agent_jobs.py):
 *   head/acks/jobs/<name>:   {"format": 1, "name", "outcome": "submitted" |
 *                             "failed", "job_id": n | null, "user", "message",
 *                             "done_at"}
 *   head/acks/cancel/<id>:   {"format": 1, "job_id", "outcome": "done" |
 *                             "failed", "message", "done_at"}
 * Input is untrusted (the head writes it): malformed is -EPROTO with a
 * message, never a crash; the message kept is sanitized text (sanitize.h)
 * and the user a plain user name. Pure: no I/O. */
#ifndef PCFS_JOB_ACK_H
#define PCFS_JOB_ACK_H
#include <stdbool.h>
#include <stddef.h>

#define JOB_ACK_FORMAT 1
#define JOB_ACK_MAX_BYTES 8192

struct job_ack {
    bool ok;             /* submitted / done */
    long long job_id;    /* > 0; 0 for a failed submission */
    char user[33];       /* who it ran as; "" when none */
    char message[512];   /* sbatch's or scancel's words, "" when none */
};

/* cancel: a cancel's ack (else a submission's). 0, or -EPROTO with msg;
 * out is zeroed on failure. */
int job_ack_parse(const char *buf, size_t len, bool cancel, struct job_ack *out, char *msg,
                  size_t msglen);

#endif
