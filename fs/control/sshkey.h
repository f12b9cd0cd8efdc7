/* A cluster's ssh key for the image's default user between its nodes
 * (issue 17): an ECDSA P-256 private key as PKCS#8 PEM, which OpenSSH reads
 * as an identity and from which a node derives the public key itself
 * (ssh-keygen -y), so nothing else is shipped. Made once per cluster with
 * its other secrets (launch.c) and never leaves the state bucket but to
 * its nodes. */
#ifndef PCFS_SSHKEY_H
#define PCFS_SSHKEY_H
#include <stddef.h>

/* A new key: 0 and *pem (malloc'd, NUL-terminated, *len bytes without the
 * NUL), or -ENOMEM / -EIO. */
int sshkey_generate(char **pem, size_t *len);

#endif
