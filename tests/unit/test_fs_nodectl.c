/* Unit tests of nodes/<n>/ctl command parsing (fs/model/nodectl.c): each
 * accepted form, and each refusal with its reason. */
#include <errno.h>

#include "fs/model/nodectl.h"
#include "tests/unit/check.h"

static int parse(const char *text, struct nodectl_cmd *c, char *msg, size_t msglen)
{
    return nodectl_parse(text, strlen(text), c, msg, msglen);
}

static void accepted(void)
{
    struct nodectl_cmd c;
    char msg[256];
    CHECK_INT(parse("drain maintenance\n", &c, msg, sizeof(msg)), 0);
    CHECK_INT(c.verb, NODECTL_DRAIN);
    CHECK_STR(c.reason, "maintenance");
    CHECK_INT(parse("  drain \t disk   is failing  \r\n", &c, msg, sizeof(msg)), 0);
    CHECK_STR(c.reason, "disk   is failing");
    CHECK_INT(parse("drain a\tb", &c, msg, sizeof(msg)), 0);
    CHECK_STR(c.reason, "a b");
    CHECK_INT(parse("drain caf\xc3\xa9 \"quoted\" $(x) reason=y", &c, msg, sizeof(msg)), 0);
    CHECK_STR(c.reason, "caf\xc3\xa9 \"quoted\" $(x) reason=y");
    CHECK_INT(parse("resume", &c, msg, sizeof(msg)), 0);
    CHECK_INT(c.verb, NODECTL_RESUME);
    CHECK_STR(c.reason, "");
    CHECK_INT(parse("replace\n", &c, msg, sizeof(msg)), 0);
    CHECK_INT(c.verb, NODECTL_REPLACE);
    CHECK_STR(nodectl_verb_name(NODECTL_REPLACE), "replace");
    char reason[NODECTL_REASON_MAX + 8] = "drain ";
    memset(reason + 6, 'r', NODECTL_REASON_MAX);
    reason[6 + NODECTL_REASON_MAX] = '\0';
    CHECK_INT(parse(reason, &c, msg, sizeof(msg)), 0);
    CHECK_INT((int)strlen(c.reason), NODECTL_REASON_MAX);
}

static void refused(void)
{
    struct nodectl_cmd c;
    char msg[256];
    CHECK_INT(parse("", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "empty");
    CHECK_CONTAINS(msg, "drain <reason>, resume, replace");
    CHECK_INT(parse(" \n", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "empty");
    CHECK_INT(parse("drain\n", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "needs a reason");
    CHECK_INT(parse("drain   ", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "needs a reason");
    CHECK_INT(parse("resume now", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "resume takes no argument");
    CHECK_INT(parse("replace it", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "replace takes no argument");
    CHECK_INT(parse("reboot", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "unknown command \"reboot\"");
    CHECK_INT(parse("DRAIN x", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_INT(parse("drain x\nresume", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "one command per write");
    CHECK_INT(parse("resume\n\n", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_INT(nodectl_parse("drain a\0b", 9, &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "binary");
    CHECK_INT(parse("drain \x1b[31mred", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "binary");
    CHECK_INT(parse("drain \xff\xfe", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "not UTF-8");
    CHECK_INT(parse("drain \xc2\x85", &c, msg, sizeof(msg)), -EINVAL); /* C1 NEL */
    CHECK_INT(parse("drain \xed\xa0\x80", &c, msg, sizeof(msg)), -EINVAL); /* a surrogate */
    CHECK_INT(parse("drain \xc0\xaf", &c, msg, sizeof(msg)), -EINVAL);     /* overlong */
    CHECK_INT(parse("\xc3\xa9t\xc3\xa9", &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "unknown command;");
    char big[NODECTL_MAX_BYTES + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_INT(parse(big, &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "too long");
    char reason[NODECTL_REASON_MAX + 9] = "drain ";
    memset(reason + 6, 'r', NODECTL_REASON_MAX + 1);
    reason[7 + NODECTL_REASON_MAX] = '\0';
    CHECK_INT(parse(reason, &c, msg, sizeof(msg)), -EINVAL);
    CHECK_CONTAINS(msg, "the reason is 257 bytes");
}

int main(void)
{
    RUN(accepted);
    RUN(refused);
    return check_finish();
}
