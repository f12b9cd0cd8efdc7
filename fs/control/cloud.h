/* The controller's seam to the cloud, like store_ops for the bucket: the
 * EC2 calls it makes (run, terminate, describe by tag or client-token,
 * create tags, describe instance types), the cloud-side check of a config,
 * the objects under the state bucket besides the desired state (cluster
 * secrets, generated files, launch intents and manifests, node reports,
 * the lease), and Slurm's view of a cluster. Two implementations: the real
 * one over aws/ and slurm/ (cloud_init: credentials, the state bucket and
 * its owner, one AWS client per region, made on first use), and an
 * in-memory one (cloud_mem.h) with which the controller's whole loop runs
 * in unit tests. A cloud belongs to the controller thread (clients are
 * never shared between threads).
 *
 * EC2 calls follow the contracts of their aws_ec2_* counterparts (aws/ec2.h),
 * with the region named; their error is an aws_error. Object calls return
 * 0 or a negative errno with why in err (get: -ENOENT when absent, *data
 * the caller's).
 *
 * Security-group calls (fs/control/secgroups.h) follow aws/ec2.h's.
 *
 * IAM calls (the roles and instance profiles of fs/control/roles.h) follow
 * their aws_iam_* counterparts (aws/iam.h); IAM is global, so they name no
 * region. */
#ifndef PCFS_CLOUD_H
#define PCFS_CLOUD_H
#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "aws/iam.h"
#include "fs/control/cloudcheck.h"
#include "fs/store/bucket.h"
#include "slurm/slurmrest.h"

#define CLOUD_MAX_REGIONS 32

struct cloud;

/* How to reach a cluster's Slurm: its head's address and JWT key. */
struct slurm_access {
    const char *cluster;
    const char *head_address;
    const unsigned char *key;
    size_t key_len;
};

struct cloud_ops {
    int (*presign)(struct cloud *cl, const char *method, const char *key, long seconds,
                   char **url, char *err, size_t errlen);
    int (*run_instances)(struct cloud *cl, const char *region, const struct aws_ec2_run_params *p,
                         struct aws_ec2_instances *out, struct aws_error *e);
    int (*describe_instances)(struct cloud *cl, const char *region,
                              const struct aws_ec2_describe_query *q,
                              struct aws_ec2_instances *out, struct aws_error *e);
    int (*terminate_instances)(struct cloud *cl, const char *region, const char *const *ids,
                               size_t n, struct aws_ec2_instances *out, struct aws_error *e);
    int (*create_tags)(struct cloud *cl, const char *region, const char *const *ids, size_t n,
                       const struct aws_tag *tags, size_t n_tags, struct aws_error *e);
    int (*instance_types)(struct cloud *cl, const char *region, const char *const *names,
                          size_t n, struct aws_ec2_instance_types *out, struct aws_error *e);
    /* cloudcheck_config in the region. */
    int (*check_config)(struct cloud *cl, const char *region, const struct cluster_config *cfg,
                        struct cloudcheck_result *out, char *err, size_t errlen);
    /* Slurm's nodes (release with slurm_release); false with why when
     * Slurm does not answer. */
    bool (*slurm_nodes)(struct cloud *cl, const struct slurm_access *a,
                        struct slurmrest_node_list **out, char *why, size_t whylen);
    void (*slurm_release)(struct cloud *cl, struct slurmrest_node_list *l);
    /* IAM, path "/" */
    int (*iam_get_role)(struct cloud *cl, const char *name, struct aws_iam_role *out,
                        struct aws_error *e);
    int (*iam_create_role)(struct cloud *cl, const char *name, const char *trust_policy,
                           const struct aws_tag *tags, size_t n_tags, struct aws_error *e);
    int (*iam_delete_role)(struct cloud *cl, const char *name, struct aws_error *e);
    int (*iam_put_role_policy)(struct cloud *cl, const char *role, const char *policy_name,
                               const char *document, struct aws_error *e);
    int (*iam_delete_role_policy)(struct cloud *cl, const char *role, const char *policy_name,
                                  struct aws_error *e);
    int (*iam_list_role_policies)(struct cloud *cl, const char *role, struct aws_iam_names *out,
                                  struct aws_error *e);
    int (*iam_attach_role_policy)(struct cloud *cl, const char *role, const char *arn,
                                  struct aws_error *e);
    int (*iam_detach_role_policy)(struct cloud *cl, const char *role, const char *arn,
                                  struct aws_error *e);
    int (*iam_list_attached_role_policies)(struct cloud *cl, const char *role,
                                           struct aws_iam_names *out, struct aws_error *e);
    int (*iam_get_instance_profile)(struct cloud *cl, const char *name,
                                    struct aws_iam_instance_profiles *out, struct aws_error *e);
    int (*iam_create_instance_profile)(struct cloud *cl, const char *name,
                                       const struct aws_tag *tags, size_t n_tags,
                                       struct aws_error *e);
    int (*iam_add_role_to_instance_profile)(struct cloud *cl, const char *profile,
                                            const char *role, struct aws_error *e);
    int (*iam_remove_role_from_instance_profile)(struct cloud *cl, const char *profile,
                                                 const char *role, struct aws_error *e);
    int (*iam_delete_instance_profile)(struct cloud *cl, const char *name, struct aws_error *e);
    /* EC2 security groups (fs/control/secgroups.h) */
    int (*sg_describe)(struct cloud *cl, const char *region, const char *const *ids, size_t n_ids,
                       const struct aws_filter *filters, size_t n_filters,
                       struct aws_ec2_security_groups *out, struct aws_error *e);
    int (*sg_create)(struct cloud *cl, const char *region, const char *name, const char *desc,
                     const char *vpc_id, const struct aws_tag *tags, size_t n_tags, char *id,
                     struct aws_error *e);
    int (*sg_delete)(struct cloud *cl, const char *region, const char *id, struct aws_error *e);
    /* authorize (true) or revoke (false) ingress rules */
    int (*sg_ingress)(struct cloud *cl, const char *region, const char *id, bool authorize,
                      const struct aws_ec2_sg_rule *rules, size_t n, struct aws_error *e);
};

struct cloud {
    const struct cloud_ops *ops;
    void *impl; /* the in-memory cloud's state; NULL for the real one */
    /* The state bucket's objects, behind the get/put/del calls; thread-safe,
     * so the ETag cache's fetch workers share it (fs/store/bucket.h). */
    struct bucket objects;
    struct aws_creds_provider *creds;
    const char *bucket;
    const char *account;
    const char *bucket_region;
    struct {
        char region[64];
        struct aws_client *client;
    } clients[CLOUD_MAX_REGIONS];
    size_t n_clients;
};

/* The real cloud; 0 or -ENOMEM. */
int cloud_init(struct cloud *cl, struct aws_creds_provider *creds, const char *bucket,
                const char *account, const char *bucket_region);
void cloud_destroy(struct cloud *cl);
/* This region's client (made on first use); NULL on ENOMEM or too many. */
struct aws_client *cloud_client(struct cloud *cl, const char *region);

/* The calls, whichever the cloud. */
int cloud_get(struct cloud *cl, const char *key, char **data, size_t *len, char *etag,
              size_t etaglen, char *err, size_t errlen);
int cloud_put(struct cloud *cl, const char *key, const void *data, size_t len,
              const struct aws_s3_put_options *opt, char *err, size_t errlen);
int cloud_delete(struct cloud *cl, const char *key, char *err, size_t errlen);
int cloud_presign(struct cloud *cl, const char *method, const char *key, long seconds,
                  char **url, char *err, size_t errlen);
int cloud_run_instances(struct cloud *cl, const char *region, const struct aws_ec2_run_params *p,
                        struct aws_ec2_instances *out, struct aws_error *e);
int cloud_describe_instances(struct cloud *cl, const char *region,
                             const struct aws_ec2_describe_query *q,
                             struct aws_ec2_instances *out, struct aws_error *e);
int cloud_terminate(struct cloud *cl, const char *region, const char *id,
                    struct aws_error *e);
int cloud_create_tags(struct cloud *cl, const char *region, const char *const *ids, size_t n,
                      const struct aws_tag *tags, size_t n_tags, struct aws_error *e);
int cloud_instance_types(struct cloud *cl, const char *region, const char *const *names,
                         size_t n, struct aws_ec2_instance_types *out, struct aws_error *e);
int cloud_check_config(struct cloud *cl, const char *region, const struct cluster_config *cfg,
                       struct cloudcheck_result *out, char *err, size_t errlen);
bool cloud_slurm_nodes(struct cloud *cl, const struct slurm_access *a,
                       struct slurmrest_node_list **out, char *why, size_t whylen);
void cloud_slurm_release(struct cloud *cl, struct slurmrest_node_list *l);

/* IAM: the ops of the same names. */
int cloud_iam_get_role(struct cloud *cl, const char *name, struct aws_iam_role *out,
                       struct aws_error *e);
int cloud_iam_create_role(struct cloud *cl, const char *name, const char *trust_policy,
                          const struct aws_tag *tags, size_t n_tags, struct aws_error *e);
int cloud_iam_delete_role(struct cloud *cl, const char *name, struct aws_error *e);
int cloud_iam_put_role_policy(struct cloud *cl, const char *role, const char *policy_name,
                              const char *document, struct aws_error *e);
int cloud_iam_delete_role_policy(struct cloud *cl, const char *role, const char *policy_name,
                                 struct aws_error *e);
int cloud_iam_list_role_policies(struct cloud *cl, const char *role, struct aws_iam_names *out,
                                 struct aws_error *e);
int cloud_iam_attach_role_policy(struct cloud *cl, const char *role, const char *arn,
                                 struct aws_error *e);
int cloud_iam_detach_role_policy(struct cloud *cl, const char *role, const char *arn,
                                 struct aws_error *e);
int cloud_iam_list_attached_role_policies(struct cloud *cl, const char *role,
                                          struct aws_iam_names *out, struct aws_error *e);
int cloud_iam_get_instance_profile(struct cloud *cl, const char *name,
                                   struct aws_iam_instance_profiles *out, struct aws_error *e);
int cloud_iam_create_instance_profile(struct cloud *cl, const char *name,
                                      const struct aws_tag *tags, size_t n_tags,
                                      struct aws_error *e);
int cloud_iam_add_role_to_instance_profile(struct cloud *cl, const char *profile,
                                           const char *role, struct aws_error *e);
int cloud_iam_remove_role_from_instance_profile(struct cloud *cl, const char *profile,
                                                const char *role, struct aws_error *e);
int cloud_iam_delete_instance_profile(struct cloud *cl, const char *name, struct aws_error *e);

/* EC2 security groups: the ops of the same names (aws_ec2_*_security_group*). */
int cloud_sg_describe(struct cloud *cl, const char *region, const char *const *ids, size_t n_ids,
                      const struct aws_filter *filters, size_t n_filters,
                      struct aws_ec2_security_groups *out, struct aws_error *e);
int cloud_sg_create(struct cloud *cl, const char *region, const char *name, const char *desc,
                    const char *vpc_id, const struct aws_tag *tags, size_t n_tags, char *id,
                    struct aws_error *e);
int cloud_sg_delete(struct cloud *cl, const char *region, const char *id, struct aws_error *e);
int cloud_sg_ingress(struct cloud *cl, const char *region, const char *id, bool authorize,
                     const struct aws_ec2_sg_rule *rules, size_t n, struct aws_error *e);

#endif
