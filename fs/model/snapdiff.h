/* Which paths of the tree show other attributes (size, mtime, presence) in
 * one snapshot than in the one before: what the kernel may have cached that
 * a swap made wrong. Pure; the FUSE glue turns each path into a cache
 * invalidation, so attributes can be cached between swaps. */
#ifndef PCFS_SNAPDIFF_H
#define PCFS_SNAPDIFF_H
#include "fs/model/snapshot.h"

typedef void (*snapdiff_fn)(const char *path, void *arg);

/* Calls fn for every changed path ("/", "/lab3/status", ...), parents
 * before their children; returns how many. */
size_t snapdiff(const struct snapshot *old, const struct snapshot *next, snapdiff_fn fn,
                void *arg);

#endif
