// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The userspace index of the active generation: prefix -> slot, the
 * slots in use and the counts.  Built from the kernel's tables on first
 * use (a restart with the pins kept carries on from what is there;
 * opening pins to read counters needs none of it), then kept by whoever
 * changes the tables (generation.c, dp_trusted.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "gen_internal.h"
#include "map_scan.h"

static int slot_search_visit(const struct sg_prefix *p, uint32_t slot, void *ctx)
{
	struct sg_entry_ban *want = ctx;

	if (slot != want->rec.slot)
		return 0;
	want->entry = *p;
	want->known = true;
	return 1;
}

/* Many slots at once, in one walk of the index: ents sorted by rec.slot. */
struct slots_search {
	struct sg_entry_ban *ents;
	size_t n;
};

static int entry_slot_cmp(const void *key, const void *elem)
{
	uint32_t k = *(const uint32_t *)key, e = ((const struct sg_entry_ban *)elem)->rec.slot;

	return k < e ? -1 : k > e;
}

static int slots_search_visit(const struct sg_prefix *p, uint32_t slot, void *ctx)
{
	struct slots_search *s = ctx;
	struct sg_entry_ban *hit;

	hit = bsearch(&slot, s->ents, s->n, sizeof(*s->ents), entry_slot_cmp);
	if (hit) {
		hit->entry = *p;
		hit->known = true;
	}
	return 0;
}

void sg_dp_resolve_entry_bans(struct sg_dp *dp, struct sg_entry_ban *ents, size_t n)
{
	struct slots_search s = { .ents = ents, .n = n };

	for (size_t i = 0; i < n; i++)
		ents[i].known = false;
	if (n && sg_gen_ensure_index(dp, NULL))
		return;
	if (n && dp->slot_index && dp->slot_used)
		sg_prefix_map_foreach(dp->slot_index, slots_search_visit, &s);
	for (size_t i = 0; i < n; i++)
		if (ents[i].known &&
		    (ents[i].rec.slot >= SG_MAX_TRUSTED || !sg_slot_test(dp->slot_used, ents[i].rec.slot)))
			ents[i].known = false;
}

int sg_dp_slot_prefix(struct sg_dp *dp, uint32_t slot, struct sg_prefix *out)
{
	struct sg_entry_ban want = { .rec.slot = slot };

	if (sg_gen_ensure_index(dp, NULL))
		return -ENOENT;
	if (slot >= SG_MAX_TRUSTED || !dp->slot_used || !sg_slot_test(dp->slot_used, slot))
		return -ENOENT;
	if (dp->slot_index)
		sg_prefix_map_foreach(dp->slot_index, slot_search_visit, &want);
	if (!want.known)
		return -ENOENT;
	*out = want.entry;
	return 0;
}

long sg_dp_index_size(struct sg_dp *dp)
{
	if (sg_gen_ensure_index(dp, NULL))
		return -1;
	return dp->slot_index ? (long)sg_prefix_map_size(dp->slot_index) : 0;
}

/* ---- scanning the active generation (at open) ---- */

static int scan_one(struct sg_dp *dp, const void *key, const struct sg_trusted *val, bool lpm,
		    struct sg_err *err)
{
	struct sg_prefix p;

	if (lpm) {
		struct sg_lpm_key k;

		memcpy(&k, key, sizeof(k));
		p.addr = k.addr;
		p.len = k.prefixlen;
	} else {
		memcpy(&p.addr, key, sizeof(p.addr));
		p.len = 128;
	}
	if (val->slot >= SG_MAX_TRUSTED)
		return sg_errf(err, -EPROTO, "pinned trusted entry with slot %u", val->slot);
	if (index_add(&dp->slot_index, &p, val->slot, 1024) == -ENOMEM)
		return sg_errf(err, -ENOMEM, "out of memory");
	sg_slot_set(dp->slot_used, val->slot);
	dp->n_trusted++;
	dp->n_hosts += !lpm;
	return 0;
}

struct scan {
	struct sg_dp *dp;
	bool lpm;
	struct sg_err *err;
};

static int scan_visit(const void *key, const void *value, void *ctx)
{
	const struct scan *sc = ctx;

	return scan_one(sc->dp, key, value, sc->lpm, sc->err);
}

/* The pinned active table into the index (a restart that keeps the
 * pins), a batch of entries a syscall (map_scan.h), where a million
 * entries took two syscalls each. */
static int scan_table(struct sg_dp *dp, int fd, bool lpm, struct sg_err *err)
{
	struct scan sc = { .dp = dp, .lpm = lpm, .err = err };
	int rc = sg_map_scan(fd, lpm ? sizeof(struct sg_lpm_key) : sizeof(struct sg_addr),
			     sizeof(struct sg_trusted), scan_visit, &sc);

	/* scan_one says why it stopped; otherwise the read itself failed. */
	if (rc && err && !err->code)
		sg_errf(err, rc, "read pinned table: %s", strerror(-rc));
	return rc;
}

/* The most entries the table behind fd can hold (0 if unknown). */
static size_t table_room(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.max_entries : 0;
}

/* Rebuilds slot_used, the index and the counts from the active
 * generation: a restart with pins kept carries on from what is there.
 *
 * The index is made at once with room for everything the tables can
 * hold, so that reading a million entries does not grow it by doubling:
 * each doubling holds the old table and one twice its size, and the
 * last one could overshoot to twice what is needed (some 80 MB at a
 * restart with a million entries, where the index itself is 27).
 * Without memory for that much, it starts small and grows. */
static int scan_active(struct sg_dp *dp, struct sg_err *err)
{
	uint32_t gen = sg_dp_active(dp);
	int hosts = sg_dp_inner_fd(dp, "sg_trusted_hosts", (int)gen);
	int nets = sg_dp_inner_fd(dp, "sg_trusted_nets", (int)gen);
	size_t room = table_room(hosts) + table_room(nets);
	int rc = 0;

	index_free(&dp->slot_index);
	memset(dp->slot_used, 0, SG_SLOT_WORDS * sizeof(uint64_t));
	dp->n_trusted = 0;
	dp->n_hosts = 0;
	if (room)
		dp->slot_index = sg_prefix_map_new(room);
	if (hosts >= 0)
		rc = scan_table(dp, hosts, false, err);
	if (!rc && nets >= 0)
		rc = scan_table(dp, nets, true, err);
	if (hosts >= 0)
		close(hosts);
	if (nets >= 0)
		close(nets);
	/* Sized for the tables' room (a quarter more than the policy, at
	 * least): down to what it holds. */
	if (!rc && dp->slot_index)
		sg_prefix_map_shrink(dp->slot_index);
	return rc;
}

/* Every function that reads the index or the counts calls this first. */
int sg_gen_ensure_index(struct sg_dp *dp, struct sg_err *err)
{
	int rc;

	if (dp->index_ready)
		return 0;
	rc = scan_active(dp, err);
	dp->index_ready = !rc;
	return rc;
}

