#include "fs/model/status.h"

#include <stdbool.h>

const char *status_name(enum cluster_status st)
{
    switch (st) {
    case ST_NO_CONFIG: return "NO_CONFIG";
    case ST_CREATE_IN_PROGRESS: return "CREATE_IN_PROGRESS";
    case ST_CREATE_COMPLETE: return "CREATE_COMPLETE";
    case ST_CREATE_FAILED: return "CREATE_FAILED";
    case ST_UPDATE_IN_PROGRESS: return "UPDATE_IN_PROGRESS";
    case ST_UPDATE_COMPLETE: return "UPDATE_COMPLETE";
    case ST_UPDATE_FAILED: return "UPDATE_FAILED";
    case ST_DELETE_IN_PROGRESS: return "DELETE_IN_PROGRESS";
    case ST_DELETE_FAILED: return "DELETE_FAILED";
    }
    return "UNKNOWN";
}

enum cluster_status status_derive(const struct desired_cluster *dc,
                                  const struct observed_cluster *oc)
{
    if (dc->deleting)
        return ST_DELETE_IN_PROGRESS;
    if (!dc->config)
        return ST_NO_CONFIG;
    /* An update is any generation after the one the cluster first completed. */
    bool update = dc->first_complete > 0 && dc->generation > dc->first_complete;
    /* A cluster that completed once cannot fail its creation any more: a
     * failure after that (an update, or a node it could not bring back)
     * leaves it running (see reconcile.h), which UPDATE_FAILED says. */
    if (dc->failure_code)
        return dc->first_complete > 0 ? ST_UPDATE_FAILED : ST_CREATE_FAILED;
    if (oc && oc->converged && oc->converged_generation == dc->generation)
        return update ? ST_UPDATE_COMPLETE : ST_CREATE_COMPLETE;
    /* A cluster seen complete does not go back to being created because its
     * slurmrestd stopped answering: not knowing is not regressing, and
     * status.json's slurm_stale says why Slurm's view is missing. */
    if (oc && oc->slurm_error && dc->first_complete == dc->generation)
        return ST_CREATE_COMPLETE;
    return update ? ST_UPDATE_IN_PROGRESS : ST_CREATE_IN_PROGRESS;
}
