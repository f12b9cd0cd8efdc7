/* The desired-state store: what must survive a crash, a remount or a second
 * workstation (DESIGN.md section 2): each cluster's config, hooks, events,
 * last commit error and deletion marker. An interface with one implementation
 * per backend (memory now; the state bucket with the AWS layer), so the
 * commit paths and the controller never know which one they talk to.
 *
 * Every call may block on the backend; FUSE reads never call it. Calls
 * return 0 or a negative errno with a human-readable reason in err. */
#ifndef PCFS_STORE_H
#define PCFS_STORE_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "fs/model/blob.h"

enum hook_stage { HOOK_PRE = 0, HOOK_POST = 1, HOOK_STAGES = 2 };
/* The objects of jobs/ (their keys: fs/store/layout.h). */
enum layout_job { LAYOUT_JOB_SUBMIT, LAYOUT_JOB_CANCEL, LAYOUT_JOB_ACK, LAYOUT_JOB_CANCEL_ACK };

struct desired_hook {
    char *name;
    struct blob *content;
    time_t mtime;
};

/* An object of the cluster that the listing showed but the store does not
 * load (a node's report, the cluster's JWT key): its name under
 * clusters/<name>/ and its ETag, so readers fetch it only when it changed. */
struct desired_object {
    char *rest; /* "reports/<node>", "generated/jwt.key" */
    char *etag;
    time_t mtime; /* the listing's LastModified; 0 when unknown */
};

struct cluster_config;

/* A stored config parsed (fs/model/config_memo.h): once per generation,
 * shared by every load and copy of the state that holds that generation. */
struct parsed_config {
    atomic_uint refs;
    struct cluster_config *cfg; /* NULL when the stored config no longer parses */
    char error[256];            /* why it does not */
    const char *region;         /* its aws_region_name; "" = the mount's region */
};

struct desired_cluster {
    char *name;
    struct blob *config; /* NULL until the first good commit */
    int generation;      /* number of good config commits */
    struct parsed_config *parsed; /* config parsed (a reference); NULL without config */
    time_t created_at;
    time_t updated_at; /* last change of config or hooks */
    bool deleting;
    struct desired_hook *hooks[HOOK_STAGES]; /* sorted by name (byte order) */
    size_t n_hooks[HOOK_STAGES];
    struct blob *events;  /* one event a line, oldest first; never NULL */
    char *last_error;     /* last failed commit, NULL after a good one */
    char *failure_code;   /* the controller's verdict (CREATE_FAILED...), NULL if none */
    char *failure_reason;
    int first_complete;   /* generation at which the cluster first completed, 0 = never */
    struct desired_object *objects; /* reports/, generated/jwt.key, head/slurm/ and the
                                     * head's node command acks, sorted by rest */
    size_t n_objects;
};

/* Everything the store holds, clusters sorted by name. */
struct desired_state {
    struct desired_cluster *clusters;
    size_t n;
};

struct store_ops {
    int (*load)(void *impl, struct desired_state **out, char *err, size_t errlen);
    /* -EEXIST if the cluster exists, -EBUSY if it is being deleted. */
    int (*create_cluster)(void *impl, const char *cluster, time_t now, char *err, size_t errlen);
    /* Stores config as the next generation, which *generation receives;
     * -EBUSY when another mount's commit to the cluster won the race (the
     * config was not stored). Commits of one cluster are serialized across
     * mounts, so no two get one generation. */
    int (*put_config)(void *impl, const char *cluster, struct blob *config, time_t now,
                      int *generation, char *err, size_t errlen);
    int (*put_hook)(void *impl, const char *cluster, enum hook_stage stage, const char *name,
                    struct blob *content, time_t now, char *err, size_t errlen);
    /* -ENOENT if there is no such hook. */
    int (*delete_hook)(void *impl, const char *cluster, enum hook_stage stage, const char *name,
                       time_t now, char *err, size_t errlen);
    int (*mark_deleting)(void *impl, const char *cluster, char *err, size_t errlen);
    /* Removes every object of the cluster: the end of a deletion. */
    int (*remove_cluster)(void *impl, const char *cluster, char *err, size_t errlen);
    /* Appends lines (each ending in "\n") to the cluster's events. */
    int (*append_events)(void *impl, const char *cluster, const char *lines, char *err,
                         size_t errlen);
    /* Sets (msg) or clears (NULL) the cluster's last commit error. */
    int (*set_last_error)(void *impl, const char *cluster, const char *msg, char *err,
                          size_t errlen);
    /* The controller's verdicts (DESIGN.md section 4): the cluster failed,
     * with a code (CREATE_FAILED...) and a reason, until the next good
     * config (put_config clears it); or it first completed at generation. */
    int (*set_failure)(void *impl, const char *cluster, const char *code, const char *reason,
                       char *err, size_t errlen);
    int (*set_completed)(void *impl, const char *cluster, int generation, char *err,
                         size_t errlen);
    /* Stores a node command (nodes/<n>/ctl) for the head as ctl/<node>/<id>
     * (fs/store/layout.h), never over an existing object: -EEXIST when one
     * has the id. -EOPNOTSUPP where no head can read it (-o memory). */
    int (*put_node_command)(void *impl, const char *cluster, const char *node, const char *id,
                            const char *body, size_t len, char *err, size_t errlen);
    /* Stores one of jobs/'s objects for the head (a submission or a
     * cancel, fs/store/layout.h), never over an existing one: -EEXIST when
     * the name has one. -EOPNOTSUPP where no head can read it (-o memory). */
    int (*put_job_object)(void *impl, const char *cluster, enum layout_job kind,
                          const char *name, const char *body, size_t len, char *err,
                          size_t errlen);
    /* A time limit (CLOCK_MONOTONIC) for this thread's calls until cleared
     * with NULL: a commit answers in bounded time when the bucket hangs. A
     * write whose outcome is unknown is undone once the bucket answers; a
     * failed events append or last_error is written then (bucket stores). */
    void (*set_deadline)(void *impl, const struct timespec *deadline);
    void (*destroy)(void *impl);
};

struct store {
    const struct store_ops *ops;
    void *impl;
    /* Events appended through events_append: a pass that appended none
     * changed nothing it must reload before publishing. */
    atomic_ulong appended;
};

/* The in-memory backend (state lasts as long as the process). */
int store_mem_open(struct store *out);

void desired_state_free(struct desired_state *ds);
/* A copy sharing the blobs; NULL on ENOMEM. */
struct desired_state *desired_state_copy(const struct desired_state *src);
void desired_cluster_clear(struct desired_cluster *dc); /* frees its members */
const struct desired_cluster *desired_find(const struct desired_state *ds, const char *name);
/* The region the cluster lives in: its config's aws_region_name, from the
 * config parsed once per generation (dc->parsed), else mount_region. */
const char *desired_region(const struct desired_cluster *dc, const char *mount_region);
/* The listed object clusters/<dc>/<rest>, or NULL. */
const struct desired_object *desired_find_object(const struct desired_cluster *dc,
                                                 const char *rest);
const struct desired_hook *desired_find_hook(const struct desired_cluster *dc,
                                             enum hook_stage stage, const char *name);
const char *hook_stage_name(enum hook_stage stage);

#endif
