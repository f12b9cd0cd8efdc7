#include "fs/fuse/fuse_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/control/commit.h"
#include "fs/errors.h"
#include "fs/fuse/edit_state.h"
#include "fs/fuse/names.h"
#include "fs/model/jobscript.h"
#include "fs/model/nodectl.h"
#include "fs/pcfs.h"
#include "fs/model/snapdiff.h"
#include "fs/fuse/tree.h"

/* How long the kernel may keep names and attributes. Every snapshot swap
 * invalidates what changed (snapdiff), and commits swap before they return,
 * so this only bounds what nothing invalidates; being positive lets `ls -l`
 * and `stat` of big trees be answered from the kernel's cache. */
#define CACHE_SECONDS 30.0

#define SCRATCH_MAX_BYTES HOOK_MAX_BYTES
/* What a ctl handle buffers: past it write() fails with EFBIG; up to it an
 * oversized command is refused at close with EINVAL and its reason. */
#define NODECTL_BUFFER_MAX 65536

static struct pcfs *ctx(void)
{
    return fuse_get_context()->private_data;
}

/* An open file. Read-only opens are served through the kernel's page
 * cache, so files can be mapped with mmap and a repeated read costs no round
 * trip; each such open decides whether the cached pages still hold what it
 * would read (open_cached, page_versions.h), so a new open always sees the
 * current content, as direct I/O did. Their reads serve the version the
 * pages are filled from (the last open's), or the blob captured at open;
 * `events` reads the current snapshot so `tail -f` sees it grow. Writes go
 * to a buffer committed on flush, with direct I/O (no page cache to keep
 * coherent with a commit that may fail).
 *
 * Its kind is fixed at open, with one transition: H_MEM (a table entry: a
 * scratch file, or a new hook not yet stored) becomes H_EDIT once its hook
 * is committed, so later writes edit the stored hook. */
enum handle_kind { H_READ, H_EDIT, H_MEM };

struct handle {
    enum handle_kind kind;
    pthread_mutex_t lock;
    struct blob *content;  /* H_READ */
    bool live_events;      /* H_READ of <cluster>/events */
    char *pinned_path;     /* H_READ that pins its path's version (page_versions.h) */
    char *cluster;
    struct memfile *buf;   /* H_EDIT: detached copy; H_MEM: table entry */
    bool edit_is_config;   /* H_EDIT: config, else the hook (stage, name) */
    bool edit_is_ctl;      /* H_EDIT: nodes/<name>/ctl, a command for the head */
    bool is_job;           /* a batch script written into jobs/: each commit submits */
    enum hook_stage stage;
    char *name;
    size_t limit;          /* largest size a write may reach */
    enum edit_state state; /* edit_state.h: its transitions */
};

static struct handle *handle_new(enum handle_kind kind, const char *cluster)
{
    struct handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->kind = kind;
    pthread_mutex_init(&h->lock, NULL);
    if (cluster && !(h->cluster = strdup(cluster))) {
        free(h);
        return NULL;
    }
    return h;
}

static void handle_free(struct pcfs *fs, struct handle *h)
{
    blob_unref(h->content);
    if (h->kind == H_MEM)
        memfile_put(&fs->memfiles, h->buf);
    else
        memfile_put_detached(h->buf);
    pthread_mutex_destroy(&h->lock);
    free(h->cluster);
    free(h->name);
    free(h->pinned_path);
    free(h);
}

static struct handle *fh(struct fuse_file_info *fi)
{
    return (struct handle *)(uintptr_t)fi->fh;
}

/* A read-only open of path that reads content: through the page cache,
 * keeping the cached pages only when they hold content; no flush on close,
 * since a read-only file has nothing to commit. Unless it reads a file that
 * grows under it (events), the handle pins content's size as the file's
 * (page_versions.h). When the pages go, so does the kernel's cached size:
 * it may be an older version's, and reads are cut at it. Open is not among
 * the requests an invalidation may deadlock with (fuse_lowlevel.h). */
static void open_cached(struct pcfs *fs, const char *path, struct blob *content,
                        struct handle *h, struct fuse_file_info *fi)
{
    bool pin = !h->live_events && (h->pinned_path = strdup(path)) != NULL;
    fi->direct_io = 0;
    fi->keep_cache = page_versions_open(&fs->page_versions, path, content, pin);
    fi->noflush = 1;
    if (!fi->keep_cache)
        fuse_invalidate_path(fuse_get_context()->fuse, path);
}

/* The last pinning handle of a path goes: if the size the kernel was told
 * while it was pinned is no longer the file's, the kernel forgets it. */
static void release_pin(struct pcfs *fs, struct handle *h);

/* ---------------------------------------------------------------- attributes */

static void fill_dir(struct pcfs *fs, struct stat *st, time_t t)
{
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_mtime = st->st_ctime = st->st_atime = t;
}

static void fill_file(struct pcfs *fs, struct stat *st, mode_t mode, size_t size, time_t t)
{
    st->st_mode = S_IFREG | mode;
    st->st_nlink = 1;
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_size = (off_t)size;
    st->st_blocks = (blkcnt_t)((size + 511) / 512);
    st->st_mtime = st->st_ctime = st->st_atime = t;
}

static void fill_entry(struct pcfs *fs, struct snapshot *snap, const struct tree_entry *e,
                       struct stat *st)
{
    memset(st, 0, sizeof(*st));
    const struct snap_cluster *c = e->cluster;
    switch (e->kind) {
    case T_ROOT:
        fill_dir(fs, st, snap->root_mtime);
        break;
    case T_CLUSTER:
    case T_HOOKS:
    case T_STAGE:
        fill_dir(fs, st, c->desired->updated_at);
        break;
    case T_NODES:
        fill_dir(fs, st, c->nodes_mtime);
        break;
    case T_NODE:
    case T_JOB:
        fill_dir(fs, st, e->node->mtime);
        break;
    case T_JOBS:
        fill_dir(fs, st, c->jobs_mtime);
        break;
    case T_CONFIG:
        fill_file(fs, st, 0644, c->config->len, c->desired->updated_at);
        break;
    case T_GENERATED:
        fill_file(fs, st, 0444, e->file->content->len, e->file->mtime);
        break;
    case T_NODECTL:
        fill_file(fs, st, 0200, 0, e->node->mtime);
        break;
    case T_HOOK:
        fill_file(fs, st, 0755, e->hook->content->len, e->hook->mtime);
        break;
    case T_MEMFILE:
        pthread_mutex_lock(&e->mem->lock);
        fill_file(fs, st, e->mem->mode & 07777, e->mem->len, e->mem->mtime);
        pthread_mutex_unlock(&e->mem->lock);
        break;
    }
}

/* Resolves path against a fresh snapshot reference (*snap, to unref). */
static int lookup(struct pcfs *fs, const char *path, struct snapshot **snap, struct tree_entry *e)
{
    *snap = snapshot_holder_get(&fs->snaps);
    int rc = tree_resolve(*snap, &fs->memfiles, path, e);
    if (rc) {
        snapshot_unref(*snap);
        *snap = NULL;
    }
    return rc;
}

static void lookup_done(struct pcfs *fs, struct snapshot *snap, struct tree_entry *e)
{
    tree_entry_done(&fs->memfiles, e);
    snapshot_unref(snap);
}

static bool is_dir(enum tree_kind k)
{
    return k == T_ROOT || k == T_CLUSTER || k == T_NODES || k == T_NODE || k == T_JOBS ||
           k == T_JOB || k == T_HOOKS ||
           k == T_STAGE;
}

/* Every refusal inside a cluster is told in its events and last_error too
 * (README's rules); path names what was refused, from the cluster on. Outside
 * a cluster (the root), the errno alone says it. Returns rc. */
static int refuse_path(struct pcfs *fs, const char *path, int rc, const char *why)
{
    char cluster[NAME_MAX + 1];
    const char *rel = path + strspn(path, "/");
    size_t n = strcspn(rel, "/");
    if (n == 0 || n > NAME_MAX || !rel[n])
        return rc; /* the root, or a cluster directory itself */
    memcpy(cluster, rel, n);
    cluster[n] = '\0';
    struct snapshot *snap = snapshot_holder_get(&fs->snaps);
    bool known = snapshot_find(snap, cluster) != NULL;
    snapshot_unref(snap);
    if (known)
        commit_refuse(fs, cluster, rc, "%s: %s", rel + n + 1, why);
    return rc;
}

/* The size reads of a pinned file will serve (page_versions.h): with a
 * read handle, what its reads serve; else the pinned version's, if any. */
static void pinned_size(struct pcfs *fs, const char *path, struct fuse_file_info *fi,
                        struct stat *st)
{
    size_t len;
    struct handle *h = fi ? fh(fi) : NULL;
    if (h && h->kind == H_READ && h->pinned_path) {
        struct blob *served = page_versions_get(&fs->page_versions, path);
        len = served ? served->len : h->content->len;
        blob_unref(served);
    } else if (!page_versions_size(&fs->page_versions, path, &len)) {
        return;
    }
    st->st_size = (off_t)len;
    st->st_blocks = (blkcnt_t)((len + 511) / 512);
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct pcfs *fs = ctx();
    struct snapshot *snap;
    struct tree_entry e;
    int rc = lookup(fs, path, &snap, &e);
    if (rc)
        return rc;
    fill_entry(fs, snap, &e, st);
    bool served_file = e.kind == T_GENERATED || e.kind == T_CONFIG || e.kind == T_HOOK;
    bool live_events = e.kind == T_GENERATED && !e.node && e.file == &e.cluster->events;
    lookup_done(fs, snap, &e);
    if (served_file && !live_events)
        pinned_size(fs, path, fi, st);
    return 0;
}

/* ---------------------------------------------------------------- directories */

struct fill_ctx {
    void *buf;
    fuse_fill_dir_t filler;
};

static void fill_name(void *arg, const char *name, bool pending)
{
    (void)pending;
    struct fill_ctx *f = arg;
    f->filler(f->buf, name, NULL, 0, 0);
}

/* Directory listings may stay in the kernel's cache too: a listing changes
 * through this mount's own operations (which the kernel sees) or at a swap,
 * which invalidates every directory whose entries may have changed. */
static int op_opendir(const char *path, struct fuse_file_info *fi)
{
    struct pcfs *fs = ctx();
    struct snapshot *snap;
    struct tree_entry e;
    int rc = lookup(fs, path, &snap, &e);
    if (rc)
        return rc;
    rc = is_dir(e.kind) ? 0 : -ENOTDIR;
    if (rc == 0 && e.cluster) /* it may be a walk removing the tree: tree_removal.h */
        tree_walkers_note(&fs->walkers, e.cluster->name, fuse_get_context()->pid, time(NULL));
    lookup_done(fs, snap, &e);
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    return rc;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)off;
    (void)fi;
    (void)flags;
    struct pcfs *fs = ctx();
    struct snapshot *snap;
    struct tree_entry e;
    int rc = lookup(fs, path, &snap, &e);
    if (rc)
        return rc;
    if (!is_dir(e.kind)) {
        lookup_done(fs, snap, &e);
        return -ENOTDIR;
    }
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    struct fill_ctx f = {buf, filler};
    const struct snap_cluster *c = e.cluster;
    switch (e.kind) {
    /* The big directories hand their entries' attributes over with the
     * names (readdirplus): `ls -l` then needs no lookup per entry. */
    case T_ROOT:
        for (size_t i = 0; i < snap->n; i++) {
            struct stat st = {0};
            fill_dir(fs, &st, snap->clusters[i].desired->updated_at);
            filler(buf, snap->clusters[i].name, &st, 0, FUSE_FILL_DIR_PLUS);
        }
        break;
    case T_CLUSTER: {
        static const char *const entries[] = {"config", "events", "hooks",      "jobs",
                                              "nodes",  "status", "status.json"};
        for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
            filler(buf, entries[i], NULL, 0, 0);
        memfile_list(&fs->memfiles, c->name, MEMDIR_CLUSTER, fill_name, &f);
        break;
    }
    case T_NODES:
        for (size_t i = 0; i < c->n_nodes; i++) {
            struct stat st = {0};
            fill_dir(fs, &st, c->nodes[i].mtime);
            filler(buf, c->nodes[i].name, &st, 0, FUSE_FILL_DIR_PLUS);
        }
        break;
    case T_JOBS:
        for (size_t i = 0; i < c->n_jobs; i++) {
            struct stat st = {0};
            fill_dir(fs, &st, c->jobs[i].mtime);
            filler(buf, c->jobs[i].name, &st, 0, FUSE_FILL_DIR_PLUS);
        }
        for (size_t i = 0; i < c->n_job_records; i++) {
            const struct snap_file *f = &c->job_records[i];
            struct stat st = {0};
            fill_file(fs, &st, 0444, f->content->len, f->mtime);
            filler(buf, f->name, &st, 0, FUSE_FILL_DIR_PLUS);
        }
        memfile_list(&fs->memfiles, c->name, MEMDIR_JOBS, fill_name, &f);
        break;
    case T_NODE:
    case T_JOB:
        for (size_t i = 0; i < e.node->n_files; i++) {
            const struct snap_file *f = &e.node->files[i];
            struct stat st = {0};
            fill_file(fs, &st, 0444, f->content->len, f->mtime);
            filler(buf, f->name, &st, 0, FUSE_FILL_DIR_PLUS);
        }
        if (e.kind == T_NODE && tree_node_has_ctl(e.node)) {
            struct stat st = {0};
            fill_file(fs, &st, 0200, 0, e.node->mtime);
            filler(buf, TREE_NODECTL, &st, 0, FUSE_FILL_DIR_PLUS);
        }
        break;
    case T_HOOKS:
        filler(buf, "post", NULL, 0, 0);
        filler(buf, "pre", NULL, 0, 0);
        break;
    case T_STAGE:
        for (size_t i = 0; i < c->desired->n_hooks[e.stage]; i++)
            filler(buf, c->desired->hooks[e.stage][i].name, NULL, 0, 0);
        memfile_list(&fs->memfiles, c->name, e.memdir, fill_name, &f);
        break;
    default:
        break;
    }
    lookup_done(fs, snap, &e);
    return 0;
}

static int op_mkdir(const char *path, mode_t mode)
{
    (void)mode;
    struct pcfs *fs = ctx();
    char parent[4096];
    const char *name;
    int rc = tree_split(path, parent, sizeof(parent), &name);
    if (rc)
        return rc;
    if (strcmp(parent, "/") != 0)
        return -EPERM; /* the tree below a cluster is fixed */
    return commit_create_cluster(fs, name);
}

/* Whether the caller is removing the tree of cluster c (tree_removal.h):
 * then removing one of the cluster's own entries is a no-op. */
static bool removing_tree(struct pcfs *fs, const struct snap_cluster *c)
{
    return tree_walkers_walking(&fs->walkers, c->name, fuse_get_context()->pid, time(NULL));
}

#define REMOVE_WITH_RMDIR                                                                        \
    "cannot be removed on its own; to delete the cluster, rmdir its directory or remove it "    \
    "whole (rm -rf, Ansible's file state=absent)"

/* rmdir of a cluster deletes it; of the root, EBUSY; of a directory inside
 * a cluster, EPERM, or nothing within a walk removing the tree. */
static int op_rmdir(const char *path)
{
    struct pcfs *fs = ctx();
    struct snapshot *snap;
    struct tree_entry e;
    int rc = lookup(fs, path, &snap, &e);
    if (rc)
        return rc;
    enum tree_kind kind = e.kind;
    bool walk = e.cluster && removing_tree(fs, e.cluster);
    char job_id[32] = "", cluster[NAME_MAX + 1] = "";
    if (kind == T_JOB) {
        snprintf(job_id, sizeof(job_id), "%s", e.node->name);
        snprintf(cluster, sizeof(cluster), "%s", e.cluster->name);
    }
    lookup_done(fs, snap, &e);
    if (kind == T_ROOT)
        return -EBUSY;
    /* A job's directory cancels it, within a walk too: `rm -r jobs/12`
     * means it, and removing the cluster ends its jobs anyway. */
    if (kind == T_JOB)
        return commit_cancel_job(fs, cluster, job_id);
    if (kind != T_CLUSTER) {
        if (!is_dir(kind))
            return -ENOTDIR;
        return walk ? 0 : refuse_path(fs, path, -EPERM, REMOVE_WITH_RMDIR);
    }
    const char *name = path + 1;
    return commit_delete_cluster(fs, name);
}

/* ---------------------------------------------------------------- open files */

static bool wants_write(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY;
}

static int open_stored(struct pcfs *fs, const char *path, const struct tree_entry *e,
                       struct fuse_file_info *fi, struct blob *content, bool is_config)
{
    struct handle *h;
    if (!wants_write(fi->flags)) {
        h = handle_new(H_READ, e->cluster->name);
        if (!h)
            return -ENOMEM;
        h->content = blob_ref(content);
        fi->fh = (uintptr_t)h;
        open_cached(fs, path, content, h, fi);
        return 0;
    } else {
        h = handle_new(H_EDIT, e->cluster->name);
        if (!h)
            return -ENOMEM;
        bool trunc = fi->flags & O_TRUNC;
        h->buf = memfile_new_detached(trunc ? "" : content->data, trunc ? 0 : content->len);
        h->edit_is_config = is_config;
        h->stage = e->stage;
        h->limit = is_config ? CONFIG_MAX_BYTES : HOOK_MAX_BYTES;
        h->state = edit_opened(trunc);
        if (!is_config)
            h->name = strdup(e->hook ? e->hook->name : "");
        if (!h->buf || (!is_config && !h->name)) {
            handle_free(fs, h);
            return -ENOMEM;
        }
    }
    fi->fh = (uintptr_t)h;
    fi->direct_io = 1;
    return 0;
}

/* nodes/<n>/ctl: write-only (reading it is EACCES, as sysfs does); each
 * write handle gets a buffer of its own, committed as one command when it
 * was written (not when it was only opened, truncated or not). */
static int open_nodectl(struct pcfs *fs, const struct tree_entry *e, struct fuse_file_info *fi)
{
    if (!wants_write(fi->flags))
        return -EACCES;
    struct handle *h = handle_new(H_EDIT, e->cluster->name);
    if (!h)
        return -ENOMEM;
    h->buf = memfile_new_detached("", 0);
    h->name = strdup(e->node->name);
    h->edit_is_ctl = true;
    h->limit = NODECTL_BUFFER_MAX;
    h->state = edit_opened(false);
    if (!h->buf || !h->name) {
        handle_free(fs, h);
        return -ENOMEM;
    }
    fi->fh = (uintptr_t)h;
    fi->direct_io = 1;
    return 0;
}

static int open_memfile(struct pcfs *fs, struct tree_entry *e, struct fuse_file_info *fi)
{
    struct handle *h = handle_new(H_MEM, e->cluster->name);
    if (!h)
        return -ENOMEM;
    h->buf = e->mem;
    e->mem = NULL; /* the handle owns the reference now */
    h->stage = e->stage;
    h->is_job = h->buf->dir == MEMDIR_JOBS && h->buf->pending;
    h->limit = h->is_job ? JOBSCRIPT_MAX_BYTES
             : h->buf->pending            ? HOOK_MAX_BYTES
                                          : SCRATCH_MAX_BYTES;
    h->name = strdup(h->buf->name);
    if (!h->name) {
        handle_free(fs, h);
        return -ENOMEM;
    }
    if (wants_write(fi->flags) && (fi->flags & O_TRUNC)) {
        memfile_truncate(h->buf, 0, h->limit);
        h->state = edit_opened(true);
    }
    fi->fh = (uintptr_t)h;
    /* Read-only, it can be mapped; its pages are dropped at each open
     * (keep_cache stays 0), as writers change the buffer under it. */
    fi->direct_io = wants_write(fi->flags);
    fi->noflush = !wants_write(fi->flags);
    return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    struct pcfs *fs = ctx();
    struct snapshot *snap;
    struct tree_entry e;
    int rc = lookup(fs, path, &snap, &e);
    if (rc)
        return rc;
    switch (e.kind) {
    case T_GENERATED:
        if ((wants_write(fi->flags) || (fi->flags & O_TRUNC)) && e.job_record) {
            rc = refuse_path(fs, path, -EEXIST,
                             "was submitted already and stays as its record; to submit the "
                             "script again, copy it under a new name");
            break;
        }
        if (wants_write(fi->flags) || (fi->flags & O_TRUNC)) {
            rc = refuse_path(fs, path, -EACCES, "read-only, written by pclusterfs; not changed");
            break;
        }
        {
            struct handle *h = handle_new(H_READ, e.cluster->name);
            if (!h) {
                rc = -ENOMEM;
                break;
            }
            h->content = blob_ref(e.file->content);
            h->live_events = !e.node && e.file == &e.cluster->events;
            fi->fh = (uintptr_t)h;
            open_cached(fs, path, e.file->content, h, fi);
        }
        break;
    case T_CONFIG:
        rc = open_stored(fs, path, &e, fi, e.cluster->config, true);
        break;
    case T_NODECTL:
        rc = open_nodectl(fs, &e, fi);
        break;
    case T_HOOK:
        rc = open_stored(fs, path, &e, fi, e.hook->content, false);
        break;
    case T_MEMFILE:
        rc = open_memfile(fs, &e, fi);
        break;
    default:
        rc = -EISDIR;
    }
    lookup_done(fs, snap, &e);
    return rc;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct pcfs *fs = ctx();
    char parent[4096], msg[PCFS_MSG_MAX];
    const char *name;
    int rc = tree_split(path, parent, sizeof(parent), &name);
    if (rc)
        return rc;
    struct snapshot *snap;
    struct tree_entry e;
    rc = lookup(fs, parent, &snap, &e);
    if (rc)
        return rc;
    bool pending = false;
    if (e.kind == T_ROOT) {
        rc = -EPERM; /* only cluster directories live at the top */
    } else if (e.kind == T_CLUSTER) {
        rc = names_is_cluster_entry(name) ? -EEXIST : names_check_file(name, msg, sizeof(msg));
        if (rc && rc != -EEXIST)
            commit_refuse(fs, e.cluster->name, rc, "%s", msg);
    } else if (e.kind == T_STAGE) {
        const char *st = hook_stage_name(e.stage);
        rc = names_check_file(name, msg, sizeof(msg));
        pending = !names_is_hook_scratch(name);
        if (rc)
            commit_refuse(fs, e.cluster->name, rc, "hooks/%s: %s", st, msg);
        else if (pending &&
                 e.cluster->desired->n_hooks[e.stage] +
                         memfile_count_pending(&fs->memfiles, e.cluster->name, e.memdir) >=
                     HOOKS_PER_STAGE_MAX)
            rc = commit_refuse(fs, e.cluster->name, -ENOSPC,
                               "hooks/%s already holds %d scripts, the limit; remove one first",
                               st, HOOKS_PER_STAGE_MAX);
    } else if (e.kind == T_JOBS) {
        /* editor and tool scratch (Ansible's copy writes one, then renames
         * it onto the real name) stays in memory as in hooks/ */
        pending = !names_is_hook_scratch(name);
        rc = pending ? names_check_job(name, msg, sizeof(msg))
                     : names_check_file(name, msg, sizeof(msg));
        if (rc)
            commit_refuse(fs, e.cluster->name, rc, "jobs/: %s; not submitted", msg);
    } else { /* nodes/ and hooks/ themselves are read-only */
        rc = refuse_path(fs, path, -EACCES,
                         "cannot be created; only hooks/pre, hooks/post and jobs take new files");
    }
    if (rc == 0 && e.cluster->desired->deleting)
        rc = -EBUSY;
    if (rc == 0) {
        struct memfile *m;
        rc = memfile_create(&fs->memfiles, e.cluster->name, e.memdir, name, pending,
                            pending ? 0755 : (mode & 07777), &m);
        if (rc == 0) {
            struct tree_entry me = e;
            me.kind = T_MEMFILE;
            me.mem = m;
            rc = open_memfile(fs, &me, fi);
            if (rc == 0)
                fh(fi)->state = edit_created(fh(fi)->state, pending);
            else
                memfile_unlink(&fs->memfiles, m);
            tree_entry_done(&fs->memfiles, &me);
        }
    }
    lookup_done(fs, snap, &e);
    return rc;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct pcfs *fs = ctx();
    struct handle *h = fh(fi);
    if (h->kind != H_READ)
        return memfile_read(h->buf, buf, size, off);
    /* The pages are filled from one version: the last open's, even for an
     * older handle still reading (its own blob would mix versions). */
    struct blob *content = page_versions_get(&fs->page_versions, path);
    if (!content)
        content = blob_ref(h->content);
    if (h->live_events) {
        struct snapshot *snap = snapshot_holder_get(&fs->snaps);
        const struct snap_cluster *c = snapshot_find(snap, h->cluster);
        if (c) {
            blob_unref(content);
            content = blob_ref(c->events.content);
        }
        snapshot_unref(snap);
    }
    size_t n = 0;
    if (off >= 0 && (size_t)off < content->len) {
        n = content->len - (size_t)off;
        if (n > size)
            n = size;
        memcpy(buf, content->data + off, n);
    }
    page_versions_served(&fs->page_versions, path, content);
    blob_unref(content);
    return (int)n;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path;
    struct handle *h = fh(fi);
    if (h->kind == H_READ)
        return -EBADF;
    pthread_mutex_lock(&h->lock);
    int rc = memfile_write(h->buf, buf, size, off, h->limit);
    h->state = rc >= 0 ? edit_changed(h->state) : edit_refused(h->state);
    pthread_mutex_unlock(&h->lock);
    return rc;
}

/* Commits what h holds to its real name. */
static int commit_handle(struct pcfs *fs, struct handle *h)
{
    size_t len;
    char *data = memfile_copy(h->buf, &len);
    if (!data)
        return -ENOMEM;
    int rc;
    if (h->kind == H_EDIT && h->edit_is_ctl)
        rc = commit_node_command(fs, h->cluster, h->name, data, len);
    else if (h->kind == H_EDIT && h->edit_is_config)
        rc = commit_config(fs, h->cluster, data, len);
    else if (h->is_job)
        rc = commit_job(fs, h->cluster, h->name, data, len);
    else
        rc = commit_hook(fs, h->cluster, h->stage, h->name, data, len);
    free(data);
    return rc;
}

/* Does what a commit point (flush, release) asks of h: commits it, or says
 * it is torn; on a new hook, the pending entry then goes: the hook is
 * stored, or it never was, and later writes through this handle edit the
 * stored hook. Called with h->lock held. */
static int commit_dirty(struct pcfs *fs, struct handle *h, enum edit_action act)
{
    bool commits = h->kind == H_EDIT || (h->kind == H_MEM && h->buf->pending && h->buf->linked);
    if (act == EDIT_NOTHING || !commits)
        return 0;
    if (act == EDIT_REPORT_TORN) {
        /* write() said EFBIG; the file is torn, so nothing is committed,
         * and events say so once (tools that ignore write errors exist). */
        h->state = edit_after_commit(h->state);
        if (h->kind == H_EDIT && h->edit_is_ctl)
            commit_refuse(fs, h->cluster, -EINVAL,
                          "nodes/%s/ctl: writing past %zu bytes was refused; a command is at "
                          "most %d bytes, nothing was sent",
                          h->name, h->limit, NODECTL_MAX_BYTES);
        else if (h->kind == H_EDIT && h->edit_is_config)
            commit_refuse(fs, h->cluster, -EFBIG,
                          "config: writing past %zu bytes, the limit, was refused; nothing was "
                          "committed and the previous config stays",
                          h->limit);
        else if (h->is_job)
            commit_refuse(fs, h->cluster, -EFBIG,
                          "jobs/%s: writing past %zu bytes, the limit, was refused; the script "
                          "was not submitted",
                          h->name, h->limit);
        else
            commit_refuse(fs, h->cluster, -EFBIG,
                          "hooks/%s/%s: writing past %zu bytes, the limit, was refused; the "
                          "script was not stored",
                          hook_stage_name(h->stage), h->name ? h->name : h->buf->name, h->limit);
        return 0;
    }
    int rc = commit_handle(fs, h);
    h->state = edit_after_commit(h->state);
    if (h->kind != H_MEM)
        return rc;
    memfile_unlink(&fs->memfiles, h->buf);
    if (rc == 0) {
        size_t len;
        char *data = memfile_copy(h->buf, &len);
        struct memfile *copy = data ? memfile_new_detached(data, len) : NULL;
        free(data);
        if (copy) {
            memfile_put(&fs->memfiles, h->buf);
            h->buf = copy;
            h->kind = H_EDIT;
            h->edit_is_config = false;
        }
    }
    return rc;
}

/* close() commits. One exception: a shell's `> file` opens with O_TRUNC,
 * dup2()s and closes the first descriptor before writing, and that flush
 * must not commit the empty buffer (an empty config can only fail and fill
 * events with a false error; an empty hook would replace the stored one
 * until the real content comes, and stay so if that is refused). A file
 * opened truncated and not yet written is committed by release, the final
 * close, instead, whose error still reaches events (edit_on_flush). Other
 * flushes commit, so `touch hooks/pre/x` (no O_TRUNC) has stored x when it
 * returns. */
static int op_flush(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct pcfs *fs = ctx();
    struct handle *h = fh(fi);
    int rc = 0;
    pthread_mutex_lock(&h->lock);
    rc = commit_dirty(fs, h, edit_on_flush(h->state));
    pthread_mutex_unlock(&h->lock);
    return rc;
}

static void release_pin(struct pcfs *fs, struct handle *h)
{
    struct blob *pinned;
    if (!page_versions_unpin(&fs->page_versions, h->pinned_path, &pinned))
        return;
    struct snapshot *snap;
    struct tree_entry e;
    const struct blob *now = NULL;
    if (lookup(fs, h->pinned_path, &snap, &e) == 0) {
        if (e.kind == T_GENERATED)
            now = e.file->content;
        else if (e.kind == T_CONFIG)
            now = e.cluster->config;
        else if (e.kind == T_HOOK)
            now = e.hook->content;
        if (pinned && now && pinned->len == now->len)
            now = pinned; /* same size: nothing to forget */
        lookup_done(fs, snap, &e);
    }
    if (now != pinned || !pinned)
        fuse_invalidate_path(fuse_get_context()->fuse, h->pinned_path);
    blob_unref(pinned);
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct pcfs *fs = ctx();
    struct handle *h = fh(fi);
    if (h->pinned_path)
        release_pin(fs, h);
    commit_dirty(fs, h, edit_on_release(h->state));
    if (h->kind == H_MEM && h->buf->pending)
        memfile_unlink(&fs->memfiles, h->buf);
    handle_free(fs, h);
    return 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    (void)datasync;
    (void)fi;
    return 0; /* durability comes with the commit on close */
}

/* A truncate past a limit changes nothing; events say so (truncate(1) and
 * ftruncate() users rarely look at the errno). */
static void refuse_truncate(struct pcfs *fs, const char *cluster, bool config,
                            enum hook_stage stage, const char *name, off_t size, size_t limit)
{
    if (config)
        commit_refuse(fs, cluster, -EFBIG,
                      "config: truncating to %lld bytes refused, the limit is %zu; the config "
                      "stays",
                      (long long)size, limit);
    else
        commit_refuse(fs, cluster, -EFBIG,
                      "hooks/%s/%s: truncating to %lld bytes refused, the limit is %zu",
                      hook_stage_name(stage), name, (long long)size, limit);
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct pcfs *fs = ctx();
    if (fi) {
        struct handle *h = fh(fi);
        if (h->kind == H_READ)
            return -EACCES;
        pthread_mutex_lock(&h->lock);
        int rc = memfile_truncate(h->buf, size, h->limit);
        if (rc == 0)
            h->state = edit_changed(h->state);
        bool stored = h->kind == H_EDIT || (h->kind == H_MEM && h->buf->pending);
        if (rc == -EFBIG && stored)
            refuse_truncate(fs, h->cluster, h->kind == H_EDIT && h->edit_is_config, h->stage,
                            h->name ? h->name : h->buf->name, size, h->limit);
        pthread_mutex_unlock(&h->lock);
        return rc;
    }
    /* truncate(1) without an open file commits at once. */
    struct snapshot *snap;
    struct tree_entry e;
    int rc = lookup(fs, path, &snap, &e);
    if (rc)
        return rc;
    struct blob *content = NULL;
    size_t limit = HOOK_MAX_BYTES;
    switch (e.kind) {
    case T_CONFIG:
        content = e.cluster->config;
        limit = CONFIG_MAX_BYTES;
        break;
    case T_HOOK:
        content = e.hook->content;
        break;
    case T_MEMFILE:
        rc = memfile_truncate(e.mem, size, SCRATCH_MAX_BYTES);
        break;
    case T_GENERATED:
        rc = refuse_path(fs, path, -EACCES, "read-only, written by pclusterfs; not changed");
        break;
    case T_NODECTL:
        rc = 0; /* holds nothing: a command is a write */
        break;
    default:
        rc = -EISDIR;
    }
    if (content) {
        struct memfile *m = memfile_new_detached(content->data, content->len);
        rc = m ? memfile_truncate(m, size, limit) : -ENOMEM;
        if (rc == -EFBIG)
            refuse_truncate(fs, e.cluster->name, e.kind == T_CONFIG, e.stage,
                            e.kind == T_CONFIG ? NULL : e.hook->name, size, limit);
        size_t len;
        char *data = rc == 0 ? memfile_copy(m, &len) : NULL;
        if (rc == 0 && !data)
            rc = -ENOMEM;
        if (data && e.kind == T_CONFIG)
            rc = commit_config(fs, e.cluster->name, data, len);
        else if (data)
            rc = commit_hook(fs, e.cluster->name, e.stage, e.hook->name, data, len);
        free(data);
        memfile_put_detached(m);
    }
    lookup_done(fs, snap, &e);
    return rc;
}

/* ---------------------------------------------------------------- names */

static int op_unlink(const char *path)
{
    struct pcfs *fs = ctx();
    struct snapshot *snap;
    struct tree_entry e;
    int rc = lookup(fs, path, &snap, &e);
    if (rc)
        return rc;
    if (e.kind == T_HOOK)
        rc = commit_delete_hook(fs, e.cluster->name, e.stage, e.hook->name);
    else if (e.kind == T_MEMFILE)
        memfile_unlink(&fs->memfiles, e.mem);
    else if (is_dir(e.kind))
        rc = -EISDIR;
    else if (!removing_tree(fs, e.cluster)) /* config, generated files */
        rc = refuse_path(fs, path, -EPERM, REMOVE_WITH_RMDIR);
    lookup_done(fs, snap, &e);
    return rc;
}

/* The bytes of a rename's source: a memfile or a stored hook. */
static char *source_bytes(const struct tree_entry *src, size_t *len)
{
    if (src->kind == T_MEMFILE)
        return memfile_copy(src->mem, len);
    char *copy = malloc(src->hook->content->len + 1);
    if (copy) {
        memcpy(copy, src->hook->content->data, src->hook->content->len + 1);
        *len = src->hook->content->len;
    }
    return copy;
}

/* Removes the source of a rename once its bytes live under the new name. */
static int drop_source(struct pcfs *fs, const struct tree_entry *src)
{
    if (src->kind == T_MEMFILE) {
        memfile_unlink(&fs->memfiles, src->mem);
        return 0;
    }
    return commit_delete_hook(fs, src->cluster->name, src->stage, src->hook->name);
}

static int rename_into(struct pcfs *fs, struct tree_entry *src, const struct tree_entry *dir,
                       const char *name, unsigned int flags)
{
    char msg[PCFS_MSG_MAX];
    int rc;
    bool to_config = dir->kind == T_CLUSTER && strcmp(name, "config") == 0;
    if (dir->kind == T_CLUSTER && !to_config && names_is_cluster_entry(name))
        return -EPERM;
    bool to_scratch = dir->kind == T_CLUSTER ? !to_config : names_is_hook_scratch(name);
    bool to_job = dir->kind == T_JOBS && !to_scratch;
    if (to_job && (rc = names_check_job(name, msg, sizeof(msg))) != 0)
        return commit_refuse(fs, dir->cluster->name, rc, "jobs/: %s; not submitted", msg);
    if (!to_config && (rc = names_check_file(name, msg, sizeof(msg))) != 0)
        return commit_refuse(fs, dir->cluster->name, rc, "%s%s%s%s",
                             dir->kind == T_STAGE ? "hooks/" : "",
                             dir->kind == T_STAGE ? hook_stage_name(dir->stage) : "",
                             dir->kind == T_STAGE ? ": " : "", msg);
    if (flags & RENAME_NOREPLACE) {
        struct tree_entry existing;
        struct snapshot *snap = snapshot_holder_get(&fs->snaps);
        char path[4096];
        snprintf(path, sizeof(path), "/%s/%s%s%s", dir->cluster->name,
                 dir->kind == T_STAGE ? "hooks/" : dir->kind == T_JOBS ? "jobs/" : "",
                 dir->kind == T_STAGE ? hook_stage_name(dir->stage) : "",
                 dir->kind == T_STAGE ? "/" : "");
        strncat(path, name, sizeof(path) - strlen(path) - 1);
        rc = tree_resolve(snap, &fs->memfiles, path, &existing);
        tree_entry_done(&fs->memfiles, &existing);
        snapshot_unref(snap);
        if (rc == 0)
            return -EEXIST;
    }
    if (to_scratch && src->kind == T_MEMFILE)
        return memfile_rename(&fs->memfiles, src->mem, dir->memdir, name);

    size_t len;
    char *data = source_bytes(src, &len);
    if (!data)
        return -ENOMEM;
    if (to_scratch) {
        /* A stored hook moved to a scratch name (an editor's backup):
         * it stops being installed. */
        struct memfile *m;
        rc = memfile_create(&fs->memfiles, dir->cluster->name, dir->memdir, name, false, 0644, &m);
        if (rc == -EEXIST) {
            m = memfile_get(&fs->memfiles, dir->cluster->name, dir->memdir, name);
            rc = m ? 0 : -ENOENT;
        }
        if (rc == 0) {
            rc = memfile_truncate(m, 0, SCRATCH_MAX_BYTES);
            if (rc == 0 && len)
                rc = memfile_write(m, data, len, 0, SCRATCH_MAX_BYTES) < 0 ? -EFBIG : 0;
            memfile_put(&fs->memfiles, m);
        }
    } else if (to_config) {
        rc = commit_config(fs, dir->cluster->name, data, len);
    } else if (to_job) {
        rc = commit_job(fs, dir->cluster->name, name, data, len);
    } else {
        rc = commit_hook(fs, dir->cluster->name, dir->stage, name, data, len);
    }
    free(data);
    bool same_hook = src->kind == T_HOOK && dir->kind == T_STAGE && src->stage == dir->stage &&
                     strcmp(src->hook->name, name) == 0;
    if (rc == 0 && !same_hook)
        rc = drop_source(fs, src);
    return rc;
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
    struct pcfs *fs = ctx();
    if (flags & RENAME_EXCHANGE)
        return -EINVAL;
    char parent[4096];
    const char *name;
    int rc = tree_split(to, parent, sizeof(parent), &name);
    if (rc)
        return rc;
    struct snapshot *snap;
    struct tree_entry src;
    rc = lookup(fs, from, &snap, &src);
    if (rc)
        return rc;
    struct tree_entry dir;
    rc = tree_resolve(snap, &fs->memfiles, parent, &dir);
    if (rc == 0) {
        if (src.kind != T_MEMFILE && src.kind != T_HOOK) /* config, generated, dirs */
            rc = refuse_path(fs, from, -EPERM, "cannot be renamed; it stays where it is");
        else if (dir.kind != T_CLUSTER && dir.kind != T_STAGE && dir.kind != T_JOBS)
            rc = is_dir(dir.kind) ? refuse_path(fs, to, -EACCES, "cannot be created here")
                                  : -ENOTDIR;
        else if (dir.cluster != src.cluster)
            rc = -EXDEV;
        else
            rc = rename_into(fs, &src, &dir, name, flags);
        tree_entry_done(&fs->memfiles, &dir);
    }
    lookup_done(fs, snap, &src);
    return rc;
}

/* ---------------------------------------------------------------- metadata */

/* chmod, chown and utimes: tools (cp -p, sed -i, Ansible) set them on the
 * files they write, so they succeed on writable files and directories. Only a
 * scratch file keeps a mode; stored files keep their fixed modes. Generated
 * files refuse with EPERM. */
static int change_metadata(const char *path, const mode_t *mode)
{
    struct pcfs *fs = ctx();
    struct snapshot *snap;
    struct tree_entry e;
    int rc = lookup(fs, path, &snap, &e);
    if (rc)
        return rc;
    if (e.kind == T_GENERATED || e.kind == T_NODECTL || (mode && is_dir(e.kind)))
        rc = refuse_path(fs, path, -EPERM, "its mode and times are pclusterfs's; not changed");
    else if (e.kind == T_MEMFILE && mode) {
        pthread_mutex_lock(&e.mem->lock);
        e.mem->mode = *mode & 07777;
        pthread_mutex_unlock(&e.mem->lock);
    }
    lookup_done(fs, snap, &e);
    return rc;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    (void)fi;
    return change_metadata(path, &mode);
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    (void)uid;
    (void)gid;
    (void)fi;
    return change_metadata(path, NULL);
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    (void)tv;
    (void)fi;
    return change_metadata(path, NULL);
}

static int op_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    memset(st, 0, sizeof(*st));
    st->f_bsize = 4096;
    st->f_frsize = 4096;
    st->f_namemax = FILE_NAME_MAX;
    return 0;
}

/* ---------------------------------------------------------------- lifecycle */

/* After a swap: the kernel forgets the attributes of what changed. */
static void invalidate_path(const char *path, void *arg)
{
    fuse_invalidate_path(arg, path); /* -ENOENT: the kernel never asked for it */
}

static void invalidate_changes(const struct snapshot *old, const struct snapshot *next, void *arg)
{
    snapdiff(old, next, invalidate_path, arg);
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    struct pcfs *fs = ctx();
    cfg->use_ino = 0;
    cfg->hard_remove = 1;
    cfg->nullpath_ok = 0;
    /* Files change under the kernel's feet (snapshots swap): what it
     * caches, attributes and pages, is invalidated at each swap
     * (invalidate_changes), and each read-only open checks its pages
     * (open_cached). Names that do not exist are never cached: a new
     * cluster shows at once. */
    cfg->entry_timeout = CACHE_SECONDS;
    cfg->attr_timeout = CACHE_SECONDS;
    cfg->negative_timeout = 0;
    snapshot_holder_set_hook(&fs->snaps, invalidate_changes, fuse_get_context()->fuse);
    cfg->direct_io = 0;
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    int rc = controller_start(fs->controller);
    if (rc)
        fprintf(stderr, "pclusterfs: cannot start the controller: %s\n", strerror(-rc));
    return fs;
}

/* The session ends before the controller stops: no invalidation after. */
static void op_destroy(void *private_data)
{
    struct pcfs *fs = private_data;
    snapshot_holder_set_hook(&fs->snaps, NULL, NULL);
}

/* Links have no meaning in the tree (a hook is stored by name, once); link
 * and symlink both refuse with EPERM, told in events inside a cluster. */
static int op_link(const char *from, const char *to)
{
    (void)from;
    return refuse_path(ctx(), to, -EPERM, "links cannot be made in pclusterfs; copy the file");
}

static int op_symlink(const char *target, const char *linkpath)
{
    (void)target;
    return refuse_path(ctx(), linkpath, -EPERM,
                       "symbolic links cannot be made in pclusterfs; copy the file");
}

const struct fuse_operations pcfs_fuse_ops = {
    .init = op_init,
    .destroy = op_destroy,
    .getattr = op_getattr,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .mkdir = op_mkdir,
    .rmdir = op_rmdir,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .truncate = op_truncate,
    .unlink = op_unlink,
    .link = op_link,
    .symlink = op_symlink,
    .rename = op_rename,
    .chmod = op_chmod,
    .chown = op_chown,
    .utimens = op_utimens,
    .statfs = op_statfs,
};
