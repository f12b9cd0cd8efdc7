/* The credentials-JSON parser (IMDS role credentials and credential_process
 * output) on arbitrary bytes, in both modes. */
#include <stdint.h>

#include "aws/imds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aws_credentials c;
    struct aws_error e;
    for (int process = 0; process < 2; process++) {
        aws_error_clear(&e);
        if (aws_parse_credentials_json((const char *)data, size, process, &c, &e) == 0)
            aws_credentials_clear(&c);
    }
    return 0;
}
