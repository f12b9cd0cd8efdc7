/* The region a cluster lives in: its config's aws_region_name (read from
 * the config parsed when its generation was loaded, dc->parsed), else the
 * mount's default region. */
#ifndef PCFS_CLUSTER_REGION_H
#define PCFS_CLUSTER_REGION_H
#include <stddef.h>

#include "fs/store/store.h"

void cluster_region(const struct desired_cluster *dc, const char *mount_region, char *buf,
                    size_t buflen);

#endif
