/* Cluster status: the values of ParallelCluster v3's clusterStatus, and how
 * a status follows from the desired state and what was observed. */
#ifndef PCFS_STATUS_H
#define PCFS_STATUS_H
#include "fs/model/observed.h"
#include "fs/store/store.h"

enum cluster_status {
    ST_NO_CONFIG,
    ST_CREATE_IN_PROGRESS,
    ST_CREATE_COMPLETE,
    ST_CREATE_FAILED,
    ST_UPDATE_IN_PROGRESS,
    ST_UPDATE_COMPLETE,
    ST_UPDATE_FAILED,
    ST_DELETE_IN_PROGRESS,
    ST_DELETE_FAILED,
};

const char *status_name(enum cluster_status st);

/* The status of dc given what was observed of it (oc may be NULL). */
enum cluster_status status_derive(const struct desired_cluster *dc,
                                  const struct observed_cluster *oc);

#endif
