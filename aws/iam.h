/* IAM through its Query API (Version 2010-05-08): the roles, inline and
 * attached policies and instance profiles a cluster owns. IAM is global:
 * one endpoint (iam.amazonaws.com, or AWS_ENDPOINT_URL_IAM /
 * AWS_ENDPOINT_URL), requests signed for us-east-1 (cn-north-1 in China)
 * whatever the client's region. Every string in a result is owned by the
 * result and never NULL ("" when IAM left it out); policy documents come
 * back decoded (IAM sends them URL-encoded). Calls return 0 or a negative
 * errno with err holding IAM's code, message and request id: NoSuchEntity
 * -ENOENT, EntityAlreadyExists -EEXIST, DeleteConflict -ENOTEMPTY,
 * LimitExceeded -ENOSPC, MalformedPolicyDocument/ValidationError -EINVAL. */
#ifndef PCFS_AWS_IAM_H
#define PCFS_AWS_IAM_H
#include <stddef.h>

#include "aws/client.h"
#include "aws/ec2.h"
#include "aws/error.h"

struct aws_iam_role {
    char *name, *id, *arn, *path, *create_date, *trust_policy, *description;
    struct aws_tag *tags;           /* key/value strings owned by the role */
    size_t n_tags;
};
void aws_iam_role_free(struct aws_iam_role *r);

struct aws_iam_instance_profile {
    char *name, *id, *arn, *path;
    char **roles;                   /* role names (IAM allows one) */
    size_t n_roles;
};
struct aws_iam_instance_profiles {
    struct aws_iam_instance_profile *v;
    size_t n;
};
void aws_iam_instance_profiles_free(struct aws_iam_instance_profiles *l);

struct aws_iam_names {              /* policy names, or attached policies' ARNs */
    char **v;
    size_t n;
};
void aws_iam_names_free(struct aws_iam_names *l);

/* path NULL = "/"; description may be NULL. out may be NULL. */
int aws_iam_create_role(struct aws_client *c, const char *name, const char *path,
                        const char *trust_policy, const char *description,
                        const struct aws_tag *tags, size_t n_tags, struct aws_iam_role *out,
                        struct aws_error *err);
int aws_iam_get_role(struct aws_client *c, const char *name, struct aws_iam_role *out,
                     struct aws_error *err);
int aws_iam_delete_role(struct aws_client *c, const char *name, struct aws_error *err);
int aws_iam_tag_role(struct aws_client *c, const char *name, const struct aws_tag *tags,
                     size_t n_tags, struct aws_error *err);

int aws_iam_put_role_policy(struct aws_client *c, const char *role, const char *policy_name,
                            const char *document, struct aws_error *err);
int aws_iam_delete_role_policy(struct aws_client *c, const char *role, const char *policy_name,
                               struct aws_error *err);
/* Every page (Marker followed) appended to *out. */
int aws_iam_list_role_policies(struct aws_client *c, const char *role,
                               struct aws_iam_names *out, struct aws_error *err);
int aws_iam_attach_role_policy(struct aws_client *c, const char *role, const char *policy_arn,
                               struct aws_error *err);
int aws_iam_detach_role_policy(struct aws_client *c, const char *role, const char *policy_arn,
                               struct aws_error *err);
/* The attached policies' ARNs, every page. */
int aws_iam_list_attached_role_policies(struct aws_client *c, const char *role,
                                        struct aws_iam_names *out, struct aws_error *err);

/* out (may be NULL) gets the one new profile. */
int aws_iam_create_instance_profile(struct aws_client *c, const char *name, const char *path,
                                    const struct aws_tag *tags, size_t n_tags,
                                    struct aws_iam_instance_profiles *out,
                                    struct aws_error *err);
int aws_iam_get_instance_profile(struct aws_client *c, const char *name,
                                 struct aws_iam_instance_profiles *out, struct aws_error *err);
int aws_iam_add_role_to_instance_profile(struct aws_client *c, const char *profile,
                                         const char *role, struct aws_error *err);
int aws_iam_remove_role_from_instance_profile(struct aws_client *c, const char *profile,
                                              const char *role, struct aws_error *err);
int aws_iam_delete_instance_profile(struct aws_client *c, const char *name,
                                    struct aws_error *err);
/* Every page appended to *out. */
int aws_iam_list_instance_profiles_for_role(struct aws_client *c, const char *role,
                                            struct aws_iam_instance_profiles *out,
                                            struct aws_error *err);

/* Response parsers (exposed for unit tests and fuzzers): 0, or -EPROTO when
 * the document is not the named action's answer. marker (may be NULL)
 * receives the next page's Marker when IsTruncated, else NULL. */
int aws_iam_parse_role(const char *xml, size_t len, const char *action,
                       struct aws_iam_role *out);
int aws_iam_parse_instance_profiles(const char *xml, size_t len, const char *action,
                                    struct aws_iam_instance_profiles *out, char **marker);
/* list: "PolicyNames" (members are names) or "AttachedPolicies" (PolicyArn). */
int aws_iam_parse_names(const char *xml, size_t len, const char *action, const char *list,
                        struct aws_iam_names *out, char **marker);
#endif
