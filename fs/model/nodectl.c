/* Parsing of nodes/<n>/ctl commands; see nodectl.h. */
#include "fs/model/nodectl.h"
#include "fs/model/sanitize.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const verbs[] = {
    [NODECTL_DRAIN] = "drain", [NODECTL_RESUME] = "resume", [NODECTL_REPLACE] = "replace"};

const char *nodectl_verb_name(enum nodectl_verb v)
{
    return v >= NODECTL_DRAIN && v <= NODECTL_REPLACE ? verbs[v] : "?";
}

#define ACCEPTED "write one of: drain <reason>, resume, replace"

/* The length of the UTF-8 character at s, 0 if invalid or a C1 control
 * (U+0080..U+009F), which is binary in a command as C0 controls are. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    size_t len = utf8_char_len(s, n);
    return len == 2 && s[0] == 0xc2 && s[1] <= 0x9f ? 0 : len;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static int refuse(char *msg, size_t msglen, const char *why)
{
    snprintf(msg, msglen, "%s; " ACCEPTED, why);
    return -EINVAL;
}

int nodectl_parse(const char *data, size_t len, struct nodectl_cmd *out, char *msg,
                  size_t msglen)
{
    memset(out, 0, sizeof(*out));
    if (len > NODECTL_MAX_BYTES) {
        char why[96];
        snprintf(why, sizeof(why), "%zu bytes is too long for a command (the limit is %d)", len,
                 NODECTL_MAX_BYTES);
        return refuse(msg, msglen, why);
    }
    /* One line: a final "\n" (or "\r\n") goes, any other line break or
     * control character makes it binary or several commands. */
    if (len && data[len - 1] == '\n')
        len--;
    if (len && data[len - 1] == '\r')
        len--;
    const unsigned char *s = (const unsigned char *)data;
    for (size_t i = 0; i < len;) {
        if (s[i] == '\n' || s[i] == '\r')
            return refuse(msg, msglen, "one command per write, on one line");
        if (s[i] < 0x20 && s[i] != '\t')
            return refuse(msg, msglen, "binary data (a control character) is no command");
        if (s[i] == 0x7f)
            return refuse(msg, msglen, "binary data (a control character) is no command");
        size_t n = utf8_char(s + i, len - i);
        if (n == 0)
            return refuse(msg, msglen, "binary data (not UTF-8 text) is no command");
        i += n;
    }
    size_t b = 0, e = len;
    while (b < e && blank(data[b]))
        b++;
    while (e > b && blank(data[e - 1]))
        e--;
    if (b == e)
        return refuse(msg, msglen, "empty command");
    size_t w = b;
    while (w < e && !blank(data[w]))
        w++;
    size_t wlen = w - b;
    size_t a = w;
    while (a < e && blank(data[a]))
        a++;
    int verb = -1;
    for (int v = NODECTL_DRAIN; v <= NODECTL_REPLACE; v++)
        if (strlen(verbs[v]) == wlen && memcmp(data + b, verbs[v], wlen) == 0)
            verb = v;
    if (verb < 0) {
        char why[128];
        snprintf(why, sizeof(why), "unknown command \"%.*s\"%s",
                 wlen > 20 ? 20 : (int)wlen, data + b, wlen > 20 ? "..." : "");
        /* the word may be cut inside a character: say it plainly instead */
        for (size_t i = 0; i < wlen && i < 20; i++)
            if (s[b + i] >= 0x80 || s[b + i] == '"' || s[b + i] == '\\' || s[b + i] < 0x20) {
                snprintf(why, sizeof(why), "unknown command");
                break;
            }
        return refuse(msg, msglen, why);
    }
    out->verb = (enum nodectl_verb)verb;
    if (verb != NODECTL_DRAIN) {
        if (a < e) {
            char why[96];
            snprintf(why, sizeof(why), "%s takes no argument", verbs[verb]);
            return refuse(msg, msglen, why);
        }
        return 0;
    }
    if (a == e)
        return refuse(msg, msglen, "drain needs a reason (drain <reason>), Slurm keeps it");
    size_t rlen = e - a;
    if (rlen > NODECTL_REASON_MAX) {
        char why[96];
        snprintf(why, sizeof(why), "the reason is %zu bytes; the limit is %d", rlen,
                 NODECTL_REASON_MAX);
        return refuse(msg, msglen, why);
    }
    /* tabs inside the reason become spaces: Slurm shows it on one line */
    for (size_t i = 0; i < rlen; i++)
        out->reason[i] = data[a + i] == '\t' ? ' ' : data[a + i];
    out->reason[rlen] = '\0';
    return 0;
}
