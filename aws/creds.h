/* The credential chain the AWS SDKs share, behind one thread-safe provider:
 *   1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN)
 *   2. the profile (explicit name, else AWS_PROFILE, else "default") in the
 *      shared credentials/config files: static keys, then credential_process
 *   3. IMDSv2 instance-role credentials (unless AWS_EC2_METADATA_DISABLED=true;
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT moves it; 1 s timeouts)
 * Expiring credentials are fetched again from the same source 5 minutes
 * before they expire. One provider serves every thread (a mutex guards it);
 * each caller gets its own copy of the credentials.
 * Also resolves the region: explicit, AWS_REGION, AWS_DEFAULT_REGION, profile. */
#ifndef PCFS_AWS_CREDS_H
#define PCFS_AWS_CREDS_H
#include <stddef.h>

#include "aws/error.h"
#include "aws/sigv4.h"

struct aws_creds_provider;

/* profile: NULL for AWS_PROFILE/"default". Nothing is fetched yet. */
struct aws_creds_provider *aws_creds_provider_new(const char *profile);
void aws_creds_provider_free(struct aws_creds_provider *p);

/* Fills *out with a copy of valid credentials (free with
 * aws_credentials_clear). Returns 0 or a negative errno with err saying
 * which sources were tried and why each failed (never a secret). */
int aws_creds_get(struct aws_creds_provider *p, struct aws_credentials *out, struct aws_error *err);

/* Where the current credentials came from: "environment", "profile <name>",
 * "credential_process (profile <name>)", "instance metadata", or "" before
 * the first aws_creds_get. The string stays valid until the next call. */
const char *aws_creds_source(struct aws_creds_provider *p, char *buf, size_t n);

/* Region: `explicit_region`, AWS_REGION, AWS_DEFAULT_REGION, then the
 * profile's `region`. Returns 0, or -ENOENT with a message saying where to
 * set it. */
int aws_resolve_region(const char *explicit_region, const char *profile, char *out, size_t n,
                       struct aws_error *err);
#endif
