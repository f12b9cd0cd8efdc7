#include "fs/control/roles.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/encode.h"
#include "fs/store/layout.h"

#define OWNER_TAG "pclusterfs:owner"
#define CLUSTER_TAG "pclusterfs:cluster"

/* The tag keys launch_node (launch.c) puts on an instance: the head's
 * launches may carry these and no others. */
static const char *const launch_tag_keys[] = {CLUSTER_TAG,           "pclusterfs:node",
                                              "pclusterfs:node-type", OWNER_TAG,
                                              "pclusterfs:attempt",  "Name"};

/* Whether the head may read the objects of a row of layout_writers: its
 * cluster's config and generation, the fleet spec, hooks, generated files, node
 * commands, job submissions and cancels, what nodes and it wrote; not the workstation's bookkeeping (launch intents with their
 * presigned URLs, events, verdicts, locks). */
static bool head_reads(const struct layout_entry *row)
{
    char generated[32];
    enum hook_stage stage;
    const char *name;
    /* ctl/: the node commands its agent carries out (read, never written) */
    return strcmp(row->rest, layout_nodectl_rest()) == 0 ||
           strcmp(row->rest, layout_job_rest(LAYOUT_JOB_SUBMIT)) == 0 ||
           strcmp(row->rest, layout_job_rest(LAYOUT_JOB_CANCEL)) == 0 ||
           row->writer != LAYOUT_BY_WORKSTATION ||
           strcmp(row->rest, layout_object_rest(LAYOUT_CONFIG)) == 0 ||
           strcmp(row->rest, layout_object_rest(LAYOUT_GENERATION)) == 0 ||
           strcmp(row->rest, LAYOUT_FLEET_SPEC_REST) == 0 ||
           layout_hook_of(row->rest, &stage, &name) ||
           (layout_generated_rest("", generated, sizeof(generated)) &&
            strcmp(row->rest, generated) == 0);
}

static const char trust_policy[] =
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
    "{\"Service\":\"ec2.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}";

void roles_name(const char *bucket, const char *cluster, enum roles_kind kind, char *out)
{
    char input[512], hash[65];
    int n = snprintf(input, sizeof(input), "%s/%s", bucket, cluster);
    aws_sha256_hex(input, n > 0 && (size_t)n < sizeof(input) ? (size_t)n : sizeof(input) - 1,
                   hash);
    const char *suffix = kind == ROLES_HEAD ? "head" : "compute";
    /* "pcfs-" + cluster + "-" + 10 hex + "-" + suffix: the cluster's part
     * gets what is left of 64 (the hash keeps cut names apart). */
    int room = ROLES_NAME_MAX - (int)(strlen("pcfs--") + 10 + 1 + strlen(suffix));
    snprintf(out, ROLES_NAME_MAX + 1, "pcfs-%.*s-%.10s-%s", room, cluster, hash, suffix);
}

/* Whether the config wants compute nodes to have a role of their own. */
static bool compute_access(const struct cluster_config *cfg)
{
    return cfg->s3_read_resource[0] || cfg->s3_read_write_resource[0] ||
           cfg->additional_iam_policies[0];
}

bool roles_profile_for(const char *bucket, const char *cluster, const struct cluster_config *cfg,
                       bool head, char *out)
{
    if (cfg->ec2_iam_role[0] || head) { /* the user's role: one profile for every node */
        roles_name(bucket, cluster, ROLES_HEAD, out);
        return true;
    }
    if (!compute_access(cfg))
        return false;
    roles_name(bucket, cluster, ROLES_COMPUTE, out);
    return true;
}

/* ---------- policy documents ---------- */

static json_t *statement(const char *sid, json_t *action, json_t *resource, json_t *condition)
{
    json_t *s = json_pack("{s:s, s:s, s:o, s:o}", "Sid", sid, "Effect", "Allow", "Action", action,
                          "Resource", resource);
    if (s && condition)
        json_object_set_new(s, "Condition", condition);
    else if (condition)
        json_decref(condition);
    return s;
}

static char *document(json_t *statements)
{
    json_t *doc = json_pack("{s:s, s:o}", "Version", "2012-10-17", "Statement", statements);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

static void add_unique(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(v), s) == 0)
            return;
    }
    json_array_append_new(arr, json_string(s));
}

static json_t *fmt(const char *f, const char *a, const char *b)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), f, a, b);
    return json_string(buf);
}

/* arn:aws:s3:::bucket/clusters/<c>/<rest>, "*" after a folder's rest. */
static json_t *object_arn(const char *bucket, const char *prefix, const char *rest)
{
    char buf[1024];
    size_t n = strlen(rest);
    snprintf(buf, sizeof(buf), "arn:aws:s3:::%s/%s%s%s", bucket, prefix, rest,
             n && rest[n - 1] == '/' ? "*" : "");
    return json_string(buf);
}

static json_t *run_statements(const struct roles_head_input *in, json_t *all)
{
    const struct cluster_config *cfg = in->cfg;
    const char *r = in->region;
    json_t *types = json_array(), *keys = json_array();
    for (size_t q = 0; q < cfg->n_queues; q++)
        for (size_t k = 0; k < cfg->queues[q].n_resources; k++)
            add_unique(types, cfg->queues[q].resources[k].instance_type);
    for (size_t i = 0; i < sizeof(launch_tag_keys) / sizeof(launch_tag_keys[0]); i++)
        json_array_append_new(keys, json_string(launch_tag_keys[i]));
    char tag_cluster[64], tag_owner[64];
    snprintf(tag_cluster, sizeof(tag_cluster), "aws:RequestTag/%s", CLUSTER_TAG);
    snprintf(tag_owner, sizeof(tag_owner), "aws:RequestTag/%s", OWNER_TAG);
    json_t *cond = json_pack("{s:{s:s, s:s, s:o}, s:{s:o}}", "StringEquals", tag_cluster,
                             in->cluster, tag_owner, in->bucket, "ec2:InstanceType", types,
                             "ForAllValues:StringEquals", "aws:TagKeys", keys);
    json_array_append_new(all, statement("RunOwnTaggedInstances", json_string("ec2:RunInstances"),
                                         fmt("arn:aws:ec2:%s:*:instance/*", r, NULL), cond));
    json_t *with = json_array();
    json_array_append_new(with, fmt("arn:aws:ec2:%s:*:volume/*", r, NULL));
    json_array_append_new(with, fmt("arn:aws:ec2:%s:*:network-interface/*", r, NULL));
    json_array_append_new(with, fmt("arn:aws:ec2:%s::image/*", r, NULL));
    json_array_append_new(with, fmt("arn:aws:ec2:%s:*:subnet/%s", r, cfg->compute_subnet_id));
    if (cfg->vpc_security_group_id[0]) {
        json_array_append_new(
            with, fmt("arn:aws:ec2:%s:*:security-group/%s", r, cfg->vpc_security_group_id));
        if (cfg->additional_sg[0])
            json_array_append_new(
                with, fmt("arn:aws:ec2:%s:*:security-group/%s", r, cfg->additional_sg));
    } else { /* the groups pclusterfs made (secgroups.h), whose ids are not known here */
        json_array_append_new(with, fmt("arn:aws:ec2:%s:*:security-group/*", r, NULL));
    }
    if (cfg->key_name[0])
        json_array_append_new(with, fmt("arn:aws:ec2:%s:*:key-pair/%s", r, cfg->key_name));
    json_array_append_new(all, statement("RunWithItsParameters", json_string("ec2:RunInstances"),
                                         with, NULL));
    json_array_append_new(
        all, statement("TagOnlyAtLaunch", json_string("ec2:CreateTags"), json_string("*"),
                       json_pack("{s:{s:s}}", "StringEquals", "ec2:CreateAction", "RunInstances")));
    char res_cluster[64], res_owner[64];
    snprintf(res_cluster, sizeof(res_cluster), "ec2:ResourceTag/%s", CLUSTER_TAG);
    snprintf(res_owner, sizeof(res_owner), "ec2:ResourceTag/%s", OWNER_TAG);
    json_array_append_new(
        all, statement("TerminateOwnInstances", json_string("ec2:TerminateInstances"),
                       fmt("arn:aws:ec2:%s:*:instance/*", r, NULL),
                       json_pack("{s:{s:s, s:s}}", "StringEquals", res_cluster, in->cluster,
                                 res_owner, in->bucket)));
    return all;
}

char *roles_head_policy(const struct roles_head_input *in)
{
    char *prefix = layout_cluster_prefix(in->cluster);
    json_t *all = json_array();
    if (!prefix || !all) {
        free(prefix);
        json_decref(all);
        return NULL;
    }
    json_array_append_new(all, statement("Describe", json_string("ec2:Describe*"),
                                         json_string("*"), NULL));
    run_statements(in, all);
    if (in->compute_role)
        json_array_append_new(
            all, statement("PassOnlyTheComputeRole", json_string("iam:PassRole"),
                           fmt("arn:aws:iam::*:role/%s", in->compute_role, NULL),
                           json_pack("{s:{s:s}}", "StringEquals", "iam:PassedToService",
                                     "ec2.amazonaws.com")));
    char listed[512];
    snprintf(listed, sizeof(listed), "%s*", prefix);
    json_array_append_new(
        all, statement("ListOwnPrefix", json_string("s3:ListBucket"),
                       fmt("arn:aws:s3:::%s", in->bucket, NULL),
                       json_pack("{s:{s:[s]}}", "StringLike", "s3:prefix", listed)));
    json_t *reads = json_array(), *writes = json_array();
    for (size_t i = 0; i < layout_n_writers; i++) {
        const struct layout_entry *row = &layout_writers[i];
        if (head_reads(row))
            json_array_append_new(reads, object_arn(in->bucket, prefix, row->rest));
        if (row->writer == LAYOUT_BY_HEAD)
            json_array_append_new(writes, object_arn(in->bucket, prefix, row->rest));
    }
    json_array_append_new(all, statement("ReadOwnCluster", json_string("s3:GetObject"), reads,
                                         NULL));
    json_array_append_new(all, statement("WriteOnlyHeadKeys",
                                         json_pack("[s,s]", "s3:PutObject", "s3:DeleteObject"),
                                         writes, NULL));
    free(prefix);
    return document(all);
}

char *roles_s3_policy(const char *resource, bool read)
{
    json_t *action = read ? json_pack("[s,s]", "s3:Get*", "s3:List*") : json_string("s3:*");
    json_t *all = json_array();
    json_array_append_new(all, statement(read ? "S3Read" : "S3ReadWrite", action,
                                         json_pack("[s]", resource), NULL));
    return document(all);
}

/* ---------- making and removing ---------- */

static int fail(int rc, const struct aws_error *e, char *err, size_t errlen, const char *what,
                const char *name)
{
    char buf[768];
    snprintf(err, errlen, "%s %s: %s", what, name, aws_error_format(e, buf, sizeof(buf)));
    return rc;
}

static bool owned(const struct aws_iam_role *r, const char *bucket)
{
    for (size_t i = 0; i < r->n_tags; i++)
        if (strcmp(r->tags[i].key, OWNER_TAG) == 0 && strcmp(r->tags[i].value, bucket) == 0)
            return true;
    return false;
}

/* 0 when the role exists and is ours, 1 when it does not exist, else a
 * negative errno (-EPERM: it is not ours). */
static int role_state(struct cloud *cl, const char *name, char *err, size_t errlen)
{
    struct aws_iam_role r = {0};
    struct aws_error e = {0};
    int rc = cloud_iam_get_role(cl, name, &r, &e);
    if (rc == -ENOENT)
        return 1;
    if (rc)
        return fail(rc, &e, err, errlen, "reading role", name);
    rc = owned(&r, cl->bucket) ? 0 : -EPERM;
    if (rc)
        snprintf(err, errlen,
                 "role %s exists without the tag %s=%s: it is not this bucket's, so pclusterfs "
                 "leaves it alone; delete or rename it to go on", name, OWNER_TAG, cl->bucket);
    aws_iam_role_free(&r);
    return rc;
}

/* One inline policy wanted on a role. */
struct wanted_policy {
    const char *name;
    char *doc;
};

static bool listed(const struct aws_iam_names *l, const char *s)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

/* The configured managed policies as a list. */
static void split_arns(const char *text, struct aws_iam_names *out)
{
    for (const char *p = text; *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len && p[len - 1] == ' ')
            len--;
        if (len) {
            char **grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
            if (grown && (grown[out->n] = strndup(p, len)))
                out->n++;
            if (grown)
                out->v = grown;
        }
        p += n;
    }
}

/* Makes the role if missing (tagged), then puts its inline and attached
 * policies right: the wanted ones in, every other one out. */
static int ensure_role(struct cloud *cl, const char *cluster, const char *name,
                       const struct wanted_policy *pols, size_t n_pols,
                       const struct aws_iam_names *arns, char *err, size_t errlen)
{
    struct aws_error e = {0};
    int rc = role_state(cl, name, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        const struct aws_tag tags[] = {{CLUSTER_TAG, cluster}, {OWNER_TAG, cl->bucket}};
        rc = cloud_iam_create_role(cl, name, trust_policy, tags, 2, &e);
        if (rc && rc != -EEXIST) /* made meanwhile: put right below */
            return fail(rc, &e, err, errlen, "creating role", name);
    }
    for (size_t i = 0; i < n_pols; i++)
        if ((rc = cloud_iam_put_role_policy(cl, name, pols[i].name, pols[i].doc, &e)) != 0)
            return fail(rc, &e, err, errlen, "putting the policy of role", name);
    struct aws_iam_names have = {0}, attached = {0};
    rc = cloud_iam_list_role_policies(cl, name, &have, &e);
    for (size_t i = 0; rc == 0 && i < have.n; i++) {
        bool wanted = false;
        for (size_t k = 0; k < n_pols; k++)
            wanted = wanted || strcmp(pols[k].name, have.v[i]) == 0;
        if (!wanted)
            rc = cloud_iam_delete_role_policy(cl, name, have.v[i], &e);
    }
    if (rc == 0)
        rc = cloud_iam_list_attached_role_policies(cl, name, &attached, &e);
    for (size_t i = 0; rc == 0 && i < attached.n; i++)
        if (!listed(arns, attached.v[i]))
            rc = cloud_iam_detach_role_policy(cl, name, attached.v[i], &e);
    for (size_t i = 0; rc == 0 && arns && i < arns->n; i++)
        if (!listed(&attached, arns->v[i]))
            rc = cloud_iam_attach_role_policy(cl, name, arns->v[i], &e);
    aws_iam_names_free(&have);
    aws_iam_names_free(&attached);
    return rc ? fail(rc, &e, err, errlen, "putting right the policies of role", name) : 0;
}

/* Makes the profile if missing and puts role (ours, or the user's) in it. */
static int ensure_profile(struct cloud *cl, const char *cluster, const char *name,
                          const char *role, char *err, size_t errlen)
{
    struct aws_iam_instance_profiles got = {0};
    struct aws_error e = {0};
    int rc = cloud_iam_get_instance_profile(cl, name, &got, &e);
    if (rc == -ENOENT) {
        const struct aws_tag tags[] = {{CLUSTER_TAG, cluster}, {OWNER_TAG, cl->bucket}};
        rc = cloud_iam_create_instance_profile(cl, name, tags, 2, &e);
        if (rc && rc != -EEXIST)
            return fail(rc, &e, err, errlen, "creating instance profile", name);
        rc = 0;
    } else if (rc) {
        return fail(rc, &e, err, errlen, "reading instance profile", name);
    }
    bool has = false;
    for (size_t i = 0; rc == 0 && got.n && i < got.v[0].n_roles; i++) {
        if (strcmp(got.v[0].roles[i], role) == 0)
            has = true;
        else /* another config's role (ec2_iam_role changed) */
            rc = cloud_iam_remove_role_from_instance_profile(cl, name, got.v[0].roles[i], &e);
    }
    aws_iam_instance_profiles_free(&got);
    if (rc == 0 && !has)
        rc = cloud_iam_add_role_to_instance_profile(cl, name, role, &e);
    return rc ? fail(rc, &e, err, errlen, "putting the role into instance profile", name) : 0;
}

/* Removes the profile (after taking its role out). 0 also when absent. */
static int remove_profile(struct cloud *cl, const char *name, int *removed, char *err,
                          size_t errlen)
{
    struct aws_iam_instance_profiles got = {0};
    struct aws_error e = {0};
    int rc = cloud_iam_get_instance_profile(cl, name, &got, &e);
    if (rc == -ENOENT)
        return 0;
    for (size_t i = 0; rc == 0 && got.n && i < got.v[0].n_roles; i++)
        rc = cloud_iam_remove_role_from_instance_profile(cl, name, got.v[0].roles[i], &e);
    aws_iam_instance_profiles_free(&got);
    if (rc == 0)
        rc = cloud_iam_delete_instance_profile(cl, name, &e);
    if (rc == 0 || rc == -ENOENT) {
        ++*removed;
        return 0;
    }
    return fail(rc, &e, err, errlen, "removing instance profile", name);
}

/* Removes the role with its policies, if it is ours. 0 also when absent. */
static int remove_role(struct cloud *cl, const char *name, int *removed, char *err,
                       size_t errlen)
{
    int rc = role_state(cl, name, err, errlen);
    if (rc == 1 || rc == -EPERM)
        return 0; /* gone, or never ours to remove */
    if (rc < 0)
        return rc;
    struct aws_iam_names inline_ = {0}, attached = {0};
    struct aws_error e = {0};
    rc = cloud_iam_list_role_policies(cl, name, &inline_, &e);
    for (size_t i = 0; rc == 0 && i < inline_.n; i++)
        rc = cloud_iam_delete_role_policy(cl, name, inline_.v[i], &e);
    if (rc == 0)
        rc = cloud_iam_list_attached_role_policies(cl, name, &attached, &e);
    for (size_t i = 0; rc == 0 && i < attached.n; i++)
        rc = cloud_iam_detach_role_policy(cl, name, attached.v[i], &e);
    aws_iam_names_free(&inline_);
    aws_iam_names_free(&attached);
    if (rc == 0)
        rc = cloud_iam_delete_role(cl, name, &e);
    if (rc == 0 || rc == -ENOENT) {
        ++*removed;
        return 0;
    }
    return fail(rc, &e, err, errlen, "removing role", name);
}

int roles_remove(struct cloud *cl, const char *cluster, int *removed, char *err, size_t errlen)
{
    int count = 0, rc = 0;
    for (int k = ROLES_HEAD; rc == 0 && k <= ROLES_COMPUTE; k++) {
        char name[ROLES_NAME_MAX + 1];
        roles_name(cl->bucket, cluster, (enum roles_kind)k, name);
        rc = remove_profile(cl, name, &count, err, errlen);
        if (rc == 0)
            rc = remove_role(cl, name, &count, err, errlen);
    }
    if (removed)
        *removed = count;
    return rc;
}

int roles_ensure(struct cloud *cl, const char *cluster, const char *region,
                 const struct cluster_config *cfg, char *err, size_t errlen)
{
    char head[ROLES_NAME_MAX + 1], compute[ROLES_NAME_MAX + 1];
    roles_name(cl->bucket, cluster, ROLES_HEAD, head);
    roles_name(cl->bucket, cluster, ROLES_COMPUTE, compute);
    if (cfg->ec2_iam_role[0])
        return ensure_profile(cl, cluster, head, cfg->ec2_iam_role, err, errlen);
    bool with_compute = compute_access(cfg);
    struct roles_head_input hin = {.bucket = cl->bucket, .cluster = cluster, .region = region,
                                   .cfg = cfg, .compute_role = with_compute ? compute : NULL};
    /* [0] is the head's own; the access policies both roles get follow. */
    struct wanted_policy pols[3] = {{"pclusterfs-head", roles_head_policy(&hin)}};
    size_t n = 1;
    if (cfg->s3_read_resource[0])
        pols[n++] = (struct wanted_policy){"S3Read", roles_s3_policy(cfg->s3_read_resource, true)};
    if (cfg->s3_read_write_resource[0])
        pols[n++] = (struct wanted_policy){
            "S3ReadWrite", roles_s3_policy(cfg->s3_read_write_resource, false)};
    struct aws_iam_names arns = {0};
    split_arns(cfg->additional_iam_policies, &arns);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (!pols[i].doc)
            rc = -ENOMEM;
    if (rc)
        snprintf(err, errlen, "out of memory rendering the roles' policies");
    if (rc == 0)
        rc = ensure_role(cl, cluster, head, pols, n, &arns, err, errlen);
    if (rc == 0)
        rc = ensure_profile(cl, cluster, head, head, err, errlen);
    if (rc == 0 && with_compute)
        rc = ensure_role(cl, cluster, compute, pols + 1, n - 1, &arns, err, errlen);
    if (rc == 0 && with_compute)
        rc = ensure_profile(cl, cluster, compute, compute, err, errlen);
    if (rc == 0 && !with_compute) { /* no longer asked for: it goes */
        int gone = 0;
        rc = remove_profile(cl, compute, &gone, err, errlen);
        if (rc == 0)
            rc = remove_role(cl, compute, &gone, err, errlen);
    }
    for (size_t i = 0; i < n; i++)
        free(pols[i].doc);
    aws_iam_names_free(&arns);
    return rc;
}
