/* The snapshot: an immutable, reference-counted picture of every cluster,
 * with each read-only file already rendered. FUSE handlers read only this;
 * the controller builds a new one and swaps it in (snapshot_holder), so a
 * read never waits on the network and never sees half an update. */
#ifndef PCFS_SNAPSHOT_H
#define PCFS_SNAPSHOT_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "fs/model/blob.h"
#include "fs/model/observed.h"
#include "fs/model/status.h"
#include "fs/store/store.h"

/* A read-only file of the tree: its bytes and its time. */
struct snap_file {
    const char *name;
    struct blob *content;
    time_t mtime;
};

#define NODE_FILES 8
struct snap_node {
    char *name;
    struct snap_file files[NODE_FILES]; /* instance_id ... node.json */
    size_t n_files;
    time_t mtime;
};

struct snap_cluster {
    const struct desired_cluster *desired; /* config, hooks, events */
    const char *name;
    enum cluster_status status;
    struct blob *config;                   /* "" before the first commit */
    struct snap_file status_file, status_json, events;
    struct snap_node *nodes;               /* sorted by name */
    size_t n_nodes;
    time_t nodes_mtime; /* when the set of node names last changed: nodes/'s mtime */
    /* jobs/<id>/: Slurm's jobs from the head's published view, each a
     * directory of one-value files as a node is; sorted by name (strcmp),
     * the newest SNAP_JOBS_MAX ids when Slurm holds more. */
    struct snap_node *jobs;
    size_t n_jobs;
    time_t jobs_mtime;
    /* jobs/<name>: the read-only record of each submission, saying what
     * became of it (names point into desired's objects); by name. */
    struct snap_file *job_records;
    size_t n_job_records;
};

#define SNAP_JOBS_MAX 1000

struct snapshot {
    atomic_int refs;
    time_t observed_at;
    time_t root_mtime;               /* when the set of clusters last changed */
    struct desired_state *desired;   /* owned */
    struct snap_cluster *clusters;   /* sorted by name, parallel to desired */
    size_t n;
};

/* What the builder needs besides the two states. */
struct snapshot_inputs {
    const char *mount_region; /* the default region of clusters without one */
    const char *stale_reason; /* non-NULL: the desired state could not be read */
    const struct snapshot *prev; /* the one it replaces: a file whose bytes did not
                                  * change keeps its mtime (so kernel caches stay good) */
};

/* Builds a snapshot; takes ownership of desired (even on failure). */
struct snapshot *snapshot_build(struct desired_state *desired, const struct observed_state *obs,
                                const struct snapshot_inputs *in);
struct snapshot *snapshot_ref(struct snapshot *s);
void snapshot_unref(struct snapshot *s);
const struct snap_cluster *snapshot_find(const struct snapshot *s, const char *name);
const struct snap_node *snap_cluster_find_node(const struct snap_cluster *c, const char *name);
const struct snap_node *snap_cluster_find_job(const struct snap_cluster *c, const char *id);
const struct snap_file *snap_cluster_find_job_record(const struct snap_cluster *c,
                                                   const char *name);
const struct snap_file *snap_node_find_file(const struct snap_node *n, const char *name);

/* Told of every swap, after it (old and next are valid during the call):
 * the FUSE glue drops the kernel's cached attributes of what changed. */
typedef void (*snapshot_swap_fn)(const struct snapshot *old, const struct snapshot *next,
                                 void *arg);

/* The current snapshot, swapped atomically. */
struct snapshot_holder {
    pthread_mutex_t lock;
    struct snapshot *current;
    pthread_mutex_t hook_lock; /* swaps and hook changes: a hook is never cleared mid-call */
    snapshot_swap_fn on_swap;  /* optional */
    void *on_swap_arg;
};
void snapshot_holder_init(struct snapshot_holder *h, struct snapshot *initial);
struct snapshot *snapshot_holder_get(struct snapshot_holder *h); /* a new reference */
void snapshot_holder_swap(struct snapshot_holder *h, struct snapshot *next);
/* Sets (or with NULL clears) the swap hook; returns once no call of the
 * previous one runs. */
void snapshot_holder_set_hook(struct snapshot_holder *h, snapshot_swap_fn fn, void *arg);
void snapshot_holder_destroy(struct snapshot_holder *h);

#endif
