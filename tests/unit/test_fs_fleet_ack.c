/* The head's acknowledgement of the fleet spec (fs/model/fleet_ack.c): what
 * counts, and untrusted input that does not. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/model/fleet_ack.h"
#include "tests/unit/check.h"

#define SPEC "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *text, struct fleet_ack *a, char *msg, size_t msglen)
{
    return fleet_ack_parse(text, strlen(text), a, msg, msglen);
}

static void good(void)
{
    struct fleet_ack a;
    char msg[256];
    CHECK_INT(parse("{\"format\":1,\"cluster\":\"lab3\",\"instance_id\":\"i-0123456789abcdef0\","
                    "\"generation\":3,\"specId\":\"" SPEC "\",\"appliedAt\":\"x\"}",
                    &a, msg, sizeof(msg)),
              0);
    CHECK_STR(a.cluster, "lab3");
    CHECK_STR(a.instance_id, "i-0123456789abcdef0");
    CHECK_INT(a.generation, 3);
    CHECK_STR(a.spec_id, SPEC);
}

static void bad(void)
{
    static const char *const cases[] = {
        "",
        "[]",
        "{\"format\":2,\"cluster\":\"c\",\"instance_id\":\"i-1\",\"generation\":1,\"specId\":\"" SPEC "\"}",
        "{\"format\":1,\"cluster\":\"c\",\"instance_id\":\"i-1\",\"generation\":0,\"specId\":\"" SPEC "\"}",
        "{\"format\":1,\"cluster\":\"c\",\"instance_id\":\"i-1\",\"generation\":\"1\",\"specId\":\"" SPEC "\"}",
        "{\"format\":1,\"cluster\":\"c\",\"instance_id\":\"i-1\\n\",\"generation\":1,\"specId\":\"" SPEC "\"}",
        "{\"format\":1,\"cluster\":\"c/d\",\"instance_id\":\"i-1\",\"generation\":1,\"specId\":\"" SPEC "\"}",
        "{\"format\":1,\"cluster\":\"c\",\"instance_id\":\"i-1\",\"generation\":1,\"specId\":\"abc\"}",
        "{\"format\":1,\"cluster\":\"c\",\"instance_id\":\"i-1\",\"generation\":1,\"specId\":\"" SPEC "\","
        "\"generation\":2}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fleet_ack a;
        char msg[256] = "";
        CHECK_INT(parse(cases[i], &a, msg, sizeof(msg)), -EPROTO);
        CHECK_CONTAINS(msg, "the head's fleet acknowledgement: ");
        CHECK_INT(a.generation, 0);
    }
}

int main(void)
{
    RUN(good);
    RUN(bad);
    return check_finish();
}
