/* Only one mount reconciles a bucket at a time (DESIGN.md section 2). It
 * holds the `lease` object, "HOLDER EXPIRES\n", written with S3 conditional
 * writes: created with If-None-Match, renewed or taken over (once expired)
 * with If-Match on the ETag read, so two mounts can never both win. The
 * others serve reads and commits and take over when the lease lapses. */
#ifndef PCFS_LEASE_H
#define PCFS_LEASE_H
#include <stdbool.h>
#include <time.h>

#include "fs/control/cloud.h"

struct lease {
    char holder[33]; /* this mount's random id */
    bool held;
};

/* A fresh random holder id; 0 or -EIO. */
int lease_init(struct lease *l);
/* Takes or renews the lease for `seconds` from now; true while held. */
bool lease_hold(struct lease *l, struct cloud *cl, int seconds, time_t now);
/* Gives the lease up (on unmount) so another mount takes over at once. */
void lease_release(struct lease *l, struct cloud *cl);

#endif
