/* The head's acknowledgements of node commands (nodes/<n>/ctl): the lease
 * holder reads each ack the listing shows (head/acks/ctl/<node>/<id>), tells
 * its outcome once in the cluster's events, and then removes the ack and
 * the command it answers, so neither is told or carried out again (the
 * agent also remembers what it did). A replace that the head carried out
 * gives back the try its relaunch costs: an administrator's replace never
 * counts against the relaunch cap (plan.h's PLAN_MAX_ATTEMPTS), nor is the
 * gone instance a failure. Only the lease holder tells, so two mounts on one
 * bucket tell each outcome once. */
#ifndef PCFS_NODECTL_ACKS_H
#define PCFS_NODECTL_ACKS_H
#include "fs/control/reconcile.h"

/* The ack's size limit: a longer one is told as unreadable. */
#define NODECTL_ACK_MAX 8192

void nodectl_acks_tell(struct reconcile_ctx *rc, const struct desired_cluster *dc);

#endif
