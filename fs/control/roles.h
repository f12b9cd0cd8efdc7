/* A cluster's IAM roles and instance profiles (DESIGN.md section 2): made
 * by the workstation's controller before the head node launches, removed
 * once no instance of the cluster is left (rmdir, a failed creation).
 *
 * - The head's role carries the least-privilege policy of roles_head_policy
 *   (what the head's agent needs to run the compute fleet); the compute
 *   role exists when the config asks for access (s3_read_resource,
 *   s3_read_write_resource, additional_iam_policies), which both roles get,
 *   as v2 gave them to every node. With ec2_iam_role the user's role goes
 *   into one instance profile for every node and no role is made.
 * - Names are derived, never stored: "pcfs-<cluster>-<hash>-<kind>", the
 *   hash of bucket and cluster (so two buckets or clusters never share a
 *   role), the cluster's name cut so the whole fits IAM's 64 characters.
 *   A role and its instance profile share the name.
 * - Level-triggered: roles_ensure makes what is missing and puts right what
 *   differs, so a crash anywhere, then another pass, leaves one set; roles
 *   carry the owner tag (pclusterfs:owner = the bucket) and a role without
 *   it is never changed or deleted (-EPERM, whatever its name).
 * Every call goes through the cloud seam (cloud.h). */
#ifndef PCFS_ROLES_H
#define PCFS_ROLES_H
#include <stdbool.h>
#include <stddef.h>

#include "fs/config/config.h"
#include "fs/control/cloud.h"

#define ROLES_NAME_MAX 64

enum roles_kind { ROLES_HEAD, ROLES_COMPUTE };

/* The role (and profile) name of kind for bucket's cluster; out holds
 * ROLES_NAME_MAX + 1 bytes. */
void roles_name(const char *bucket, const char *cluster, enum roles_kind kind, char *out);

/* The instance profile a node of the cluster launches with, false when it
 * launches with none (a compute node when the config asks for no access). */
bool roles_profile_for(const char *bucket, const char *cluster, const struct cluster_config *cfg,
                       bool head, char *out);

/* What the head's policy is made of. */
struct roles_head_input {
    const char *bucket, *cluster, *region;
    const struct cluster_config *cfg;
    const char *compute_role; /* the role it may pass to compute nodes; NULL: none */
};
/* The head's policy document as JSON (malloc'd; NULL on ENOMEM):
 * RunInstances only with its cluster's and owner's tags (aws:RequestTag,
 * and no other tag keys than a launch sets), only of the config's compute
 * instance types, only into its compute subnet, with its key pair and
 * security groups; CreateTags only within RunInstances; TerminateInstances
 * only of instances tagged with its cluster and owner; ec2:Describe*;
 * PassRole of its compute role only; in the state bucket, listing and
 * reading its cluster's config, generation, hooks, generated files, reports
 * and head/ objects, and writing only the head's keys of layout_writers. */
char *roles_head_policy(const struct roles_head_input *in);
/* The inline policy v2 made for s3_read_resource (read = true: s3:Get*,
 * s3:List*) or s3_read_write_resource (s3:*) on resource. */
char *roles_s3_policy(const char *resource, bool read);

/* Makes or puts right the cluster's roles and profiles for cfg. 0, or a
 * negative errno with why in err (-EPERM: a role of that name is not
 * ours). */
int roles_ensure(struct cloud *cl, const char *cluster, const char *region,
                 const struct cluster_config *cfg, char *err, size_t errlen);
/* Removes the cluster's roles and profiles (those it has): 0 when none is
 * left, or a negative errno with why in err. A role without the owner tag
 * is left alone. *removed (may be NULL) counts what went. */
int roles_remove(struct cloud *cl, const char *cluster, int *removed, char *err, size_t errlen);

#endif
