/* A node's control command: what one write of nodes/<n>/ctl holds, parsed
 * (DESIGN.md section 1). Accepted: "drain <reason>", "resume", "replace",
 * one command on one line, blanks around it and one final newline allowed.
 * Anything else (empty, oversized, binary or invalid UTF-8, several lines,
 * an unknown word, a drain without reason, an argument to resume or
 * replace) is -EINVAL with the reason in msg, which quotes nothing raw.
 * The head's agent carries the command out; this module only reads text
 * (no I/O), and the reason it keeps is printable UTF-8 without control
 * characters, safe for events, JSON and Slurm's reason field. */
#ifndef PCFS_NODECTL_H
#define PCFS_NODECTL_H
#include <stddef.h>

#define NODECTL_MAX_BYTES 512  /* one write's whole text */
#define NODECTL_REASON_MAX 256 /* a drain's reason, in bytes */

enum nodectl_verb { NODECTL_DRAIN, NODECTL_RESUME, NODECTL_REPLACE };

struct nodectl_cmd {
    enum nodectl_verb verb;
    char reason[NODECTL_REASON_MAX + 1]; /* drain's; "" otherwise */
};

/* 0 with *out filled, or -EINVAL with why in msg. */
int nodectl_parse(const char *data, size_t len, struct nodectl_cmd *out, char *msg,
                  size_t msglen);
/* "drain", "resume", "replace". */
const char *nodectl_verb_name(enum nodectl_verb v);

#endif
