/* Parsing of the head's answers for jobs/; see job_ack.h. */
#include "fs/model/job_ack.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fs/model/sanitize.h"

static int bad(struct job_ack *out, char *msg, size_t msglen, const char *why)
{
    memset(out, 0, sizeof(*out));
    snprintf(msg, msglen, "the head's answer for a job: %s", why);
    return -EPROTO;
}

static bool user_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 33 && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int job_ack_parse(const char *buf, size_t len, bool cancel, struct job_ack *out, char *msg,
                  size_t msglen)
{
    memset(out, 0, sizeof(*out));
    if (len > JOB_ACK_MAX_BYTES)
        return bad(out, msg, msglen, "too long");
    json_error_t jerr;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return bad(out, msg, msglen, "not JSON");
    json_t *format = json_object_get(doc, "format"), *id = json_object_get(doc, "job_id");
    const char *outcome = json_string_value(json_object_get(doc, "outcome"));
    const char *text = json_string_value(json_object_get(doc, "message"));
    const char *user = json_string_value(json_object_get(doc, "user"));
    const char *good = cancel ? "done" : "submitted";
    const char *why = NULL;
    bool ok = outcome && strcmp(outcome, good) == 0;
    bool has_id = json_is_integer(id) && json_integer_value(id) > 0;
    if (!json_is_integer(format) || json_integer_value(format) != JOB_ACK_FORMAT)
        why = "format is not 1";
    else if (!outcome || (!ok && strcmp(outcome, "failed") != 0))
        why = "outcome is neither of the two words";
    else if ((ok || cancel) && !has_id)
        why = "job_id is not a positive number";
    else if (user && *user && !user_name(user))
        why = "user is not a user name";
    if (why) {
        json_decref(doc);
        return bad(out, msg, msglen, why);
    }
    out->ok = ok;
    out->job_id = has_id ? (long long)json_integer_value(id) : 0;
    if (user)
        snprintf(out->user, sizeof(out->user), "%s", user);
    if (text)
        sanitize_text(text, strlen(text), out->message, sizeof(out->message), 0);
    json_decref(doc);
    return 0;
}
