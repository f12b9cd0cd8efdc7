#include "fs/control/cloudcheck.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aws/ec2.h"

const char *cloudcheck_image_pattern(const char *base_os)
{
    static const struct {
        const char *os, *pattern;
    } images[] = {
        {"alinux2", "aws-parallelcluster-*-amzn2-hvm-x86_64*"},
        {"centos7", "aws-parallelcluster-*-centos7-hvm-x86_64*"},
        {"ubuntu1804", "aws-parallelcluster-*-ubuntu-1804-lts-hvm-x86_64*"},
        {"ubuntu2004", "aws-parallelcluster-*-ubuntu-2004-lts-hvm-x86_64*"},
    };
    for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
        if (strcmp(images[i].os, base_os) == 0)
            return images[i].pattern;
    return NULL;
}

/* "config:LINE: " or "config: " when the value was defaulted. */
static void where(char *buf, size_t n, int line)
{
    if (line > 0)
        snprintf(buf, n, "config:%d: ", line);
    else
        snprintf(buf, n, "config: ");
}

/* Maps an AWS failure: a not-found answer is the config's fault (EINVAL),
 * anything else means the cloud could not be asked. */
static int explain(int rc, const struct aws_error *e, const char *not_found_code, int line,
                   const char *what, const char *fix, const char *region, char *err,
                   size_t errlen)
{
    char at[32], buf[768];
    where(at, sizeof(at), line);
    if (rc == -ENOENT || strstr(e->code, not_found_code) || strstr(e->code, "Malformed")) {
        snprintf(err, errlen, "%s%s does not exist in %s (%s); %s", at, what, region,
                 e->code[0] ? e->code : "not found", fix);
        return -EINVAL;
    }
    snprintf(err, errlen, "%scannot check %s in %s: %s", at, what, region,
             aws_error_format(e, buf, sizeof(buf)));
    return rc == -EINVAL ? -EIO : rc;
}

static int check_key_pair(struct aws_client *c, const struct cluster_config *cfg, char *err,
                          size_t errlen)
{
    if (!cfg->key_name[0])
        return 0;
    const char *names[] = {cfg->key_name};
    struct aws_ec2_key_pairs kp = {0};
    struct aws_error e = {0};
    char what[300];
    snprintf(what, sizeof(what), "key_name = %s: the key pair", cfg->key_name);
    int rc = aws_ec2_describe_key_pairs(c, names, 1, &kp, &e);
    if (rc == 0 && kp.n == 0)
        rc = -ENOENT;
    aws_ec2_key_pairs_free(&kp);
    if (rc == 0)
        return 0;
    return explain(rc, &e, "InvalidKeyPair.NotFound", cfg->lines.key_name, what,
                   "create or import it (aws ec2 import-key-pair), or name another",
                   aws_client_region(c), err, errlen);
}

static int check_network(struct aws_client *c, const struct cluster_config *cfg, char *err,
                         size_t errlen)
{
    const char *vpcs[] = {cfg->vpc_id};
    struct aws_ec2_vpcs v = {0};
    struct aws_error e = {0};
    char what[300];
    snprintf(what, sizeof(what), "vpc_id = %s: the VPC", cfg->vpc_id);
    int rc = aws_ec2_describe_vpcs(c, vpcs, 1, &v, &e);
    if (rc == 0 && v.n == 0)
        rc = -ENOENT;
    aws_ec2_vpcs_free(&v);
    if (rc)
        return explain(rc, &e, "InvalidVpcID.NotFound", cfg->lines.vpc_id, what,
                       "name a VPC of this region", aws_client_region(c), err, errlen);

    const char *ids[] = {cfg->master_subnet_id, cfg->compute_subnet_id};
    const int lines[] = {cfg->lines.master_subnet_id, cfg->lines.compute_subnet_id};
    const char *keys[] = {"master_subnet_id", "compute_subnet_id"};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && strcmp(ids[1], ids[0]) == 0)
            break;
        struct aws_ec2_subnets s = {0};
        snprintf(what, sizeof(what), "%s = %s: the subnet", keys[i], ids[i]);
        rc = aws_ec2_describe_subnets(c, &ids[i], 1, &s, &e);
        if (rc == 0 && s.n == 0)
            rc = -ENOENT;
        bool other_vpc = rc == 0 && strcmp(s.v[0].vpc_id, cfg->vpc_id) != 0;
        char subnet_vpc[64] = "";
        if (other_vpc)
            snprintf(subnet_vpc, sizeof(subnet_vpc), "%s", s.v[0].vpc_id);
        aws_ec2_subnets_free(&s);
        if (rc)
            return explain(rc, &e, "InvalidSubnetID.NotFound", lines[i], what,
                           "name a subnet of the VPC", aws_client_region(c), err, errlen);
        if (other_vpc) {
            char at[32];
            where(at, sizeof(at), lines[i]);
            snprintf(err, errlen, "%s%s = %s is in %s, not in vpc_id = %s", at, keys[i], ids[i],
                     subnet_vpc, cfg->vpc_id);
            return -EINVAL;
        }
    }
    return 0;
}

static int check_image(struct aws_client *c, const struct cluster_config *cfg,
                       struct cloudcheck_result *out, char *err, size_t errlen)
{
    struct aws_ec2_images im = {0};
    struct aws_error e = {0};
    char what[300];
    int rc;
    if (cfg->custom_ami[0]) {
        const char *ids[] = {cfg->custom_ami};
        snprintf(what, sizeof(what), "custom_ami = %s: the image", cfg->custom_ami);
        rc = aws_ec2_describe_images(c, NULL, 0, ids, 1, NULL, 0, &im, &e);
        if (rc == 0 && im.n == 0)
            rc = -ENOENT;
        if (rc == 0)
            snprintf(out->image_id, sizeof(out->image_id), "%s", im.v[0].id);
        aws_ec2_images_free(&im);
        if (rc)
            return explain(rc, &e, "InvalidAMIID", cfg->lines.custom_ami, what,
                           "name an image of this region", aws_client_region(c), err, errlen);
        return 0;
    }
    const char *pattern = cloudcheck_image_pattern(cfg->base_os);
    snprintf(what, sizeof(what), "base_os = %s: a ParallelCluster image owned by amazon (%s)",
             cfg->base_os, pattern ? pattern : "?");
    rc = pattern ? aws_ec2_newest_image(c, "amazon", pattern, &im, &e) : -ENOENT;
    if (rc == 0 && im.n > 0)
        snprintf(out->image_id, sizeof(out->image_id), "%s", im.v[0].id);
    else if (rc == 0)
        rc = -ENOENT;
    aws_ec2_images_free(&im);
    if (rc)
        return explain(rc, &e, "InvalidAMIID", cfg->lines.base_os, what,
                       "set custom_ami to an image of this region", aws_client_region(c), err,
                       errlen);
    return 0;
}

/* One instance type: EC2 answers InvalidInstanceType for a type it does
 * not offer in the region (v2 refused those before creating anything). */
static int check_one_type(struct aws_client *c, const char *key, const char *type, int line,
                          char *err, size_t errlen)
{
    const char *names[] = {type};
    struct aws_ec2_instance_types t = {0};
    struct aws_error e = {0};
    int rc = aws_ec2_describe_instance_types(c, names, 1, &t, &e);
    if (rc == 0 && t.n == 0)
        rc = -ENOENT;
    aws_ec2_instance_types_free(&t);
    if (rc == 0)
        return 0;
    char what[300];
    snprintf(what, sizeof(what), "%s = %s: the instance type", key, type);
    return explain(rc, &e, "InvalidInstanceType", line, what,
                   "name an instance type this region offers (aws ec2 "
                   "describe-instance-types)",
                   aws_client_region(c), err, errlen);
}

/* vpc_security_group_id and additional_sg: each exists and is in vpc_id. */
static int check_security_groups(struct aws_client *c, const struct cluster_config *cfg,
                                 char *err, size_t errlen)
{
    const char *ids[] = {cfg->vpc_security_group_id, cfg->additional_sg};
    const int lines[] = {cfg->lines.vpc_security_group_id, cfg->lines.additional_sg};
    const char *keys[] = {"vpc_security_group_id", "additional_sg"};
    for (int i = 0; i < 2; i++) {
        if (!ids[i][0])
            continue;
        struct aws_ec2_security_groups g = {0};
        struct aws_error e = {0};
        char what[300];
        snprintf(what, sizeof(what), "%s = %s: the security group", keys[i], ids[i]);
        int rc = aws_ec2_describe_security_groups(c, &ids[i], 1, NULL, 0, &g, &e);
        if (rc == 0 && g.n == 0)
            rc = -ENOENT;
        char vpc[64] = "";
        if (rc == 0)
            snprintf(vpc, sizeof(vpc), "%s", g.v[0].vpc_id);
        aws_ec2_security_groups_free(&g);
        if (rc)
            return explain(rc, &e, "InvalidGroup.NotFound", lines[i], what,
                           "name a security group of vpc_id", aws_client_region(c), err, errlen);
        if (strcmp(vpc, cfg->vpc_id) != 0) {
            char at[32];
            where(at, sizeof(at), lines[i]);
            snprintf(err, errlen, "%s%s = %s is in %s, not in vpc_id = %s", at, keys[i], ids[i],
                     vpc, cfg->vpc_id);
            return -EINVAL;
        }
    }
    return 0;
}

static int check_instance_types(struct aws_client *c, const struct cluster_config *cfg,
                                char *err, size_t errlen)
{
    int rc = check_one_type(c, "master_instance_type", cfg->master_instance_type,
                            cfg->lines.master_instance_type, err, errlen);
    for (size_t q = 0; q < cfg->n_queues && rc == 0; q++)
        for (size_t r = 0; r < cfg->queues[q].n_resources && rc == 0; r++) {
            const struct config_compute_resource *res = &cfg->queues[q].resources[r];
            bool seen = strcmp(res->instance_type, cfg->master_instance_type) == 0;
            for (size_t pq = 0; pq <= q && !seen; pq++)
                for (size_t pr = 0; pr < cfg->queues[pq].n_resources && !seen; pr++) {
                    if (pq == q && pr == r)
                        break;
                    seen = strcmp(cfg->queues[pq].resources[pr].instance_type,
                                  res->instance_type) == 0;
                }
            if (!seen)
                rc = check_one_type(c,
                                    cfg->queue_settings_used ? "instance_type"
                                                             : "compute_instance_type",
                                    res->instance_type, res->instance_type_line, err, errlen);
        }
    return rc;
}

int cloudcheck_config(struct aws_client *c, const struct cluster_config *cfg,
                      struct cloudcheck_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int rc = check_key_pair(c, cfg, err, errlen);
    if (rc == 0)
        rc = check_network(c, cfg, err, errlen);
    if (rc == 0)
        rc = check_security_groups(c, cfg, err, errlen);
    if (rc == 0)
        rc = check_instance_types(c, cfg, err, errlen);
    if (rc == 0)
        rc = check_image(c, cfg, out, err, errlen);
    return rc;
}
