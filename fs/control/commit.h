/* Commits: the only FUSE-driven changes of the desired state (config and
 * hook writes, hook removal, mkdir, rmdir). Each validates first and changes
 * nothing on failure; failures are also recorded in the cluster's events and
 * status.json's last_error so a user whose tool ignores close()'s result
 * still learns what went wrong. A commit returns after the store holds the
 * change and a new snapshot shows it. All return 0 or a negative errno. */
#ifndef PCFS_COMMIT_H
#define PCFS_COMMIT_H
#include <stddef.h>

#include "fs/pcfs.h"

int commit_config(struct pcfs *fs, const char *cluster, const char *data, size_t len);
int commit_hook(struct pcfs *fs, const char *cluster, enum hook_stage stage, const char *name,
                const char *data, size_t len);
int commit_delete_hook(struct pcfs *fs, const char *cluster, enum hook_stage stage,
                       const char *name);
int commit_create_cluster(struct pcfs *fs, const char *cluster);
/* Records a change refused before any commit (a bad file name, a file over
 * its limit, a full hooks/ stage) in events and last_error; returns rc. */
int commit_refuse(struct pcfs *fs, const char *cluster, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int commit_delete_cluster(struct pcfs *fs, const char *cluster);
/* A write of nodes/<node>/ctl (fs/model/nodectl.h): validated (the
 * command, the node, the cluster's state: -EINVAL with why in events),
 * then stored for the head's agent under an id of its own; returns once
 * the bucket holds it (-EIO when it cannot). The head's acknowledgement
 * reaches events later (the controller's ack reader). */
int commit_node_command(struct pcfs *fs, const char *cluster, const char *node,
                        const char *data, size_t len);
/* A batch script written into jobs/<name> (fs/model/jobscript.h):
 * validated (the script, the cluster's state: -EINVAL with why in events),
 * then stored once for the head's agent, which submits it as the image's
 * default user: -EEXIST when the name was submitted before. Returns once
 * the bucket holds it; the head's answer reaches jobs/<name> and events. */
int commit_job(struct pcfs *fs, const char *cluster, const char *name, const char *data,
               size_t len);
/* rmdir jobs/<id>: a cancel for the head (a job already ended just leaves
 * the listing); -ENOENT when jobs/ shows no such job. Sending it twice (two
 * workstations) is no error. */
int commit_cancel_job(struct pcfs *fs, const char *cluster, const char *id);

#endif
