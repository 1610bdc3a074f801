/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map writes gathered and sent BPF_MAP_UPDATE_BATCH at a time: applying
 * a policy of a million entries writes a million keys, and one syscall
 * per key cost most of a second; a batch of thousands costs one.
 */
#ifndef SG_MAP_BATCH_H
#define SG_MAP_BATCH_H

#include <stddef.h>
#include <linux/types.h>

struct sg_map_batch {
	int fd;
	__u32 key_size, value_size;
	__u64 flags;            /* for every element: BPF_ANY (a batch takes no
				   other flag but BPF_F_LOCK) */
	char *keys, *values;
	size_t n, cap;
	char bad_key[64];       /* after an error: the key the kernel refused */
};

/* 0 or -ENOMEM (-E2BIG for keys over 64 bytes). */
int sg_map_batch_init(struct sg_map_batch *b, int fd, __u32 key_size, __u32 value_size,
		      __u64 flags, size_t cap);
/* Queues one element, sending the batch when it is full.  0 or -errno
 * (the key refused in bad_key; elements before it are in the map). */
int sg_map_batch_add(struct sg_map_batch *b, const void *key, const void *value);
/* Sends what is queued.  0 or -errno as above. */
int sg_map_batch_flush(struct sg_map_batch *b);
void sg_map_batch_free(struct sg_map_batch *b);

#endif
