/* The naming rules of the tree (DESIGN.md section 1): which cluster and hook
 * names are valid, and which file names are editor or tool scratch that lives
 * in memory only until renamed onto a real name. */
#ifndef PCFS_NAMES_H
#define PCFS_NAMES_H
#include <stdbool.h>
#include <stddef.h>

#define CLUSTER_NAME_MAX 60
#define FILE_NAME_MAX 255

/* 0 if name matches ^[a-zA-Z][a-zA-Z0-9-]{0,59}$; -ENAMETOOLONG past 255
 * bytes; else -EINVAL with the reason in msg (which shows the name quoted,
 * see names_quote). */
int names_check_cluster(const char *name, char *msg, size_t msglen);

/* 0 if name can be a hook script: 1..255 bytes of printable UTF-8, not "."
 * or "..". -ENAMETOOLONG / -EINVAL with the reason in msg. */
int names_check_file(const char *name, char *msg, size_t msglen);

/* 0 if name can be a job's submission in jobs/: it matches
 * ^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$ (what the head's agent takes) and is
 * not all digits (those are the job ids' directories). -ENAMETOOLONG /
 * -EINVAL with the reason in msg. */
#define JOB_NAME_MAX 128
int names_check_job(const char *name, char *msg, size_t msglen);

/* The name for a message or a log line, in double quotes: printable ASCII
 * as is, '"' and '\\' escaped, every other byte as \n, \t or \xNN, so a
 * name can neither break a line nor reach a terminal as an escape; cut with
 * "..." past 60 bytes of the name. */
void names_quote(const char *name, char *out, size_t outlen);

/* Scratch in hooks/pre and hooks/post: ".name", "name~", "sedXXXXXX". */
bool names_is_hook_scratch(const char *name);

/* The files a cluster directory always has. */
bool names_is_cluster_entry(const char *name);

#endif
