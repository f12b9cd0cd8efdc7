/* An in-memory cloud behind the controller's seam (cloud.h), for unit
 * tests: a state bucket in memory (fs/store/bucket_mem.h: a store_s3 made
 * on cl->objects shares it with the controller), EC2
 * instances with tags and client tokens (a token run again fails with
 * IdempotentParameterMismatch, as EC2 does when the parameters differ, and
 * new presigned URLs make them differ), a config check that passes, and a
 * Slurm that lists what the test registers. Tests steer it: crash points
 * around RunInstances, refusals, the passing of time, instances settling.
 * A test double: it aborts on allocation failure (aws/util.h's aws_x*). */
#ifndef PCFS_CLOUD_MEM_H
#define PCFS_CLOUD_MEM_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "fs/control/cloud.h"

int cloud_mem_init(struct cloud *cl, const char *bucket);
void cloud_mem_destroy(struct cloud *cl);

/* What the next RunInstances meets. */
enum cloud_mem_run {
    CLOUD_MEM_RUN_OK,
    CLOUD_MEM_RUN_LOST,      /* the request never reached EC2: no answer, nothing launched */
    CLOUD_MEM_RUN_ANSWER_LOST, /* EC2 launched, the answer was lost (a timeout) */
    CLOUD_MEM_RUN_REFUSED,   /* EC2 answers HTTP 400 with `code` */
};
void cloud_mem_next_run(struct cloud *cl, enum cloud_mem_run what, const char *code);
void cloud_mem_set_now(struct cloud *cl, time_t now);  /* launch times */
/* The next n DescribeInstances show nothing (EC2's eventual consistency). */
void cloud_mem_hide(struct cloud *cl, int n);
/* The next n DescribeInstances fail (EC2 does not answer). */
void cloud_mem_ec2_down(struct cloud *cl, int n);
/* The next n TerminateInstances are refused (UnauthorizedOperation). */
void cloud_mem_terminate_fails(struct cloud *cl, int n);
void cloud_mem_settle(struct cloud *cl);               /* pending -> running, shutting-down -> terminated */
/* Live (pending or running) instances of node, and the id of the last. */
size_t cloud_mem_live(struct cloud *cl, const char *node, const char **id);
size_t cloud_mem_runs(struct cloud *cl);               /* RunInstances that launched */
const char *cloud_mem_tag(struct cloud *cl, const char *id, const char *key);

/* Objects: the bytes of key (NULL if absent), and every key under prefix. */
const char *cloud_mem_object(struct cloud *cl, const char *key, size_t *len);
size_t cloud_mem_keys(struct cloud *cl, const char *prefix, const char **keys, size_t max);
void cloud_mem_etag(struct cloud *cl, const char *key, char *etag, size_t len);

/* Slurm: whether it answers, and the nodes it lists. */
void cloud_mem_slurm_up(struct cloud *cl, bool up);
void cloud_mem_slurm_add(struct cloud *cl, const char *node);
bool cloud_mem_slurm_has(struct cloud *cl, const char *node);

/* IAM (cloud_mem_iam.c): roles and instance profiles there are, a role's
 * inline policy document (NULL if none), an attached policy, the role in a
 * profile (NULL if none or no profile). */
size_t cloud_mem_iam_roles(struct cloud *cl);
size_t cloud_mem_iam_profiles(struct cloud *cl);
const char *cloud_mem_iam_profile_role(struct cloud *cl, const char *profile);
const char *cloud_mem_iam_policy(struct cloud *cl, const char *role, const char *policy);
bool cloud_mem_iam_attached(struct cloud *cl, const char *role, const char *arn);
/* The next `runs` RunInstances naming a profile answer that EC2 does not
 * see it yet (IAM's propagation). */
void cloud_mem_iam_lag(struct cloud *cl, int runs);
unsigned long cloud_mem_iam_calls(struct cloud *cl); /* IAM requests so far */
/* The instance profile an instance was launched with ("" if none). */
const char *cloud_mem_profile_of(struct cloud *cl, const char *id);
/* The security groups an instance was launched with, ","-joined ("" if
 * none, NULL if no such instance); the groups themselves are there through
 * the cloud_sg_* calls (cloud_mem_sg.c). */
const char *cloud_mem_groups_of(struct cloud *cl, const char *id);

#endif
