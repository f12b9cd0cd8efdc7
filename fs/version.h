/* The version pclusterfs reports. */
#ifndef PCFS_VERSION_H
#define PCFS_VERSION_H
#define PCLUSTERFS_VERSION "0.1.0"
#endif
