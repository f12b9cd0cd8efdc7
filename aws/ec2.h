/* EC2 through its Query API (Version 2016-11-15): the calls a cluster
 * manager needs, results as plain structs of strings. Every string in a
 * result is owned by the result and never NULL ("" when AWS left it out);
 * free a result with its _free function. Calls return 0 or a negative
 * errno, with err holding AWS's code, message and request id. The client
 * must be set to the region the call is for (aws_client_set_region). */
#ifndef PCFS_AWS_EC2_H
#define PCFS_AWS_EC2_H
#include <stdbool.h>
#include <stddef.h>

#include "aws/client.h"
#include "aws/error.h"

struct aws_tag {
    const char *key;
    const char *value;
};

/* A DescribeX filter: name (e.g. "tag:pclusterfs:cluster", "instance-state-name")
 * and the values any of which may match. */
struct aws_filter {
    const char *name;
    const char *const *values;
    size_t n_values;
};

struct aws_ec2_instance {
    char *id, *state, *type, *private_ip, *public_ip, *launch_time, *client_token;
    char *image_id, *subnet_id, *vpc_id, *key_name, *availability_zone, *state_reason;
    char *lifecycle;        /* instanceLifecycle: "spot", or "" for on-demand */
    struct aws_tag *tags;   /* key/value strings owned by the instance */
    size_t n_tags;
};
struct aws_ec2_instances {
    struct aws_ec2_instance *v;
    size_t n;
};
void aws_ec2_instances_free(struct aws_ec2_instances *l);
/* The value of tag `key`, or NULL. */
const char *aws_ec2_instance_tag(const struct aws_ec2_instance *i, const char *key);

struct aws_ec2_run_params {
    const char *image_id, *instance_type, *key_name, *subnet_id;
    const char *const *security_group_ids;
    size_t n_security_groups;
    int min_count, max_count;       /* 0 = 1 */
    const char *client_token;       /* idempotency: same token, same launch */
    const void *user_data;          /* raw; sent base64-encoded */
    size_t user_data_len;
    const struct aws_tag *tags;     /* applied to the instances and their volumes */
    size_t n_tags;
    bool spot;                      /* InstanceMarketOptions MarketType=spot */
    const char *spot_max_price;     /* SpotOptions.MaxPrice (USD/hour); NULL = EC2's cap */
    const char *iam_instance_profile; /* IamInstanceProfile.Name; NULL or "" = none */
};
/* Launches; *out lists the new instances. A ClientToken reused with other
 * parameters fails with IdempotentParameterMismatch (-EEXIST): look the
 * launch up with the "client-token" filter of DescribeInstances. */
int aws_ec2_run_instances(struct aws_client *c, const struct aws_ec2_run_params *p,
                          struct aws_ec2_instances *out, struct aws_error *err);

struct aws_ec2_describe_query {
    const struct aws_filter *filters;
    size_t n_filters;
    const char *const *instance_ids;
    size_t n_ids;
    int page_size;          /* MaxResults per page (5..1000); 0 = 1000; unused with ids */
};
/* Every page (NextToken followed) appended to *out. */
int aws_ec2_describe_instances(struct aws_client *c, const struct aws_ec2_describe_query *q,
                               struct aws_ec2_instances *out, struct aws_error *err);
/* *out gets id and (current) state of each instance. */
int aws_ec2_terminate_instances(struct aws_client *c, const char *const *ids, size_t n,
                                struct aws_ec2_instances *out, struct aws_error *err);
int aws_ec2_create_tags(struct aws_client *c, const char *const *resource_ids, size_t n_ids,
                        const struct aws_tag *tags, size_t n_tags, struct aws_error *err);

struct aws_ec2_key_pair { char *name, *id, *fingerprint, *type; };
struct aws_ec2_key_pairs { struct aws_ec2_key_pair *v; size_t n; };
int aws_ec2_describe_key_pairs(struct aws_client *c, const char *const *names, size_t n,
                               struct aws_ec2_key_pairs *out, struct aws_error *err);
void aws_ec2_key_pairs_free(struct aws_ec2_key_pairs *l);

struct aws_ec2_vpc { char *id, *cidr, *state; };
struct aws_ec2_vpcs { struct aws_ec2_vpc *v; size_t n; };
int aws_ec2_describe_vpcs(struct aws_client *c, const char *const *ids, size_t n,
                          struct aws_ec2_vpcs *out, struct aws_error *err);
void aws_ec2_vpcs_free(struct aws_ec2_vpcs *l);

struct aws_ec2_subnet { char *id, *vpc_id, *cidr, *availability_zone, *state; };
struct aws_ec2_subnets { struct aws_ec2_subnet *v; size_t n; };
int aws_ec2_describe_subnets(struct aws_client *c, const char *const *ids, size_t n,
                             struct aws_ec2_subnets *out, struct aws_error *err);
void aws_ec2_subnets_free(struct aws_ec2_subnets *l);

struct aws_ec2_image { char *id, *name, *creation_date, *state, *owner_id, *architecture; };
struct aws_ec2_images { struct aws_ec2_image *v; size_t n; };
/* owners: e.g. {"amazon"} (never leave it open when matching names). */
int aws_ec2_describe_images(struct aws_client *c, const char *const *owners, size_t n_owners,
                            const char *const *image_ids, size_t n_ids,
                            const struct aws_filter *filters, size_t n_filters,
                            struct aws_ec2_images *out, struct aws_error *err);
void aws_ec2_images_free(struct aws_ec2_images *l);
/* The available image owned by `owner` whose name matches `name_pattern`
 * (EC2 wildcards) with the newest CreationDate; -ENOENT when none. */
int aws_ec2_newest_image(struct aws_client *c, const char *owner, const char *name_pattern,
                         struct aws_ec2_images *out_one, struct aws_error *err);

struct aws_ec2_instance_type { char *name; int vcpus; long memory_mib; };
struct aws_ec2_instance_types { struct aws_ec2_instance_type *v; size_t n; };
int aws_ec2_describe_instance_types(struct aws_client *c, const char *const *names, size_t n,
                                    struct aws_ec2_instance_types *out, struct aws_error *err);
void aws_ec2_instance_types_free(struct aws_ec2_instance_types *l);

/* Response parsers (exposed for unit tests and fuzzers). Each appends to
 * *out and returns 0, or -EPROTO when the document is not the expected
 * answer. next_token (may be NULL) receives NextToken or NULL. */
int aws_ec2_parse_instances(const char *xml, size_t len, struct aws_ec2_instances *out,
                            char **next_token);
int aws_ec2_parse_key_pairs(const char *xml, size_t len, struct aws_ec2_key_pairs *out);
int aws_ec2_parse_vpcs(const char *xml, size_t len, struct aws_ec2_vpcs *out);
int aws_ec2_parse_subnets(const char *xml, size_t len, struct aws_ec2_subnets *out);
int aws_ec2_parse_images(const char *xml, size_t len, struct aws_ec2_images *out);
int aws_ec2_parse_instance_types(const char *xml, size_t len, struct aws_ec2_instance_types *out,
                                 char **next_token);

/* Security groups. A rule of a group's ingress, one per source: proto
 * "-1" (all), "tcp", "udp", "icmp" or a number; ports -1 where they do not
 * apply; exactly one of cidr and group_id set (the other NULL, or "" in a
 * parsed result). Strings of a parsed result are owned by it. */
struct aws_ec2_sg_rule {
    const char *proto;
    int from_port, to_port;
    const char *cidr, *group_id;
};
struct aws_ec2_security_group {
    char *id, *name, *description, *vpc_id;
    struct aws_tag *tags;
    size_t n_tags;
    struct aws_ec2_sg_rule *ingress;
    size_t n_ingress;
};
struct aws_ec2_security_groups { struct aws_ec2_security_group *v; size_t n; };
void aws_ec2_security_groups_free(struct aws_ec2_security_groups *l);
/* By ids (an unknown id: InvalidGroup.NotFound, -ENOENT) or filters, every
 * page appended to *out. */
int aws_ec2_describe_security_groups(struct aws_client *c, const char *const *ids, size_t n_ids,
                                     const struct aws_filter *filters, size_t n_filters,
                                     struct aws_ec2_security_groups *out, struct aws_error *err);
/* A group in vpc_id, tagged at creation; id (at least 32 bytes) gets its id. */
int aws_ec2_create_security_group(struct aws_client *c, const char *name, const char *description,
                                  const char *vpc_id, const struct aws_tag *tags, size_t n_tags,
                                  char *id, struct aws_error *err);
int aws_ec2_delete_security_group(struct aws_client *c, const char *id, struct aws_error *err);
/* Adds (authorize) or removes (revoke) ingress rules of group id. */
int aws_ec2_authorize_ingress(struct aws_client *c, const char *id,
                              const struct aws_ec2_sg_rule *rules, size_t n,
                              struct aws_error *err);
int aws_ec2_revoke_ingress(struct aws_client *c, const char *id,
                           const struct aws_ec2_sg_rule *rules, size_t n, struct aws_error *err);
int aws_ec2_parse_security_groups(const char *xml, size_t len,
                                  struct aws_ec2_security_groups *out, char **next_token);
int aws_ec2_parse_create_security_group(const char *xml, size_t len, char *id, size_t idlen);
#endif
