/* The state bucket's layout: the one module that builds its keys (DESIGN.md
 * section 2). Nothing else writes "clusters/" or a key's name; a unit test
 * holds every other fs/ file to that. Keys are returned malloc'd (NULL on
 * ENOMEM), or written into a caller's buffer (false when it is too small).
 *
 * A cluster's objects live under clusters/<cluster>/; their name past that
 * prefix is their "rest" (what store listings carry in desired_object).
 * layout_writers is the table of who writes what: the workstation (a mount's
 * commits and its controller), the nodes (their reports, through presigned
 * PUTs), and, for the hand-over of the compute fleet to an agent on the head
 * node in a later issue, the head node itself under head/ (its published
 * Slurm view head/slurm/..., its acknowledgements head/acks/..., its events
 * head/events). Both sides' tests check their keys against this table. */
#ifndef PCFS_LAYOUT_H
#define PCFS_LAYOUT_H
#include <stdbool.h>
#include <stddef.h>

#include "fs/store/store.h"

/* The objects a cluster has one of, named by their rest. */
enum layout_object {
    LAYOUT_MARKER,      /* "cluster": it exists; its body is its incarnation (creation time) */
    LAYOUT_CONFIG,      /* "config": the last good config */
    LAYOUT_GENERATION,  /* "generation": the number of good config commits */
    LAYOUT_COMMIT_LOCK, /* "commit.lock": serializes commits across mounts */
    LAYOUT_EVENTS,      /* "events" */
    LAYOUT_LAST_ERROR,  /* "last_error": the last failed commit */
    LAYOUT_DELETING,    /* "deleting": the deletion marker */
    LAYOUT_FAILURE,     /* "failure": the controller's verdict, "CODE\nREASON" */
    LAYOUT_COMPLETED,   /* "completed": the generation at which it first completed */
    LAYOUT_OBJECTS
};

/* Who writes a key. */
enum layout_writer { LAYOUT_BY_WORKSTATION, LAYOUT_BY_NODE, LAYOUT_BY_HEAD };

/* One row of the table: keys under clusters/<cluster>/ whose rest equals
 * `rest` (or, when it ends in '/', starts with it). */
struct layout_entry {
    const char *rest;
    enum layout_writer writer;
    const char *what;
};
extern const struct layout_entry layout_writers[];
extern const size_t layout_n_writers;

/* The row a rest falls under, or NULL when the layout has none. */
const struct layout_entry *layout_entry_of(const char *rest);

/* Bucket-wide keys. */
const char *layout_clusters_prefix(void); /* "clusters/" */
const char *layout_lease_key(void);       /* the controller lease (one per bucket) */

/* The rest of a cluster object ("config", "failure"...). */
const char *layout_object_rest(enum layout_object o);
/* The object a rest names, or -1. */
int layout_object_of(const char *rest);

char *layout_cluster_prefix(const char *cluster); /* "clusters/<c>/" */
char *layout_key(const char *cluster, enum layout_object o);
/* The key of a listed object of the cluster (its rest as listed). */
char *layout_rest_key(const char *cluster, const char *rest);
/* The cluster a key belongs to, with its rest: false if it is no cluster's. */
bool layout_split_key(const char *key, const char **cluster, size_t *cluster_len,
                      const char **rest);

char *layout_hook_key(const char *cluster, enum hook_stage stage, const char *name);
/* Hook rests: "hooks/pre/<name>", "hooks/post/<name>"; the stage and name
 * of one, or false when rest is no hook's. */
bool layout_hook_of(const char *rest, enum hook_stage *stage, const char **name);

/* generated/<name>: files rendered for the nodes and cluster secrets. */
char *layout_generated_key(const char *cluster, const char *name);
bool layout_generated_rest(const char *name, char *buf, size_t len);
#define LAYOUT_JWT_KEY "jwt.key"
#define LAYOUT_MUNGE_KEY "munge.key"
#define LAYOUT_SSH_KEY "ssh.key" /* the default user's key between nodes (sshkey.h) */

/* launch/<node>/intent and launch/<node>/<attempt>/manifest. */
char *layout_intent_key(const char *cluster, const char *node);
char *layout_manifest_key(const char *cluster, const char *node, int attempt);

/* reports/<node>: written by the node through a presigned PUT. */
char *layout_report_key(const char *cluster, const char *node);
bool layout_report_rest(const char *node, char *buf, size_t len);
/* The node a report's rest names, or NULL when rest is no report. */
const char *layout_report_node(const char *rest);
/* head/reports/<node>: a dynamic node's bootstrap report, through a PUT URL
 * the head's agent presigned (it launched the node). */
bool layout_head_report_rest(const char *node, char *buf, size_t len);
char *layout_head_report_key(const char *cluster, const char *node);
bool layout_is_head_report(const char *rest);

/* head/...: what the head node's agent writes. Its Slurm view
 * (head/slurm/view.json) and the view's heartbeat (head/slurm/heartbeat)
 * are listed as the cluster's objects, read when their ETag changes. */
#define LAYOUT_HEAD_SLURM_VIEW "view.json"
#define LAYOUT_HEAD_SLURM_HEARTBEAT "heartbeat"
char *layout_head_slurm_key(const char *cluster, const char *name);
bool layout_head_slurm_rest(const char *name, char *buf, size_t len);
/* Whether rest is one of the head's Slurm objects (head/slurm/<name>). */
bool layout_is_head_slurm(const char *rest);
char *layout_head_ack_key(const char *cluster, const char *name);
bool layout_head_ack_rest(const char *name, char *buf, size_t len);
/* head/acks/fleet.json: the fleet spec the head's agent applied. */
#define LAYOUT_HEAD_ACK_FLEET "fleet.json"

/* fleet/spec.json: the compute fleet's spec (fs/control/fleetspec.h), the
 * workstation's hand-over to the head's agent, which reads it. */
#define LAYOUT_FLEET_SPEC_REST "fleet/spec.json"
char *layout_fleet_spec_key(const char *cluster);
/* head/events: what the head's agent did by itself (fs/model/head_event.h) */
const char *layout_head_events_rest(void);
char *layout_head_events_key(const char *cluster);
/* The events object's rolled parts: clusters/<c>/events.<num>, and the
 * prefix they share (events_part_number reads a part's number back). */
char *layout_events_part_key(const char *cluster, unsigned num);
char *layout_events_parts_prefix(const char *cluster);

/* ctl/<node>/<id>: a node command (nodes/<n>/ctl) the workstation stores
 * for the head's agent, written once (If-None-Match) under an id unique to
 * the request (its time, then random bytes), so two workstations never
 * overwrite each other; the agent acknowledges it under
 * head/acks/ctl/<node>/<id>. The *_of functions read a rest back (false
 * when it is no such key or a part does not fit its buffer). */
const char *layout_nodectl_rest(void); /* "ctl/" */
char *layout_nodectl_prefix(const char *cluster);
char *layout_nodectl_key(const char *cluster, const char *node, const char *id);
char *layout_nodectl_ack_key(const char *cluster, const char *node, const char *id);
bool layout_nodectl_of(const char *rest, char *node, size_t nodelen, char *id, size_t idlen);
bool layout_nodectl_ack_of(const char *rest, char *node, size_t nodelen, char *id, size_t idlen);

/* jobs/ (issue 19), one object per name, each written once (If-None-Match):
 *   jobs/submit/<name>        a batch script from jobs/<name>, for the head;
 *   jobs/cancel/<jobid>       rmdir jobs/<jobid>: cancel it (or, ended, hide it);
 *   head/acks/jobs/<name>     the head's answer: Slurm's job id, or why not;
 *   head/acks/cancel/<jobid>  the head's answer to a cancel.
 * The head's agent (scripts/embed/agent_jobs.py) reads the first two. */
#define LAYOUT_JOB_KINDS 4
const char *layout_job_rest(enum layout_job kind); /* "jobs/submit/" ... */
char *layout_job_key(const char *cluster, enum layout_job kind, const char *name);
/* The kind and name of a jobs rest; false when it is none (or the name does
 * not fit, or holds a '/'). */
bool layout_job_of(const char *rest, enum layout_job *kind, char *name, size_t namelen);

#endif
