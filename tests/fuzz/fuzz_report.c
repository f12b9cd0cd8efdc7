/* libFuzzer harness for node bootstrap reports (fs/report.c): text from a
 * node is untrusted; whatever it holds, parsing stays in bounds and the kept
 * fields hold no control characters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct node_report r;
    if (report_parse((const char *)data, size, &r) == 0) {
        for (const char *p = r.step; *p; p++)
            if ((unsigned char)*p < 0x20)
                abort();
        for (const char *p = r.log; *p; p++)
            if ((unsigned char)*p < 0x20 && *p != '\n')
                abort();
        for (const char *p = r.instance; *p; p++)
            if ((unsigned char)*p < 0x20)
                abort();
        char tail[512];
        report_log_tail(&r, 5, tail, sizeof(tail));
        if (strchr(tail, '\n'))
            abort();
        char reason[600], why[256];
        report_failure_reason(&r, "head", reason, sizeof(reason));
        if (strchr(reason, '\n'))
            abort();
        /* After done, nothing but done counts, whatever the report says. */
        struct report_target finished = {.instance_id = r.instance, .attempt = r.attempt,
                                         .finished = true};
        if (report_judge(&r, &finished, why, sizeof(why)) != (strcmp(r.state, "done") == 0))
            abort();
    }
    report_free(&r);
    return 0;
}
