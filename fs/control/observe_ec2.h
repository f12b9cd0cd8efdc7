/* What EC2 shows of this mount's clusters: per region one paginated
 * DescribeInstances filtered by the owner tag (pclusterfs:owner = the state
 * bucket), whatever the number of clusters, joined into observed clusters
 * and nodes by the pclusterfs:cluster and pclusterfs:node tags. Instances
 * already terminated are left out. */
#ifndef PCFS_OBSERVE_EC2_H
#define PCFS_OBSERVE_EC2_H
#include <stddef.h>
#include <time.h>

#include "fs/control/cloud.h"
#include "fs/model/observed.h"

/* The owner tag's value is cl->bucket. */
int observe_ec2(struct cloud *cl, const char *const *regions, size_t n_regions, time_t now,
                struct observed_state **out, char *err, size_t errlen);

#endif
