/* The FUSE glue: libfuse high-level operations that map paths onto the
 * snapshot (reads) and onto commits (writes, mkdir, rmdir, rename, unlink),
 * with the errno conventions of DESIGN.md section 1. */
#ifndef PCFS_FUSE_OPS_H
#define PCFS_FUSE_OPS_H
#define FUSE_USE_VERSION 314
#include <fuse.h>

extern const struct fuse_operations pcfs_fuse_ops;

#endif
