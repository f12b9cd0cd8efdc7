/* Path -> object: how a path of the mount maps onto the snapshot and the
 * in-memory files (DESIGN.md section 1). No I/O; the caller holds the
 * snapshot reference for as long as it uses the entry. */
#ifndef PCFS_TREE_H
#define PCFS_TREE_H
#include "fs/fuse/memfile.h"
#include "fs/model/snapshot.h"

enum tree_kind {
    T_ROOT,
    T_CLUSTER,   /* <cluster>/ */
    T_CONFIG,    /* <cluster>/config */
    T_GENERATED, /* status, status.json, events, nodes/<n>/<file> */
    T_NODECTL,   /* <cluster>/nodes/<node>/ctl: write-only, commands for the head */
    T_NODES,     /* <cluster>/nodes/ */
    T_NODE,      /* <cluster>/nodes/<node>/ */
    T_JOBS,      /* <cluster>/jobs/ */
    T_JOB,       /* <cluster>/jobs/<id>/ (its snap_node is in `node`; its files T_GENERATED) */
    T_HOOKS,     /* <cluster>/hooks/ */
    T_STAGE,     /* <cluster>/hooks/{pre,post}/ */
    T_HOOK,      /* a stored hook script */
    T_MEMFILE,   /* scratch, or a hook being created */
};

struct tree_entry {
    enum tree_kind kind;
    const struct snap_cluster *cluster;
    const struct snap_node *node;
    const struct snap_file *file;     /* T_GENERATED */
    const struct desired_hook *hook;  /* T_HOOK */
    struct memfile *mem;              /* T_MEMFILE: a reference, put it with tree_entry_done */
    bool job_record;                  /* T_GENERATED: jobs/<name>, a submission's record */
    enum hook_stage stage;            /* T_STAGE, T_HOOK */
    enum memdir memdir;               /* where a memfile would live (T_CLUSTER, T_STAGE parents) */
};

/* The write-only command file of a compute node (not of the head). */
#define TREE_NODECTL "ctl"
bool tree_node_has_ctl(const struct snap_node *n);

/* Resolves path; 0, -ENOENT or -ENOTDIR. */
int tree_resolve(struct snapshot *snap, struct memfile_table *mem, const char *path,
                 struct tree_entry *out);
void tree_entry_done(struct memfile_table *mem, struct tree_entry *e);

/* Splits "/a/b/c" into the parent "/a/b" (written to parent, parentlen
 * bytes) and the last name; -ENAMETOOLONG if it does not fit. */
int tree_split(const char *path, char *parent, size_t parentlen, const char **name);

/* The hook stage of a memdir (MEMDIR_PRE/POST), and back. */
enum memdir tree_memdir_of_stage(enum hook_stage stage);
enum hook_stage tree_stage_of_memdir(enum memdir dir);

#endif
