/* How failure travels in pclusterfs: the one way, for every room.
 *
 * Errors. A function that can fail returns 0 or a negative errno, and when
 * a person will want to know why, it fills a message the caller owns,
 * passed as (char *msg, size_t msglen) and declared char msg[PCFS_MSG_MAX]
 * where it starts. The message says what failed and why in words a user
 * can act on; it ends up in events or status.json's last_error. The
 * libraries keep their own structs because they carry more than words and
 * may not include fs/: struct aws_error (AWS's code, HTTP status, request
 * id) and struct slurmrest_error; fs/ turns them into its message at the
 * call that crosses the wall (aws_error_format). struct config_error is
 * the config language's located diagnostic (line and text), formatted into
 * the message by whoever parsed. No other carrier: no errno globals, no
 * messages on stderr from below main.c.
 *
 * Allocation failure. aws/ aborts (aws_xmalloc and friends, aws/util.h):
 * its callers could only pass ENOMEM up to the same end, and its code stays
 * short; fs/ calling an aws/ helper (aws_base64_encode...) accepts that.
 * slurm/ and fs/ check every allocation (strdup, asprintf, blob_new
 * included) and return -ENOMEM with the message "out of memory"; a FUSE
 * operation answers ENOMEM and the daemon goes on. */
#ifndef PCFS_ERRORS_H
#define PCFS_ERRORS_H

/* Room for a message with an aws_error formatted into it. */
#define PCFS_MSG_MAX 1024
#endif
