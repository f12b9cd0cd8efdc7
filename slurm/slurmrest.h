/* slurmrest: a client for Slurm's REST daemon (slurmrestd).
 *
 * Contract:
 * - One client object talks to one slurmrestd. It owns one libcurl easy
 *   handle, so a client is used by ONE thread at a time; make one client per
 *   thread (they are cheap). Results (lists) are independent of the client
 *   and may be handed to other threads.
 * - Every call is bounded: connect and total timeouts are always set; a
 *   slurmrestd that is down or slow is an error within those bounds.
 * - The API version is discovered on first use (GET /openapi/v3) and the
 *   newest version both sides know is spoken: v0.0.42, v0.0.41, v0.0.40
 *   (Slurm 23.11..24.11) or v0.0.38 (Slurm 22.05). Results are the same
 *   normalised records whatever the version.
 * - Authentication: X-SLURM-USER-NAME plus an HS256 JWT (claims iat, exp,
 *   sun) minted from the key bytes given at creation, renewed before it
 *   expires. Keys and tokens never appear in messages.
 * - Calls return 0 or a negative errno, and fill `err` with a message for
 *   humans: -EACCES authentication refused, -ETIMEDOUT no answer in time,
 *   -ECONNREFUSED/-EHOSTUNREACH cannot connect, -ENOTSUP the Slurm there
 *   lacks the operation, -ENOENT no such node, -EPROTO malformed answer,
 *   -EIO Slurm reported an error, -ENOMEM.
 * Knows nothing of FUSE, AWS or clusters.
 */
#ifndef PCFS_SLURMREST_H
#define PCFS_SLURMREST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slurmrest_error {
    int code;             /* the negative errno returned, 0 when none */
    int http_status;      /* 0 when no HTTP answer */
    char message[512];
};

struct slurmrest_options {
    const char *url;                 /* "http://host:port", no trailing path */
    const char *user;                /* X-SLURM-USER-NAME and the JWT's sun */
    const unsigned char *key;        /* JWT HS256 key bytes (copied) */
    size_t key_len;
    long connect_timeout_ms;         /* 0: 3000 */
    long timeout_ms;                 /* whole request, 0: 10000 */
    unsigned token_lifetime_s;       /* 0: 300; renewed when 1/3 is left */
    const char *max_version;         /* NULL: newest known; "v0.0.41": speak
                                        nothing newer (tests, pinning) */
};

/* One node, whatever the API version. Times are Unix seconds, 0 = never /
 * unknown. Counts are -1 when Slurm did not say. */
struct slurmrest_node {
    char *name;
    char *hostname;
    char *address;
    char state[32];     /* one word, sinfo %T style: idle, mixed, drained... */
    char base[16];      /* Slurm's base state, upper case: IDLE, MIXED ... */
    char **flags;       /* upper case: CLOUD, POWERED_DOWN, DRAIN, ... */
    size_t nflags;
    char **partitions;
    size_t npartitions;
    char *reason;       /* "" when none */
    int64_t cpus, alloc_cpus, real_memory_mb, alloc_memory_mb;
    int64_t boot_time, last_busy, slurmd_start_time, reason_changed_at;
    char *version;      /* slurmd version, "" when unknown */
};

struct slurmrest_node_list {
    struct slurmrest_node *nodes;
    size_t count;
    int64_t last_update;   /* Slurm's time of the data, 0 if not given */
    int refs;              /* internal: lists are shared, see _release */
};

struct slurmrest_partition {
    char *name;
    char *nodes;        /* Slurm host list expression, e.g. "n[1-4]" */
    char *state;        /* UP, DOWN, DRAIN, INACTIVE */
    int64_t total_cpus, total_nodes;
};

struct slurmrest_partition_list {
    struct slurmrest_partition *partitions;
    size_t count;
};

struct slurmrest_job {
    int64_t job_id;
    char *name;
    char *user;
    char *state;        /* RUNNING, PENDING, COMPLETED ... */
    char *nodes;
    char *partition;
    char *reason;       /* Slurm's state_reason: "None", "Resources", ... */
    int64_t cpus, node_count, submit_time, start_time, end_time;
    int64_t exit_code;   /* the batch script's exit status; -1 until known */
    int64_t exit_signal; /* the signal that ended it, 0 if none */
};

struct slurmrest_job_list {
    struct slurmrest_job *jobs;
    size_t count;
};

#define SLURMREST_MAX_CONTROLLERS 8
struct slurmrest_ping {
    size_t count;
    struct {
        char hostname[256];
        char mode[32];        /* primary, backup1 ... */
        bool responding;
        int64_t latency_us;   /* -1 when not given */
    } controller[SLURMREST_MAX_CONTROLLERS];
};

typedef struct slurmrest_client slurmrest_client;

int slurmrest_client_new(const struct slurmrest_options *opt,
                         slurmrest_client **out, struct slurmrest_error *err);
void slurmrest_client_free(slurmrest_client *c);

/* The API version in use ("v0.0.42"), discovering it if needed. */
int slurmrest_version(slurmrest_client *c, const char **version,
                      struct slurmrest_error *err);

/* Controllers and whether they respond. */
int slurmrest_ping(slurmrest_client *c, struct slurmrest_ping *out,
                   struct slurmrest_error *err);

/* All nodes. Repeated calls ask Slurm only for changes (update_time, with
 * the time Slurm's previous answer carried) where that works: v0.0.42
 * answers 304 and the previous list comes back (same pointer, one more
 * reference); v0.0.38 gives no time, so every call is a full one; a
 * slurmrestd that rejects update_time (24.11's v0.0.40/41) gets full calls
 * from then on. Release with slurmrest_node_list_release. */
int slurmrest_nodes(slurmrest_client *c, struct slurmrest_node_list **out,
                    struct slurmrest_error *err);
void slurmrest_node_list_release(struct slurmrest_node_list *l);
const struct slurmrest_node *
slurmrest_node_find(const struct slurmrest_node_list *l, const char *name);
bool slurmrest_node_has_flag(const struct slurmrest_node *n, const char *flag);

int slurmrest_partitions(slurmrest_client *c,
                         struct slurmrest_partition_list **out,
                         struct slurmrest_error *err);
void slurmrest_partition_list_free(struct slurmrest_partition_list *l);

int slurmrest_jobs(slurmrest_client *c, struct slurmrest_job_list **out,
                   struct slurmrest_error *err);
void slurmrest_job_list_free(struct slurmrest_job_list *l);

/* Node administration (API v0.0.39 and later; -ENOTSUP before). Delete
 * works on dynamic nodes only, as Slurm allows. */
int slurmrest_node_drain(slurmrest_client *c, const char *node,
                         const char *reason, struct slurmrest_error *err);
int slurmrest_node_resume(slurmrest_client *c, const char *node,
                          struct slurmrest_error *err);
int slurmrest_node_delete(slurmrest_client *c, const char *node,
                          struct slurmrest_error *err);

#endif
