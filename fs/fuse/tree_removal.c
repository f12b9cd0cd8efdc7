#include "fs/fuse/tree_removal.h"

#include <string.h>

void tree_walkers_init(struct tree_walkers *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
}

void tree_walkers_destroy(struct tree_walkers *w)
{
    pthread_mutex_destroy(&w->lock);
}

static bool recent(time_t at, time_t now)
{
    return at && now >= at && now - at <= TREE_WALK_SECONDS;
}

/* Called with the lock held; the slot of (cluster, pid) or NULL. */
static size_t find(struct tree_walkers *w, const char *cluster, pid_t pid)
{
    for (size_t i = 0; i < TREE_WALKERS; i++)
        if (w->slot[i].at && w->slot[i].pid == pid && strcmp(w->slot[i].cluster, cluster) == 0)
            return i;
    return TREE_WALKERS;
}

void tree_walkers_note(struct tree_walkers *w, const char *cluster, pid_t pid, time_t now)
{
    if (strlen(cluster) > NAME_MAX || pid <= 0)
        return;
    pthread_mutex_lock(&w->lock);
    size_t i = find(w, cluster, pid);
    if (i == TREE_WALKERS) {
        i = w->next;
        w->next = (w->next + 1) % TREE_WALKERS;
        strcpy(w->slot[i].cluster, cluster);
        w->slot[i].pid = pid;
    }
    w->slot[i].at = now;
    pthread_mutex_unlock(&w->lock);
}

bool tree_walkers_walking(struct tree_walkers *w, const char *cluster, pid_t pid, time_t now)
{
    if (pid <= 0)
        return false;
    pthread_mutex_lock(&w->lock);
    size_t i = find(w, cluster, pid);
    bool walking = i < TREE_WALKERS && recent(w->slot[i].at, now);
    pthread_mutex_unlock(&w->lock);
    return walking;
}
