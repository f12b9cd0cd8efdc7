/* The cloud-side checks of a config commit, as pcluster v2 made them
 * (DESIGN.md section 1): in the cluster's region the key pair, the VPC and
 * the subnets exist, the subnets belong to the VPC, and the AMI resolves:
 * custom_ami, else the newest ParallelCluster image owned by `amazon` for
 * base_os (never an image anyone else could name that way), and every
 * instance type (master_instance_type, compute_instance_type, each
 * [compute_resource] instance_type) is one the region offers, and the
 * security groups named (vpc_security_group_id, additional_sg) exist in
 * the VPC. A key pair
 * is checked only when key_name is set (it is optional since v2.11). */
#ifndef PCFS_CLOUDCHECK_H
#define PCFS_CLOUDCHECK_H
#include <stddef.h>

#include "aws/client.h"
#include "fs/config/config.h"

struct cloudcheck_result {
    char image_id[64]; /* the AMI the cluster's nodes boot */
};

/* 0; -EINVAL with a "config:LINE: ..." message when the config names
 * something the cloud does not have; -EIO (or the AWS layer's errno) when
 * the cloud could not be asked. c is a client of the cluster's region. */
int cloudcheck_config(struct aws_client *c, const struct cluster_config *cfg,
                      struct cloudcheck_result *out, char *err, size_t errlen);

/* The image name pattern of a base_os, e.g. aws-parallelcluster-*-amzn2-hvm-x86_64*. */
const char *cloudcheck_image_pattern(const char *base_os);

#endif
