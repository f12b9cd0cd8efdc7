/* The AWS error-document parser (EC2, S3 and STS dialects) on arbitrary bytes. */
#include <stdint.h>

#include "aws/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aws_error e;
    aws_error_clear(&e);
    aws_parse_error_xml((const char *)data, size, &e);
    return 0;
}
