#include "fs/control/cloud.h"

/* The seam's calls, whichever cloud is behind them (cloud.h). */

int cloud_get(struct cloud *cl, const char *key, char **data, size_t *len, char *etag,
              size_t etaglen, char *err, size_t errlen)
{
    return bucket_get(&cl->objects, key, data, len, etag, etaglen, err, errlen);
}

int cloud_put(struct cloud *cl, const char *key, const void *data, size_t len,
              const struct aws_s3_put_options *opt, char *err, size_t errlen)
{
    return bucket_put(&cl->objects, key, data, len, opt, NULL, err, errlen);
}

int cloud_delete(struct cloud *cl, const char *key, char *err, size_t errlen)
{
    return bucket_delete(&cl->objects, key, err, errlen);
}

int cloud_presign(struct cloud *cl, const char *method, const char *key, long seconds,
                  char **url, char *err, size_t errlen)
{
    return cl->ops->presign(cl, method, key, seconds, url, err, errlen);
}

int cloud_run_instances(struct cloud *cl, const char *region, const struct aws_ec2_run_params *p,
                        struct aws_ec2_instances *out, struct aws_error *e)
{
    return cl->ops->run_instances(cl, region, p, out, e);
}

int cloud_describe_instances(struct cloud *cl, const char *region,
                             const struct aws_ec2_describe_query *q,
                             struct aws_ec2_instances *out, struct aws_error *e)
{
    return cl->ops->describe_instances(cl, region, q, out, e);
}

int cloud_terminate(struct cloud *cl, const char *region, const char *id, struct aws_error *e)
{
    const char *ids[] = {id};
    struct aws_ec2_instances out = {0};
    int rc = cl->ops->terminate_instances(cl, region, ids, 1, &out, e);
    aws_ec2_instances_free(&out);
    return rc;
}

int cloud_create_tags(struct cloud *cl, const char *region, const char *const *ids, size_t n,
                      const struct aws_tag *tags, size_t n_tags, struct aws_error *e)
{
    return cl->ops->create_tags(cl, region, ids, n, tags, n_tags, e);
}

int cloud_instance_types(struct cloud *cl, const char *region, const char *const *names,
                         size_t n, struct aws_ec2_instance_types *out, struct aws_error *e)
{
    return cl->ops->instance_types(cl, region, names, n, out, e);
}

int cloud_check_config(struct cloud *cl, const char *region, const struct cluster_config *cfg,
                       struct cloudcheck_result *out, char *err, size_t errlen)
{
    return cl->ops->check_config(cl, region, cfg, out, err, errlen);
}

bool cloud_slurm_nodes(struct cloud *cl, const struct slurm_access *a,
                       struct slurmrest_node_list **out, char *why, size_t whylen)
{
    return cl->ops->slurm_nodes(cl, a, out, why, whylen);
}

void cloud_slurm_release(struct cloud *cl, struct slurmrest_node_list *l)
{
    cl->ops->slurm_release(cl, l);
}

int cloud_iam_get_role(struct cloud *cl, const char *name, struct aws_iam_role *out,
                       struct aws_error *e)
{
    return cl->ops->iam_get_role(cl, name, out, e);
}

int cloud_iam_create_role(struct cloud *cl, const char *name, const char *trust_policy,
                          const struct aws_tag *tags, size_t n_tags, struct aws_error *e)
{
    return cl->ops->iam_create_role(cl, name, trust_policy, tags, n_tags, e);
}

int cloud_iam_delete_role(struct cloud *cl, const char *name, struct aws_error *e)
{
    return cl->ops->iam_delete_role(cl, name, e);
}

int cloud_iam_put_role_policy(struct cloud *cl, const char *role, const char *policy_name,
                              const char *document, struct aws_error *e)
{
    return cl->ops->iam_put_role_policy(cl, role, policy_name, document, e);
}

int cloud_iam_delete_role_policy(struct cloud *cl, const char *role, const char *policy_name,
                                 struct aws_error *e)
{
    return cl->ops->iam_delete_role_policy(cl, role, policy_name, e);
}

int cloud_iam_list_role_policies(struct cloud *cl, const char *role, struct aws_iam_names *out,
                                 struct aws_error *e)
{
    return cl->ops->iam_list_role_policies(cl, role, out, e);
}

int cloud_iam_attach_role_policy(struct cloud *cl, const char *role, const char *arn,
                                 struct aws_error *e)
{
    return cl->ops->iam_attach_role_policy(cl, role, arn, e);
}

int cloud_iam_detach_role_policy(struct cloud *cl, const char *role, const char *arn,
                                 struct aws_error *e)
{
    return cl->ops->iam_detach_role_policy(cl, role, arn, e);
}

int cloud_iam_list_attached_role_policies(struct cloud *cl, const char *role,
                                          struct aws_iam_names *out, struct aws_error *e)
{
    return cl->ops->iam_list_attached_role_policies(cl, role, out, e);
}

int cloud_iam_get_instance_profile(struct cloud *cl, const char *name,
                                   struct aws_iam_instance_profiles *out, struct aws_error *e)
{
    return cl->ops->iam_get_instance_profile(cl, name, out, e);
}

int cloud_iam_create_instance_profile(struct cloud *cl, const char *name,
                                      const struct aws_tag *tags, size_t n_tags,
                                      struct aws_error *e)
{
    return cl->ops->iam_create_instance_profile(cl, name, tags, n_tags, e);
}

int cloud_iam_add_role_to_instance_profile(struct cloud *cl, const char *profile,
                                           const char *role, struct aws_error *e)
{
    return cl->ops->iam_add_role_to_instance_profile(cl, profile, role, e);
}

int cloud_iam_remove_role_from_instance_profile(struct cloud *cl, const char *profile,
                                                const char *role, struct aws_error *e)
{
    return cl->ops->iam_remove_role_from_instance_profile(cl, profile, role, e);
}

int cloud_iam_delete_instance_profile(struct cloud *cl, const char *name, struct aws_error *e)
{
    return cl->ops->iam_delete_instance_profile(cl, name, e);
}

int cloud_sg_describe(struct cloud *cl, const char *region, const char *const *ids, size_t n_ids,
                      const struct aws_filter *filters, size_t n_filters,
                      struct aws_ec2_security_groups *out, struct aws_error *e)
{
    return cl->ops->sg_describe(cl, region, ids, n_ids, filters, n_filters, out, e);
}

int cloud_sg_create(struct cloud *cl, const char *region, const char *name, const char *desc,
                    const char *vpc_id, const struct aws_tag *tags, size_t n_tags, char *id,
                    struct aws_error *e)
{
    return cl->ops->sg_create(cl, region, name, desc, vpc_id, tags, n_tags, id, e);
}

int cloud_sg_delete(struct cloud *cl, const char *region, const char *id, struct aws_error *e)
{
    return cl->ops->sg_delete(cl, region, id, e);
}

int cloud_sg_ingress(struct cloud *cl, const char *region, const char *id, bool authorize,
                     const struct aws_ec2_sg_rule *rules, size_t n, struct aws_error *e)
{
    return cl->ops->sg_ingress(cl, region, id, authorize, rules, n, e);
}
