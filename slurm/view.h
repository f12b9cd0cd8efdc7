/* Slurm's view as a head node's agent publishes it through the bucket
 * (scripts/embed/agent_publish.py), and its heartbeat:
 *   view:      {"format": 1, "cluster", "instance_id", "api_version",
 *               "observed_at", "nodes", "partitions", "jobs", "ping"}, each
 *               part the slurmrestd answer of that name, untouched;
 *   heartbeat: {"observed_at", "instance_id", "view_etag", "error"}.
 * instance_id is the head's that wrote it: readers count a view only for
 * the head instance it came from.
 * Each part goes through the parser of its answer (parse.h), so this stays
 * the one reading of Slurm's JSON. observed_at is the agent's RFC 3339 UTC
 * time of the round that wrote the object. Input is untrusted: malformed is
 * -EPROTO with a message, never a crash. Knows nothing of buckets. */
#ifndef PCFS_SLURM_VIEW_H
#define PCFS_SLURM_VIEW_H
#include <stddef.h>
#include <stdint.h>

#include "slurm/slurmrest.h"

#define SLURM_VIEW_FORMAT 1

struct slurm_view {
    char instance_id[32];                    /* the head's that wrote it */
    char api_version[16];                    /* "v0.0.42" */
    int64_t observed_at;                     /* Unix seconds */
    struct slurmrest_node_list *nodes;       /* release with slurmrest_node_list_release */
    struct slurmrest_partition_list *partitions;
    struct slurmrest_job_list *jobs;
    struct slurmrest_ping ping;
};

struct slurm_heartbeat {
    char instance_id[32];                    /* the head's that wrote it */
    int64_t observed_at;                     /* Unix seconds */
    char error[512];                         /* why the agent could not read Slurm, "" if it could */
};

/* 0, -EPROTO (msg says why), or -ENOMEM; out is zeroed on failure. */
int slurm_view_parse(const char *buf, size_t len, struct slurm_view *out, char *msg,
                     size_t msglen);
void slurm_view_free(struct slurm_view *v);

int slurm_heartbeat_parse(const char *buf, size_t len, struct slurm_heartbeat *out, char *msg,
                          size_t msglen);

#endif
