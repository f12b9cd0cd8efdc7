/* The daemon's context: one struct passed down to every FUSE handler (as
 * fuse_get_context()->private_data) and to the commit paths. No other state
 * is global. How errors and allocation failure are handled, everywhere:
 * fs/errors.h. */
#ifndef PCFS_PCFS_H
#define PCFS_PCFS_H
#include <pthread.h>
#include <sys/types.h>

#include "aws/creds.h"
#include "fs/control/controller.h"
#include "fs/fuse/memfile.h"
#include "fs/fuse/page_versions.h"
#include "fs/fuse/tree_removal.h"
#include "fs/options.h"
#include "fs/model/snapshot.h"
#include "fs/store/store.h"

#define CONFIG_MAX_BYTES (64 * 1024)
#define HOOK_MAX_BYTES (1024 * 1024)
#define HOOKS_PER_STAGE_MAX 100

struct pcfs {
    struct pcfs_options opts;
    char *mount_region;           /* resolved default region */
    struct aws_creds_provider *creds; /* NULL with -o memory */
    char *bucket;                 /* the state bucket, NULL with -o memory */
    char *account;                /* its owner, the account of the credentials */
    struct store store;           /* the desired state */
    struct snapshot_holder snaps; /* what reads see */
    struct controller *controller;
    struct memfile_table memfiles; /* scratch and files being created */
    struct page_versions page_versions; /* what the kernel's page cache holds */
    struct tree_walkers walkers;        /* processes removing a cluster's tree */
    pthread_mutex_t commit_lock;   /* one commit at a time */
    struct timespec commit_limit;  /* the commit in progress answers by then (commit_lock) */
    uid_t uid;
    gid_t gid;
};

#endif
