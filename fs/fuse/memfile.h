/* Files that live in this mount's memory only: editor and tool scratch files
 * (DESIGN.md section 1) until they are renamed onto a real name, and hook
 * scripts being written for the first time, until their first close commits
 * them. A table keyed by (cluster, directory, name); entries are
 * reference-counted so an open file keeps its entry alive. */
#ifndef PCFS_MEMFILE_H
#define PCFS_MEMFILE_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

enum memdir { MEMDIR_CLUSTER = 0, MEMDIR_PRE = 1, MEMDIR_POST = 2, MEMDIR_JOBS = 3 };

struct memfile {
    struct memfile *next;
    int refs;           /* guarded by the table lock */
    bool linked;        /* still in the table (not unlinked or renamed away) */
    bool pending;       /* a real hook being created, not scratch */
    char *cluster;
    enum memdir dir;
    char *name;
    pthread_mutex_t lock; /* guards data, len, cap, mtime, mode */
    char *data;
    size_t len, cap;
    time_t mtime;
    mode_t mode;
};

struct memfile_table {
    pthread_mutex_t lock;
    struct memfile *head;
    size_t count;
};

#define MEMFILE_MAX_FILES 1000 /* scratch is for editors, not storage */

void memfile_table_init(struct memfile_table *t);
void memfile_table_destroy(struct memfile_table *t);

/* A new reference to the entry, or NULL. */
struct memfile *memfile_get(struct memfile_table *t, const char *cluster, enum memdir dir,
                            const char *name);
/* Adds an empty entry and returns a reference; -EEXIST, -ENOSPC, -ENOMEM. */
int memfile_create(struct memfile_table *t, const char *cluster, enum memdir dir,
                   const char *name, bool pending, mode_t mode, struct memfile **out);
void memfile_put(struct memfile_table *t, struct memfile *m);
/* Removes the entry from the table (open references stay valid). */
void memfile_unlink(struct memfile_table *t, struct memfile *m);
/* Moves the entry to another name (replacing any entry there). */
int memfile_rename(struct memfile_table *t, struct memfile *m, enum memdir dir, const char *name);
/* Drops every entry of a cluster (it is being deleted). */
void memfile_drop_cluster(struct memfile_table *t, const char *cluster);

/* Names in (cluster, dir), for readdir: calls fn for each under the lock. */
void memfile_list(struct memfile_table *t, const char *cluster, enum memdir dir,
                  void (*fn)(void *arg, const char *name, bool pending), void *arg);
size_t memfile_count_pending(struct memfile_table *t, const char *cluster, enum memdir dir);

/* A buffer outside any table (an open file's private copy of a stored
 * config or hook); release it with memfile_put_detached. */
struct memfile *memfile_new_detached(const char *data, size_t len);
void memfile_put_detached(struct memfile *m);

/* Data access, under the entry's own lock. */
int memfile_write(struct memfile *m, const char *buf, size_t size, off_t off, size_t limit);
int memfile_truncate(struct memfile *m, off_t size, size_t limit);
int memfile_read(struct memfile *m, char *buf, size_t size, off_t off);
/* A copy of the contents (caller frees); NULL on ENOMEM. */
char *memfile_copy(struct memfile *m, size_t *len);

#endif
