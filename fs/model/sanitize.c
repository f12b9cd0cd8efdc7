#include "fs/model/sanitize.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Length of the escape sequence starting at s[0] == ESC. */
static size_t escape_len(const unsigned char *s, size_t len)
{
    if (len < 2)
        return len;
    size_t i = 2;
    if (s[1] == '[') { /* CSI: parameters, then a final byte 0x40..0x7e */
        while (i < len && !(s[i] >= 0x40 && s[i] <= 0x7e))
            i++;
        return i < len ? i + 1 : len;
    }
    if (s[1] == ']' || s[1] == 'P' || s[1] == '_' || s[1] == '^') { /* OSC/DCS/APC/PM: to BEL or ST */
        while (i < len) {
            if (s[i] == 0x07)
                return i + 1;
            if (s[i] == 0x1b && i + 1 < len && s[i + 1] == '\\')
                return i + 2;
            i++;
        }
        return len;
    }
    return 2; /* two-byte escape such as ESC c */
}

size_t utf8_char_len(const unsigned char *s, size_t len)
{
    size_t n;
    unsigned int cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const unsigned int least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

size_t utf8_prefix_len(const char *src, size_t len, size_t max)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_char_len(s + i, len - i);
        if (n == 0)
            n = 1; /* an invalid byte is a character of its own */
        if (i + n > max)
            break;
        i += n;
    }
    return i;
}

size_t utf8_suffix_start(const char *src, size_t len, size_t max)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t start = len > max ? len - max : 0;
    /* a character that begins before start is left out whole */
    for (int k = 0; k < 3 && start < len && (s[start] & 0xc0) == 0x80; k++)
        start++;
    return start;
}

char *sanitize_dup(const char *src, int keep_newlines)
{
    size_t len = src ? strlen(src) : 0;
    char *out = malloc(len + 1);
    if (out)
        sanitize_text(src ? src : "", len, out, len + 1, keep_newlines);
    return out;
}

size_t sanitize_text(const char *src, size_t len, char *dst, size_t dstlen, int keep_newlines)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    if (dstlen == 0)
        return 0;
    for (size_t i = 0; i < len && o + 1 < dstlen;) {
        unsigned char c = s[i];
        if (c == 0x1b) {
            i += escape_len(s + i, len - i);
        } else if (c == '\n' && keep_newlines) {
            dst[o++] = '\n';
            i++;
        } else if (c == '\t') {
            dst[o++] = ' ';
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            i++;
        } else if (c == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] < 0xa0) {
            i += 2; /* C1 controls (U+0080..U+009F) are terminal controls too */
        } else if (c < 0x80) {
            dst[o++] = (char)c;
            i++;
        } else {
            size_t n = utf8_char_len(s + i, len - i);
            if (n == 0) {
                dst[o++] = '?';
                i++;
            } else if (o + n < dstlen) {
                for (size_t k = 0; k < n; k++)
                    dst[o++] = (char)s[i + k];
                i += n;
            } else {
                break;
            }
        }
    }
    dst[o] = '\0';
    return o;
}
