// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading whole hash maps in batches (see map_scan.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "map_scan.h"

#define BATCH_ENTRIES     1024
#define BATCH_ENTRIES_MAX 65536

/* One entry at a time: for kernels without batch operations on a map. */
static int scan_one_by_one(int fd, size_t key_size, size_t value_size, sg_map_scan_cb cb,
			   void *ctx)
{
	unsigned char *key = malloc(key_size * 2), *next, *value = malloc(value_size);
	bool first = true;
	int rc = 0;

	if (!key || !value) {
		free(key);
		free(value);
		return -ENOMEM;
	}
	next = key + key_size;
	while (!rc && !bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		first = false;
		memcpy(key, next, key_size);
		if (bpf_map_lookup_elem(fd, key, value))
			continue; /* deleted or evicted meanwhile */
		rc = cb(key, value, ctx);
	}
	free(key);
	free(value);
	return rc;
}

int sg_map_scan(int fd, size_t key_size, size_t value_size, sg_map_scan_cb cb, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 batch = BATCH_ENTRIES, count;
	/* The batch cursor is opaque; hash maps use a u32 bucket index. */
	__u64 in_token[4] = { 0 }, out_token[4] = { 0 };
	unsigned char *keys = NULL, *values = NULL;
	bool started = false, done = false;
	int rc = 0, err;

	while (!done && !rc) {
		if (!keys) {
			keys = malloc((size_t)batch * key_size);
			values = malloc((size_t)batch * value_size);
			if (!keys || !values) {
				rc = -ENOMEM;
				break;
			}
		}
		count = batch;
		err = bpf_map_lookup_batch(fd, started ? in_token : NULL, out_token, keys, values,
					   &count, &opts);
		if (err) {
			err = -errno;
			if (err == -ENOENT) {
				done = true;     /* the last entries, if any, are in */
			} else if (err == -ENOSPC && batch < BATCH_ENTRIES_MAX) {
				/* One bucket holds more than a batch: grow. */
				batch *= 4;
				free(keys);
				free(values);
				keys = values = NULL;
				continue;
			} else if (!started && (err == -EINVAL || err == -EOPNOTSUPP ||
						err == -524 /* the kernel's ENOTSUPP */)) {
				free(keys);
				free(values);
				return scan_one_by_one(fd, key_size, value_size, cb, ctx);
			} else {
				rc = err;
				break;
			}
		}
		for (__u32 i = 0; i < count && !rc; i++)
			rc = cb(keys + (size_t)i * key_size, values + (size_t)i * value_size, ctx);
		memcpy(in_token, out_token, sizeof(in_token));
		started = true;
	}
	free(keys);
	free(values);
	return rc;
}
