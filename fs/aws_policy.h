/* How long pclusterfs waits on AWS: one policy per kind of caller, named
 * here and nowhere else. Every aws_client fs/ makes comes from
 * aws_client_new_with(creds, region, &<policy>).
 *
 * Commits (PCFS_AWS_COMMIT): a user's write waits on these calls, and a
 * commit answers within 15 s (README) however the cloud behaves. Each
 * attempt connects within 3 s and ends within 10 s; the commit as a whole
 * has a deadline, PCFS_COMMIT_SECONDS after it takes the commit lock, that
 * cuts every call and retry short (aws_client_set_deadline; the store's
 * set_deadline), and showing the result gets what is left, at least
 * PCFS_PUBLISH_SECONDS_MIN. Made by: the commit's own client
 * (fs/control/commit.c), the store's per-thread S3 clients
 * (fs/store/store_s3.c, which commits share), and the mount's one identity
 * check (fs/store/backend.c: a user waits on the mount too).
 *
 * The controller (PCFS_AWS_CONTROLLER): nobody waits on a pass, but a pass
 * must end, so one stuck call cannot stall reconciling: each attempt
 * connects within 3 s and ends within 20 s. Made by: the controller's
 * per-region clients (fs/control/cloud.c), the bucket region's of which
 * also makes the IAM calls of a cluster's roles (IAM is global).
 *
 * Both keep the client's retries (AWS_MAX_ATTEMPTS, else 3; aws/client.h). */
#ifndef PCFS_AWS_POLICY_H
#define PCFS_AWS_POLICY_H
#include "aws/client.h"

#define PCFS_COMMIT_SECONDS 12
#define PCFS_PUBLISH_SECONDS_MIN 2

extern const struct aws_client_policy PCFS_AWS_COMMIT;
extern const struct aws_client_policy PCFS_AWS_CONTROLLER;
#endif
