/* Connects a mount to where its state lives: the state bucket (the AWS
 * credential chain, the account from STS, the bucket created private and
 * encrypted on first use), or, with -o memory, this process's memory (for
 * trying the tree and for tests; nothing survives the unmount). */
#ifndef PCFS_BACKEND_H
#define PCFS_BACKEND_H
#include <stddef.h>

#include "fs/pcfs.h"

/* Fills fs->store (and fs->mount_region); 0, or negative errno with err. */
int backend_open(struct pcfs *fs, char *err, size_t errlen);
void backend_close(struct pcfs *fs);

#endif
