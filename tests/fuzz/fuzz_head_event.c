/* libFuzzer harness for the head's events (fs/model/head_event.c): the
 * head writes them, so they are untrusted; whatever they hold, parsing
 * stays in bounds, always advances, and keeps only what it promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/head_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0, before = 0;
    struct head_event ev;
    int r;
    while ((r = head_event_next((const char *)data, size, &at, &ev)) >= 0) {
        if (at <= before && size > 0)
            abort(); /* no progress */
        before = at;
        if (r == 1) {
            if (strlen(ev.time) != 20 || !ev.message[0] ||
                strlen(ev.message) > HEAD_EVENT_MESSAGE_MAX)
                abort();
            for (const char *p = ev.message; *p; p++)
                if ((unsigned char)*p < 0x20)
                    abort();
        }
    }
    return 0;
}
