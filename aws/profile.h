/* Shared config/credentials files as the AWS CLI and SDKs read them:
 * ~/.aws/credentials ([name]) and ~/.aws/config ([profile name], [default]),
 * moved by AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE. Parsed with
 * inih. Debian's inih cuts lines at 199 bytes, and session tokens are much
 * longer, so our line reader hands inih a placeholder for a long value and
 * the handler puts the full value back. */
#ifndef PCFS_AWS_PROFILE_H
#define PCFS_AWS_PROFILE_H
#include <stdbool.h>

#include "aws/error.h"

/* One profile's settings (NULL = not set); credentials file wins over config. */
struct aws_profile {
    char *name;
    char *aws_access_key_id;
    char *aws_secret_access_key;
    char *aws_session_token;
    char *region;
    char *credential_process;
    char *role_arn;         /* noted only to explain that assume-role is not supported */
    char *sso_start_url;    /* same */
    bool found;
};

/* The profile name in effect: `explicit_name`, else AWS_PROFILE, else "default". */
const char *aws_profile_name(const char *explicit_name);
/* Loads profile `name` from both files. Returns 0 (p->found says whether any
 * file had it), or a negative errno when a file exists but cannot be parsed. */
int aws_profile_load(const char *name, struct aws_profile *p, struct aws_error *err);
void aws_profile_free(struct aws_profile *p);
#endif
