#include "fs/store/fetch_many.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct fetch_run {
    const struct bucket *bucket;
    struct fetch_item *items;
    size_t n;
    atomic_size_t next;
};

static void *worker(void *arg)
{
    struct fetch_run *run = arg;
    char err[256];
    for (size_t i; (i = atomic_fetch_add(&run->next, 1)) < run->n;) {
        struct fetch_item *it = &run->items[i];
        it->data = NULL;
        it->len = 0;
        it->etag[0] = '\0';
        it->rc = bucket_get(run->bucket, it->key, &it->data, &it->len, it->etag,
                            sizeof(it->etag), err, sizeof(err));
    }
    return NULL;
}

void fetch_many(const struct bucket *b, struct fetch_item *items, size_t n, unsigned workers)
{
    struct fetch_run run = {.bucket = b, .items = items, .n = n};
    atomic_init(&run.next, 0);
    if (workers > n)
        workers = (unsigned)n;
    pthread_t *threads = workers > 1 ? calloc(workers - 1, sizeof(*threads)) : NULL;
    size_t started = 0;
    for (unsigned w = 1; threads && w < workers; w++)
        if (pthread_create(&threads[started], NULL, worker, &run) == 0)
            started++;
    worker(&run); /* this thread fetches too, so a failed pthread_create only slows it */
    for (size_t w = 0; w < started; w++)
        pthread_join(threads[w], NULL);
    free(threads);
}
