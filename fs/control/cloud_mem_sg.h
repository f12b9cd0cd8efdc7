/* The in-memory cloud's EC2 security groups (cloud_mem.h): groups with
 * tags and ingress rules in a VPC, EC2's answers for a missing group
 * (InvalidGroup.NotFound), a taken name (InvalidGroup.Duplicate), a rule
 * there already or not there (InvalidPermission.Duplicate/NotFound) and a
 * group a live instance still uses (DependencyViolation). DescribeSecurity
 * Groups filters on group-id, group-name, vpc-id and tag:KEY. Internal to
 * cloud_mem.c, which puts these in its ops table. */
#ifndef PCFS_CLOUD_MEM_SG_H
#define PCFS_CLOUD_MEM_SG_H
#include "fs/control/cloud.h"

struct mem_sg;
struct mem_sg *mem_sg_new(void);
void mem_sg_free(struct mem_sg *m);
/* The state of cl (a memory cloud), and whether a live instance of it
 * was launched with group id (cloud_mem.c). */
struct mem_sg *cloud_mem_sg(struct cloud *cl);
bool cloud_mem_sg_in_use(struct cloud *cl, const char *id);

int mem_sg_describe(struct cloud *cl, const char *region, const char *const *ids, size_t n_ids,
                    const struct aws_filter *filters, size_t n_filters,
                    struct aws_ec2_security_groups *out, struct aws_error *e);
int mem_sg_create(struct cloud *cl, const char *region, const char *name, const char *desc,
                  const char *vpc_id, const struct aws_tag *tags, size_t n_tags, char *id,
                  struct aws_error *e);
int mem_sg_delete(struct cloud *cl, const char *region, const char *id, struct aws_error *e);
int mem_sg_ingress(struct cloud *cl, const char *region, const char *id, bool authorize,
                   const struct aws_ec2_sg_rule *rules, size_t n, struct aws_error *e);
/* RunInstances with groups: 0, or InvalidGroup.NotFound for one missing. */
int mem_sg_check_launch(struct cloud *cl, const char *const *ids, size_t n, struct aws_error *e);

#endif
