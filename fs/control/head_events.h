/* The head's events (clusters/<c>/head/events, fs/model/head_event.h) into
 * the cluster's events: the lease holder tells each line once, as
 * "head: MESSAGE (at TIME)" with the head's level, so what the head did
 * while no workstation was mounted (dynamic nodes started and stopped,
 * their failures) shows in `events` at the next mount. A line the events
 * already hold is not told again: two mounts, or a remount, tell it once. */
#ifndef PCFS_HEAD_EVENTS_H
#define PCFS_HEAD_EVENTS_H
#include "fs/control/reconcile.h"

void head_events_tell(struct reconcile_ctx *rc, const struct desired_cluster *dc);

#endif
