// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The ban tables: manual bans of an address (sg_bans) and the records of
 * automatic bans of a trusted entry (sg_auto_bans; the ban itself is a
 * deadline in the entry's bucket).  Reading, adding and lifting them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "dp_internal.h"

/* sg_live.state.bans counts the entries of sg_bans (packets skip the ban lookup
 * at 0).  It is shared with the kernel, so it changes only atomically:
 * up for every new entry, down for every deleted one. */
int sg_dp_ban_put(struct sg_dp *dp, const struct sg_addr *a, uint64_t duration_ns,
		  uint32_t flags, struct sg_err *err)
{
	int fd = bpf_map__fd(dp->skel->maps.sg_bans);
	struct sg_ban ban = { .since_ns = sg_boot_ns(), .flags = flags };

	if (duration_ns)
		ban.expires_ns = ban.since_ns + duration_ns;
	if (!bpf_map_update_elem(fd, a, &ban, BPF_NOEXIST)) {
		__atomic_fetch_add(&dp->live->state.bans, 1, __ATOMIC_SEQ_CST);
		return 0;
	}
	if (errno == EEXIST && !bpf_map_update_elem(fd, a, &ban, BPF_EXIST))
		return 0;
	return sg_errf(err, -errno, "ban: %s", errno == E2BIG ? "ban table full" : strerror(errno));
}

int sg_dp_ban_del(struct sg_dp *dp, const struct sg_addr *a, struct sg_err *err)
{
	char text[SG_PREFIX_STRLEN];

	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.sg_bans), a)) {
		sg_addr_format(a, text, sizeof(text));
		return sg_errf(err, -errno, "%s: %s", text,
			       errno == ENOENT ? "not banned" : strerror(errno));
	}
	__atomic_fetch_sub(&dp->live->state.bans, 1, __ATOMIC_SEQ_CST);
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

static int entry_ban_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct sg_entry_ban *)a)->rec.slot;
	uint32_t y = ((const struct sg_entry_ban *)b)->rec.slot;

	return x < y ? -1 : x > y;
}

/* The records are read first, then their entries found in one walk of
 * the prefix index (not one walk per record), then handed out in slot
 * order. */
int sg_dp_auto_ban_foreach(struct sg_dp *dp, sg_dp_auto_ban_cb cb, void *ctx)
{
	int fd = bpf_map__fd(dp->skel->maps.sg_auto_bans), rc = 0;
	__u32 key, next, *prev = NULL;
	struct sg_entry_ban *ents = NULL, *grown;
	size_t n = 0, cap = 0;

	while (!bpf_map_get_next_key(fd, prev, &next) && n < SG_MAX_AUTO_BANS) {
		key = next;
		prev = &key;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(ents, cap * sizeof(*ents));
			if (!grown) {
				free(ents);
				return -ENOMEM;
			}
			ents = grown;
		}
		memset(&ents[n], 0, sizeof(ents[n]));
		if (bpf_map_lookup_elem(fd, &key, &ents[n].rec))
			continue;
		ents[n].rec.slot = key;
		n++;
	}
	if (n) {
		qsort(ents, n, sizeof(*ents), entry_ban_cmp);
		sg_dp_resolve_entry_bans(dp, ents, n);
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = cb(&ents[i], ctx);
	free(ents);
	return rc;
}

/* The ban is cleared in the bucket by rewriting the whole value: a charge
 * another CPU makes at that instant may be lost (the entry gets one more
 * connection), which is the price of an operator's rare action. */
int sg_dp_auto_ban_del(struct sg_dp *dp, uint32_t slot, struct sg_err *err)
{
	int bfd = bpf_map__fd(dp->skel->maps.sg_buckets);
	int afd = bpf_map__fd(dp->skel->maps.sg_auto_bans);
	struct sg_auto_ban rec;
	struct sg_bucket b;
	uint64_t until;

	if (bpf_map_lookup_elem(afd, &slot, &rec) || bpf_map_delete_elem(afd, &slot))
		return sg_errf(err, -errno, "automatic ban of slot %u: %s", slot,
			       errno == ENOENT ? "not banned" : strerror(errno));
	/* Only the ban this record is of: a newer one (the kernel banned
	 * again meanwhile, and rewrote the record) stays. */
	until = rec.expires_ns ? rec.expires_ns : SG_BAN_FOREVER;
	if (!bpf_map_lookup_elem(bfd, &slot, &b) && b.ban_until_ns == until) {
		b.ban_until_ns = 0;
		b.violations = 0;
		if (bpf_map_update_elem(bfd, &slot, &b, BPF_EXIST))
			return sg_errf(err, -errno, "lifting the ban of slot %u: %s", slot,
				       strerror(errno));
	}
	return 0;
}
