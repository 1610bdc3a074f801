// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Map writes a batch at a time (map_batch.h): every element added is in
 * the map once flush returns, and a batch the kernel refuses part of
 * (here, a hash that is full) reports the key it stopped at, with every
 * element before it in the map and none after.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "map_batch.h"
#include "tap.h"

#define MAX_ENTRIES 1000
#define CAP 64

static int new_hash(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "sgt_batch", sizeof(__u32), sizeof(__u64),
				MAX_ENTRIES, &o);

	if (fd < 0)
		tap_bail("bpf_map_create: %s", strerror(errno));
	return fd;
}

/* Keys 0..n-1 in the map, each with value key * 3; how many are there. */
static __u32 count_right(int fd, __u32 n)
{
	__u32 found = 0;

	for (__u32 k = 0; k < n; k++) {
		__u64 v;

		if (!bpf_map_lookup_elem(fd, &k, &v) && v == (__u64)k * 3)
			found++;
	}
	return found;
}

static void fill(const char *how)
{
	char name[3][160];
	struct sg_map_batch b;
	int fd = new_hash(), rc = 0;
	__u32 k, bad;

	if (sg_map_batch_init(&b, fd, sizeof(__u32), sizeof(__u64), BPF_ANY, CAP))
		tap_bail("sg_map_batch_init");
	for (k = 0; k < MAX_ENTRIES && !rc; k++) {
		__u64 v = (__u64)k * 3;

		rc = sg_map_batch_add(&b, &k, &v);
	}
	if (!rc)
		rc = sg_map_batch_flush(&b);
	snprintf(name[0], sizeof(name[0]), "%s: 1,000 elements, 64 a batch: all in the map "
		 "once flushed", how);
	snprintf(name[1], sizeof(name[1]), "%s: a full hash: -E2BIG at key 1000", how);
	snprintf(name[2], sizeof(name[2]), "%s: every element before the refused key is in the "
		 "map, none after", how);
	tap_check(!rc && count_right(fd, MAX_ENTRIES) == MAX_ENTRIES, name[0],
		  "rc %d, %u in the map", rc, count_right(fd, MAX_ENTRIES));
	sg_map_batch_free(&b);
	close(fd);

	/* 1,200 into a hash of 1,000: the kernel stops at key 1,000. */
	fd = new_hash();
	if (sg_map_batch_init(&b, fd, sizeof(__u32), sizeof(__u64), BPF_ANY, CAP))
		tap_bail("sg_map_batch_init");
	rc = 0;
	for (k = 0; k < MAX_ENTRIES + 200 && !rc; k++) {
		__u64 v = (__u64)k * 3;

		rc = sg_map_batch_add(&b, &k, &v);
	}
	if (!rc)
		rc = sg_map_batch_flush(&b);
	memcpy(&bad, b.bad_key, sizeof(bad));
	tap_check(rc == -E2BIG && bad == MAX_ENTRIES, name[1], "rc %d, bad key %u", rc, bad);
	tap_check(count_right(fd, MAX_ENTRIES + 200) == MAX_ENTRIES, name[2], "%u in the map", count_right(fd, MAX_ENTRIES + 200));
	sg_map_batch_free(&b);
	close(fd);
}

int main(void)
{
	fill("map_batch");
	return tap_done();
}
