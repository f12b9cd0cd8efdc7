/* libFuzzer harness for the batch-script checks of jobs/
 * (fs/model/jobscript.c): a script is untrusted input; whatever it holds,
 * the check stays in bounds, a refusal says why in one printable line, and
 * an accepted script is within the limit, with an absolute interpreter and
 * counts that add up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/jobscript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jobscript_info info;
    char msg[256];
    msg[0] = '\0';
    int rc = jobscript_check((const char *)data, size, &info, msg, sizeof(msg));
    if (rc != 0) {
        if (!msg[0])
            abort();
        for (const char *p = msg; *p; p++)
            if ((unsigned char)*p < 0x20)
                abort();
        return 0;
    }
    if (size == 0 || size > JOBSCRIPT_MAX_BYTES || info.interpreter[0] != '/')
        abort();
    if (memchr(data, '\0', size) || memchr(data, '\r', size))
        abort();
    if (info.directives + info.ignored_directives >= info.lines + (info.lines == 0))
        abort();
    if ((info.ignored_directives == 0) != (info.first_ignored_line == 0))
        abort();
    return 0;
}
