#include "fs/control/secgroups.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aws/encode.h"

#define OWNER_TAG "pclusterfs:owner"
#define CLUSTER_TAG "pclusterfs:cluster"

void secgroups_name(const char *bucket, const char *cluster, enum secgroups_kind kind, char *out)
{
    char input[512], hash[65];
    int n = snprintf(input, sizeof(input), "%s/%s", bucket, cluster);
    aws_sha256_hex(input, n > 0 && (size_t)n < sizeof(input) ? (size_t)n : sizeof(input) - 1,
                   hash);
    snprintf(out, SECGROUPS_NAME_MAX + 1, "pcfs-%.200s-%.10s-%s", cluster, hash,
             kind == SECGROUPS_HEAD ? "head" : "cluster");
}

bool secgroups_made(const struct cluster_config *cfg)
{
    return cfg->vpc_security_group_id[0] == '\0';
}

static int fail(int rc, const struct aws_error *e, char *err, size_t errlen, const char *what,
                const char *name)
{
    char buf[768];
    snprintf(err, errlen, "%s %s: %s", what, name, aws_error_format(e, buf, sizeof(buf)));
    return rc;
}

static bool owned(const struct aws_ec2_security_group *g, const char *bucket)
{
    for (size_t i = 0; i < g->n_tags; i++)
        if (strcmp(g->tags[i].key, OWNER_TAG) == 0 && strcmp(g->tags[i].value, bucket) == 0)
            return true;
    return false;
}

/* The groups named like the cluster's (both kinds), in vpc when given. */
static int lookup(struct cloud *cl, const char *cluster, const char *region, const char *vpc,
                  struct aws_ec2_security_groups *out, char *err, size_t errlen)
{
    char head[SECGROUPS_NAME_MAX + 1], all[SECGROUPS_NAME_MAX + 1];
    secgroups_name(cl->bucket, cluster, SECGROUPS_HEAD, head);
    secgroups_name(cl->bucket, cluster, SECGROUPS_CLUSTER, all);
    const char *names[] = {head, all}, *vpcs[] = {vpc};
    struct aws_filter f[] = {{"group-name", names, 2}, {"vpc-id", vpcs, 1}};
    struct aws_error e = {0};
    int rc = cloud_sg_describe(cl, region, NULL, 0, f, vpc && *vpc ? 2 : 1, out, &e);
    return rc ? fail(rc, &e, err, errlen, "listing the security groups of cluster", cluster) : 0;
}

static const struct aws_ec2_security_group *named(const struct aws_ec2_security_groups *l,
                                                  const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

static bool same_rule(const struct aws_ec2_sg_rule *a, const struct aws_ec2_sg_rule *b)
{
    bool ports = strcmp(a->proto, "-1") == 0 || (a->from_port == b->from_port &&
                                                  a->to_port == b->to_port);
    return strcmp(a->proto, b->proto) == 0 && ports &&
           strcmp(a->cidr ? a->cidr : "", b->cidr ? b->cidr : "") == 0 &&
           strcmp(a->group_id ? a->group_id : "", b->group_id ? b->group_id : "") == 0;
}

/* Puts g's ingress right: the wanted rules in, every other one out. */
static int put_rules(struct cloud *cl, const char *region, const struct aws_ec2_security_group *g,
                     const struct aws_ec2_sg_rule *want, size_t n_want, char *err, size_t errlen)
{
    struct aws_error e = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < g->n_ingress; i++) {
        bool wanted = false;
        for (size_t k = 0; k < n_want; k++)
            wanted = wanted || same_rule(&want[k], &g->ingress[i]);
        if (!wanted)
            rc = cloud_sg_ingress(cl, region, g->id, false, &g->ingress[i], 1, &e);
    }
    for (size_t k = 0; rc == 0 && k < n_want; k++) {
        bool has = false;
        for (size_t i = 0; i < g->n_ingress; i++)
            has = has || same_rule(&want[k], &g->ingress[i]);
        if (!has) {
            rc = cloud_sg_ingress(cl, region, g->id, true, &want[k], 1, &e);
            if (rc && strcmp(e.code, "InvalidPermission.Duplicate") == 0)
                rc = 0; /* put in meanwhile */
        }
    }
    return rc ? fail(rc, &e, err, errlen, "putting right the rules of security group", g->id) : 0;
}

/* Makes group name if missing (tagged); its id into id. */
static int ensure_group(struct cloud *cl, const char *cluster, const char *region,
                        const char *vpc, const struct aws_ec2_security_groups *have,
                        const char *name, const char *desc, char *id, char *err, size_t errlen)
{
    const struct aws_ec2_security_group *g = named(have, name);
    if (g && !owned(g, cl->bucket)) {
        snprintf(err, errlen,
                 "security group %s (%s) exists without the tag %s=%s: it is not this bucket's, "
                 "so pclusterfs leaves it alone; delete or rename it to go on",
                 name, g->id, OWNER_TAG, cl->bucket);
        return -EPERM;
    }
    if (g) {
        snprintf(id, SECGROUPS_ID_MAX, "%s", g->id);
        return 0;
    }
    const struct aws_tag tags[] = {{CLUSTER_TAG, cluster}, {OWNER_TAG, cl->bucket}};
    struct aws_error e = {0};
    int rc = cloud_sg_create(cl, region, name, desc, vpc, tags, 2, id, &e);
    return rc ? fail(rc, &e, err, errlen, "creating security group", name) : 0;
}

int secgroups_ensure(struct cloud *cl, const char *cluster, const char *region,
                     const struct cluster_config *cfg, char *err, size_t errlen)
{
    if (!secgroups_made(cfg))
        return 0;
    char head[SECGROUPS_NAME_MAX + 1], all[SECGROUPS_NAME_MAX + 1];
    secgroups_name(cl->bucket, cluster, SECGROUPS_HEAD, head);
    secgroups_name(cl->bucket, cluster, SECGROUPS_CLUSTER, all);
    struct aws_ec2_security_groups have = {0};
    int rc = lookup(cl, cluster, region, cfg->vpc_id, &have, err, errlen);
    char head_id[SECGROUPS_ID_MAX] = "", all_id[SECGROUPS_ID_MAX] = "";
    if (rc == 0)
        rc = ensure_group(cl, cluster, region, cfg->vpc_id, &have, head,
                          "pclusterfs head node: ssh from ssh_from", head_id, err, errlen);
    if (rc == 0)
        rc = ensure_group(cl, cluster, region, cfg->vpc_id, &have, all,
                          "pclusterfs cluster nodes: everything from each other", all_id, err,
                          errlen);
    aws_ec2_security_groups_free(&have);
    /* Read again: made ones are there with no rules, old ones with theirs. */
    if (rc == 0)
        rc = lookup(cl, cluster, region, cfg->vpc_id, &have, err, errlen);
    const struct aws_ec2_security_group *hg = rc == 0 ? named(&have, head) : NULL;
    const struct aws_ec2_security_group *ag = rc == 0 ? named(&have, all) : NULL;
    if (rc == 0 && (!hg || !ag)) {
        snprintf(err, errlen, "security groups of cluster %s made but not listed yet", cluster);
        rc = -EAGAIN;
    }
    if (rc == 0) {
        const struct aws_ec2_sg_rule ssh = {"tcp", 22, 22, cfg->ssh_from, NULL};
        rc = put_rules(cl, region, hg, &ssh, 1, err, errlen);
    }
    if (rc == 0) {
        const struct aws_ec2_sg_rule self = {"-1", -1, -1, NULL, ag->id};
        rc = put_rules(cl, region, ag, &self, 1, err, errlen);
    }
    aws_ec2_security_groups_free(&have);
    return rc;
}

int secgroups_remove(struct cloud *cl, const char *cluster, const char *region, int *removed,
                     char *err, size_t errlen)
{
    struct aws_ec2_security_groups have = {0};
    int rc = lookup(cl, cluster, region, NULL, &have, err, errlen), count = 0;
    for (size_t i = 0; rc == 0 && i < have.n; i++) {
        const struct aws_ec2_security_group *g = &have.v[i];
        if (!owned(g, cl->bucket))
            continue; /* never ours to remove */
        struct aws_error e = {0};
        /* Its own rules first: a group another refers to cannot go. */
        for (size_t r = 0; rc == 0 && r < g->n_ingress; r++)
            rc = cloud_sg_ingress(cl, region, g->id, false, &g->ingress[r], 1, &e);
        if (rc == -ENOENT)
            rc = 0;
        if (rc == 0)
            rc = cloud_sg_delete(cl, region, g->id, &e);
        if (rc == 0 || rc == -ENOENT) {
            rc = 0;
            count++;
        } else if (strcmp(e.code, "DependencyViolation") == 0) {
            snprintf(err, errlen, "security group %s (%s) is still used by an instance; "
                     "removed once it is gone", g->name, g->id);
            rc = -EBUSY;
        } else {
            rc = fail(rc, &e, err, errlen, "removing security group", g->id);
        }
    }
    aws_ec2_security_groups_free(&have);
    if (removed)
        *removed = count;
    return rc;
}

int secgroups_launch_ids(struct cloud *cl, const char *cluster, const char *region,
                         const struct cluster_config *cfg, bool head,
                         char ids[][SECGROUPS_ID_MAX], size_t *n, char *err, size_t errlen)
{
    *n = 0;
    if (secgroups_made(cfg)) {
        char hname[SECGROUPS_NAME_MAX + 1], aname[SECGROUPS_NAME_MAX + 1];
        secgroups_name(cl->bucket, cluster, SECGROUPS_HEAD, hname);
        secgroups_name(cl->bucket, cluster, SECGROUPS_CLUSTER, aname);
        struct aws_ec2_security_groups have = {0};
        int rc = lookup(cl, cluster, region, cfg->vpc_id, &have, err, errlen);
        if (rc)
            return rc;
        const struct aws_ec2_security_group *hg = named(&have, hname), *ag = named(&have, aname);
        if (!ag || (head && !hg) || !owned(ag, cl->bucket) || (head && !owned(hg, cl->bucket))) {
            snprintf(err, errlen, "the cluster's security groups are not made yet");
            aws_ec2_security_groups_free(&have);
            return -ENOENT;
        }
        if (head)
            snprintf(ids[(*n)++], SECGROUPS_ID_MAX, "%s", hg->id);
        snprintf(ids[(*n)++], SECGROUPS_ID_MAX, "%s", ag->id);
        aws_ec2_security_groups_free(&have);
    } else {
        snprintf(ids[(*n)++], SECGROUPS_ID_MAX, "%s", cfg->vpc_security_group_id);
    }
    if (cfg->additional_sg[0])
        snprintf(ids[(*n)++], SECGROUPS_ID_MAX, "%s", cfg->additional_sg);
    return 0;
}
