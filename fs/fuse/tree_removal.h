/* Deleting a cluster by removing its tree (`rm -rf`, Python's
 * shutil.rmtree, Ansible's `file: state=absent`): such a walk lists the
 * cluster's directory, unlinks every file, removes every subdirectory, and
 * ends with the rmdir of the cluster itself, which is what deletes it
 * (commit_delete_cluster). A cluster's own files (config, status, events,
 * node files) and directories (nodes/, hooks/...) cannot be removed one by
 * one, so within such a walk their unlinks and rmdirs succeed and change
 * nothing: a config is never lost half-way, another workstation sees the
 * whole cluster until the final rmdir, and an interrupted walk leaves the
 * cluster as it was (hook scripts excepted: removing one always removes it).
 *
 * "Within a walk" means: the process asking opened the cluster's directory
 * (or one below it) a short while before. A stray `rm config` from a process
 * that never listed the cluster is still refused with EPERM (events say to
 * rmdir the cluster). A reused pid can only turn such a refusal into a
 * no-op, never into a loss.
 *
 * A small ring of (cluster, pid, time); thread-safe; no I/O. */
#ifndef PCFS_TREE_REMOVAL_H
#define PCFS_TREE_REMOVAL_H
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#define TREE_WALK_SECONDS 600 /* a walk's unlinks may wait on hook commits */
#define TREE_WALKERS 64

struct tree_walkers {
    pthread_mutex_t lock;
    struct {
        char cluster[NAME_MAX + 1];
        pid_t pid;
        time_t at;
    } slot[TREE_WALKERS];
    size_t next;
};

void tree_walkers_init(struct tree_walkers *w);
void tree_walkers_destroy(struct tree_walkers *w);
/* pid opened a directory of cluster at now. */
void tree_walkers_note(struct tree_walkers *w, const char *cluster, pid_t pid, time_t now);
/* Whether pid opened a directory of cluster within TREE_WALK_SECONDS of now. */
bool tree_walkers_walking(struct tree_walkers *w, const char *cluster, pid_t pid, time_t now);

#endif
