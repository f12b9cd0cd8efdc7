/* A cluster's IAM names and policy documents (fs/control/roles.c): names
 * fit IAM and never collide across clusters or buckets; the head's policy
 * says exactly what DESIGN.md section 4 lets the head do. The making and
 * removing over the cloud seam is tested in test_control_loop.c. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/roles.h"
#include "tests/unit/check.h"

static void names(void)
{
    char a[ROLES_NAME_MAX + 1], b[ROLES_NAME_MAX + 1], c[ROLES_NAME_MAX + 1];
    roles_name("bucket", "lab3", ROLES_HEAD, a);
    roles_name("bucket", "lab30", ROLES_HEAD, b);
    CHECK(strncmp(a, "pcfs-lab3-", 10) == 0);
    CHECK(strcmp(a, b) != 0);
    CHECK(strcmp(a + strlen(a) - 5, "-head") == 0);
    roles_name("other-bucket", "lab3", ROLES_HEAD, c);
    CHECK(strcmp(a, c) != 0);
    roles_name("bucket", "lab3", ROLES_COMPUTE, c);
    CHECK(strcmp(a, c) != 0);
    /* 60-character names (the longest a cluster has) that differ only at
     * the end still fit and still differ. */
    char long1[61], long2[61];
    memset(long1, 'x', 60);
    long1[60] = '\0';
    memcpy(long2, long1, 61);
    long2[59] = 'y';
    roles_name("bucket", long1, ROLES_COMPUTE, a);
    roles_name("bucket", long2, ROLES_COMPUTE, b);
    CHECK(strlen(a) <= 64 && strlen(b) <= 64);
    CHECK(strcmp(a, b) != 0);
    roles_name("bucket", long1, ROLES_COMPUTE, c);
    CHECK_STR(a, c); /* derived, the same every time */
}

static json_t *statement(json_t *doc, const char *sid)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(doc, "Statement"), i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "Sid")), sid) == 0)
            return s;
    }
    return NULL;
}

static void head_policy(void)
{
    struct cluster_config cfg = {.n_queues = 1};
    snprintf(cfg.compute_subnet_id, sizeof(cfg.compute_subnet_id), "subnet-1");
    snprintf(cfg.key_name, sizeof(cfg.key_name), "lab3key");
    cfg.queues[0].n_resources = 2;
    snprintf(cfg.queues[0].resources[0].instance_type, 40, "t2.micro");
    snprintf(cfg.queues[0].resources[1].instance_type, 40, "c5.large");
    struct roles_head_input in = {.bucket = "state", .cluster = "lab3", .region = "eu-west-1",
                                  .cfg = &cfg, .compute_role = "pcfs-lab3-x-compute"};
    char *text = roles_head_policy(&in);
    CHECK(text != NULL);
    json_error_t jerr;
    json_t *doc = text ? json_loads(text, 0, &jerr) : NULL;
    CHECK(doc != NULL);
    if (!doc) {
        free(text);
        return;
    }
    json_t *run = statement(doc, "RunOwnTaggedInstances");
    CHECK(run != NULL);
    char *cond = json_dumps(json_object_get(run, "Condition"), JSON_SORT_KEYS | JSON_COMPACT);
    CHECK_CONTAINS(cond, "\"aws:RequestTag/pclusterfs:cluster\":\"lab3\"");
    CHECK_CONTAINS(cond, "\"aws:RequestTag/pclusterfs:owner\":\"state\"");
    CHECK_CONTAINS(cond, "\"ec2:InstanceType\":[\"t2.micro\",\"c5.large\"]");
    CHECK_CONTAINS(cond, "ForAllValues:StringEquals");
    free(cond);
    CHECK_CONTAINS(text, "arn:aws:ec2:eu-west-1:*:subnet/subnet-1");
    CHECK_CONTAINS(text, "arn:aws:ec2:eu-west-1:*:key-pair/lab3key");
    cond = json_dumps(json_object_get(statement(doc, "TerminateOwnInstances"), "Condition"),
                      JSON_SORT_KEYS | JSON_COMPACT);
    CHECK_STR(cond, "{\"StringEquals\":{\"ec2:ResourceTag/pclusterfs:cluster\":\"lab3\","
                    "\"ec2:ResourceTag/pclusterfs:owner\":\"state\"}}");
    free(cond);
    cond = json_dumps(json_object_get(statement(doc, "TagOnlyAtLaunch"), "Condition"),
                      JSON_COMPACT);
    CHECK_STR(cond, "{\"StringEquals\":{\"ec2:CreateAction\":\"RunInstances\"}}");
    free(cond);
    CHECK_STR(json_string_value(json_object_get(statement(doc, "PassOnlyTheComputeRole"),
                                                "Resource")),
              "arn:aws:iam::*:role/pcfs-lab3-x-compute");
    /* The bucket: writes only under head/, never config or hooks. */
    size_t i;
    json_t *r;
    int writes = 0;
    json_array_foreach(json_object_get(statement(doc, "WriteOnlyHeadKeys"), "Resource"), i, r)
    {
        CHECK(strncmp(json_string_value(r), "arn:aws:s3:::state/clusters/lab3/head/", 38) == 0);
        writes++;
    }
    CHECK(writes > 0);
    char *reads = json_dumps(json_object_get(statement(doc, "ReadOwnCluster"), "Resource"), 0);
    CHECK_CONTAINS(reads, "arn:aws:s3:::state/clusters/lab3/config\"");
    CHECK_CONTAINS(reads, "arn:aws:s3:::state/clusters/lab3/hooks/pre/*");
    CHECK_CONTAINS(reads, "arn:aws:s3:::state/clusters/lab3/generated/*");
    CHECK_CONTAINS(reads, "arn:aws:s3:::state/clusters/lab3/ctl/*"); /* node commands */
    /* The fleet spec, exactly that key: not the folder it is in. */
    CHECK_CONTAINS(reads, "arn:aws:s3:::state/clusters/lab3/fleet/spec.json\"");
    CHECK(strstr(reads, "fleet/*") == NULL);
    /* the workstation's launch intents (presigned URLs) stay unread */
    CHECK(strstr(reads, "/lab3/launch/") == NULL && strstr(reads, "/lab3/*") == NULL);
    CHECK_CONTAINS(reads, "arn:aws:s3:::state/clusters/lab3/head/reports/*");
    free(reads);
    /* No IAM action but PassRole, no wildcard action but Describe. */
    json_t *s;
    json_array_foreach(json_object_get(doc, "Statement"), i, s)
    {
        char *actions = json_dumps(json_object_get(s, "Action"), JSON_ENCODE_ANY);
        CHECK(strstr(actions, "iam:") == NULL || strstr(actions, "iam:PassRole"));
        CHECK(strchr(actions, '*') == NULL || strstr(actions, "ec2:Describe*"));
        free(actions);
    }
    json_decref(doc);
    free(text);
    /* Without a compute role, nothing to pass. */
    in.compute_role = NULL;
    text = roles_head_policy(&in);
    CHECK(text && !strstr(text, "iam:PassRole"));
    free(text);
}

static void s3_policies(void)
{
    char *read = roles_s3_policy("arn:aws:s3:::some-bucket/*", true);
    CHECK_STR(read, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"S3Read\",\"Effect\":"
                    "\"Allow\",\"Action\":[\"s3:Get*\",\"s3:List*\"],\"Resource\":"
                    "[\"arn:aws:s3:::some-bucket/*\"]}]}");
    free(read);
    char *rw = roles_s3_policy("*", false);
    CHECK_CONTAINS(rw, "\"Action\":\"s3:*\",\"Resource\":[\"*\"]");
    free(rw);
}

int main(void)
{
    RUN(names);
    RUN(head_policy);
    RUN(s3_policies);
    return check_finish();
}
