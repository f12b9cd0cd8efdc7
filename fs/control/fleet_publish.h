/* Publishing the compute fleet's spec (fleetspec.h) to the bucket, for the
 * head node's agent: each pass of the lease holder renders it, and PUTs it
 * when it differs from what this controller last wrote (the controller's
 * cache remembers; after a restart it is written once again). The image is
 * resolved against EC2 once per config generation. Level-triggered: a
 * commit wakes the controller, so a new generation reaches the bucket
 * within a pass of its commit. */
#ifndef PCFS_FLEET_PUBLISH_H
#define PCFS_FLEET_PUBLISH_H
#include "fs/control/act.h"

void fleet_publish(struct reconcile_ctx *rc, struct act_target *t);

/* Tells in the cluster's events, once per spec, that the head's agent
 * applied it (t->oc's acknowledgement, observe.c): the controller's cache
 * remembers what it told, and the events it holds are checked after a
 * restart, so a remount does not tell it again. */
void fleet_tell_applied(struct reconcile_ctx *rc, struct act_target *t);

#endif
