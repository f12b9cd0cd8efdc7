/* libFuzzer harness for nodes/<n>/ctl commands (fs/model/nodectl.c): text a
 * user writes is untrusted; whatever it holds, parsing stays in bounds, a
 * refusal says why, and an accepted drain's reason is non-empty printable
 * UTF-8 without control characters, within its limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/nodectl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nodectl_cmd c;
    char msg[256];
    msg[0] = '\0';
    int rc = nodectl_parse((const char *)data, size, &c, msg, sizeof(msg));
    if (rc != 0) {
        if (!msg[0])
            abort();
        for (const char *p = msg; *p; p++)
            if ((unsigned char)*p < 0x20)
                abort();
        return 0;
    }
    if (size > NODECTL_MAX_BYTES)
        abort();
    size_t n = strlen(c.reason);
    if (n > NODECTL_REASON_MAX || (c.verb == NODECTL_DRAIN) != (n > 0))
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)c.reason[i] < 0x20 || c.reason[i] == 0x7f)
            abort();
    return 0;
}
