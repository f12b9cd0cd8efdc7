/* A batch script copied into <cluster>/jobs/, checked before it is
 * submitted (issue 19): the refusals sbatch itself would make, made on the
 * workstation where the user still sees them, plus our own limits. No I/O.
 * Accepted: at most JOBSCRIPT_MAX_BYTES of UTF-8 text (no NUL or other
 * control characters than tab, form feed, vertical tab and escape) with
 * UNIX line breaks, whose first line is "#!" and an absolute interpreter
 * path, as sbatch demands. #SBATCH directives are those sbatch reads: lines
 * that start with "#SBATCH" before the first line that is neither blank nor
 * a comment; later ones are counted as ignored so the user can be told.
 * --uid and --gid directives are refused: jobs run as the cluster's default
 * user, never as one a script names. Refusals are -EINVAL with the reason,
 * naming the line, in msg (nothing of the script is quoted raw). */
#ifndef PCFS_JOBSCRIPT_H
#define PCFS_JOBSCRIPT_H
#include <stddef.h>

#define JOBSCRIPT_MAX_BYTES (1024 * 1024) /* Slurm's own default cap is 4 MB */
#define JOBSCRIPT_INTERPRETER_MAX 255

struct jobscript_info {
    char interpreter[JOBSCRIPT_INTERPRETER_MAX + 1]; /* "/bin/bash", "/usr/bin/env" */
    unsigned lines;
    unsigned directives;         /* #SBATCH lines sbatch reads */
    unsigned ignored_directives; /* #SBATCH lines after the first command */
    unsigned first_ignored_line; /* 1-based; 0 when none is ignored */
};

/* 0 with *out filled, or -EINVAL with why in msg. */
int jobscript_check(const char *data, size_t len, struct jobscript_info *out, char *msg,
                    size_t msglen);

#endif
