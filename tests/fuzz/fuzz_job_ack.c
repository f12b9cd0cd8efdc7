/* libFuzzer harness for the head's answers for jobs/ (fs/model/job_ack.c):
 * the head writes them, so they are untrusted; whatever they hold, parsing
 * stays in bounds and what it keeps is what the parser promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/job_ack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int cancel = 0; cancel < 2; cancel++) {
        struct job_ack a;
        char msg[256];
        if (job_ack_parse((const char *)data, size, cancel, &a, msg, sizeof(msg)) == 0) {
            if ((a.ok || cancel) && a.job_id <= 0)
                abort();
            if (strlen(a.user) > 32 || strlen(a.message) >= sizeof(a.message))
                abort();
            for (const char *p = a.message; *p; p++)
                if ((unsigned char)*p < 0x20)
                    abort();
        } else if (a.ok || a.job_id || a.user[0] || a.message[0] || !msg[0]) {
            abort();
        }
    }
    return 0;
}
