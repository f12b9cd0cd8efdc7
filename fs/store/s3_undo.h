/* Undoing writes to the state bucket whose outcome is unknown. A PUT or
 * DELETE that timed out may have taken effect, or may still land later; a
 * commit that reported failure must not show up afterwards. So each such
 * write leaves an entry here: "if KEY still holds what the failed write put
 * (its ETag is the MD5 of those bytes, as S3 gives for single-part SSE-S3
 * objects), put back what was there before (or delete it)"; for a failed
 * DELETE, "if KEY is absent, put the old bytes back". Entries are replayed
 * on every refresh pass once the bucket answers; PUTs are watched for
 * UNDO_WATCH_SECONDS so one that lands late is still undone; a later
 * successful write of this mount to the key drops them. The limit: a write
 * delayed past the watch, or undone by a mount that died first, stays. */
#ifndef PCFS_S3_UNDO_H
#define PCFS_S3_UNDO_H
#include <stddef.h>

#include "fs/store/bucket.h"
#include "fs/model/blob.h"

#define UNDO_WATCH_SECONDS 120

struct s3_undo;

struct s3_undo *s3_undo_new(void);
void s3_undo_free(struct s3_undo *u);

/* After a failed PUT of written to key: put previous back (NULL: delete). */
int s3_undo_put(struct s3_undo *u, const char *key, const void *written, size_t len,
                struct blob *previous);
/* After a failed DELETE of key that held previous. */
int s3_undo_delete(struct s3_undo *u, const char *key, struct blob *previous);
/* A write of this mount to key succeeded: what was pending there is moot. */
void s3_undo_forget(struct s3_undo *u, const char *key);
/* Replays every entry; 0, or the first error (err says it; entries stay). */
int s3_undo_replay(struct s3_undo *u, const struct bucket *b, char *err, size_t errlen);
/* Entries waiting (for tests and logs). */
size_t s3_undo_pending(struct s3_undo *u);

#endif
