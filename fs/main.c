/* pclusterfs: mounts HPC clusters on AWS as a file tree. main() parses the
 * options, builds the context (store, controller, first snapshot) and hands
 * the mount to libfuse. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/fuse_ops.h"
#include <fuse_lowlevel.h>
#include "fs/pcfs.h"
#include "fs/version.h"

/* The mount's default region: -o region, then the AWS environment. */
static char *resolve_region(const struct pcfs_options *opts)
{
    const char *candidates[] = {opts->region, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (candidates[i] && *candidates[i])
            return strdup(candidates[i]);
    return strdup("us-east-1");
}

static int context_init(struct pcfs *fs)
{
    char err[256];
    fs->uid = getuid();
    fs->gid = getgid();
    pthread_mutex_init(&fs->commit_lock, NULL);
    memfile_table_init(&fs->memfiles);
    fs->mount_region = resolve_region(&fs->opts);
    if (!fs->mount_region || store_mem_open(&fs->store) != 0)
        return -ENOMEM;
    struct snapshot *empty = snapshot_build(
        calloc(1, sizeof(struct desired_state)), &(struct observed_state){0},
        &(struct snapshot_inputs){.mount_region = fs->mount_region});
    if (!empty)
        return -ENOMEM;
    snapshot_holder_init(&fs->snaps, empty);
    struct controller_deps deps = {
        .store = &fs->store,
        .snaps = &fs->snaps,
        .memfiles = &fs->memfiles,
        .mount_region = fs->mount_region,
        .refresh_seconds = fs->opts.refresh_seconds,
    };
    fs->controller = controller_new(&deps);
    if (!fs->controller)
        return -ENOMEM;
    int rc = controller_pass(fs->controller, err, sizeof(err));
    if (rc)
        fprintf(stderr, "pclusterfs: first refresh failed: %s\n", err);
    return rc;
}

static void context_destroy(struct pcfs *fs)
{
    controller_free(fs->controller);
    if (fs->snaps.current)
        snapshot_holder_destroy(&fs->snaps);
    if (fs->store.ops)
        fs->store.ops->destroy(fs->store.impl);
    memfile_table_destroy(&fs->memfiles);
    pthread_mutex_destroy(&fs->commit_lock);
    free(fs->mount_region);
    options_free(&fs->opts);
}

int main(int argc, char *argv[])
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct pcfs fs = {0};
    if (options_parse(&args, &fs.opts) != 0) {
        fuse_opt_free_args(&args);
        return 2;
    }
    if (fs.opts.show_help) {
        options_print_help(argv[0]);
        printf("FUSE options:\n");
        fuse_cmdline_help();
        fuse_lib_help(&args);
        fuse_opt_free_args(&args);
        options_free(&fs.opts);
        return 0;
    }
    if (fs.opts.show_version) {
        printf("pclusterfs %s\nFUSE library version %s\n", PCLUSTERFS_VERSION, fuse_pkgversion());
        fuse_opt_free_args(&args);
        options_free(&fs.opts);
        return 0;
    }
    /* libfuse 3.14 warns about its own default idle-thread limit unless one is set. */
    fuse_opt_add_arg(&args, "-ofsname=pclusterfs,subtype=pclusterfs,max_threads=16,max_idle_threads=8");
    int rc = context_init(&fs);
    if (rc == 0)
        rc = fuse_main(args.argc, args.argv, &pcfs_fuse_ops, &fs);
    else
        rc = 1;
    context_destroy(&fs);
    fuse_opt_free_args(&args);
    return rc;
}
