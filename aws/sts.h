/* STS GetCallerIdentity: who the credentials belong to (the account id
 * names and guards the state bucket). */
#ifndef PCFS_AWS_STS_H
#define PCFS_AWS_STS_H
#include "aws/client.h"
#include "aws/error.h"

struct aws_identity {
    char account[32];
    char arn[512];
    char user_id[256];
};
int aws_sts_get_caller_identity(struct aws_client *c, struct aws_identity *out, struct aws_error *err);
/* Parser (exposed for tests and fuzzers); 0 or -EPROTO. */
int aws_sts_parse_identity(const char *xml, size_t len, struct aws_identity *out);
#endif
