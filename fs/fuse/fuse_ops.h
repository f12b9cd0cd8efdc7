/* The FUSE glue: libfuse high-level operations that map paths onto the
 * snapshot (reads) and onto commits (writes, mkdir, rmdir, rename, unlink),
 * with the errno conventions of DESIGN.md section 1. Two additions to that
 * contract (issue 20): read-only files are served through the kernel's page
 * cache, so they can be mapped (page_versions.h keeps a new open fresh),
 * and removing a cluster's whole tree deletes it as rmdir does
 * (tree_removal.h says what a walk's unlinks mean). */
#ifndef PCFS_FUSE_OPS_H
#define PCFS_FUSE_OPS_H
#define FUSE_USE_VERSION 314
#include <fuse.h>

extern const struct fuse_operations pcfs_fuse_ops;

#endif
