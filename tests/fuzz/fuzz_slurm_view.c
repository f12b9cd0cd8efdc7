/* libFuzzer harness: slurm_view_parse and slurm_heartbeat_parse (the Slurm
 * view a head's agent publishes, and its heartbeat) on arbitrary bytes.
 * Seeds: views of Slurm 22.05's and 24.11's real answers, and heartbeats, in
 * tests/fuzz/corpus/fuzz_slurm_view/. */
#include <stddef.h>
#include <stdint.h>

#include "slurm/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    char msg[256];
    struct slurm_view v;
    if (slurm_view_parse(buf, size, &v, msg, sizeof msg) == 0)
        slurm_view_free(&v);
    struct slurm_heartbeat h;
    (void)slurm_heartbeat_parse(buf, size, &h, msg, sizeof msg);
    return 0;
}
