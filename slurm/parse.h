/* Parsers of slurmrestd answers (jansson). Each takes the raw body and
 * tolerates every known generation at once: v0.0.38 (plain numbers, state
 * as a lower-case string plus state_flags) and v0.0.40..v0.0.42 (numbers as
 * {set, infinite, number}, state as an array of upper-case words). Input is
 * untrusted: anything malformed is -EPROTO with a message in msg, never a
 * crash (each parser has a fuzzer in tests/fuzz). */
#ifndef PCFS_SLURM_PARSE_H
#define PCFS_SLURM_PARSE_H
#include <stddef.h>
#include <stdint.h>

#include "slurm/slurmrest.h"

/* API versions this client speaks, newest first, as the minor number of
 * v0.0.N. */
extern const int slurm_known_versions[];
extern const size_t slurm_known_versions_count;

/* From an OpenAPI document (GET /openapi/v3): the newest known version it
 * offers (e.g. 42) that is not newer than max_minor (0: no limit), or
 * -ENOTSUP when it offers none such (the versions it does offer are named
 * in msg), or -EPROTO. */
int slurm_parse_versions(const char *buf, size_t len, int max_minor,
                         char *msg, size_t msglen);

/* The first entry of the answer's "errors" array: returns 1 and fills
 * number (errno / error_number) and msg ("description: error"), 0 when the
 * array is absent or empty, -EPROTO when buf is not a JSON object. */
int slurm_parse_errors(const char *buf, size_t len, int *number, char *msg,
                       size_t msglen);

int slurm_parse_nodes(const char *buf, size_t len,
                      struct slurmrest_node_list **out, char *msg,
                      size_t msglen);
int slurm_parse_partitions(const char *buf, size_t len,
                           struct slurmrest_partition_list **out, char *msg,
                           size_t msglen);
int slurm_parse_jobs(const char *buf, size_t len,
                     struct slurmrest_job_list **out, char *msg,
                     size_t msglen);
int slurm_parse_ping(const char *buf, size_t len, struct slurmrest_ping *out,
                     char *msg, size_t msglen);

/* Frees a node list regardless of references (parsers' own cleanup). */
void slurm_node_list_free(struct slurmrest_node_list *l);

#endif
