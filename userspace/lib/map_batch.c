// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "map_batch.h"

int sg_map_batch_init(struct sg_map_batch *b, int fd, __u32 key_size, __u32 value_size,
		      __u64 flags, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	if (key_size > sizeof(b->bad_key))
		return -E2BIG;
	b->key_size = key_size;
	b->value_size = value_size;
	b->flags = flags;
	b->cap = cap ? cap : 1;
	b->keys = malloc(b->cap * key_size);
	b->values = malloc(b->cap * value_size);
	if (!b->keys || !b->values) {
		sg_map_batch_free(b);
		return -ENOMEM;
	}
	return 0;
}

void sg_map_batch_free(struct sg_map_batch *b)
{
	free(b->keys);
	free(b->values);
	b->keys = b->values = NULL;
	b->n = 0;
}

/* One element at a time from i on: kernels without batch updates for
 * this map type, and the way to learn which key a failed batch stopped
 * at when the kernel did not say. */
static int send_each(struct sg_map_batch *b, size_t i)
{
	for (; i < b->n; i++) {
		const char *k = b->keys + i * b->key_size;

		if (bpf_map_update_elem(b->fd, k, b->values + i * b->value_size, b->flags)) {
			int e = errno;

			memcpy(b->bad_key, k, b->key_size);
			return -e;
		}
	}
	return 0;
}

int sg_map_batch_flush(struct sg_map_batch *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = b->flags);
	__u32 count = (__u32)b->n;
	int rc = 0;

	if (!b->n)
		return 0;
	if (bpf_map_update_batch(b->fd, b->keys, b->values, &count, &o)) {
		/* count is how many went in (a kernel without batches for
		 * this map leaves it as it was: none did); the rest, one by
		 * one, says which key failed and why, or goes in. */
		rc = send_each(b, count < b->n ? count : 0);
	}
	b->n = 0;
	return rc;
}

int sg_map_batch_add(struct sg_map_batch *b, const void *key, const void *value)
{
	memcpy(b->keys + b->n * b->key_size, key, b->key_size);
	memcpy(b->values + b->n * b->value_size, value, b->value_size);
	if (++b->n < b->cap)
		return 0;
	return sg_map_batch_flush(b);
}
