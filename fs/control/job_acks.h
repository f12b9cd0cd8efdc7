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

/* How long jobs/<name> stays once the head answered (the listing keeps
 * its records for a week), and a cancel once Slurm forgot its job. */
#define JOB_RECORD_KEEP_S (7 * 24 * 3600)
/* The lease holder's clean-up: a submission made more than
 * JOB_RECORD_KEEP_S ago and answered goes with its answer (the submission first, so the
 * agent, which forgets names no longer listed, never sees an answered name
 * without its answer); a cancel goes with its answer once the head's view
 * lists the job no more. */
void job_acks_prune(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                    const struct observed_cluster *oc);

#endif
