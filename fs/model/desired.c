/* Helpers over struct desired_state that every store backend shares. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/config_memo.h"
#include "fs/store/store.h"

void desired_cluster_clear(struct desired_cluster *dc)
{
    free(dc->name);
    blob_unref(dc->config);
    parsed_config_unref(dc->parsed);
    blob_unref(dc->events);
    free(dc->last_error);
    free(dc->failure_code);
    free(dc->failure_reason);
    for (int s = 0; s < HOOK_STAGES; s++) {
        for (size_t h = 0; h < dc->n_hooks[s]; h++) {
            free(dc->hooks[s][h].name);
            blob_unref(dc->hooks[s][h].content);
        }
        free(dc->hooks[s]);
    }
    for (size_t i = 0; i < dc->n_objects; i++) {
        free(dc->objects[i].rest);
        free(dc->objects[i].etag);
    }
    free(dc->objects);
    memset(dc, 0, sizeof(*dc));
}

static int copy_cluster(struct desired_cluster *dst, const struct desired_cluster *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->name = strdup(src->name);
    dst->config = blob_ref(src->config);
    dst->generation = src->generation;
    dst->parsed = parsed_config_ref(src->parsed);
    dst->created_at = src->created_at;
    dst->updated_at = src->updated_at;
    dst->deleting = src->deleting;
    dst->events = blob_ref(src->events);
    dst->last_error = src->last_error ? strdup(src->last_error) : NULL;
    dst->failure_code = src->failure_code ? strdup(src->failure_code) : NULL;
    dst->failure_reason = src->failure_reason ? strdup(src->failure_reason) : NULL;
    dst->first_complete = src->first_complete;
    if (!dst->name || (src->last_error && !dst->last_error) ||
        (src->failure_code && !dst->failure_code) ||
        (src->failure_reason && !dst->failure_reason))
        return -ENOMEM;
    for (int s = 0; s < HOOK_STAGES; s++) {
        if (src->n_hooks[s] == 0)
            continue;
        dst->hooks[s] = calloc(src->n_hooks[s], sizeof(struct desired_hook));
        if (!dst->hooks[s])
            return -ENOMEM;
        dst->n_hooks[s] = src->n_hooks[s];
        for (size_t h = 0; h < src->n_hooks[s]; h++) {
            dst->hooks[s][h].name = strdup(src->hooks[s][h].name);
            dst->hooks[s][h].content = blob_ref(src->hooks[s][h].content);
            dst->hooks[s][h].mtime = src->hooks[s][h].mtime;
            if (!dst->hooks[s][h].name)
                return -ENOMEM;
        }
    }
    if (src->n_objects) {
        dst->objects = calloc(src->n_objects, sizeof(*dst->objects));
        if (!dst->objects)
            return -ENOMEM;
        dst->n_objects = src->n_objects;
        for (size_t i = 0; i < src->n_objects; i++) {
            dst->objects[i].rest = strdup(src->objects[i].rest);
            dst->objects[i].etag = strdup(src->objects[i].etag);
            dst->objects[i].mtime = src->objects[i].mtime;
            if (!dst->objects[i].rest || !dst->objects[i].etag)
                return -ENOMEM;
        }
    }
    return 0;
}

struct desired_state *desired_state_copy(const struct desired_state *src)
{
    struct desired_state *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return NULL;
    int rc = 0;
    if (src->n) {
        ds->clusters = calloc(src->n, sizeof(*ds->clusters));
        if (!ds->clusters)
            rc = -ENOMEM;
        for (size_t i = 0; rc == 0 && i < src->n; i++) {
            ds->n = i + 1;
            rc = copy_cluster(&ds->clusters[i], &src->clusters[i]);
        }
    }
    if (rc == 0)
        return ds;
    desired_state_free(ds);
    return NULL;
}

void desired_state_free(struct desired_state *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->n; i++)
        desired_cluster_clear(&ds->clusters[i]);
    free(ds->clusters);
    free(ds);
}

const struct desired_cluster *desired_find(const struct desired_state *ds, const char *name)
{
    size_t lo = 0, hi = ds ? ds->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, ds->clusters[mid].name);
        if (c == 0)
            return &ds->clusters[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct desired_object *desired_find_object(const struct desired_cluster *dc,
                                                 const char *rest)
{
    size_t lo = 0, hi = dc ? dc->n_objects : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(rest, dc->objects[mid].rest);
        if (c == 0)
            return &dc->objects[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct desired_hook *desired_find_hook(const struct desired_cluster *dc,
                                             enum hook_stage stage, const char *name)
{
    for (size_t i = 0; i < dc->n_hooks[stage]; i++)
        if (strcmp(dc->hooks[stage][i].name, name) == 0)
            return &dc->hooks[stage][i];
    return NULL;
}

const char *hook_stage_name(enum hook_stage stage)
{
    return stage == HOOK_PRE ? "pre" : "post";
}

const char *desired_region(const struct desired_cluster *dc, const char *mount_region)
{
    const char *named = dc->parsed ? dc->parsed->region : "";
    return named[0] ? named : mount_region;
}
