/* Every EC2 response parser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "aws/ec2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *x = (const char *)data;
    char *next = NULL;
    struct aws_ec2_instances in = {0};
    aws_ec2_parse_instances(x, size, &in, &next);
    for (size_t i = 0; i < in.n; i++)
        (void)aws_ec2_instance_tag(&in.v[i], "Name");
    aws_ec2_instances_free(&in);
    free(next);
    struct aws_ec2_key_pairs kp = {0};
    aws_ec2_parse_key_pairs(x, size, &kp);
    aws_ec2_key_pairs_free(&kp);
    struct aws_ec2_vpcs v = {0};
    aws_ec2_parse_vpcs(x, size, &v);
    aws_ec2_vpcs_free(&v);
    struct aws_ec2_subnets s = {0};
    aws_ec2_parse_subnets(x, size, &s);
    aws_ec2_subnets_free(&s);
    struct aws_ec2_images im = {0};
    aws_ec2_parse_images(x, size, &im);
    aws_ec2_images_free(&im);
    struct aws_ec2_instance_types t = {0};
    next = NULL;
    aws_ec2_parse_instance_types(x, size, &t, &next);
    aws_ec2_instance_types_free(&t);
    free(next);
    struct aws_ec2_security_groups sg = {0};
    next = NULL;
    aws_ec2_parse_security_groups(x, size, &sg, &next);
    aws_ec2_security_groups_free(&sg);
    free(next);
    char id[32];
    aws_ec2_parse_create_security_group(x, size, id, sizeof id);
    return 0;
}
