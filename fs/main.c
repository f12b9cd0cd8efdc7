/* pclusterfs: mounts HPC clusters on AWS as a file tree. main() parses the
 * options, builds the context (store, controller, first snapshot) and hands
 * the mount to libfuse. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/store/backend.h"
#include "fs/fuse/fuse_ops.h"
#include <fuse_lowlevel.h>
#include "fs/pcfs.h"
#include "fs/errors.h"
#include "fs/version.h"

/* The threads that serve the kernel's requests (and those they start) run
 * as SCHED_BATCH: same share of the CPU, but a request that wakes one does
 * not preempt the process that sent it. A synchronous request (open, read)
 * blocks its sender, so the daemon runs at once anyway; an asynchronous one
 * (RELEASE, sent by close(2)) is then served when the sender next blocks,
 * not inside its close(), which on a small or virtualised machine costs the
 * sender two context switches per close. Measured by `make bench`
 * (open+read+close in-process). A failure only costs that. */
static void serve_without_preempting(void)
{
    struct sched_param sp = {.sched_priority = 0};
    if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0)
        fprintf(stderr, "pclusterfs: SCHED_BATCH refused (%s); serving as usual\n",
                strerror(errno));
}

static int context_init(struct pcfs *fs)
{
    char err[PCFS_MSG_MAX];
    fs->uid = getuid();
    fs->gid = getgid();
    pthread_mutex_init(&fs->commit_lock, NULL);
    memfile_table_init(&fs->memfiles);
    tree_walkers_init(&fs->walkers);
    if (page_versions_init(&fs->page_versions) != 0)
        return -ENOMEM;
    int rc = backend_open(fs, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "pclusterfs: %s\n", err);
        return rc;
    }
    struct snapshot *empty = snapshot_build(
        calloc(1, sizeof(struct desired_state)), &(struct observed_state){.observed_at = time(NULL)},
        &(struct snapshot_inputs){.mount_region = fs->mount_region});
    if (!empty)
        return -ENOMEM;
    snapshot_holder_init(&fs->snaps, empty);
    struct controller_deps deps = {
        .creds = fs->creds,
        .owner = fs->bucket,
        .account = fs->account,
        .bootstrap_timeout = fs->opts.bootstrap_timeout,
        .store = &fs->store,
        .snaps = &fs->snaps,
        .memfiles = &fs->memfiles,
        .mount_region = fs->mount_region,
        .refresh_seconds = fs->opts.refresh_seconds,
        .busy_refresh_seconds = fs->opts.busy_refresh_seconds,
    };
    fs->controller = controller_new(&deps);
    if (!fs->controller)
        return -ENOMEM;
    /* A backend that cannot be read yet still mounts: the tree says stale. */
    if (controller_pass(fs->controller, err, sizeof(err)) != 0)
        fprintf(stderr, "pclusterfs: first refresh failed: %s\n", err);
    return 0;
}

static void context_destroy(struct pcfs *fs)
{
    controller_free(fs->controller);
    if (fs->snaps.current)
        snapshot_holder_destroy(&fs->snaps);
    backend_close(fs);
    memfile_table_destroy(&fs->memfiles);
    page_versions_destroy(&fs->page_versions);
    tree_walkers_destroy(&fs->walkers);
    pthread_mutex_destroy(&fs->commit_lock);
    options_free(&fs->opts);
}

/* What fuse_main does, split so options are checked (fuse_new) and the
 * mountpoint is known good before the backend is contacted, and the backend
 * is ready before anything is mounted. */
static int serve(struct pcfs *fs, struct fuse_args *args)
{
    struct fuse_cmdline_opts cl;
    if (fuse_parse_cmdline(args, &cl) != 0)
        return 2;
    int rc = 1;
    struct stat st = {0};
    struct fuse *fuse = NULL;
    if (!cl.mountpoint) {
        fprintf(stderr, "pclusterfs: no mount point given (see --help)\n");
        goto out;
    }
    if (stat(cl.mountpoint, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "pclusterfs: bad mount point '%s': %s\n", cl.mountpoint,
                S_ISDIR(st.st_mode) ? strerror(errno) : "Not a directory");
        goto out;
    }
    fuse = fuse_new(args, &pcfs_fuse_ops, sizeof(pcfs_fuse_ops), fs);
    if (!fuse)
        goto out; /* libfuse said which option it did not know */
    if (context_init(fs) != 0)
        goto out;
    if (fuse_mount(fuse, cl.mountpoint) != 0)
        goto out;
    struct fuse_session *se = fuse_get_session(fuse);
    if (fuse_daemonize(cl.foreground) != 0 || fuse_set_signal_handlers(se) != 0) {
        fuse_unmount(fuse);
        goto out;
    }
    serve_without_preempting();
    if (cl.singlethread) {
        rc = fuse_loop(fuse);
    } else {
        struct fuse_loop_config *loop = fuse_loop_cfg_create();
        fuse_loop_cfg_set_clone_fd(loop, cl.clone_fd);
        fuse_loop_cfg_set_max_threads(loop, cl.max_threads);
        if (cl.max_idle_threads != UINT_MAX) /* 3.14 warns about its own default */
            fuse_loop_cfg_set_idle_threads(loop, cl.max_idle_threads);
        rc = fuse_loop_mt(fuse, loop);
        fuse_loop_cfg_destroy(loop);
    }
    /* fuse_destroy frees libfuse's node tables before it calls op_destroy:
     * a swap on the controller thread in that window would invalidate
     * through freed memory. No invalidation once the loop has ended. */
    snapshot_holder_set_hook(&fs->snaps, NULL, NULL);
    /* A loop ended by SIGTERM/SIGINT/SIGHUP returns the signal: a clean stop. */
    rc = rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP ? 0 : 1;
    fuse_remove_signal_handlers(se);
    fuse_unmount(fuse);
out:
    if (fuse)
        fuse_destroy(fuse);
    free(cl.mountpoint);
    return rc;
}

int main(int argc, char *argv[])
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct pcfs fs = {0};
    if (options_parse(&args, &fs.opts) != 0) {
        fuse_opt_free_args(&args);
        return 2;
    }
    int rc = 0;
    if (fs.opts.show_help) {
        options_print_help(argv[0]);
        printf("FUSE options:\n");
        fuse_cmdline_help();
        fuse_lib_help(&args);
    } else if (fs.opts.show_version) {
        printf("pclusterfs %s\nFUSE library version %s\n", PCLUSTERFS_VERSION, fuse_pkgversion());
    } else {
        fuse_opt_add_arg(&args, "-ofsname=pclusterfs,subtype=pclusterfs");
        rc = serve(&fs, &args);
    }
    context_destroy(&fs);
    fuse_opt_free_args(&args);
    return rc;
}
