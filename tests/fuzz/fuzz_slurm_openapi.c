/* libFuzzer harness: slurm_parse_versions (API version discovery from an
 * OpenAPI document) on arbitrary bytes. Seeds: the paths of the documents
 * Slurm 22.05 and 24.11 serve, in tests/fuzz/corpus/fuzz_slurm_openapi/. */
#include <stddef.h>
#include <stdint.h>

#include "slurm/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[512];
    (void)slurm_parse_versions((const char *)data, size, 0, msg, sizeof msg);
    (void)slurm_parse_versions((const char *)data, size, 40, msg, sizeof msg);
    return 0;
}
