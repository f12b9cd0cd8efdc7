/* Telling the head's acks of node commands; see nodectl_acks.h. */
#include "fs/control/nodectl_acks.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/act.h"
#include "fs/store/events.h"
#include "fs/store/layout.h"

static const char *field(json_t *doc, const char *name)
{
    const char *s = json_string_value(json_object_get(doc, name));
    return s ? s : "";
}

/* One ack: told, then gone with its command. */
static void tell_one(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                     const char *rest, const char *node, const char *id)
{
    char *key = layout_rest_key(dc->name, rest);
    char *cmd_key = layout_nodectl_key(dc->name, node, id);
    char err[512];
    char *data = NULL;
    size_t len = 0;
    int r = key && cmd_key ? cloud_get(rc->cloud, key, &data, &len, NULL, 0, err, sizeof(err))
                           : -ENOMEM;
    if (r == -ENOENT || r == -ENOMEM) /* another mount told it and removed it */
        goto out;
    if (r) {
        fprintf(stderr, "pclusterfs: %s: reading the head's ack %s: %s\n", dc->name, rest, err);
        goto out;
    }
    json_error_t jerr;
    json_t *doc = len <= NODECTL_ACK_MAX ? json_loadb(data, len, 0, &jerr) : NULL;
    const char *outcome = field(doc, "outcome"), *command = field(doc, "command");
    if (!doc || !json_is_object(doc) || !*outcome || !*command) {
        events_append(rc->store, dc->name, "error",
                      "nodes/%s/ctl: the head's acknowledgement of %s cannot be read", node, id);
    } else {
        bool ok = strcmp(outcome, "done") == 0;
        const char *msg = field(doc, "message");
        events_append(rc->store, dc->name, ok ? "info" : "error",
                      "nodes/%s/ctl: %s (%s) %s by the head%s%s", node, command, id,
                      ok ? "carried out" : "failed", *msg ? ": " : "", msg);
        if (ok && strcmp(command, "replace") == 0)
            act_forgive_relaunch(rc, dc, node);
    }
    json_decref(doc);
    /* The command first: an ack left without it is told again at worst,
     * a command left without its ack is never carried out twice (the
     * agent remembers it). */
    if (cloud_delete(rc->cloud, cmd_key, err, sizeof(err)) != 0 ||
        cloud_delete(rc->cloud, key, err, sizeof(err)) != 0)
        fprintf(stderr, "pclusterfs: %s: removing a told ack: %s\n", dc->name, err);
out:
    free(data);
    free(key);
    free(cmd_key);
}

void nodectl_acks_tell(struct reconcile_ctx *rc, const struct desired_cluster *dc)
{
    char node[256], id[128];
    for (size_t i = 0; i < dc->n_objects; i++) {
        const char *rest = dc->objects[i].rest;
        if (layout_nodectl_ack_of(rest, node, sizeof(node), id, sizeof(id)))
            tell_one(rc, dc, rest, node, id);
    }
}
