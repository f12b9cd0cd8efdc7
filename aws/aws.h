/* The AWS layer's public surface in one include: credentials and region
 * (creds.h), the per-thread client (client.h), EC2 (ec2.h), IAM (iam.h), S3 (s3.h),
 * STS (sts.h), errors (error.h), the signer (sigv4.h), and the helpers fs/
 * shares: encodings and digests (encode.h), time stamps (timestamp.h). It
 * knows nothing of clusters or FUSE.
 *
 * Typical use: one aws_creds_provider for the process; each thread makes its
 * own aws_client with it, sets the region (and for S3 the expected bucket
 * owner from aws_sts_get_caller_identity), and calls the service functions. */
#ifndef PCFS_AWS_AWS_H
#define PCFS_AWS_AWS_H
#include "aws/client.h"
#include "aws/creds.h"
#include "aws/ec2.h"
#include "aws/encode.h"
#include "aws/iam.h"
#include "aws/error.h"
#include "aws/s3.h"
#include "aws/sigv4.h"
#include "aws/sts.h"
#include "aws/timestamp.h"
#endif
