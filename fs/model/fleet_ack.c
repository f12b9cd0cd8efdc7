#include "fs/model/fleet_ack.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int bad(struct fleet_ack *out, char *msg, size_t msglen, const char *why)
{
    memset(out, 0, sizeof(*out));
    snprintf(msg, msglen, "the head's fleet acknowledgement: %s", why);
    return -EPROTO;
}

/* Whether s has only characters of accept and fits len (with its NUL). */
static bool only(const char *s, const char *accept, size_t len)
{
    size_t n = strlen(s);
    return n > 0 && n < len && strspn(s, accept) == n;
}

int fleet_ack_parse(const char *buf, size_t len, struct fleet_ack *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return bad(out, msg, msglen, "not JSON");
    json_t *format = json_object_get(doc, "format"), *gen = json_object_get(doc, "generation");
    const char *cluster = json_string_value(json_object_get(doc, "cluster"));
    const char *id = json_string_value(json_object_get(doc, "instance_id"));
    const char *spec = json_string_value(json_object_get(doc, "specId"));
    const char *why = NULL;
    if (!json_is_integer(format) || json_integer_value(format) != FLEET_ACK_FORMAT)
        why = "format is not 1";
    else if (!json_is_integer(gen) || json_integer_value(gen) < 1 ||
             json_integer_value(gen) > 1000000000)
        why = "generation is not a positive number";
    else if (!cluster || !only(cluster, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-", sizeof(out->cluster)))
        why = "cluster is not a cluster name";
    else if (!id || !only(id, "i-0123456789abcdef", sizeof(out->instance_id)))
        why = "instance_id is not an instance id";
    else if (!spec || strlen(spec) != 64 || !only(spec, "0123456789abcdef", sizeof(out->spec_id)))
        why = "specId is not 64 hex digits";
    if (why) {
        json_decref(doc);
        return bad(out, msg, msglen, why);
    }
    snprintf(out->cluster, sizeof(out->cluster), "%s", cluster);
    snprintf(out->instance_id, sizeof(out->instance_id), "%s", id);
    snprintf(out->spec_id, sizeof(out->spec_id), "%s", spec);
    out->generation = (int)json_integer_value(gen);
    json_decref(doc);
    return 0;
}
