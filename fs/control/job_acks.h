/* The head's answers for jobs/ (head/acks/jobs/<name>, head/acks/cancel/<id>,
 * fs/store/layout.h): every mount reads those its listing shows into the
 * observed cluster (what jobs/<name> then says); the lease holder tells each
 * once in the cluster's events (a line already there is not told again, so
 * two mounts or a remount tell it once). */
#ifndef PCFS_JOB_ACKS_H
#define PCFS_JOB_ACKS_H
#include "fs/control/reconcile.h"

/* 0, or -ENOMEM (some answers are missing then). An answer that cannot be
 * read is kept as a failure saying so. */
int job_acks_read(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                  struct observed_cluster *oc);
void job_acks_tell(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                   const struct observed_cluster *oc);

#endif
