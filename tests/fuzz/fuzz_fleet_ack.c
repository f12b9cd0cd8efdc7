/* libFuzzer harness for the head's fleet acknowledgement (fs/model/fleet_ack.c):
 * the head writes it, so it is untrusted; whatever it holds, parsing stays in
 * bounds and what it keeps is what the parser promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/fleet_ack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fleet_ack a;
    char msg[256];
    if (fleet_ack_parse((const char *)data, size, &a, msg, sizeof(msg)) == 0) {
        if (a.generation < 1 || strlen(a.spec_id) != 64 || !a.instance_id[0] || !a.cluster[0])
            abort();
        if (strspn(a.spec_id, "0123456789abcdef") != 64)
            abort();
        for (const char *p = a.instance_id; *p; p++)
            if ((unsigned char)*p < 0x20)
                abort();
    } else if (a.generation != 0 || a.spec_id[0]) {
        abort();
    }
    return 0;
}
