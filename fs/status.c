#include "fs/status.h"

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
    (void)oc; /* provisioning state joins here once the controller launches nodes */
    if (dc->deleting)
        return ST_DELETE_IN_PROGRESS;
    if (!dc->config)
        return ST_NO_CONFIG;
    return dc->generation > 1 ? ST_UPDATE_IN_PROGRESS : ST_CREATE_IN_PROGRESS;
}
