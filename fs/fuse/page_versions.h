/* Which version of each file the kernel's page cache may hold, so reads can
 * be served from it (and files mapped with mmap) while staying as fresh as
 * direct I/O was: a read-only open keeps the cached pages only when they
 * hold exactly the content that open would see; otherwise the kernel drops
 * them at that open. Snapshot swaps also invalidate what they change
 * (fuse_ops' swap hook); this table catches what a swap cannot tell (same
 * size, same second) and pages filled by an older open.
 *
 * The kernel keeps one size per file, and reads past it are cut, so while a
 * reader has a file open its size must be that of the version its pages are
 * filled from, not the newest snapshot's: a reader opened before a swap and
 * reading after it would otherwise get the old bytes cut (or padded) at the
 * new length. Such opens pin their path's version: page_versions_size tells
 * getattr the pinned size, and the last release says whether the kernel's
 * size must be dropped again.
 *
 * A table path -> blob, holding a reference to the blob the pages were
 * filled from. Thread-safe. Bounded: past PAGE_VERSIONS_MAX paths the
 * unpinned ones are dropped, which only costs the next opens their cached
 * pages. */
#ifndef PCFS_PAGE_VERSIONS_H
#define PCFS_PAGE_VERSIONS_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "fs/model/blob.h"

#define PAGE_VERSIONS_MAX 65536

struct page_version;

struct page_versions {
    pthread_mutex_t lock;
    struct page_version **buckets;
    size_t n_buckets;
    size_t count;
};

int page_versions_init(struct page_versions *t); /* 0 or -ENOMEM */
void page_versions_destroy(struct page_versions *t);

/* A read-only open of path that will read content: true when the kernel may
 * keep its cached pages (they were filled from equal bytes); false when it
 * must drop them, and its cached size with them. Either way content is
 * path's version from now on. With pin, the version's size is path's size
 * until the matching page_versions_unpin (readers of a file that grows
 * under them, as events, do not pin). */
bool page_versions_open(struct page_versions *t, const char *path, struct blob *content,
                        bool pin);

/* The size of path's version while an open pins it: true and *len, or
 * false when nothing pins it (or its pages may mix versions). */
bool page_versions_size(struct page_versions *t, const char *path, size_t *len);

/* A pinning open of path is released: true when it was the last, with
 * *version (a new reference, NULL when unknown) so the caller can tell
 * whether the kernel's size, which followed the pin, differs from the
 * current one. */
bool page_versions_unpin(struct page_versions *t, const char *path, struct blob **version);

/* What reads of path serve: its version (a new reference), or NULL when it
 * has none (the caller serves its own copy). */
struct blob *page_versions_get(struct page_versions *t, const char *path);

/* A read of path served content: if that is not path's version, the pages
 * may now mix two versions, so the next open must drop them. */
void page_versions_served(struct page_versions *t, const char *path, const struct blob *content);

#endif
