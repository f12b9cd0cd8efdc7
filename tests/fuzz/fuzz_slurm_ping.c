/* libFuzzer harness: slurm_parse_ping (and slurm_parse_errors, which every
 * answer goes through) on arbitrary bytes. Seeds: real answers of Slurm
 * 22.05 and 24.11 in tests/fuzz/corpus/fuzz_slurm_ping/. */
#include <stddef.h>
#include <stdint.h>

#include "slurm/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    char msg[256];
    int number;
    (void)slurm_parse_errors(buf, size, &number, msg, sizeof msg);
    struct slurmrest_ping p;
    (void)slurm_parse_ping(buf, size, &p, msg, sizeof msg);
    return 0;
}
