#include "fs/fuse/tree.h"

#include <errno.h>
#include <string.h>

#define MAX_DEPTH 5

enum memdir tree_memdir_of_stage(enum hook_stage stage)
{
    return stage == HOOK_PRE ? MEMDIR_PRE : MEMDIR_POST;
}

enum hook_stage tree_stage_of_memdir(enum memdir dir)
{
    return dir == MEMDIR_PRE ? HOOK_PRE : HOOK_POST;
}

/* Splits path into components (in buf); returns the count or -errno. */
static int split_components(const char *path, char *buf, size_t buflen, char **parts)
{
    size_t len = strlen(path);
    if (len >= buflen)
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok;
         tok = strtok_r(NULL, "/", &save)) {
        if (n == MAX_DEPTH)
            return -ENOENT;
        parts[n++] = tok;
    }
    return n;
}

static int resolve_generated(const struct snap_cluster *c, const char *name,
                             struct tree_entry *out)
{
    const struct snap_file *files[] = {&c->status_file, &c->status_json, &c->events};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (strcmp(files[i]->name, name) == 0) {
            out->kind = T_GENERATED;
            out->file = files[i];
            return 0;
        }
    }
    return -ENOENT;
}

static int resolve_in_stage(struct memfile_table *mem, const struct snap_cluster *c,
                            enum hook_stage stage, const char *name, struct tree_entry *out)
{
    out->stage = stage;
    out->memdir = tree_memdir_of_stage(stage);
    out->mem = memfile_get(mem, c->name, out->memdir, name);
    if (out->mem) {
        out->kind = T_MEMFILE;
        return 0;
    }
    out->hook = desired_find_hook(c->desired, stage, name);
    if (!out->hook)
        return -ENOENT;
    out->kind = T_HOOK;
    return 0;
}

/* jobs/<name> that is no job id: a submission's record, or one being written. */
static int resolve_job_file(struct memfile_table *mem, const struct snap_cluster *c,
                            const char *name, struct tree_entry *out)
{
    out->file = snap_cluster_find_job_record(c, name);
    if (out->file) {
        out->kind = T_GENERATED;
        out->job_record = true;
        return 0;
    }
    out->mem = memfile_get(mem, c->name, MEMDIR_JOBS, name);
    if (!out->mem)
        return -ENOENT;
    out->kind = T_MEMFILE;
    return 0;
}

bool tree_node_has_ctl(const struct snap_node *n)
{
    return strcmp(n->name, "head") != 0;
}

int tree_resolve(struct snapshot *snap, struct memfile_table *mem, const char *path,
                 struct tree_entry *out)
{
    char buf[4096];
    char *p[MAX_DEPTH];
    memset(out, 0, sizeof(*out));
    int n = split_components(path, buf, sizeof(buf), p);
    if (n < 0)
        return n;
    if (n == 0) {
        out->kind = T_ROOT;
        return 0;
    }
    const struct snap_cluster *c = snapshot_find(snap, p[0]);
    if (!c)
        return -ENOENT;
    out->cluster = c;
    out->memdir = MEMDIR_CLUSTER;
    if (n == 1) {
        out->kind = T_CLUSTER;
        return 0;
    }
    if (strcmp(p[1], "nodes") == 0) {
        if (n == 2) {
            out->kind = T_NODES;
            return 0;
        }
        out->node = snap_cluster_find_node(c, p[2]);
        if (!out->node)
            return -ENOENT;
        if (n == 3) {
            out->kind = T_NODE;
            return 0;
        }
        if (n > 4)
            return -ENOTDIR;
        if (strcmp(p[3], TREE_NODECTL) == 0 && tree_node_has_ctl(out->node)) {
            out->kind = T_NODECTL;
            return 0;
        }
        out->file = snap_node_find_file(out->node, p[3]);
        if (!out->file)
            return -ENOENT;
        out->kind = T_GENERATED;
        return 0;
    }
    if (strcmp(p[1], "jobs") == 0) {
        out->memdir = MEMDIR_JOBS;
        if (n == 2) {
            out->kind = T_JOBS;
            return 0;
        }
        out->node = snap_cluster_find_job(c, p[2]);
        if (!out->node && n == 3)
            return resolve_job_file(mem, c, p[2], out);
        if (!out->node)
            return -ENOENT;
        if (n == 3) {
            out->kind = T_JOB;
            return 0;
        }
        if (n > 4)
            return -ENOTDIR;
        out->file = snap_node_find_file(out->node, p[3]);
        if (!out->file)
            return -ENOENT;
        out->kind = T_GENERATED;
        return 0;
    }
    if (strcmp(p[1], "hooks") == 0) {
        if (n == 2) {
            out->kind = T_HOOKS;
            return 0;
        }
        enum hook_stage stage;
        if (strcmp(p[2], "pre") == 0)
            stage = HOOK_PRE;
        else if (strcmp(p[2], "post") == 0)
            stage = HOOK_POST;
        else
            return -ENOENT;
        out->stage = stage;
        out->memdir = tree_memdir_of_stage(stage);
        if (n == 3) {
            out->kind = T_STAGE;
            return 0;
        }
        if (n > 4)
            return -ENOTDIR;
        return resolve_in_stage(mem, c, stage, p[3], out);
    }
    if (n > 2)
        return -ENOTDIR;
    if (strcmp(p[1], "config") == 0) {
        out->kind = T_CONFIG;
        return 0;
    }
    if (resolve_generated(c, p[1], out) == 0)
        return 0;
    out->mem = memfile_get(mem, c->name, MEMDIR_CLUSTER, p[1]);
    if (!out->mem)
        return -ENOENT;
    out->kind = T_MEMFILE;
    return 0;
}

void tree_entry_done(struct memfile_table *mem, struct tree_entry *e)
{
    if (e->mem) {
        memfile_put(mem, e->mem);
        e->mem = NULL;
    }
}

int tree_split(const char *path, char *parent, size_t parentlen, const char **name)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return -EINVAL;
    size_t plen = (size_t)(slash - path);
    if (plen + 1 >= parentlen)
        return -ENAMETOOLONG;
    if (plen == 0)
        strcpy(parent, "/");
    else {
        memcpy(parent, path, plen);
        parent[plen] = '\0';
    }
    *name = slash + 1;
    return 0;
}
