/* A cluster's EC2 security groups, as ParallelCluster v2 made them: made
 * by the workstation's controller before the head node launches, removed
 * once no instance of the cluster is left (rmdir, a failed creation).
 *
 * - Two groups in the config's VPC: the head's lets in tcp 22 from ssh_from
 *   (default 0.0.0.0/0); the cluster's, on every node, lets in everything
 *   from its own members. Nothing else comes in (slurmrestd, 6820, is
 *   reached only from inside the cluster).
 * - vpc_security_group_id replaces both (no group is made; every node gets
 *   it); additional_sg is added to every node's groups (v2's semantics).
 * - Names are derived, never stored: "pcfs-<cluster>-<hash>-head" and
 *   "...-cluster", the hash of bucket and cluster as for IAM roles (roles.h).
 * - Level-triggered: secgroups_ensure makes what is missing and puts the
 *   rules right (a changed ssh_from); groups carry the owner and cluster
 *   tags, and a group without the owner tag is never changed or deleted
 *   (-EPERM from ensure, skipped by remove), whatever its name.
 * Every call goes through the cloud seam (cloud.h). */
#ifndef PCFS_SECGROUPS_H
#define PCFS_SECGROUPS_H
#include <stdbool.h>
#include <stddef.h>

#include "fs/config/config.h"
#include "fs/control/cloud.h"

#define SECGROUPS_NAME_MAX 255
#define SECGROUPS_ID_MAX 32
#define SECGROUPS_LAUNCH_MAX 3 /* groups one node launches with */

enum secgroups_kind { SECGROUPS_HEAD, SECGROUPS_CLUSTER };

/* The name of the group of kind for bucket's cluster (SECGROUPS_NAME_MAX + 1 bytes). */
void secgroups_name(const char *bucket, const char *cluster, enum secgroups_kind kind, char *out);
/* Whether the config has pclusterfs make groups (no vpc_security_group_id). */
bool secgroups_made(const struct cluster_config *cfg);

/* Makes or puts right the cluster's groups for cfg in region. 0, or a
 * negative errno with why in err (-EPERM: a group of that name is not ours). */
int secgroups_ensure(struct cloud *cl, const char *cluster, const char *region,
                     const struct cluster_config *cfg, char *err, size_t errlen);
/* Removes the cluster's groups in region: 0 when none of ours is left, or a
 * negative errno with why in err (-EBUSY: an instance still holds one).
 * *removed (may be NULL) counts what went. */
int secgroups_remove(struct cloud *cl, const char *cluster, const char *region, int *removed,
                     char *err, size_t errlen);
/* The group ids a node launches with: made groups looked up (head: head's
 * and cluster's; compute: cluster's) or vpc_security_group_id, then
 * additional_sg. ids holds SECGROUPS_LAUNCH_MAX entries. 0, or -ENOENT
 * when a made group is missing (ensure first), or the call's errno. */
int secgroups_launch_ids(struct cloud *cl, const char *cluster, const char *region,
                         const struct cluster_config *cfg, bool head,
                         char ids[][SECGROUPS_ID_MAX], size_t *n, char *err, size_t errlen);

#endif
