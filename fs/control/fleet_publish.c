#include "fs/control/fleet_publish.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/cloudcheck.h"
#include "fs/control/fleetspec.h"
#include "fs/control/roles.h"
#include "fs/control/secgroups.h"
#include "fs/store/events.h"
#include "fs/store/layout.h"
#include "fs/store/objcache.h"

/* The image of the cluster's current generation: from the cache, else
 * from EC2 (then kept). false with err when EC2 cannot say. */
static bool image_of(struct reconcile_ctx *rc, struct act_target *t, char *image, size_t len,
                     char *err, size_t errlen)
{
    char memo[128], which[64];
    snprintf(memo, sizeof(memo), "fleet-image:%s", t->dc->name);
    snprintf(which, sizeof(which), "%lld/%d", (long long)t->dc->created_at, t->dc->generation);
    struct blob *kept = rc->objects ? objcache_lookup(rc->objects, memo, which) : NULL;
    if (kept) {
        snprintf(image, len, "%.*s", (int)kept->len, kept->data);
        blob_unref(kept);
        return true;
    }
    struct cloudcheck_result found;
    if (cloud_check_config(rc->cloud, t->region, t->cfg, &found, err, errlen) != 0)
        return false;
    snprintf(image, len, "%s", found.image_id);
    struct blob *b = rc->objects ? blob_new(image, strlen(image)) : NULL;
    if (b)
        objcache_keep(rc->objects, memo, which, b);
    blob_unref(b);
    return true;
}

/* The security groups a compute node launches with, as the workstation's
 * launches use them: from the cache, else from EC2 (then kept for this
 * generation). 0, or -ENOENT while they are not made yet (before the head's
 * launch makes them), or another errno with err. */
static int groups_of(struct reconcile_ctx *rc, struct act_target *t,
                      char ids[][SECGROUPS_ID_MAX], size_t *n, char *err, size_t errlen)
{
    char memo[128], which[64];
    snprintf(memo, sizeof(memo), "fleet-groups:%s", t->dc->name);
    snprintf(which, sizeof(which), "%lld/%d", (long long)t->dc->created_at, t->dc->generation);
    struct blob *kept = rc->objects ? objcache_lookup(rc->objects, memo, which) : NULL;
    *n = 0;
    if (kept) {
        for (size_t at = 0; at < kept->len && *n < SECGROUPS_LAUNCH_MAX;) {
            const char *end = memchr(kept->data + at, '\n', kept->len - at);
            size_t len = end ? (size_t)(end - (kept->data + at)) : kept->len - at;
            snprintf(ids[(*n)++], SECGROUPS_ID_MAX, "%.*s", (int)len, kept->data + at);
            at += len + 1;
        }
        blob_unref(kept);
        return 0;
    }
    int rcode = secgroups_launch_ids(rc->cloud, t->dc->name, t->region, t->cfg, false, ids, n,
                                     err, errlen);
    if (rcode != 0)
        return rcode;
    char text[SECGROUPS_LAUNCH_MAX * (SECGROUPS_ID_MAX + 1)] = "";
    size_t len = 0;
    for (size_t i = 0; i < *n; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", i ? "\n" : "", ids[i]);
    struct blob *b = rc->objects ? blob_new(text, len) : NULL;
    if (b)
        objcache_keep(rc->objects, memo, which, b);
    blob_unref(b);
    return 0;
}

void fleet_publish(struct reconcile_ctx *rc, struct act_target *t)
{
    char image[64], err[1024], msg[1200];
    if (!image_of(rc, t, image, sizeof(image), err, sizeof(err))) {
        snprintf(msg, sizeof(msg), "not publishing the fleet spec: checking the config against "
                                   "EC2: %s", err);
        act_held_back(rc, t, msg);
        return;
    }
    char groups[SECGROUPS_LAUNCH_MAX][SECGROUPS_ID_MAX];
    const char *group_ids[SECGROUPS_LAUNCH_MAX];
    size_t n_groups = 0;
    int found = groups_of(rc, t, groups, &n_groups, err, sizeof(err));
    if (found == -ENOENT)
        return; /* made with the head's launch: the next pass publishes */
    if (found != 0) {
        snprintf(msg, sizeof(msg), "not publishing the fleet spec: the compute nodes' security "
                                   "groups: %s", err);
        act_held_back(rc, t, msg);
        return;
    }
    for (size_t g = 0; g < n_groups; g++)
        group_ids[g] = groups[g];
    char profile[ROLES_NAME_MAX + 1];
    bool with_profile = roles_profile_for(rc->cloud->bucket, t->dc->name, t->cfg, false, profile);
    struct fleetspec_input in = {.bucket = rc->cloud->bucket,
                                 .dc = t->dc,
                                 .cfg = t->cfg,
                                 .region = t->region,
                                 .image_id = image,
                                 .instance_profile = with_profile ? profile : NULL,
                                 .security_groups = group_ids,
                                 .n_security_groups = n_groups};
    for (size_t q = 0; q < t->cfg->n_queues; q++)
        for (size_t r = 0; r < t->cfg->queues[q].n_resources; r++)
            act_type_facts(rc, t->region, t->cfg->queues[q].resources[r].instance_type,
                           &in.facts[q][r].vcpus, &in.facts[q][r].memory_mib);
    char *text = NULL, id[65];
    if (fleetspec_render(&in, &text, id) != 0) {
        act_held_back(rc, t, "not publishing the fleet spec: out of memory");
        return;
    }
    char memo[128];
    snprintf(memo, sizeof(memo), "fleet-spec:%s", t->dc->name);
    struct blob *written = rc->objects ? objcache_lookup(rc->objects, memo, id) : NULL;
    if (written) {
        blob_unref(written);
        free(text);
        return;
    }
    char *key = layout_fleet_spec_key(t->dc->name);
    struct aws_s3_put_options json = {.content_type = "application/json"};
    if (!key)
        snprintf(err, sizeof(err), "out of memory");
    int rc_put = key ? cloud_put(rc->cloud, key, text, strlen(text), &json, err, sizeof(err))
                     : -1;
    free(key);
    free(text);
    if (rc_put != 0) {
        snprintf(msg, sizeof(msg), "publishing the fleet spec: %s", err);
        act_held_back(rc, t, msg);
        return;
    }
    struct blob *none = rc->objects ? blob_new("", 0) : NULL;
    if (none)
        objcache_keep(rc->objects, memo, id, none);
    blob_unref(none);
}

void fleet_tell_applied(struct reconcile_ctx *rc, struct act_target *t)
{
    const struct observed_cluster *oc = t->oc;
    if (!oc || !oc->fleet_spec_applied)
        return;
    char memo[128], line[256];
    snprintf(memo, sizeof(memo), "fleet-applied:%s", t->dc->name);
    struct blob *told = rc->objects ? objcache_lookup(rc->objects, memo, oc->fleet_spec_applied)
                                    : NULL;
    if (told) {
        blob_unref(told);
        return;
    }
    snprintf(line, sizeof(line), "the head node applied fleet spec generation %d (spec %.12s)",
             oc->fleet_generation_applied, oc->fleet_spec_applied);
    const struct blob *ev = t->dc->events;
    if (!ev || !memmem(ev->data, ev->len, line, strlen(line)))
        events_append(rc->store, t->dc->name, "info", "%s", line);
    struct blob *none = rc->objects ? blob_new("", 0) : NULL;
    if (none)
        objcache_keep(rc->objects, memo, oc->fleet_spec_applied, none);
    blob_unref(none);
}
