#include "fs/options.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT(t, field) {t, offsetof(struct pcfs_options, field), 1}

static const struct fuse_opt option_spec[] = {
    OPT("bucket=%s", bucket),
    OPT("region=%s", region),
    OPT("profile=%s", profile),
    OPT("refresh=%d", refresh_seconds),
    OPT("busy_refresh=%d", busy_refresh_seconds),
    OPT("max_instances=%d", max_instances),
    OPT("bootstrap_timeout=%d", bootstrap_timeout),
    OPT("memory", memory),
    OPT("-h", show_help),
    OPT("--help", show_help),
    OPT("-V", show_version),
    OPT("--version", show_version),
    FUSE_OPT_END,
};

/* Keeps allow_other for libfuse while noting that it was asked for. */
static int note_option(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    (void)outargs;
    struct pcfs_options *opts = data;
    if (key == FUSE_OPT_KEY_OPT && strcmp(arg, "allow_other") == 0)
        opts->allow_other = 1;
    return 1;
}

int options_parse(struct fuse_args *args, struct pcfs_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->refresh_seconds = 10;
    opts->busy_refresh_seconds = 2;
    opts->max_instances = 64;
    opts->bootstrap_timeout = 1800;
    if (fuse_opt_parse(args, opts, option_spec, note_option) != 0)
        return -1;
    if (opts->refresh_seconds < 1 || opts->refresh_seconds > 3600) {
        fprintf(stderr, "pclusterfs: refresh=%d: must be 1 to 3600 seconds\n",
                opts->refresh_seconds);
        return -1;
    }
    if (opts->busy_refresh_seconds < 1 || opts->busy_refresh_seconds > 3600) {
        fprintf(stderr, "pclusterfs: busy_refresh=%d: must be 1 to 3600 seconds\n",
                opts->busy_refresh_seconds);
        return -1;
    }
    if (opts->busy_refresh_seconds > opts->refresh_seconds)
        opts->busy_refresh_seconds = opts->refresh_seconds; /* busy is never slower */
    if (opts->max_instances < 1 || opts->max_instances > 100000) {
        fprintf(stderr, "pclusterfs: max_instances=%d: must be 1 to 100000\n",
                opts->max_instances);
        return -1;
    }
    if (opts->bootstrap_timeout < 10) {
        fprintf(stderr, "pclusterfs: bootstrap_timeout=%d: must be at least 10 seconds\n",
                opts->bootstrap_timeout);
        return -1;
    }
    if (opts->allow_other)
        fuse_opt_add_arg(args, "-odefault_permissions");
    return 0;
}

void options_free(struct pcfs_options *opts)
{
    free(opts->bucket);
    free(opts->region);
    free(opts->profile);
}

void options_print_help(const char *progname)
{
    printf("usage: %s [options] MOUNTPOINT\n\n"
           "Mounts HPC clusters on AWS as a file tree: each cluster is a directory;\n"
           "writing its `config` creates or updates it; `status`, `nodes/` and `events`\n"
           "show it; `rmdir` deletes it. See pclusterfs(1).\n\n"
           "pclusterfs options:\n"
           "    -o bucket=NAME           state bucket (default pclusterfs-<account>-<region>)\n"
           "    -o region=REGION         default region (default: the AWS chain)\n"
           "    -o profile=PROFILE       AWS profile for credentials\n"
           "    -o refresh=SECONDS       refresh period (default 10)\n"
           "    -o busy_refresh=SECONDS  refresh period while a cluster is being created,\n"
           "                             updated or deleted (default 2)\n"
           "    -o max_instances=N       refuse configs of more instances (default 64)\n"
           "    -o bootstrap_timeout=S   head node bootstrap limit (default 1800)\n"
           "    -o memory                keep state in memory, not in a bucket (for trying\n"
           "                             the tree and tests; nothing survives unmount)\n"
           "    -h, --help               this help\n"
           "    -V, --version            versions\n\n",
           progname);
}
