// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "clock.h"
#include "tap.h"
#include "world_state.h"

static void put_bucket(int fd, uint32_t key, const struct sg_bucket *b, const char *map)
{
	if (fd < 0 || bpf_map_update_elem(fd, &key, b, 0))
		tap_bail("%s[%u]: %s", map, key, fd < 0 ? "no such map" : strerror(errno));
}

static void trusted_buckets(struct sg_dp *dp, const struct rp_policy *rp, uint64_t until,
			    uint64_t ban_until)
{
	int fd = sg_dp_map_fd(dp, "sg_buckets");

	for (size_t i = 0; i < rp->world.n_trusted; i++) {
		const struct rm_trusted *t = &rp->world.trusted[i];
		bool limited = t->has_class && rp_limited(&t->limits);
		struct sg_bucket b = { 0 };
		struct sg_trusted val;

		if (sg_dp_trust_get(dp, &t->prefix, &val))
			tap_bail("trusted entry %zu is not in the data plane", i);
		if (val.class_idx != sg_entry_class(&rp->pol.trusted[i]))
			tap_bail("trusted entry %zu has class %u, want %u", i, val.class_idx,
				 sg_entry_class(&rp->pol.trusted[i]));
		if (!limited && t->ban == RM_EBAN_NONE)
			continue;
		if (limited)
			b.conn_tat = b.byte_tat = until;
		if (t->ban == RM_EBAN_ACTIVE)
			b.ban_until_ns = ban_until;
		else if (t->ban == RM_EBAN_ENDED)
			b.ban_until_ns = sg_boot_ns() - 1000000000ull;
		put_bucket(fd, val.slot, &b, "sg_buckets");
	}
}

void ws_apply(struct sg_dp *dp, const struct rp_policy *rp, uint64_t until, uint64_t ban_until)
{
	struct sg_bucket spent = { .conn_tat = until, .byte_tat = until };
	int fd;

	trusted_buckets(dp, rp, until, ban_until);
	fd = sg_dp_map_fd(dp, "sg_relay_caps");
	for (uint32_t g = 0; g < 64; g++) {
		if (rp->world.caps[g].exhausted)
			put_bucket(fd, g, &spent, "sg_relay_caps");
		if (rp->world.caps[g].share_exhausted)
			put_bucket(fd, SG_MAX_GROUPS + g, &spent, "sg_relay_caps");
	}
	if (rp->world.unreg_action != SG_UNREG_THROTTLE || !rp_limited(&rp->world.throttle))
		return;
	fd = sg_dp_map_fd(dp, "sg_throttle");
	for (uint32_t k = 0; k < SG_THROTTLE_BUCKETS; k++)
		put_bucket(fd, k, &spent, "sg_throttle");
}
