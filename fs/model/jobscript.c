/* Checks of batch scripts written into jobs/; see jobscript.h. */
#include "fs/model/jobscript.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fs/model/sanitize.h"

static int refuse(char *msg, size_t msglen, const char *fmt, unsigned line)
{
    snprintf(msg, msglen, fmt, line);
    return -EINVAL;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

/* Text as sbatch and a shell take it: UTF-8, UNIX line breaks, no NUL. */
static int check_text(const char *data, size_t len, char *msg, size_t msglen)
{
    const unsigned char *s = (const unsigned char *)data;
    unsigned line = 1;
    for (size_t i = 0; i < len;) {
        if (s[i] == '\n') {
            line++, i++;
            continue;
        }
        if (s[i] == '\r')
            return refuse(msg, msglen,
                          "line %u ends with a DOS line break (\\r\\n), which sbatch refuses; "
                          "convert the script with dos2unix",
                          line);
        if (s[i] < 0x20 && !blank((char)s[i]) && s[i] != 0x1b)
            return refuse(msg, msglen,
                          "line %u holds a control character: a batch script is text", line);
        size_t n = utf8_char_len(s + i, len - i);
        if (n == 0)
            return refuse(msg, msglen,
                          "line %u is not UTF-8 text: a batch script is text, not binary", line);
        i += n;
    }
    return 0;
}

/* The line at data[at], without its '\n': its length. */
static size_t line_len(const char *data, size_t len, size_t at)
{
    const char *nl = memchr(data + at, '\n', len - at);
    return nl ? (size_t)(nl - (data + at)) : len - at;
}

static int read_shebang(const char *line, size_t n, struct jobscript_info *out, char *msg,
                        size_t msglen)
{
    if (n < 2 || line[0] != '#' || line[1] != '!')
        return refuse(msg, msglen,
                      "line %u: the first line must be #! and an interpreter (#!/bin/bash), "
                      "as sbatch requires",
                      1);
    size_t b = 2;
    while (b < n && blank(line[b]))
        b++;
    size_t e = b;
    while (e < n && !blank(line[e]))
        e++;
    if (e == b || line[b] != '/')
        return refuse(msg, msglen,
                      "line %u: #! must name the interpreter by its absolute path (#!/bin/bash)",
                      1);
    if (e - b > JOBSCRIPT_INTERPRETER_MAX)
        return refuse(msg, msglen, "line %u: the interpreter's path is too long", 1);
    memcpy(out->interpreter, line + b, e - b);
    out->interpreter[e - b] = '\0';
    return 0;
}

/* "--uid", "--gid" or an abbreviation getopt_long would take for them. */
static bool names_identity(const char *opt, size_t n)
{
    static const char *const refused[] = {"--uid", "--gid"};
    if (n < 4)
        return false;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (n <= strlen(refused[i]) && memcmp(opt, refused[i], n) == 0)
            return true;
    return false;
}

static int check_directive(const char *line, size_t n, unsigned lineno, char *msg, size_t msglen)
{
    for (size_t i = 0; i < n;) {
        while (i < n && blank(line[i]))
            i++;
        size_t b = i;
        while (i < n && !blank(line[i]) && line[i] != '=')
            i++;
        if (names_identity(line + b, i - b))
            return refuse(msg, msglen,
                          "line %u: #SBATCH --uid and --gid cannot be used: jobs run as the "
                          "cluster's default user",
                          lineno);
        while (i < n && !blank(line[i]))
            i++;
    }
    return 0;
}

/* Neither blank nor a comment: sbatch stops reading directives here. */
static bool is_command(const char *line, size_t n)
{
    size_t i = 0;
    while (i < n && blank(line[i]))
        i++;
    return i < n && line[i] != '#';
}

int jobscript_check(const char *data, size_t len, struct jobscript_info *out, char *msg,
                    size_t msglen)
{
    static const char magic[] = "#SBATCH";
    const size_t magic_len = sizeof(magic) - 1;
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return refuse(msg, msglen, "the script is empty: nothing to submit%.0u", 0);
    if (len > JOBSCRIPT_MAX_BYTES) {
        snprintf(msg, msglen, "the script is %zu bytes; the limit is %d", len,
                 JOBSCRIPT_MAX_BYTES);
        return -EINVAL;
    }
    int rc = check_text(data, len, msg, msglen);
    if (rc)
        return rc;
    bool commands_seen = false;
    unsigned lineno = 0;
    for (size_t at = 0; at < len;) {
        size_t n = line_len(data, len, at);
        const char *line = data + at;
        lineno++;
        if (lineno == 1) {
            rc = read_shebang(line, n, out, msg, msglen);
            if (rc)
                return rc;
        } else if (n >= magic_len && memcmp(line, magic, magic_len) == 0) {
            if (commands_seen) {
                if (out->ignored_directives++ == 0)
                    out->first_ignored_line = lineno;
            } else {
                rc = check_directive(line + magic_len, n - magic_len, lineno, msg, msglen);
                if (rc)
                    return rc;
                out->directives++;
            }
        } else if (is_command(line, n)) {
            commands_seen = true;
        }
        at += n + 1;
    }
    out->lines = lineno;
    return 0;
}
