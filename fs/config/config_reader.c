/* Line-counting reader for inih, and the handler that builds the document.
 * See fs/config_reader.h for what Debian's inih does and why each check is here. */
#include "fs/config/config_reader.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/model/sanitize.h"

enum line_kind { LINE_NONE, LINE_BLANK, LINE_SECTION, LINE_KEY, LINE_CONTINUATION };

struct reader {
    const char *text;
    size_t len, pos;
    int lineno;              /* the line last handed to inih */
    enum line_kind kind;     /* what that line is, as inih will see it */
    bool in_key;             /* inih's prev_name is set: indented lines continue it */
    char header[256];        /* the last section header's text between [ and ] */
    char **long_values;      /* values too long for inih, by stand-in index */
    size_t n_long, cap_long;
    struct config_doc *doc;
};

/* Length of the UTF-8 sequence at p (n bytes left), or 0 if invalid:
 * no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Check the bytes of one physical line (without its '\n'). */
static bool check_bytes(struct reader *r, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0') {
            config_error_set(&r->doc->error, r->lineno,
                             "NUL byte in the config; a config is text");
            return false;
        }
        if (c == '\r') {
            config_error_set(&r->doc->error, r->lineno,
                             "carriage return not followed by a line feed; use LF or CRLF "
                             "line ends");
            return false;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            config_error_set(&r->doc->error, r->lineno,
                             "control character 0x%02x in the config; only tabs and printable "
                             "text are allowed",
                             c);
            return false;
        }
        size_t l = utf8_len((const unsigned char *)s + i, n - i);
        if (l == 0) {
            config_error_set(&r->doc->error, r->lineno,
                             "byte 0x%02x is not UTF-8 text; save the config as UTF-8", c);
            return false;
        }
        i += l;
    }
    return true;
}

/* Where the comment of a line starts (v2's configparser rule), or n. */
static size_t comment_start(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n && (s[i] == '#' || s[i] == ';'))
        return 0;
    for (; i < n; i++)
        if ((s[i] == '#' || s[i] == ';') && (s[i - 1] == ' ' || s[i - 1] == '\t'))
            return i;
    return n;
}

/* Does this line name a credential key? Such a line is never quoted in a
 * message: it may hold a secret, and messages go to events and the bucket. */
static bool names_credential(const char *s)
{
    /* v2's credential keys, and the words that name any other secret */
    static const char *const keys[] = { "aws_access_key_id", "aws_secret_access_key",
                                        "aws_session_token", "secret", "password", NULL };
    for (const char *const *k = keys; *k; k++)
        if (strcasestr(s, *k))
            return true;
    return false;
}

/* Classify the line as inih will (see ini_parse_stream in inih r55), and
 * catch what inih would let through silently or only report as a number. */
static bool classify(struct reader *r, const char *s)
{
    const char *t = s;
    while (*t == ' ' || *t == '\t')
        t++;
    if (!*t) {
        r->kind = LINE_BLANK;
        return true;
    }
    r->doc->meaningful_lines++;
    if (r->in_key && t > s) {
        r->kind = LINE_CONTINUATION;
        return true;
    }
    if (*t == '[') {
        const char *close = strchr(t + 1, ']');
        if (!close) {
            config_error_set(&r->doc->error, r->lineno,
                             "section header has no closing ']'; write [kind NAME]");
            return false;
        }
        for (const char *p = close + 1; *p; p++)
            if (*p != ' ' && *p != '\t') {
                config_error_set(&r->doc->error, r->lineno,
                                 "text after the section header's ']'; put one [section] alone "
                                 "on its line");
                return false;
            }
        size_t n = (size_t)(close - (t + 1));
        if (n >= sizeof(r->header)) {
            config_error_set(&r->doc->error, r->lineno,
                             "section header is %zu bytes long; write [kind NAME] with a NAME of "
                             "at most 30 characters",
                             n);
            return false;
        }
        memcpy(r->header, t + 1, n);
        r->header[n] = '\0';
        r->kind = LINE_SECTION;
        r->in_key = false;
        if (config_doc_begin_section(r->doc, r->header, r->lineno) != 0)
            return false;
        return true;
    }
    if (!strpbrk(t, "=:")) {
        if (names_credential(t)) {
            config_error_set(&r->doc->error, r->lineno,
                             "this line names a credential key but has no '=' (its text is not "
                             "shown, as it may hold a secret); credentials do not belong in a "
                             "config: remove the line");
        } else {
            size_t excerpt = utf8_prefix_len(t, strlen(t), 40);
            config_error_set(&r->doc->error, r->lineno,
                             "'%.*s%s' is not a [section], a key = value line, or a comment",
                             (int)excerpt, t, strlen(t) > excerpt ? "..." : "");
        }
        return false;
    }
    r->kind = LINE_KEY;
    r->in_key = true;
    return true;
}

/* Keep a value too long for inih's line buffer, and give inih a short
 * stand-in for it: LONG_VALUE_MARK and the value's index. The mark is a
 * control character, which check_bytes refuses in user text, so a stand-in
 * can never be mistaken for something written. */
#define LONG_VALUE_MARK '\x01'

static bool stash_long_value(struct reader *r, const char *value, char *token, size_t toklen)
{
    if (r->n_long == r->cap_long) {
        size_t cap = r->cap_long ? r->cap_long * 2 : 8;
        char **nv = realloc(r->long_values, cap * sizeof(*nv));
        if (!nv)
            return false;
        r->long_values = nv;
        r->cap_long = cap;
    }
    if (!(r->long_values[r->n_long] = strdup(value)))
        return false;
    snprintf(token, toklen, "%c%zu", LONG_VALUE_MARK, r->n_long);
    r->n_long++;
    return true;
}

/* The value inih handed back: the stashed one for a stand-in, else itself. */
static const char *restore_value(const struct reader *r, const char *value)
{
    if (value[0] != LONG_VALUE_MARK)
        return value;
    size_t i = (size_t)strtoul(value + 1, NULL, 10);
    return i < r->n_long ? r->long_values[i] : value;
}

/* Write into buf (size bytes) what inih reads for the line s, whose value
 * is too long for it: the key (or the indentation of a continuation) as
 * written, then a stand-in for the value. false with the error set when
 * even that does not fit (a key name, or a section header, that long). */
static bool shorten_line(struct reader *r, const char *s, char *buf, int size)
{
    const char *t = s;
    while (*t == ' ' || *t == '\t')
        t++;
    size_t head; /* bytes of s kept as written */
    if (r->kind == LINE_CONTINUATION)
        head = (size_t)(t - s);
    else if (r->kind == LINE_KEY)
        head = (size_t)(strpbrk(s, "=:") - s) + 1;
    else
        head = SIZE_MAX;
    const char *value = s + (head == SIZE_MAX ? 0 : head);
    while (*value == ' ' || *value == '\t')
        value++;
    char token[32];
    if (head == SIZE_MAX || head + 1 + sizeof(token) > (size_t)size) {
        config_error_set(&r->doc->error, r->lineno,
                         "line is %zu bytes long before its value; a key name may hold at most "
                         "%d bytes",
                         strlen(s), size - 40);
        return false;
    }
    if (!stash_long_value(r, value, token, sizeof(token))) {
        r->doc->oom = true;
        config_error_set(&r->doc->error, 0, "out of memory");
        return false;
    }
    memcpy(buf, s, head);
    snprintf(buf + head, (size_t)size - head, " %s", token);
    return true;
}

static char *reader_gets(char *buf, int size, void *stream)
{
    struct reader *r = stream;
    if (r->doc->error.set || r->pos >= r->len || size < 64)
        return NULL;
    const char *s = r->text + r->pos;
    const char *nl = memchr(s, '\n', r->len - r->pos);
    size_t n = nl ? (size_t)(nl - s) : r->len - r->pos;
    r->pos += n + (nl ? 1 : 0);
    r->lineno++;
    r->kind = LINE_NONE;

    if (n > 0 && s[n - 1] == '\r' && nl)
        n--;                                        /* CRLF */
    if (r->lineno == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3;                                     /* UTF-8 BOM */
        n -= 3;
    }
    if (!check_bytes(r, s, n))
        return NULL;
    size_t keep = comment_start(s, n);
    while (keep > 0 && (s[keep - 1] == ' ' || s[keep - 1] == '\t'))
        keep--;
    if (keep < (size_t)size) {
        memcpy(buf, s, keep);
        buf[keep] = '\0';
        return classify(r, buf) ? buf : NULL;
    }
    /* Longer than inih's buffer (Debian builds it with 200 bytes): the
     * config cap (64 KiB) bounds it, not inih. */
    char *line = strndup(s, keep);
    if (!line) {
        r->doc->oom = true;
        config_error_set(&r->doc->error, 0, "out of memory");
        return NULL;
    }
    bool ok = classify(r, line) && shorten_line(r, line, buf, size);
    free(line);
    return ok ? buf : NULL;
}

/* inih calls this for "key = value" lines and for continuation lines. */
static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct reader *r = user;
    value = restore_value(r, value);
    struct config_doc *doc = r->doc;
    /* inih keeps at most 49 bytes of a section name; compare that much. */
    if (strncmp(section, r->header, 49) != 0 && doc->current) {
        config_error_set(&doc->error, r->lineno,
                         "internal error: inih and the line reader disagree on the section");
#ifdef PCFS_FUZZING
        abort();
#endif
        return 0;
    }
    int rc;
    if (r->kind == LINE_CONTINUATION) {
        const struct config_section *s = doc->current;
        if (s && s->n_entries && strcasecmp(s->entries[s->n_entries - 1].key, name) != 0 &&
            strlen(name) < 49) {
            config_error_set(&doc->error, r->lineno,
                             "internal error: inih and the line reader disagree on the key");
#ifdef PCFS_FUZZING
            abort();
#endif
            return 0;
        }
        rc = config_doc_continue_entry(doc, value, r->lineno);
    } else if (r->kind == LINE_KEY) {
        rc = config_doc_add_entry(doc, name, value, r->lineno);
    } else {
        config_error_set(&doc->error, r->lineno,
                         "internal error: inih saw a key where the line reader saw none");
#ifdef PCFS_FUZZING
        abort();
#endif
        return 0;
    }
    return rc == 0;
}

int config_read_doc(const char *text, size_t len, struct config_doc *doc)
{
    struct reader r = { .text = text, .len = len, .doc = doc };
    int rc = ini_parse_stream(reader_gets, &r, handler, &r);
    for (size_t i = 0; i < r.n_long; i++)
        free(r.long_values[i]);
    free(r.long_values);
    if (doc->oom || rc == -2)
        return -ENOMEM;
    if (doc->error.set)
        return -EINVAL;
    if (rc != 0) {
        /* The reader refuses every line inih would; keep a message anyway. */
        config_error_set(&doc->error, rc > 0 ? rc : 0, "inih could not parse this line");
        return -EINVAL;
    }
    return 0;
}
