/* The mount options of pclusterfs (-o bucket=,region=,profile=,refresh=,busy_refresh=,
 * max_instances=,bootstrap_timeout=) and --help/--version, parsed with
 * libfuse's fuse_opt so they mix with libfuse's own options. */
#ifndef PCFS_OPTIONS_H
#define PCFS_OPTIONS_H
#include <fuse_opt.h>

struct pcfs_options {
    char *bucket;          /* state bucket; NULL = pclusterfs-<account>-<region> */
    char *region;          /* mount region; NULL = from the AWS chain */
    char *profile;         /* AWS profile; NULL = the chain's default */
    int refresh_seconds;   /* refresh period of the controller */
    int busy_refresh_seconds; /* its period while a cluster is changing */
    int max_instances;     /* cost guard */
    int bootstrap_timeout; /* seconds before a head node bootstrap fails */
    int memory;            /* keep state in memory (tests, demos) */
    int show_help;
    int show_version;
    int allow_other;       /* seen, so default_permissions can be added */
};

/* Parses and removes our options from args; fills defaults. 0, or -1 after
 * printing a clear message to stderr. */
int options_parse(struct fuse_args *args, struct pcfs_options *opts);
void options_free(struct pcfs_options *opts);
void options_print_help(const char *progname);

#endif
