/* IMDSv2 instance-role credentials: PUT /latest/api/token, then GET the
 * role name and its credentials (JSON, parsed with jansson). Every request
 * has 1 s connect and total timeouts. Internal to the credential chain. */
#ifndef PCFS_AWS_IMDS_H
#define PCFS_AWS_IMDS_H
#include <stdbool.h>
#include <stddef.h>

#include "aws/error.h"
#include "aws/sigv4.h"

/* True unless AWS_EC2_METADATA_DISABLED is "true" (any case). */
bool aws_imds_enabled(void);
/* The endpoint: AWS_EC2_METADATA_SERVICE_ENDPOINT, else the IPv4 or IPv6
 * (AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6) link-local address. */
void aws_imds_endpoint(char *out, size_t n);
int aws_imds_fetch(struct aws_credentials *out, struct aws_error *err);
/* Parses the role-credentials JSON document (also used by credential_process,
 * whose keys differ: process=true wants SessionToken instead of Token). */
int aws_parse_credentials_json(const char *json, size_t len, int process,
                               struct aws_credentials *out, struct aws_error *err);
#endif
