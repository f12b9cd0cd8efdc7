/* Node state word derivation; see state.h. The order of the tests follows
 * Slurm's node_state_string(): the first matching rule wins. */
#include "slurm/state.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const base_states[] = {
    "UNKNOWN", "DOWN", "IDLE", "ALLOCATED", "ERROR", "MIXED", "FUTURE",
};

bool slurm_state_is_base(const char *word)
{
    for (size_t i = 0; i < sizeof base_states / sizeof *base_states; i++)
        if (strcasecmp(word, base_states[i]) == 0)
            return true;
    return false;
}

static bool has(const char *const *flags, size_t n, const char *flag)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(flags[i], flag) == 0)
            return true;
    return false;
}

static void put(char *out, size_t outlen, const char *word)
{
    snprintf(out, outlen, "%s", word);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

static const char *word(const char *base, const char *const *flags,
                        size_t nflags)
{
#define F(name) has(flags, nflags, name)
    bool alloc = strcasecmp(base, "ALLOCATED") == 0;
    bool mixed = strcasecmp(base, "MIXED") == 0;
    bool down = strcasecmp(base, "DOWN") == 0;
    bool idle = strcasecmp(base, "IDLE") == 0;
    bool comp = F("COMPLETING");
    bool drain = F("DRAIN");

    if (F("INVALID_REG"))
        return ("inval");
    if (F("MAINTENANCE") && !(drain || alloc || down || mixed))
        return ("maint");
    if ((F("REBOOT_REQUESTED") || F("REBOOT_ISSUED")) && !(alloc || mixed))
        return ("reboot");
    if (drain)
        return (comp || alloc || mixed ? "draining" : "drained");
    if (F("FAIL"))
        return (comp || alloc ? "failing" : "fail");
    if (down)
        return ("down");
    if (alloc)
        return ("allocated");
    if (comp)
        return ("completing");
    if (idle) {
        if (F("MAINTENANCE") || F("REBOOT_ISSUED") || F("REBOOT_REQUESTED"))
            return ("idle");
        if (F("POWERING_UP"))
            return ("powering_up");
        if (F("POWERING_DOWN"))
            return ("powering_down");
        if (F("POWERED_DOWN"))
            return ("powered_down");
        if (F("POWER_DOWN"))
            return ("power_down");
        if (F("NOT_RESPONDING"))
            return ("idle");
        if (F("PERFCTRS"))
            return ("perfctrs");
        if (F("RESERVED"))
            return ("reserved");
        if (F("PLANNED"))
            return ("planned");
        return ("idle");
    }
    if (mixed || strcasecmp(base, "FUTURE") == 0 ||
        strcasecmp(base, "ERROR") == 0)
        return (base);
    if (F("RESUME"))
        return ("resume");
    if (strcasecmp(base, "UNKNOWN") == 0)
        return ("unknown");
    return ("unknown");
#undef F
}

void slurm_state_word(const char *base, const char *const *flags,
                      size_t nflags, char *out, size_t outlen)
{
    put(out, outlen, word(base, flags, nflags));
}
