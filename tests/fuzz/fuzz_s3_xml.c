/* The S3 ListObjectsV2 parser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "aws/s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aws_s3_objects o = {0};
    char *next = NULL;
    aws_s3_parse_list((const char *)data, size, &o, &next);
    aws_s3_objects_free(&o);
    free(next);
    return 0;
}
