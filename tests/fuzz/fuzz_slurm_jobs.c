/* libFuzzer harness: slurm_parse_jobs (and slurm_parse_errors, which every
 * answer goes through) on arbitrary bytes. Seeds: real answers of Slurm
 * 22.05 and 24.11 in tests/fuzz/corpus/fuzz_slurm_jobs/. */
#include <stddef.h>
#include <stdint.h>

#include "slurm/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    char msg[256];
    int number;
    (void)slurm_parse_errors(buf, size, &number, msg, sizeof msg);
    struct slurmrest_job_list *l = NULL;
    if (slurm_parse_jobs(buf, size, &l, msg, sizeof msg) == 0)
        slurmrest_job_list_free(l);
    return 0;
}
