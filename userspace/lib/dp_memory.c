// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The kernel memory of the data plane's maps, as the kernel accounts it:
 * the "memlock" line of each map's /proc/self/fdinfo entry (what bpftool
 * shows as bytes_memlock; bpf_map_get_info_by_fd has no such field).
 * Since Linux 6.4 it is the memory the map uses now (a hash that is not
 * preallocated grows with its entries); before, an estimate from its
 * maximum size.  The per-generation tables (map-in-map) are counted under
 * their outer map's name, both generations' inner tables included.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp_internal.h"

static uint64_t fd_memlock(int fd)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* The inner tables of an outer map (ARRAY_OF_MAPS): lookups give ids. */
static uint64_t inner_memlock(int outer_fd)
{
	uint64_t sum = 0;

	for (__u32 gen = 0; gen < SG_GENERATIONS; gen++) {
		__u32 id = 0;
		int fd;

		if (bpf_map_lookup_elem(outer_fd, &gen, &id) || !id)
			continue;
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		sum += fd_memlock(fd);
		close(fd);
	}
	return sum;
}

int sg_dp_map_memory(struct sg_dp *dp, struct sg_map_memory *out, int max, uint64_t *total)
{
	const struct bpf_map *m;
	int n = 0;

	*total = 0;
	bpf_object__for_each_map(m, dp->skel->obj) {
		int fd = bpf_map__fd(m);
		uint64_t bytes;

		if (!sg_dp_map_shared(m) || fd < 0)
			continue;
		bytes = fd_memlock(fd);
		if (bpf_map__type(m) == BPF_MAP_TYPE_ARRAY_OF_MAPS)
			bytes += inner_memlock(fd);
		*total += bytes;
		if (n < max) {
			snprintf(out[n].name, sizeof(out[n].name), "%s", sg_dp_pin_name(m));
			out[n].bytes = bytes;
		}
		n++;
	}
	return n;
}
