/* The head's acknowledgement of the fleet spec it applied
 * (clusters/<c>/head/acks/fleet.json, written by scripts/embed/agent_spec.py):
 *   {"format": 1, "cluster", "instance_id", "generation", "specId",
 *    "appliedAt"}
 * instance_id is the head's that wrote it: readers count an ack only for the
 * head instance it came from. Input is untrusted (the head writes it):
 * malformed is -EPROTO with a message, never a crash; kept strings are
 * checked (an instance id, 64 hex digits). Pure: no I/O. */
#ifndef PCFS_FLEET_ACK_H
#define PCFS_FLEET_ACK_H
#include <stddef.h>

#define FLEET_ACK_FORMAT 1

struct fleet_ack {
    char cluster[64];
    char instance_id[32];
    int generation;  /* >= 1 */
    char spec_id[65];
};

/* 0, or -EPROTO with msg; out is zeroed on failure. */
int fleet_ack_parse(const char *buf, size_t len, struct fleet_ack *out, char *msg, size_t msglen);

#endif
