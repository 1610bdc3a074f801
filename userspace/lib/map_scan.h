/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reading a whole hash map BPF_MAP_LOOKUP_BATCH at a time: a thousand
 * entries per syscall instead of two syscalls per entry, which is what
 * keeps a statistics snapshot cheap with the per-source table full
 * (131072 LRU entries, per-CPU values).
 */
#ifndef SG_MAP_SCAN_H
#define SG_MAP_SCAN_H

#include <stddef.h>

/* Called per entry; a non-zero return stops the scan and is returned. */
typedef int (*sg_map_scan_cb)(const void *key, const void *value, void *ctx);

/* Calls cb for every entry of the hash map fd.  value_size is what a
 * lookup returns (for per-CPU maps: the rounded value times the CPU
 * count).  The map is read bucket by bucket: an entry added or removed
 * meanwhile may or may not be seen, none is seen twice.  Kernels without
 * batch operations on the map are read one entry at a time.  0 or
 * -errno (or what cb returned). */
int sg_map_scan(int fd, size_t key_size, size_t value_size, sg_map_scan_cb cb, void *ctx);

#endif
