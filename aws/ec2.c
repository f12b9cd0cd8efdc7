#include "aws/ec2.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/encode.h"
#include "aws/form.h"
#include "aws/http.h"
#include "aws/util.h"
#include "aws/xml.h"

#define EC2_VERSION "2016-11-15"

/* ------------------------------------------------------------ form body */

static void form_filters(struct aws_form *f, const struct aws_filter *flt, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        aws_form_addf(f, flt[i].name, "Filter.%zu.Name", i + 1);
        for (size_t j = 0; j < flt[i].n_values; j++)
            aws_form_addf(f, flt[i].values[j], "Filter.%zu.Value.%zu", i + 1, j + 1);
    }
}

static int ec2_call(struct aws_client *c, struct aws_form *f, struct aws_response *resp,
                    struct aws_error *err)
{
    struct aws_endpoint ep;
    int rc = aws_endpoint_resolve("ec2", aws_client_region(c), NULL, &ep, err);
    if (rc == 0) {
        struct aws_request req = {
            .service = "ec2", .endpoint = &ep, .method = "POST", .path = "/",
            .body = f->b.data, .body_len = f->b.len,
            .content_type = "application/x-www-form-urlencoded; charset=utf-8",
        };
        rc = aws_client_send(c, &req, resp, err);
    }
    aws_buf_free(&f->b);
    return rc;
}

static int bad_answer(struct aws_error *err, const char *action, const struct aws_response *r)
{
    aws_error_set(err, -EPROTO, "InvalidResponse", "EC2 %s answered with a document that is not "
                  "its response", action);
    snprintf(err->request_id, sizeof err->request_id, "%s", r->request_id);
    err->http_status = (int)r->status;
    return -EPROTO;
}

/* ------------------------------------------------------------ parsing */

static char *dup_text(const struct aws_xml *n, const char *path)
{
    return aws_xstrdup(aws_xml_text(n, path));
}

#define GROW(list)                                                              \
    do {                                                                        \
        (list)->v = aws_xrealloc((list)->v, ((list)->n + 1) * sizeof *(list)->v); \
        memset(&(list)->v[(list)->n], 0, sizeof *(list)->v);                    \
    } while (0)

/* The items of a <xxxSet>, or NULL. */
static struct aws_xml *first_item(const struct aws_xml *set)
{
    return aws_xml_child(set, "item");
}

static void parse_instance(const struct aws_xml *x, struct aws_ec2_instances *out)
{
    GROW(out);
    struct aws_ec2_instance *i = &out->v[out->n++];
    i->id = dup_text(x, "instanceId");
    i->state = dup_text(x, "instanceState/name");
    if (!*i->state) {
        free(i->state);
        i->state = dup_text(x, "currentState/name");    /* TerminateInstances */
    }
    i->type = dup_text(x, "instanceType");
    i->private_ip = dup_text(x, "privateIpAddress");
    i->public_ip = dup_text(x, "ipAddress");
    i->launch_time = dup_text(x, "launchTime");
    i->client_token = dup_text(x, "clientToken");
    i->image_id = dup_text(x, "imageId");
    i->subnet_id = dup_text(x, "subnetId");
    i->vpc_id = dup_text(x, "vpcId");
    i->key_name = dup_text(x, "keyName");
    i->availability_zone = dup_text(x, "placement/availabilityZone");
    i->state_reason = dup_text(x, "stateReason/message");
    i->lifecycle = dup_text(x, "instanceLifecycle");
    for (struct aws_xml *t = first_item(aws_xml_child(x, "tagSet")); t; t = aws_xml_next_named(t)) {
        i->tags = aws_xrealloc(i->tags, (i->n_tags + 1) * sizeof *i->tags);
        i->tags[i->n_tags].key = dup_text(t, "key");
        i->tags[i->n_tags++].value = dup_text(t, "value");
    }
}

static struct aws_xml *parse_root(const char *xml, size_t len, const char *root_name)
{
    struct aws_xml *root = aws_xml_parse(xml, len);
    if (root && strcmp(root->name, root_name) != 0) {
        aws_xml_free(root);
        return NULL;
    }
    return root;
}

static void take_next_token(const struct aws_xml *root, char **next_token)
{
    if (!next_token)
        return;
    const char *t = aws_xml_text(root, "nextToken");
    *next_token = *t ? aws_xstrdup(t) : NULL;
}

int aws_ec2_parse_instances(const char *xml, size_t len, struct aws_ec2_instances *out,
                            char **next_token)
{
    if (next_token)
        *next_token = NULL;
    struct aws_xml *root = aws_xml_parse(xml, len);
    if (!root)
        return -EPROTO;
    int rc = 0;
    if (strcmp(root->name, "DescribeInstancesResponse") == 0) {
        for (struct aws_xml *r = first_item(aws_xml_child(root, "reservationSet")); r;
             r = aws_xml_next_named(r))
            for (struct aws_xml *i = first_item(aws_xml_child(r, "instancesSet")); i;
                 i = aws_xml_next_named(i))
                parse_instance(i, out);
        take_next_token(root, next_token);
    } else if (strcmp(root->name, "RunInstancesResponse") == 0 ||
               strcmp(root->name, "TerminateInstancesResponse") == 0) {
        for (struct aws_xml *i = first_item(aws_xml_child(root, "instancesSet")); i;
             i = aws_xml_next_named(i))
            parse_instance(i, out);
    } else {
        rc = -EPROTO;
    }
    aws_xml_free(root);
    return rc;
}

int aws_ec2_parse_key_pairs(const char *xml, size_t len, struct aws_ec2_key_pairs *out)
{
    struct aws_xml *root = parse_root(xml, len, "DescribeKeyPairsResponse");
    if (!root)
        return -EPROTO;
    for (struct aws_xml *k = first_item(aws_xml_child(root, "keySet")); k; k = aws_xml_next_named(k)) {
        GROW(out);
        struct aws_ec2_key_pair *p = &out->v[out->n++];
        p->name = dup_text(k, "keyName");
        p->id = dup_text(k, "keyPairId");
        p->fingerprint = dup_text(k, "keyFingerprint");
        p->type = dup_text(k, "keyType");
    }
    aws_xml_free(root);
    return 0;
}

int aws_ec2_parse_vpcs(const char *xml, size_t len, struct aws_ec2_vpcs *out)
{
    struct aws_xml *root = parse_root(xml, len, "DescribeVpcsResponse");
    if (!root)
        return -EPROTO;
    for (struct aws_xml *k = first_item(aws_xml_child(root, "vpcSet")); k; k = aws_xml_next_named(k)) {
        GROW(out);
        struct aws_ec2_vpc *p = &out->v[out->n++];
        p->id = dup_text(k, "vpcId");
        p->cidr = dup_text(k, "cidrBlock");
        p->state = dup_text(k, "state");
    }
    aws_xml_free(root);
    return 0;
}

int aws_ec2_parse_subnets(const char *xml, size_t len, struct aws_ec2_subnets *out)
{
    struct aws_xml *root = parse_root(xml, len, "DescribeSubnetsResponse");
    if (!root)
        return -EPROTO;
    for (struct aws_xml *k = first_item(aws_xml_child(root, "subnetSet")); k; k = aws_xml_next_named(k)) {
        GROW(out);
        struct aws_ec2_subnet *p = &out->v[out->n++];
        p->id = dup_text(k, "subnetId");
        p->vpc_id = dup_text(k, "vpcId");
        p->cidr = dup_text(k, "cidrBlock");
        p->availability_zone = dup_text(k, "availabilityZone");
        p->state = dup_text(k, "state");
    }
    aws_xml_free(root);
    return 0;
}

int aws_ec2_parse_images(const char *xml, size_t len, struct aws_ec2_images *out)
{
    struct aws_xml *root = parse_root(xml, len, "DescribeImagesResponse");
    if (!root)
        return -EPROTO;
    for (struct aws_xml *k = first_item(aws_xml_child(root, "imagesSet")); k; k = aws_xml_next_named(k)) {
        GROW(out);
        struct aws_ec2_image *p = &out->v[out->n++];
        p->id = dup_text(k, "imageId");
        p->name = dup_text(k, "name");
        p->creation_date = dup_text(k, "creationDate");
        p->state = dup_text(k, "imageState");
        p->owner_id = dup_text(k, "imageOwnerId");
        p->architecture = dup_text(k, "architecture");
    }
    aws_xml_free(root);
    return 0;
}

int aws_ec2_parse_instance_types(const char *xml, size_t len, struct aws_ec2_instance_types *out,
                                 char **next_token)
{
    if (next_token)
        *next_token = NULL;
    struct aws_xml *root = parse_root(xml, len, "DescribeInstanceTypesResponse");
    if (!root)
        return -EPROTO;
    for (struct aws_xml *k = first_item(aws_xml_child(root, "instanceTypeSet")); k;
         k = aws_xml_next_named(k)) {
        GROW(out);
        struct aws_ec2_instance_type *p = &out->v[out->n++];
        p->name = dup_text(k, "instanceType");
        p->vcpus = atoi(aws_xml_text(k, "vCpuInfo/defaultVCpus"));
        p->memory_mib = atol(aws_xml_text(k, "memoryInfo/sizeInMiB"));
    }
    take_next_token(root, next_token);
    aws_xml_free(root);
    return 0;
}

/* ------------------------------------------------------------ freeing */

void aws_ec2_instances_free(struct aws_ec2_instances *l)
{
    for (size_t k = 0; k < l->n; k++) {
        struct aws_ec2_instance *i = &l->v[k];
        char **fields[] = {&i->id, &i->state, &i->type, &i->private_ip, &i->public_ip,
                           &i->launch_time, &i->client_token, &i->image_id, &i->subnet_id,
                           &i->vpc_id, &i->key_name, &i->availability_zone, &i->state_reason,
                           &i->lifecycle};
        for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
            free(*fields[f]);
        for (size_t t = 0; t < i->n_tags; t++) {
            free((char *)i->tags[t].key);
            free((char *)i->tags[t].value);
        }
        free(i->tags);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

const char *aws_ec2_instance_tag(const struct aws_ec2_instance *i, const char *key)
{
    for (size_t t = 0; t < i->n_tags; t++)
        if (strcmp(i->tags[t].key, key) == 0)
            return i->tags[t].value;
    return NULL;
}

void aws_ec2_key_pairs_free(struct aws_ec2_key_pairs *l)
{
    for (size_t k = 0; k < l->n; k++) {
        free(l->v[k].name);
        free(l->v[k].id);
        free(l->v[k].fingerprint);
        free(l->v[k].type);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void aws_ec2_vpcs_free(struct aws_ec2_vpcs *l)
{
    for (size_t k = 0; k < l->n; k++) {
        free(l->v[k].id);
        free(l->v[k].cidr);
        free(l->v[k].state);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void aws_ec2_subnets_free(struct aws_ec2_subnets *l)
{
    for (size_t k = 0; k < l->n; k++) {
        free(l->v[k].id);
        free(l->v[k].vpc_id);
        free(l->v[k].cidr);
        free(l->v[k].availability_zone);
        free(l->v[k].state);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void aws_ec2_images_free(struct aws_ec2_images *l)
{
    for (size_t k = 0; k < l->n; k++) {
        free(l->v[k].id);
        free(l->v[k].name);
        free(l->v[k].creation_date);
        free(l->v[k].state);
        free(l->v[k].owner_id);
        free(l->v[k].architecture);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void aws_ec2_instance_types_free(struct aws_ec2_instance_types *l)
{
    for (size_t k = 0; k < l->n; k++)
        free(l->v[k].name);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* ------------------------------------------------------------ calls */

int aws_ec2_run_instances(struct aws_client *c, const struct aws_ec2_run_params *p,
                          struct aws_ec2_instances *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    if (!p->image_id || !p->instance_type)
        return aws_error_set(err, -EINVAL, "MissingParameter", "RunInstances needs an image and a type");
    struct aws_form f;
    aws_form_start(&f, "RunInstances", EC2_VERSION);
    aws_form_add(&f, "ImageId", p->image_id);
    aws_form_add(&f, "InstanceType", p->instance_type);
    char num[16];
    snprintf(num, sizeof num, "%d", p->min_count > 0 ? p->min_count : 1);
    aws_form_add(&f, "MinCount", num);
    snprintf(num, sizeof num, "%d", p->max_count > 0 ? p->max_count : (p->min_count > 0 ? p->min_count : 1));
    aws_form_add(&f, "MaxCount", num);
    if (p->client_token && *p->client_token)
        aws_form_add(&f, "ClientToken", p->client_token);
    if (p->key_name && *p->key_name)
        aws_form_add(&f, "KeyName", p->key_name);
    if (p->subnet_id && *p->subnet_id)
        aws_form_add(&f, "SubnetId", p->subnet_id);
    aws_form_list(&f, "SecurityGroupId", p->security_group_ids, p->n_security_groups);
    if (p->iam_instance_profile && *p->iam_instance_profile)
        aws_form_add(&f, "IamInstanceProfile.Name", p->iam_instance_profile);
    if (p->spot) {
        aws_form_add(&f, "InstanceMarketOptions.MarketType", "spot");
        if (p->spot_max_price && *p->spot_max_price)
            aws_form_add(&f, "InstanceMarketOptions.SpotOptions.MaxPrice", p->spot_max_price);
    }
    if (p->user_data && p->user_data_len) {
        char *b64 = aws_base64_encode(p->user_data, p->user_data_len);
        aws_form_add(&f, "UserData", b64);
        free(b64);
    }
    if (p->n_tags) {
        const char *types[] = {"instance", "volume"};
        for (size_t s = 0; s < 2; s++) {
            aws_form_addf(&f, types[s], "TagSpecification.%zu.ResourceType", s + 1);
            for (size_t t = 0; t < p->n_tags; t++) {
                aws_form_addf(&f, p->tags[t].key, "TagSpecification.%zu.Tag.%zu.Key", s + 1, t + 1);
                aws_form_addf(&f, p->tags[t].value, "TagSpecification.%zu.Tag.%zu.Value", s + 1, t + 1);
            }
        }
    }
    struct aws_response r;
    int rc = ec2_call(c, &f, &r, err);
    if (rc == 0 && aws_ec2_parse_instances(r.body.data, r.body.len, out, NULL) != 0)
        rc = bad_answer(err, "RunInstances", &r);
    aws_response_free(&r);
    if (rc)
        aws_ec2_instances_free(out);
    return rc;
}

/* One Describe* action's pages: the request is rebuilt each page with the
 * filters, the ids under id_key and (without ids) MaxResults, and each answer
 * goes to parse, which appends to out and sets the next token. */
typedef int (*ec2_page_parser)(const char *xml, size_t len, void *out, char **next_token);

static int describe_paged(struct aws_client *c, const char *action, const struct aws_filter *filters,
                          size_t n_filters, const char *id_key, const char *const *ids, size_t n_ids,
                          int page_size, ec2_page_parser parse, void *out, struct aws_error *err)
{
    char *token = NULL;
    int rc = 0, pages = 0;
    do {
        struct aws_form f;
        aws_form_start(&f, action, EC2_VERSION);
        form_filters(&f, filters, n_filters);
        aws_form_list(&f, id_key, ids, n_ids);
        if (!n_ids) {
            char num[16];
            snprintf(num, sizeof num, "%d", page_size >= 5 && page_size <= 1000 ? page_size : 1000);
            aws_form_add(&f, "MaxResults", num);
        }
        if (token)
            aws_form_add(&f, "NextToken", token);
        free(token);
        token = NULL;
        struct aws_response r;
        rc = ec2_call(c, &f, &r, err);
        if (rc == 0 && parse(r.body.data, r.body.len, out, &token) != 0)
            rc = bad_answer(err, action, &r);
        aws_response_free(&r);
        if (++pages > 10000 && token)
            rc = aws_error_set(err, -ELOOP, "TooManyPages", "%s kept paging", action);
    } while (rc == 0 && token);
    free(token);
    return rc;
}

static int parse_instances_page(const char *xml, size_t len, void *out, char **next_token)
{
    return aws_ec2_parse_instances(xml, len, out, next_token);
}

static int parse_security_groups_page(const char *xml, size_t len, void *out, char **next_token)
{
    return aws_ec2_parse_security_groups(xml, len, out, next_token);
}

int aws_ec2_describe_instances(struct aws_client *c, const struct aws_ec2_describe_query *q,
                               struct aws_ec2_instances *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = describe_paged(c, "DescribeInstances", q->filters, q->n_filters, "InstanceId",
                            q->instance_ids, q->n_ids, q->page_size, parse_instances_page, out, err);
    if (rc)
        aws_ec2_instances_free(out);
    return rc;
}

int aws_ec2_terminate_instances(struct aws_client *c, const char *const *ids, size_t n,
                                struct aws_ec2_instances *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    struct aws_form f;
    aws_form_start(&f, "TerminateInstances", EC2_VERSION);
    aws_form_list(&f, "InstanceId", ids, n);
    struct aws_response r;
    int rc = ec2_call(c, &f, &r, err);
    if (rc == 0 && aws_ec2_parse_instances(r.body.data, r.body.len, out, NULL) != 0)
        rc = bad_answer(err, "TerminateInstances", &r);
    aws_response_free(&r);
    if (rc)
        aws_ec2_instances_free(out);
    return rc;
}

int aws_ec2_create_tags(struct aws_client *c, const char *const *resource_ids, size_t n_ids,
                        const struct aws_tag *tags, size_t n_tags, struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, "CreateTags", EC2_VERSION);
    aws_form_list(&f, "ResourceId", resource_ids, n_ids);
    for (size_t t = 0; t < n_tags; t++) {
        aws_form_addf(&f, tags[t].key, "Tag.%zu.Key", t + 1);
        aws_form_addf(&f, tags[t].value ? tags[t].value : "", "Tag.%zu.Value", t + 1);
    }
    struct aws_response r;
    int rc = ec2_call(c, &f, &r, err);
    aws_response_free(&r);
    return rc;
}

int aws_ec2_describe_key_pairs(struct aws_client *c, const char *const *names, size_t n,
                               struct aws_ec2_key_pairs *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    struct aws_form f;
    aws_form_start(&f, "DescribeKeyPairs", EC2_VERSION);
    aws_form_list(&f, "KeyName", names, n);
    struct aws_response r;
    int rc = ec2_call(c, &f, &r, err);
    if (rc == 0 && aws_ec2_parse_key_pairs(r.body.data, r.body.len, out) != 0)
        rc = bad_answer(err, "DescribeKeyPairs", &r);
    aws_response_free(&r);
    if (rc)
        aws_ec2_key_pairs_free(out);
    return rc;
}

int aws_ec2_describe_vpcs(struct aws_client *c, const char *const *ids, size_t n,
                          struct aws_ec2_vpcs *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    struct aws_form f;
    aws_form_start(&f, "DescribeVpcs", EC2_VERSION);
    aws_form_list(&f, "VpcId", ids, n);
    struct aws_response r;
    int rc = ec2_call(c, &f, &r, err);
    if (rc == 0 && aws_ec2_parse_vpcs(r.body.data, r.body.len, out) != 0)
        rc = bad_answer(err, "DescribeVpcs", &r);
    aws_response_free(&r);
    if (rc)
        aws_ec2_vpcs_free(out);
    return rc;
}

int aws_ec2_describe_subnets(struct aws_client *c, const char *const *ids, size_t n,
                             struct aws_ec2_subnets *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    struct aws_form f;
    aws_form_start(&f, "DescribeSubnets", EC2_VERSION);
    aws_form_list(&f, "SubnetId", ids, n);
    struct aws_response r;
    int rc = ec2_call(c, &f, &r, err);
    if (rc == 0 && aws_ec2_parse_subnets(r.body.data, r.body.len, out) != 0)
        rc = bad_answer(err, "DescribeSubnets", &r);
    aws_response_free(&r);
    if (rc)
        aws_ec2_subnets_free(out);
    return rc;
}

int aws_ec2_describe_images(struct aws_client *c, const char *const *owners, size_t n_owners,
                            const char *const *image_ids, size_t n_ids,
                            const struct aws_filter *filters, size_t n_filters,
                            struct aws_ec2_images *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    struct aws_form f;
    aws_form_start(&f, "DescribeImages", EC2_VERSION);
    aws_form_list(&f, "Owner", owners, n_owners);
    aws_form_list(&f, "ImageId", image_ids, n_ids);
    form_filters(&f, filters, n_filters);
    struct aws_response r;
    int rc = ec2_call(c, &f, &r, err);
    if (rc == 0 && aws_ec2_parse_images(r.body.data, r.body.len, out) != 0)
        rc = bad_answer(err, "DescribeImages", &r);
    aws_response_free(&r);
    if (rc)
        aws_ec2_images_free(out);
    return rc;
}

int aws_ec2_newest_image(struct aws_client *c, const char *owner, const char *name_pattern,
                         struct aws_ec2_images *out_one, struct aws_error *err)
{
    memset(out_one, 0, sizeof *out_one);
    const char *owners[] = {owner};
    const char *names[] = {name_pattern};
    const char *states[] = {"available"};
    struct aws_filter filters[] = {{"name", names, 1}, {"state", states, 1}};
    struct aws_ec2_images all;
    int rc = aws_ec2_describe_images(c, owners, 1, NULL, 0, filters, 2, &all, err);
    if (rc)
        return rc;
    size_t best = all.n;
    for (size_t i = 0; i < all.n; i++)
        /* ISO 8601 UTC timestamps of one format sort as strings. */
        if (best == all.n || strcmp(all.v[i].creation_date, all.v[best].creation_date) > 0)
            best = i;
    if (best == all.n) {
        aws_ec2_images_free(&all);
        return aws_error_set(err, -ENOENT, "InvalidAMIName.NotFound",
                             "no available image owned by %s is named like %s", owner, name_pattern);
    }
    out_one->v = aws_xcalloc(1, sizeof *out_one->v);
    out_one->v[0] = all.v[best];
    out_one->n = 1;
    memset(&all.v[best], 0, sizeof all.v[best]);
    aws_ec2_images_free(&all);
    return 0;
}

int aws_ec2_describe_instance_types(struct aws_client *c, const char *const *names, size_t n,
                                    struct aws_ec2_instance_types *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    char *token = NULL;
    int rc = 0;
    do {
        struct aws_form f;
        aws_form_start(&f, "DescribeInstanceTypes", EC2_VERSION);
        aws_form_list(&f, "InstanceType", names, n);
        if (token)
            aws_form_add(&f, "NextToken", token);
        free(token);
        token = NULL;
        struct aws_response r;
        rc = ec2_call(c, &f, &r, err);
        if (rc == 0 && aws_ec2_parse_instance_types(r.body.data, r.body.len, out, &token) != 0)
            rc = bad_answer(err, "DescribeInstanceTypes", &r);
        aws_response_free(&r);
    } while (rc == 0 && token);
    free(token);
    if (rc)
        aws_ec2_instance_types_free(out);
    return rc;
}

/* ------------------------------------------------------------ security groups */

static void add_rule(struct aws_ec2_security_group *g, const char *proto, int from, int to,
                     const char *cidr, const char *group)
{
    g->ingress = aws_xrealloc(g->ingress, (g->n_ingress + 1) * sizeof *g->ingress);
    g->ingress[g->n_ingress++] = (struct aws_ec2_sg_rule){
        aws_xstrdup(proto), from, to, aws_xstrdup(cidr ? cidr : ""),
        aws_xstrdup(group ? group : "")};
}

static int port_of(const struct aws_xml *perm, const char *name)
{
    const char *t = aws_xml_text(perm, name);
    return *t ? atoi(t) : -1;
}

int aws_ec2_parse_security_groups(const char *xml, size_t len,
                                  struct aws_ec2_security_groups *out, char **next_token)
{
    if (next_token)
        *next_token = NULL;
    struct aws_xml *root = parse_root(xml, len, "DescribeSecurityGroupsResponse");
    if (!root)
        return -EPROTO;
    for (struct aws_xml *x = first_item(aws_xml_child(root, "securityGroupInfo")); x;
         x = aws_xml_next_named(x)) {
        GROW(out);
        struct aws_ec2_security_group *g = &out->v[out->n++];
        g->id = dup_text(x, "groupId");
        g->name = dup_text(x, "groupName");
        g->description = dup_text(x, "groupDescription");
        g->vpc_id = dup_text(x, "vpcId");
        for (struct aws_xml *t = first_item(aws_xml_child(x, "tagSet")); t;
             t = aws_xml_next_named(t)) {
            g->tags = aws_xrealloc(g->tags, (g->n_tags + 1) * sizeof *g->tags);
            g->tags[g->n_tags].key = dup_text(t, "key");
            g->tags[g->n_tags++].value = dup_text(t, "value");
        }
        for (struct aws_xml *p = first_item(aws_xml_child(x, "ipPermissions")); p;
             p = aws_xml_next_named(p)) {
            const char *proto = aws_xml_text(p, "ipProtocol");
            int from = port_of(p, "fromPort"), to = port_of(p, "toPort");
            for (struct aws_xml *s = first_item(aws_xml_child(p, "ipRanges")); s;
                 s = aws_xml_next_named(s))
                add_rule(g, proto, from, to, aws_xml_text(s, "cidrIp"), NULL);
            for (struct aws_xml *s = first_item(aws_xml_child(p, "groups")); s;
                 s = aws_xml_next_named(s))
                add_rule(g, proto, from, to, NULL, aws_xml_text(s, "groupId"));
        }
    }
    take_next_token(root, next_token);
    aws_xml_free(root);
    return 0;
}

int aws_ec2_parse_create_security_group(const char *xml, size_t len, char *id, size_t idlen)
{
    struct aws_xml *root = parse_root(xml, len, "CreateSecurityGroupResponse");
    if (!root)
        return -EPROTO;
    const char *t = aws_xml_text(root, "groupId");
    int rc = *t && strlen(t) < idlen ? 0 : -EPROTO;
    if (rc == 0)
        snprintf(id, idlen, "%s", t);
    aws_xml_free(root);
    return rc;
}

void aws_ec2_security_groups_free(struct aws_ec2_security_groups *l)
{
    for (size_t k = 0; k < l->n; k++) {
        struct aws_ec2_security_group *g = &l->v[k];
        free(g->id);
        free(g->name);
        free(g->description);
        free(g->vpc_id);
        for (size_t t = 0; t < g->n_tags; t++) {
            free((char *)g->tags[t].key);
            free((char *)g->tags[t].value);
        }
        free(g->tags);
        for (size_t r = 0; r < g->n_ingress; r++) {
            free((char *)g->ingress[r].proto);
            free((char *)g->ingress[r].cidr);
            free((char *)g->ingress[r].group_id);
        }
        free(g->ingress);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int aws_ec2_describe_security_groups(struct aws_client *c, const char *const *ids, size_t n_ids,
                                     const struct aws_filter *filters, size_t n_filters,
                                     struct aws_ec2_security_groups *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = describe_paged(c, "DescribeSecurityGroups", filters, n_filters, "GroupId", ids, n_ids,
                            1000, parse_security_groups_page, out, err);
    if (rc)
        aws_ec2_security_groups_free(out);
    return rc;
}

int aws_ec2_create_security_group(struct aws_client *c, const char *name, const char *description,
                                  const char *vpc_id, const struct aws_tag *tags, size_t n_tags,
                                  char *id, struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, "CreateSecurityGroup", EC2_VERSION);
    aws_form_add(&f, "GroupName", name);
    aws_form_add(&f, "GroupDescription", description);
    if (vpc_id && *vpc_id)
        aws_form_add(&f, "VpcId", vpc_id);
    if (n_tags)
        aws_form_add(&f, "TagSpecification.1.ResourceType", "security-group");
    for (size_t t = 0; t < n_tags; t++) {
        aws_form_addf(&f, tags[t].key, "TagSpecification.1.Tag.%zu.Key", t + 1);
        aws_form_addf(&f, tags[t].value ? tags[t].value : "", "TagSpecification.1.Tag.%zu.Value",
                      t + 1);
    }
    struct aws_response r;
    int rc = ec2_call(c, &f, &r, err);
    if (rc == 0 && aws_ec2_parse_create_security_group(r.body.data, r.body.len, id, 32) != 0)
        rc = bad_answer(err, "CreateSecurityGroup", &r);
    aws_response_free(&r);
    return rc;
}

int aws_ec2_delete_security_group(struct aws_client *c, const char *id, struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, "DeleteSecurityGroup", EC2_VERSION);
    aws_form_add(&f, "GroupId", id);
    struct aws_response r;
    int rc = ec2_call(c, &f, &r, err);
    aws_response_free(&r);
    return rc;
}

static int ingress_call(struct aws_client *c, const char *action, const char *id,
                        const struct aws_ec2_sg_rule *rules, size_t n, struct aws_error *err)
{
    struct aws_form f;
    aws_form_start(&f, action, EC2_VERSION);
    aws_form_add(&f, "GroupId", id);
    for (size_t i = 0; i < n; i++) {
        const struct aws_ec2_sg_rule *r = &rules[i];
        char num[16];
        aws_form_addf(&f, r->proto, "IpPermissions.%zu.IpProtocol", i + 1);
        if (r->from_port >= 0 || strcmp(r->proto, "-1") != 0) {
            snprintf(num, sizeof num, "%d", r->from_port);
            aws_form_addf(&f, num, "IpPermissions.%zu.FromPort", i + 1);
            snprintf(num, sizeof num, "%d", r->to_port);
            aws_form_addf(&f, num, "IpPermissions.%zu.ToPort", i + 1);
        }
        if (r->cidr && *r->cidr)
            aws_form_addf(&f, r->cidr, "IpPermissions.%zu.IpRanges.1.CidrIp", i + 1);
        else
            aws_form_addf(&f, r->group_id ? r->group_id : "",
                          "IpPermissions.%zu.Groups.1.GroupId", i + 1);
    }
    struct aws_response r;
    int rc = ec2_call(c, &f, &r, err);
    aws_response_free(&r);
    return rc;
}

int aws_ec2_authorize_ingress(struct aws_client *c, const char *id,
                              const struct aws_ec2_sg_rule *rules, size_t n,
                              struct aws_error *err)
{
    return ingress_call(c, "AuthorizeSecurityGroupIngress", id, rules, n, err);
}

int aws_ec2_revoke_ingress(struct aws_client *c, const char *id,
                           const struct aws_ec2_sg_rule *rules, size_t n, struct aws_error *err)
{
    return ingress_call(c, "RevokeSecurityGroupIngress", id, rules, n, err);
}
