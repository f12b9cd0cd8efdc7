#include "fs/model/snapdiff.h"

#include <stdio.h>
#include <string.h>

struct walk {
    snapdiff_fn fn;
    void *arg;
    size_t n;
    char path[4096];
};

/* Emits path = the walk's prefix + "/" + name (name NULL: the prefix). */
static void emit(struct walk *w, size_t at, const char *name)
{
    if (name)
        snprintf(w->path + at, sizeof(w->path) - at, "/%s", name);
    else
        w->path[at] = '\0';
    w->fn(w->path[0] ? w->path : "/", w->arg);
    w->n++;
    w->path[at] = '\0';
}

static size_t push(struct walk *w, size_t at, const char *name)
{
    int k = snprintf(w->path + at, sizeof(w->path) - at, "/%s", name);
    return k > 0 && at + (size_t)k < sizeof(w->path) ? at + (size_t)k : at;
}

static bool file_differs(const struct snap_file *a, const struct snap_file *b)
{
    return !a || !b || !a->content || !b->content || a->content->len != b->content->len ||
           a->mtime != b->mtime;
}

static size_t blob_len(const struct blob *b)
{
    return b ? b->len : 0;
}

/* Node a (old) against b (next); either may be NULL. */
static void diff_node(struct walk *w, size_t at, const struct snap_node *a,
                      const struct snap_node *b)
{
    const struct snap_node *any = a ? a : b;
    size_t here = push(w, at, any->name);
    if (!a || !b || a->mtime != b->mtime)
        emit(w, here, NULL);
    for (size_t i = 0; i < any->n_files; i++) {
        const struct snap_file *fa = a ? snap_node_find_file(a, any->files[i].name) : NULL;
        const struct snap_file *fb = b ? snap_node_find_file(b, any->files[i].name) : NULL;
        if (file_differs(fa, fb))
            emit(w, here, any->files[i].name);
    }
    w->path[at] = '\0';
}

/* nodes/ or jobs/ of a cluster: the directory when its names changed
 * (listed), then each of its directories, both lists sorted by name. */
static void diff_dirs(struct walk *w, size_t at, const char *dir, bool names_changed,
                      const struct snap_node *a, size_t na, const struct snap_node *b, size_t nb)
{
    size_t here = push(w, at, dir);
    if (names_changed)
        emit(w, here, NULL);
    size_t i = 0, k = 0;
    while (i < na || k < nb) {
        int c = i == na ? 1 : k == nb ? -1 : strcmp(a[i].name, b[k].name);
        if (c == 0)
            diff_node(w, here, &a[i++], &b[k++]);
        else if (c < 0)
            diff_node(w, here, &a[i++], NULL);
        else
            diff_node(w, here, NULL, &b[k++]);
    }
    w->path[at] = '\0';
}

/* jobs/<name>, the records of submissions: each that differs or came or went. */
static void diff_records(struct walk *w, size_t at, const struct snap_cluster *a,
                         const struct snap_cluster *b)
{
    size_t here = push(w, at, "jobs");
    const struct snap_cluster *sides[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        const struct snap_cluster *mine = sides[s], *other = sides[1 - s];
        for (size_t i = 0; mine && i < mine->n_job_records; i++) {
            const struct snap_file *f = &mine->job_records[i];
            const struct snap_file *o =
                other ? snap_cluster_find_job_record(other, f->name) : NULL;
            if ((s == 0 || !o) && file_differs(f, o))
                emit(w, here, f->name);
        }
    }
    w->path[at] = '\0';
}

static void diff_hooks(struct walk *w, size_t at, const struct desired_cluster *a,
                       const struct desired_cluster *b)
{
    for (int st = 0; st < HOOK_STAGES; st++) {
        size_t here = push(w, at, hook_stage_name((enum hook_stage)st));
        emit(w, here, NULL);
        const struct desired_cluster *sides[2] = {a, b};
        for (int s = 0; s < 2; s++) {
            const struct desired_cluster *mine = sides[s], *other = sides[1 - s];
            for (size_t i = 0; mine && i < mine->n_hooks[st]; i++) {
                const struct desired_hook *h = &mine->hooks[st][i];
                const struct desired_hook *o =
                    other ? desired_find_hook(other, (enum hook_stage)st, h->name) : NULL;
                /* each differing hook once: from the old side, or new ones */
                if ((s == 0 || !o) && (!o || blob_len(o->content) != blob_len(h->content) ||
                                       o->mtime != h->mtime))
                    emit(w, here, h->name);
            }
        }
        w->path[at] = '\0';
    }
}

/* Cluster a (old) against b (next); either may be NULL. */
static void diff_cluster(struct walk *w, const struct snap_cluster *a,
                         const struct snap_cluster *b)
{
    const struct snap_cluster *any = a ? a : b;
    size_t here = push(w, 0, any->name);
    bool whole = !a || !b;
    if (whole || a->desired->updated_at != b->desired->updated_at)
        emit(w, here, NULL);
    if (whole || blob_len(a->config) != blob_len(b->config) ||
        a->desired->updated_at != b->desired->updated_at)
        emit(w, here, "config");
    if (whole || file_differs(&a->status_file, &b->status_file))
        emit(w, here, "status");
    if (whole || file_differs(&a->status_json, &b->status_json))
        emit(w, here, "status.json");
    if (whole || file_differs(&a->events, &b->events))
        emit(w, here, "events");
    diff_dirs(w, here, "nodes", whole || a->nodes_mtime != b->nodes_mtime, a ? a->nodes : NULL,
              a ? a->n_nodes : 0, b ? b->nodes : NULL, b ? b->n_nodes : 0);
    diff_dirs(w, here, "jobs", whole || a->jobs_mtime != b->jobs_mtime, a ? a->jobs : NULL,
              a ? a->n_jobs : 0, b ? b->jobs : NULL, b ? b->n_jobs : 0);
    diff_records(w, here, a, b);
    size_t hooks = push(w, here, "hooks");
    emit(w, hooks, NULL);
    diff_hooks(w, hooks, a ? a->desired : NULL, b ? b->desired : NULL);
    w->path[0] = '\0';
}

size_t snapdiff(const struct snapshot *old, const struct snapshot *next, snapdiff_fn fn,
                void *arg)
{
    struct walk w = {.fn = fn, .arg = arg};
    if (!old || !next || old->root_mtime != next->root_mtime)
        emit(&w, 0, NULL);
    size_t i = 0, k = 0, na = old ? old->n : 0, nb = next ? next->n : 0;
    while (i < na || k < nb) {
        int c = i == na ? 1
              : k == nb ? -1
                        : strcmp(old->clusters[i].name, next->clusters[k].name);
        if (c == 0)
            diff_cluster(&w, &old->clusters[i++], &next->clusters[k++]);
        else if (c < 0)
            diff_cluster(&w, &old->clusters[i++], NULL);
        else
            diff_cluster(&w, NULL, &next->clusters[k++]);
    }
    return w.n;
}
