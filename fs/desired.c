/* Helpers over struct desired_state that every store backend shares. */
#include <stdlib.h>
#include <string.h>

#include "fs/store.h"

void desired_cluster_clear(struct desired_cluster *dc)
{
    free(dc->name);
    blob_unref(dc->config);
    blob_unref(dc->events);
    free(dc->last_error);
    for (int s = 0; s < HOOK_STAGES; s++) {
        for (size_t h = 0; h < dc->n_hooks[s]; h++) {
            free(dc->hooks[s][h].name);
            blob_unref(dc->hooks[s][h].content);
        }
        free(dc->hooks[s]);
    }
    memset(dc, 0, sizeof(*dc));
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
