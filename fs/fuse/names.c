#include "fs/fuse/names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

void names_quote(const char *name, char *out, size_t outlen)
{
    enum { SHOWN = 60 };
    char buf[SHOWN * 4 + 8]; /* every byte shown takes at most 4 */
    size_t o = 0, i = 0;
    const unsigned char *p = (const unsigned char *)name;
    buf[o++] = '"';
    for (; p[i] && i < SHOWN; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\')
            o += (size_t)sprintf(buf + o, "\\%c", c);
        else if (c == '\n')
            o += (size_t)sprintf(buf + o, "\\n");
        else if (c == '\t')
            o += (size_t)sprintf(buf + o, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)sprintf(buf + o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    snprintf(buf + o, sizeof(buf) - o, "%s\"", p[i] ? "..." : "");
    snprintf(out, outlen, "%s", buf);
}

int names_check_cluster(const char *name, char *msg, size_t msglen)
{
    size_t len = strlen(name);
    char q[320];
    names_quote(name, q, sizeof(q));
    if (len > FILE_NAME_MAX) {
        snprintf(msg, msglen, "cluster name %s is %zu bytes; the limit is %d characters", q, len,
                 CLUSTER_NAME_MAX);
        return -ENAMETOOLONG;
    }
    if (len == 0 || len > CLUSTER_NAME_MAX) {
        snprintf(msg, msglen, "cluster name %s must be 1 to %d characters, not %zu", q,
                 CLUSTER_NAME_MAX, len);
        return -EINVAL;
    }
    if (!is_alpha((unsigned char)name[0])) {
        snprintf(msg, msglen, "cluster name %s must start with a letter", q);
        return -EINVAL;
    }
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!is_alpha(c) && !is_digit(c) && c != '-') {
            snprintf(msg, msglen,
                     "cluster name %s may hold only letters, digits and '-' (byte %zu is not one)",
                     q, i + 1);
            return -EINVAL;
        }
    }
    return 0;
}

/* Length of the UTF-8 sequence at s that encodes a printable character, or 0
 * if it is malformed or a control character (C0, DEL, C1). */
static size_t printable_utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x20 || c == 0x7f)
        return 0;
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned int cp;
    if ((c & 0xe0) == 0xc0) {
        n = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const unsigned int min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    if (cp >= 0x80 && cp <= 0x9f) /* C1 controls */
        return 0;
    return n;
}

int names_check_file(const char *name, char *msg, size_t msglen)
{
    size_t len = strlen(name);
    char q[320];
    names_quote(name, q, sizeof(q));
    if (len > FILE_NAME_MAX) {
        snprintf(msg, msglen, "file name %s is %zu bytes; the limit is %d", q, len,
                 FILE_NAME_MAX);
        return -ENAMETOOLONG;
    }
    if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        snprintf(msg, msglen, "%s is not a file name", q);
        return -EINVAL;
    }
    const unsigned char *p = (const unsigned char *)name;
    for (size_t i = 0; i < len;) {
        size_t n = printable_utf8_len(p + i);
        if (n == 0) {
            snprintf(msg, msglen,
                     "file name %s: byte %zu is a control character or not UTF-8; names must "
                     "be printable",
                     q, i + 1);
            return -EINVAL;
        }
        i += n;
    }
    return 0;
}

bool names_is_hook_scratch(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return false;
    if (name[0] == '.' || name[len - 1] == '~')
        return true;
    /* GNU sed -i writes its output to "sed" + 6 random characters. */
    return len == 9 && strncmp(name, "sed", 3) == 0;
}

bool names_is_cluster_entry(const char *name)
{
    static const char *const entries[] = {"config", "status", "status.json", "events", "nodes",
                                          "hooks"};
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
        if (strcmp(name, entries[i]) == 0)
            return true;
    return false;
}

int names_check_job(const char *name, char *msg, size_t msglen)
{
    static const char first[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
    char q[96];
    size_t n = strlen(name);
    names_quote(name, q, sizeof(q));
    if (n > FILE_NAME_MAX)
        return -ENAMETOOLONG;
    if (n == 0 || n > JOB_NAME_MAX || !strchr(first, name[0]) ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-") != n) {
        snprintf(msg, msglen,
                 "%s is no job name: use up to %d letters, digits, '_', '.', '+', '-', "
                 "starting with a letter, digit or '_'",
                 q, JOB_NAME_MAX);
        return -EINVAL;
    }
    if (strspn(name, "0123456789") == n) {
        snprintf(msg, msglen, "%s is all digits, the names of the jobs' directories; "
                 "name the script otherwise", q);
        return -EINVAL;
    }
    return 0;
}
