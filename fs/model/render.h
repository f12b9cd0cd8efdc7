/* Rendering of the read-only files: status, status.json, and each node's
 * one-value files and node.json. Pure functions from state to bytes. */
#ifndef PCFS_RENDER_H
#define PCFS_RENDER_H
#include "fs/model/blob.h"
#include "fs/model/observed.h"
#include "fs/model/snapshot.h"

struct status_json_inputs {
    const struct desired_cluster *desired;
    const struct observed_cluster *observed; /* may be NULL */
    enum cluster_status status;
    const char *region;
    time_t observed_at;
    bool stale;
    const char *stale_reason;
};
/* status.json also says whether Slurm could be asked (slurm_stale, with
 * slurm_stale_reason) from observed->slurm_error: the cloud may answer while
 * the head's slurmrestd does not, and the other way round. */

struct blob *render_status_json(const struct status_json_inputs *in);

/* The status.json of a cluster whose state could not be rendered: it says
 * so, with only what cannot fail (name, status word). */
struct blob *render_status_unrenderable(const struct desired_cluster *dc,
                                        enum cluster_status status);

/* Fills node->files from what was observed of the node; 0 or -ENOMEM. */
int render_node(const struct observed_node *on, time_t observed_at, struct snap_node *node);

/* Fills dir with the files of jobs/<id>/ for Slurm's job j: exit_code
 * (empty until the job has ended), job.json, name, nodes, partition,
 * reason, state, user; each value is sanitized, as a job's name and
 * reason come from whoever submitted it. 0 or -ENOMEM. */
struct slurmrest_job;
int render_job(const struct slurmrest_job *j, time_t observed_at, struct snap_node *dir);

/* Whether Slurm's state word for j says it has ended (COMPLETED, FAILED,
 * CANCELLED, TIMEOUT...): its exit code is known then. */
bool render_job_ended(const struct slurmrest_job *j);

#endif
