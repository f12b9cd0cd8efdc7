/* The real cloud: the seam's calls over aws/ and slurm/ (see cloud.h). */
#include "fs/control/cloud.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/aws_policy.h"
#include "fs/store/bucket_s3.h"

static const struct cloud_ops aws_ops;

int cloud_init(struct cloud *cl, struct aws_creds_provider *creds, const char *bucket,
               const char *account, const char *bucket_region)
{
    memset(cl, 0, sizeof(*cl));
    cl->ops = &aws_ops;
    cl->creds = creds;
    cl->bucket = bucket;
    cl->account = account;
    cl->bucket_region = bucket_region;
    char err[64];
    return bucket_s3_open(&cl->objects, creds, bucket_region, bucket, account,
                          &PCFS_AWS_CONTROLLER, err, sizeof(err));
}

void cloud_destroy(struct cloud *cl)
{
    bucket_close(&cl->objects);
    for (size_t i = 0; i < cl->n_clients; i++)
        aws_client_free(cl->clients[i].client);
    cl->n_clients = 0;
}

struct aws_client *cloud_client(struct cloud *cl, const char *region)
{
    for (size_t i = 0; i < cl->n_clients; i++)
        if (strcmp(cl->clients[i].region, region) == 0)
            return cl->clients[i].client;
    if (cl->n_clients == CLOUD_MAX_REGIONS)
        return NULL;
    struct aws_client *c = aws_client_new_with(cl->creds, region, &PCFS_AWS_CONTROLLER);
    if (!c)
        return NULL;
    aws_client_set_bucket_owner(c, cl->account);
    snprintf(cl->clients[cl->n_clients].region, 64, "%s", region);
    cl->clients[cl->n_clients++].client = c;
    return c;
}

static int failed(int rc, const struct aws_error *e, const char *key, char *err, size_t errlen)
{
    char buf[768];
    snprintf(err, errlen, "%s: %s", key, aws_error_format(e, buf, sizeof(buf)));
    return rc;
}

static int aws_presign(struct cloud *cl, const char *method, const char *key, long seconds,
                  char **url, char *err, size_t errlen)
{
    struct aws_client *c = cloud_client(cl, cl->bucket_region);
    if (!c)
        return -ENOMEM;
    struct aws_error e = {0};
    int rc = aws_s3_presign(c, method, cl->bucket, key, seconds, url, &e);
    return rc ? failed(rc, &e, key, err, errlen) : 0;
}

/* A client of region, or -ENOMEM told in e. */
static struct aws_client *client_or_error(struct cloud *cl, const char *region,
                                          struct aws_error *e)
{
    struct aws_client *c = cloud_client(cl, region);
    if (!c)
        aws_error_set(e, -ENOMEM, "", "out of memory");
    return c;
}

static int aws_run(struct cloud *cl, const char *region, const struct aws_ec2_run_params *p,
                   struct aws_ec2_instances *out, struct aws_error *e)
{
    struct aws_client *c = client_or_error(cl, region, e);
    return c ? aws_ec2_run_instances(c, p, out, e) : -ENOMEM;
}

static int aws_describe(struct cloud *cl, const char *region,
                        const struct aws_ec2_describe_query *q, struct aws_ec2_instances *out,
                        struct aws_error *e)
{
    struct aws_client *c = client_or_error(cl, region, e);
    return c ? aws_ec2_describe_instances(c, q, out, e) : -ENOMEM;
}

static int aws_terminate(struct cloud *cl, const char *region, const char *const *ids,
                         size_t n, struct aws_ec2_instances *out, struct aws_error *e)
{
    struct aws_client *c = client_or_error(cl, region, e);
    return c ? aws_ec2_terminate_instances(c, ids, n, out, e) : -ENOMEM;
}

static int aws_tags(struct cloud *cl, const char *region, const char *const *ids, size_t n,
                    const struct aws_tag *tags, size_t n_tags, struct aws_error *e)
{
    struct aws_client *c = client_or_error(cl, region, e);
    return c ? aws_ec2_create_tags(c, ids, n, tags, n_tags, e) : -ENOMEM;
}

static int aws_types(struct cloud *cl, const char *region, const char *const *names, size_t n,
                     struct aws_ec2_instance_types *out, struct aws_error *e)
{
    struct aws_client *c = client_or_error(cl, region, e);
    return c ? aws_ec2_describe_instance_types(c, names, n, out, e) : -ENOMEM;
}

static int aws_check(struct cloud *cl, const char *region, const struct cluster_config *cfg,
                     struct cloudcheck_result *out, char *err, size_t errlen)
{
    struct aws_client *c = cloud_client(cl, region);
    snprintf(err, errlen, "out of memory");
    return c ? cloudcheck_config(c, cfg, out, err, errlen) : -ENOMEM;
}

#define SLURMRESTD_PORT 6820

static int slurm_client(const struct slurm_access *a, slurmrest_client **c, char *url,
                        size_t urllen, struct slurmrest_error *e)
{
    snprintf(url, urllen, "http://%s:%d", a->head_address, SLURMRESTD_PORT);
    struct slurmrest_options opt = {.url = url,
                                    .user = "slurm",
                                    .key = a->key,
                                    .key_len = a->key_len,
                                    .connect_timeout_ms = 2000,
                                    .timeout_ms = 5000};
    return slurmrest_client_new(&opt, c, e);
}

static bool aws_slurm_nodes(struct cloud *cl, const struct slurm_access *a,
                            struct slurmrest_node_list **out, char *why, size_t whylen)
{
    (void)cl;
    char url[128];
    slurmrest_client *c = NULL;
    struct slurmrest_error e = {0};
    *out = NULL;
    bool up = slurm_client(a, &c, url, sizeof(url), &e) == 0 && slurmrest_nodes(c, out, &e) == 0;
    if (!up && e.message[0])
        snprintf(why, whylen, "%s", e.message); /* names the URL and what failed */
    else if (!up)
        snprintf(why, whylen, "slurmrestd at %s does not answer", url);
    slurmrest_client_free(c);
    return up;
}

static void aws_slurm_release(struct cloud *cl, struct slurmrest_node_list *l)
{
    (void)cl;
    if (l)
        slurmrest_node_list_release(l);
}

/* IAM is global: one client, the bucket region's (aws/iam.c signs for
 * IAM's own region whatever the client's). */
static struct aws_client *iam_client(struct cloud *cl, struct aws_error *e)
{
    struct aws_client *c = cloud_client(cl, cl->bucket_region);
    if (!c)
        aws_error_set(e, -ENOMEM, "ClientError", "no AWS client for IAM");
    return c;
}

#define IAM_CALL(call)                                                                         \
    do {                                                                                       \
        struct aws_client *c = iam_client(cl, e);                                              \
        return c ? (call) : -ENOMEM;                                                           \
    } while (0)

static int aws_iam_get_role_(struct cloud *cl, const char *name, struct aws_iam_role *out,
                             struct aws_error *e)
{
    IAM_CALL(aws_iam_get_role(c, name, out, e));
}

static int aws_iam_create_role_(struct cloud *cl, const char *name, const char *trust,
                                const struct aws_tag *tags, size_t n_tags, struct aws_error *e)
{
    IAM_CALL(aws_iam_create_role(c, name, NULL, trust, "pclusterfs: a cluster's node role", tags,
                                 n_tags, NULL, e));
}

static int aws_iam_delete_role_(struct cloud *cl, const char *name, struct aws_error *e)
{
    IAM_CALL(aws_iam_delete_role(c, name, e));
}

static int aws_iam_put_role_policy_(struct cloud *cl, const char *role, const char *name,
                                    const char *doc, struct aws_error *e)
{
    IAM_CALL(aws_iam_put_role_policy(c, role, name, doc, e));
}

static int aws_iam_delete_role_policy_(struct cloud *cl, const char *role, const char *name,
                                       struct aws_error *e)
{
    IAM_CALL(aws_iam_delete_role_policy(c, role, name, e));
}

static int aws_iam_list_role_policies_(struct cloud *cl, const char *role,
                                       struct aws_iam_names *out, struct aws_error *e)
{
    IAM_CALL(aws_iam_list_role_policies(c, role, out, e));
}

static int aws_iam_attach_role_policy_(struct cloud *cl, const char *role, const char *arn,
                                       struct aws_error *e)
{
    IAM_CALL(aws_iam_attach_role_policy(c, role, arn, e));
}

static int aws_iam_detach_role_policy_(struct cloud *cl, const char *role, const char *arn,
                                       struct aws_error *e)
{
    IAM_CALL(aws_iam_detach_role_policy(c, role, arn, e));
}

static int aws_iam_list_attached_(struct cloud *cl, const char *role, struct aws_iam_names *out,
                                  struct aws_error *e)
{
    IAM_CALL(aws_iam_list_attached_role_policies(c, role, out, e));
}

static int aws_iam_get_profile_(struct cloud *cl, const char *name,
                                struct aws_iam_instance_profiles *out, struct aws_error *e)
{
    IAM_CALL(aws_iam_get_instance_profile(c, name, out, e));
}

static int aws_iam_create_profile_(struct cloud *cl, const char *name,
                                   const struct aws_tag *tags, size_t n_tags, struct aws_error *e)
{
    IAM_CALL(aws_iam_create_instance_profile(c, name, NULL, tags, n_tags, NULL, e));
}

static int aws_iam_add_role_(struct cloud *cl, const char *profile, const char *role,
                             struct aws_error *e)
{
    IAM_CALL(aws_iam_add_role_to_instance_profile(c, profile, role, e));
}

static int aws_iam_remove_role_(struct cloud *cl, const char *profile, const char *role,
                                struct aws_error *e)
{
    IAM_CALL(aws_iam_remove_role_from_instance_profile(c, profile, role, e));
}

static int aws_iam_delete_profile_(struct cloud *cl, const char *name, struct aws_error *e)
{
    IAM_CALL(aws_iam_delete_instance_profile(c, name, e));
}

static int aws_sg_describe(struct cloud *cl, const char *region, const char *const *ids,
                           size_t n_ids, const struct aws_filter *filters, size_t n_filters,
                           struct aws_ec2_security_groups *out, struct aws_error *e)
{
    struct aws_client *c = client_or_error(cl, region, e);
    return c ? aws_ec2_describe_security_groups(c, ids, n_ids, filters, n_filters, out, e)
             : -ENOMEM;
}

static int aws_sg_create(struct cloud *cl, const char *region, const char *name,
                         const char *desc, const char *vpc_id, const struct aws_tag *tags,
                         size_t n_tags, char *id, struct aws_error *e)
{
    struct aws_client *c = client_or_error(cl, region, e);
    return c ? aws_ec2_create_security_group(c, name, desc, vpc_id, tags, n_tags, id, e)
             : -ENOMEM;
}

static int aws_sg_delete(struct cloud *cl, const char *region, const char *id,
                         struct aws_error *e)
{
    struct aws_client *c = client_or_error(cl, region, e);
    return c ? aws_ec2_delete_security_group(c, id, e) : -ENOMEM;
}

static int aws_sg_ingress(struct cloud *cl, const char *region, const char *id, bool authorize,
                          const struct aws_ec2_sg_rule *rules, size_t n, struct aws_error *e)
{
    struct aws_client *c = client_or_error(cl, region, e);
    if (!c)
        return -ENOMEM;
    return authorize ? aws_ec2_authorize_ingress(c, id, rules, n, e)
                     : aws_ec2_revoke_ingress(c, id, rules, n, e);
}

static const struct cloud_ops aws_ops = {
    .presign = aws_presign,
    .run_instances = aws_run,
    .describe_instances = aws_describe,
    .terminate_instances = aws_terminate,
    .create_tags = aws_tags,
    .instance_types = aws_types,
    .check_config = aws_check,
    .slurm_nodes = aws_slurm_nodes,
    .slurm_release = aws_slurm_release,
    .iam_get_role = aws_iam_get_role_,
    .iam_create_role = aws_iam_create_role_,
    .iam_delete_role = aws_iam_delete_role_,
    .iam_put_role_policy = aws_iam_put_role_policy_,
    .iam_delete_role_policy = aws_iam_delete_role_policy_,
    .iam_list_role_policies = aws_iam_list_role_policies_,
    .iam_attach_role_policy = aws_iam_attach_role_policy_,
    .iam_detach_role_policy = aws_iam_detach_role_policy_,
    .iam_list_attached_role_policies = aws_iam_list_attached_,
    .iam_get_instance_profile = aws_iam_get_profile_,
    .iam_create_instance_profile = aws_iam_create_profile_,
    .iam_add_role_to_instance_profile = aws_iam_add_role_,
    .iam_remove_role_from_instance_profile = aws_iam_remove_role_,
    .iam_delete_instance_profile = aws_iam_delete_profile_,
    .sg_describe = aws_sg_describe,
    .sg_create = aws_sg_create,
    .sg_delete = aws_sg_delete,
    .sg_ingress = aws_sg_ingress,
};
