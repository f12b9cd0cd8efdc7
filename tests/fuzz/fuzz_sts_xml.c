/* The STS GetCallerIdentity parser on arbitrary bytes. */
#include <stdint.h>

#include "aws/sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aws_identity id;
    aws_sts_parse_identity((const char *)data, size, &id);
    return 0;
}
