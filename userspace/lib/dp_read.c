// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading counters and state, and the ban table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "dp_internal.h"

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

int sg_dp_read_counters(struct sg_dp *dp, uint32_t slot,
			struct sg_counter out[SG_V_COUNT][SG_R_COUNT])
{
	int fd = bpf_map__fd(dp->skel->maps.sg_counters), n = ncpus();
	struct sg_counter *percpu = calloc((size_t)n, sizeof(*percpu));

	if (!percpu)
		return -ENOMEM;
	memset(out, 0, sizeof(struct sg_counter) * SG_V_COUNT * SG_R_COUNT);
	for (uint32_t v = 0; v < SG_V_COUNT; v++) {
		for (uint32_t r = 0; r < SG_R_COUNT; r++) {
			__u32 idx = sg_counter_index(slot, v, r);

			if (bpf_map_lookup_elem(fd, &idx, percpu)) {
				free(percpu);
				return -errno;
			}
			for (int c = 0; c < n; c++) {
				out[v][r].packets += percpu[c].packets;
				out[v][r].bytes += percpu[c].bytes;
				out[v][r].conns += percpu[c].conns;
			}
		}
	}
	free(percpu);
	return 0;
}

int sg_dp_read_stats(struct sg_dp *dp, uint64_t out[SG_STAT_COUNT])
{
	int fd = bpf_map__fd(dp->skel->maps.sg_stats), n = ncpus();
	__u64 *percpu = calloc((size_t)n, sizeof(*percpu));

	if (!percpu)
		return -ENOMEM;
	for (__u32 s = 0; s < SG_STAT_COUNT; s++) {
		out[s] = 0;
		if (bpf_map_lookup_elem(fd, &s, percpu)) {
			free(percpu);
			return -errno;
		}
		for (int c = 0; c < n; c++)
			out[s] += percpu[c];
	}
	free(percpu);
	return 0;
}

int sg_dp_source_foreach(struct sg_dp *dp, sg_dp_source_cb cb, void *ctx)
{
	int fd = bpf_map__fd(dp->skel->maps.sg_sources), n = ncpus(), rc = 0;
	struct sg_source_stats *percpu = calloc((size_t)n, sizeof(*percpu));
	struct sg_addr key, next, *prev = NULL;

	if (!percpu)
		return -ENOMEM;
	while (!rc && !bpf_map_get_next_key(fd, prev, &next)) {
		uint64_t sum[SG_V_COUNT] = { 0 };

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, percpu))
			continue; /* evicted meanwhile */
		for (int c = 0; c < n; c++)
			for (int v = 0; v < SG_V_COUNT; v++)
				sum[v] += percpu[c].packets[v];
		rc = cb(&key, sum, ctx);
	}
	free(percpu);
	return rc;
}

int sg_dp_ban_put(struct sg_dp *dp, const struct sg_addr *a, uint64_t duration_ns,
		  uint32_t flags, struct sg_err *err)
{
	struct sg_ban ban = { .since_ns = sg_boot_ns(), .flags = flags };

	if (duration_ns)
		ban.expires_ns = ban.since_ns + duration_ns;
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sg_bans), a, &ban, 0))
		return sg_errf(err, -errno, "ban: %s",
			       errno == E2BIG ? "ban table full" : strerror(errno));
	return 0;
}

int sg_dp_ban_del(struct sg_dp *dp, const struct sg_addr *a, struct sg_err *err)
{
	char text[SG_PREFIX_STRLEN];

	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.sg_bans), a)) {
		sg_addr_format(a, text, sizeof(text));
		return sg_errf(err, -errno, "%s: %s", text,
			       errno == ENOENT ? "not banned" : strerror(errno));
	}
	return 0;
}

int sg_dp_ban_foreach(struct sg_dp *dp, sg_dp_ban_cb cb, void *ctx)
{
	int fd = bpf_map__fd(dp->skel->maps.sg_bans), rc = 0;
	struct sg_addr key, next, *prev = NULL;
	struct sg_ban ban;

	while (!rc && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &ban))
			continue;
		rc = cb(&key, &ban, ctx);
	}
	return rc;
}
