/* The in-memory cloud's IAM (cloud_mem.h): roles with tags, inline and
 * attached policies, instance profiles holding one role, with IAM's
 * answers for what is missing (NoSuchEntity), taken (EntityAlreadyExists)
 * or still in use (DeleteConflict). Internal to cloud_mem.c, which holds
 * the state and puts these in its ops table; tests steer it through
 * cloud_mem.h. */
#ifndef PCFS_CLOUD_MEM_IAM_H
#define PCFS_CLOUD_MEM_IAM_H
#include "fs/control/cloud.h"

struct mem_iam;
struct mem_iam *mem_iam_new(void);
void mem_iam_free(struct mem_iam *m);
/* The state of cl (a memory cloud). */
struct mem_iam *cloud_mem_iam(struct cloud *cl);

/* RunInstances naming profile: 0, or EC2's answer while it does not see
 * it (a profile that is missing, or one the next lagging runs miss). */
int mem_iam_check_profile(struct mem_iam *m, const char *profile, struct aws_error *e);

int mem_iam_get_role(struct cloud *cl, const char *name, struct aws_iam_role *out,
                     struct aws_error *e);
int mem_iam_create_role(struct cloud *cl, const char *name, const char *trust,
                        const struct aws_tag *tags, size_t n_tags, struct aws_error *e);
int mem_iam_delete_role(struct cloud *cl, const char *name, struct aws_error *e);
int mem_iam_put_role_policy(struct cloud *cl, const char *role, const char *name,
                            const char *doc, struct aws_error *e);
int mem_iam_delete_role_policy(struct cloud *cl, const char *role, const char *name,
                               struct aws_error *e);
int mem_iam_list_role_policies(struct cloud *cl, const char *role, struct aws_iam_names *out,
                               struct aws_error *e);
int mem_iam_attach(struct cloud *cl, const char *role, const char *arn, struct aws_error *e);
int mem_iam_detach(struct cloud *cl, const char *role, const char *arn, struct aws_error *e);
int mem_iam_list_attached(struct cloud *cl, const char *role, struct aws_iam_names *out,
                          struct aws_error *e);
int mem_iam_get_profile(struct cloud *cl, const char *name, struct aws_iam_instance_profiles *out,
                        struct aws_error *e);
int mem_iam_create_profile(struct cloud *cl, const char *name, const struct aws_tag *tags,
                           size_t n_tags, struct aws_error *e);
int mem_iam_add_role(struct cloud *cl, const char *profile, const char *role,
                     struct aws_error *e);
int mem_iam_remove_role(struct cloud *cl, const char *profile, const char *role,
                        struct aws_error *e);
int mem_iam_delete_profile(struct cloud *cl, const char *name, struct aws_error *e);

#endif
