/* State words from base state + flags, as sinfo %T shows them (with the
 * power suffixes of idle nodes spelt out). */
#include <string.h>

#include "slurm/state.h"
#include "tests/unit/check.h"

static const char *word(const char *base, const char *flags_csv)
{
    static char out[32];
    char buf[256];
    const char *flags[16];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", flags_csv);
    for (char *save, *t = strtok_r(buf, ",", &save); t && n < 16;
         t = strtok_r(NULL, ",", &save))
        flags[n++] = t;
    slurm_state_word(base, flags, n, out, sizeof out);
    return out;
}

static void test_plain(void)
{
    CHECK_STR(word("IDLE", ""), "idle");
    CHECK_STR(word("IDLE", "CLOUD"), "idle");
    CHECK_STR(word("idle", "CLOUD"), "idle");   /* v0.0.38 spells it so */
    CHECK_STR(word("ALLOCATED", "CLOUD"), "allocated");
    CHECK_STR(word("MIXED", "CLOUD"), "mixed");
    CHECK_STR(word("DOWN", "CLOUD,NOT_RESPONDING"), "down");
    CHECK_STR(word("FUTURE", ""), "future");
    CHECK_STR(word("UNKNOWN", ""), "unknown");
    CHECK_STR(word("ERROR", ""), "error");
}

static void test_drain(void)
{
    CHECK_STR(word("IDLE", "CLOUD,DRAIN"), "drained");
    CHECK_STR(word("MIXED", "DRAIN"), "draining");
    CHECK_STR(word("ALLOCATED", "DRAIN"), "draining");
    CHECK_STR(word("IDLE", "DRAIN,COMPLETING"), "draining");
    CHECK_STR(word("DOWN", "DRAIN"), "drained");
    CHECK_STR(word("IDLE", "CLOUD,DRAIN,POWERED_DOWN"), "drained");
}

static void test_power(void)
{
    CHECK_STR(word("IDLE", "CLOUD,POWERED_DOWN"), "powered_down");
    CHECK_STR(word("IDLE", "CLOUD,POWERING_UP"), "powering_up");
    CHECK_STR(word("IDLE", "CLOUD,POWERING_DOWN"), "powering_down");
    CHECK_STR(word("IDLE", "CLOUD,POWER_DOWN"), "power_down");
    CHECK_STR(word("DOWN", "CLOUD,POWERED_DOWN"), "down");
    CHECK_STR(word("MIXED", "CLOUD,POWERING_DOWN"), "mixed");
}

static void test_other_flags(void)
{
    CHECK_STR(word("IDLE", "COMPLETING"), "completing");
    CHECK_STR(word("ALLOCATED", "COMPLETING"), "allocated");
    CHECK_STR(word("IDLE", "FAIL"), "fail");
    CHECK_STR(word("ALLOCATED", "FAIL"), "failing");
    CHECK_STR(word("IDLE", "MAINTENANCE"), "maint");
    CHECK_STR(word("IDLE", "REBOOT_REQUESTED"), "reboot");
    CHECK_STR(word("MIXED", "REBOOT_REQUESTED"), "mixed");
    CHECK_STR(word("IDLE", "INVALID_REG"), "inval");
    CHECK_STR(word("IDLE", "RESERVED"), "reserved");
    CHECK_STR(word("IDLE", "PLANNED"), "planned");
    CHECK_STR(word("IDLE", "DYNAMIC_NORM"), "idle");
    CHECK_STR(word("IDLE", "NOT_RESPONDING"), "idle");
}

static void test_base_names(void)
{
    CHECK(slurm_state_is_base("IDLE"));
    CHECK(slurm_state_is_base("mixed"));
    CHECK(!slurm_state_is_base("CLOUD"));
    CHECK(!slurm_state_is_base("DRAIN"));
    CHECK(!slurm_state_is_base(""));
}

int main(void)
{
    RUN(test_plain);
    RUN(test_drain);
    RUN(test_power);
    RUN(test_other_flags);
    RUN(test_base_names);
    return check_finish();
}
