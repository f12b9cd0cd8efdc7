/* Launching one node (DESIGN.md section 4): the cluster's secrets and
 * generated files in the bucket, a per-launch manifest of presigned URLs,
 * user data that holds only the manifest's URL, and RunInstances with a
 * ClientToken derived from bucket, cluster incarnation, node and attempt, so
 * a launch retried after a crash or a lost answer never makes a second
 * instance. The instance is tagged with its attempt, and the manifest names
 * it, so a report counts only for the attempt it was issued to. */
#ifndef PCFS_LAUNCH_H
#define PCFS_LAUNCH_H
#include <stddef.h>
#include <time.h>

#include "fs/control/cloud.h"
#include "fs/config/config.h"
#include "fs/store/store.h"

struct launch_plan {
    const struct desired_cluster *cluster; /* name and hooks */
    const struct cluster_config *cfg;
    const char *region;
    const char *node;          /* "head" or a Slurm node name */
    const char *instance_type;
    const char *image_id;
    const char *head_address;  /* compute nodes: the head's private IP */
    int cpus;
    long memory_mib;
    int max_nodes;             /* the cluster's largest node count, for slurm.conf */
    int attempt;               /* 1, 2, ...: a replacement is a new attempt */
    const char *iam_profile;   /* the instance profile to launch with; NULL: none */
    const char *const *security_group_ids; /* secgroups_launch_ids */
    size_t n_security_groups;
    long url_seconds;          /* how long the report's PUT URL lives: longer
                                  than a node's bootstrap may take (GETs live
                                  15 minutes: the node fetches all at boot) */
};

/* The ClientToken of a launch: hex of SHA-256(bucket/cluster@incarnation/
 * node/attempt), 64 characters (EC2's limit). The incarnation (the cluster's
 * creation time, stored in the bucket at mkdir) makes a cluster re-created
 * under a used name launch anew, while a retry after a restart of the same
 * cluster still yields the same token. 0: a cluster of before incarnations. */
void launch_client_token(const char *bucket, const char *cluster, time_t incarnation,
                         const char *node, int attempt, char out[65]);

/* Launches; instance_id (at least 32 bytes) gets the instance. A launch
 * that already happened under the same token returns that instance. 0, or
 * a negative errno with err (an EC2 error code in code when EC2 gave one
 * that is a verdict). -ENXIO: EC2 does not see the instance profile (yet):
 * no verdict, but a reason to make sure the profile exists. */
int launch_node(struct cloud *cl, const struct launch_plan *p, char *instance_id, char *code,
                size_t codelen, char *err, size_t errlen);

/* The cluster's secret `name` (munge.key, jwt.key) from the bucket, made of
 * `len` random bytes on first use (ssh.key: a key pair, sshkey.h; len unused). *data is the caller's to free. */
int launch_cluster_secret(struct cloud *cl, const char *cluster, const char *name, size_t len,
                          char **data, size_t *outlen, char *err, size_t errlen);

#endif
