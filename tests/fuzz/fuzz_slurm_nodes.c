/* libFuzzer harness: slurm_parse_nodes (and slurm_parse_errors, which every
 * answer goes through) on arbitrary bytes. Seeds: real answers of Slurm
 * 22.05 and 24.11 in tests/fuzz/corpus/fuzz_slurm_nodes/. */
#include <stddef.h>
#include <stdint.h>

#include "slurm/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    char msg[256];
    int number;
    (void)slurm_parse_errors(buf, size, &number, msg, sizeof msg);
    struct slurmrest_node_list *l = NULL;
    if (slurm_parse_nodes(buf, size, &l, msg, sizeof msg) == 0) {
        for (size_t i = 0; i < l->count; i++)
            (void)slurmrest_node_has_flag(&l->nodes[i], "CLOUD");
        (void)slurmrest_node_find(l, "n1");
        slurmrest_node_list_release(l);
    }
    return 0;
}
