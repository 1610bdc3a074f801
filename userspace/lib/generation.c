// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy generations.  sg_dp_apply() builds fresh inner maps and the
 * config for the inactive generation, then switches sg_live.active with
 * one write: a packet reads it once and sees one whole policy.
 *
 * Each trusted entry owns a slot in sg_buckets (its rate state).  An
 * entry keeps its slot across reloads for as long as its prefix stays, so
 * a reload never refills a sender's buckets; a new entry gets a slot the
 * running generation does not use, reset before the entry becomes
 * visible, so no two live entries ever share a bucket.
 *
 * There are SG_MAX_TRUSTED slots and a policy may have as many entries,
 * so a reload of a (nearly) full table that replaces some prefixes has
 * fewer slots free in both generations than it has new entries.  Then a
 * new entry takes the slot of an entry this reload removes, and that slot
 * is reset once no packet can still read the running generation (after
 * the switch and an RCU grace period).  Until then, for that grace period
 * only, the new entry may be limited by the removed entry's rate state or
 * automatic ban: it was not trusted before the reload, so it is never
 * treated more leniently than either policy says.  So every policy of at
 * most SG_MAX_TRUSTED entries applies over any running one.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "compile.h"
#include "map_batch.h"
#include "dp_internal.h"
#include "prefix_map.h"

/* ---- prefix -> slot index of the active generation ---- */

static long index_find(const struct sg_prefix_map *m, const struct sg_prefix *p)
{
	return m ? sg_prefix_map_get(m, p) : -1;
}

/* Adds to *m, made on first use (sized for hint prefixes). */
static int index_add(struct sg_prefix_map **m, const struct sg_prefix *p, uint32_t slot,
		     size_t hint)
{
	if (!*m && !(*m = sg_prefix_map_new(hint)))
		return -ENOMEM;
	return sg_prefix_map_add(*m, p, slot);
}

static void index_del(struct sg_prefix_map *m, const struct sg_prefix *p)
{
	if (m)
		sg_prefix_map_del(m, p);
}

static void index_free(struct sg_prefix_map **m)
{
	sg_prefix_map_free(*m);
	*m = NULL;
}

static int ensure_index(struct sg_dp *dp, struct sg_err *err);

/* Closes the cached trusted tables of an earlier generation. */
static void forget_active_tables(struct sg_dp *dp)
{
	if (!dp->trusted_fd_gen)
		return;
	for (int i = 0; i < 2; i++)
		if (dp->trusted_fd[i] >= 0)
			close(dp->trusted_fd[i]);
	dp->trusted_fd_gen = 0;
}

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
	if (n && ensure_index(dp, NULL))
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

	if (ensure_index(dp, NULL))
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

/* ---- helpers ---- */

static struct sg_lpm_key lpm_key(const struct sg_prefix *p)
{
	struct sg_lpm_key k = { .prefixlen = p->len, .addr = p->addr };

	return k;
}

/* A slot free in both bitmaps (b may be NULL), starting the search where
 * the last one ended so that freed slots are not reused at once. */
static long alloc_slot(struct sg_dp *dp, const uint64_t *a, const uint64_t *b)
{
	for (uint32_t n = 0; n < SG_MAX_TRUSTED; n++) {
		uint32_t s = (dp->slot_cursor + n) % SG_MAX_TRUSTED;

		if (!sg_slot_test(a, s) && !(b && sg_slot_test(b, s))) {
			dp->slot_cursor = (s + 1) % SG_MAX_TRUSTED;
			return s;
		}
	}
	return -1;
}

/* A slot given to a new entry starts with a full bucket and no ban: the
 * record of an automatic ban of its previous owner goes too. */
static int reset_bucket(struct sg_dp *dp, uint32_t slot)
{
	struct sg_bucket zero = {};

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sg_buckets), &slot, &zero, 0))
		return -errno;
	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.sg_auto_bans), &slot) &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

/* Waits until no packet can still be using the inactive generation: BPF
 * programs run inside RCU read-side sections, and MEMBARRIER_CMD_GLOBAL
 * waits for an RCU grace period. */
static void wait_quiescent(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(100000); /* nohz_full kernels refuse it: wait generously */
}

enum { T_SCOPE, T_HOSTS, T_NETS, T_RELAYS, T_COUNT };

/* Inner map shapes: must match the templates in bpf/maps.h (the kernel
 * refuses to install an inner map of another shape, so a drift fails the
 * first apply, loudly).  libbpf does not keep the templates after load. */
static const struct inner_spec {
	const char *outer;
	const char *name;
	enum bpf_map_type type;
	__u32 key_size, value_size, max_entries;
} inner_specs[T_COUNT] = {
	[T_SCOPE] = { "sg_scope", "sg_scope_g", BPF_MAP_TYPE_HASH,
		      sizeof(struct sg_lpm_key), sizeof(__u8), SG_MAX_SCOPE },
	[T_HOSTS] = { "sg_trusted_hosts", "sg_hosts_g", BPF_MAP_TYPE_HASH,
		      sizeof(struct sg_addr), sizeof(struct sg_trusted), SG_MAX_TRUSTED },
	[T_NETS] = { "sg_trusted_nets", "sg_nets_g", BPF_MAP_TYPE_HASH,
		     sizeof(struct sg_lpm_key), sizeof(struct sg_trusted), SG_MAX_TRUSTED },
	[T_RELAYS] = { "sg_relays", "sg_relays_g", BPF_MAP_TYPE_HASH,
		       sizeof(struct sg_relay_key), sizeof(__u64), SG_MAX_RELAY_KEYS },
};

/* The size of a new trusted table for n entries.  The kernel makes a
 * hash's bucket array for its maximum (16 bytes a bucket, a power of two
 * of them) even without preallocation: tables sized for SG_MAX_TRUSTED
 * would cost 16 MiB each, four of them, whatever the policy.  So they are
 * sized for the policy, with room for approvals added in place (a
 * quarter more, at least 4,096); when that is used up, the generation is
 * copied into tables twice as large (grow_active). */
static __u32 table_size(size_t n)
{
	size_t size = n + n / 4 + 4096;

	return size > SG_MAX_TRUSTED ? SG_MAX_TRUSTED : (__u32)size;
}

/* A new inner map of table t: max_entries 0 is the template's. */
static int create_inner(int t, __u32 max_entries, struct sg_err *err)
{
	const struct inner_spec *s = &inner_specs[t];
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(s->type, s->name, s->key_size, s->value_size,
				max_entries ? max_entries : s->max_entries, &o);

	if (fd < 0)
		return sg_errf(err, -errno, "create %s: %s", s->name, strerror(errno));
	return fd;
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

/* One key at a time: kernels without batch lookups of hashes. */
static int scan_each(struct sg_dp *dp, int fd, bool lpm, struct sg_err *err)
{
	union {
		struct sg_addr host;
		struct sg_lpm_key net;
	} key, next;
	struct sg_trusted val;
	void *prev = NULL;
	int rc;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue; /* deleted under us */
		if ((rc = scan_one(dp, &key, &val, lpm, err)))
			return rc;
	}
	return 0;
}

/* The pinned active table into the index (a restart that keeps the
 * pins): BPF_MAP_LOOKUP_BATCH, thousands of entries a syscall, where a
 * million entries took two syscalls each. */
static int scan_table(struct sg_dp *dp, int fd, bool lpm, struct sg_err *err)
{
	enum { CHUNK = 8192 };
	size_t key_size = lpm ? sizeof(struct sg_lpm_key) : sizeof(struct sg_addr);
	char *keys = malloc(CHUNK * key_size), token[64];
	struct sg_trusted *vals = malloc(CHUNK * sizeof(*vals));
	bool first = true, done = false;
	int rc = 0;

	if (!keys || !vals) {
		rc = sg_errf(err, -ENOMEM, "out of memory");
		goto out;
	}
	while (!done && !rc) {
		__u32 count = CHUNK;

		if (bpf_map_lookup_batch(fd, first ? NULL : token, token, keys, vals, &count,
					 NULL)) {
			if (errno != ENOENT) {
				/* Not supported here (or a bucket larger than a
				 * chunk): the table again, key by key. */
				if (!first) {
					rc = sg_errf(err, -errno, "read pinned table: %s",
						     strerror(errno));
					break;
				}
				rc = scan_each(dp, fd, lpm, err);
				break;
			}
			done = true; /* the last chunk: count is what it held */
		}
		first = false;
		for (__u32 i = 0; i < count && !rc; i++)
			rc = scan_one(dp, keys + i * key_size, &vals[i], lpm, err);
	}
out:
	free(keys);
	free(vals);
	return rc;
}

/* Rebuilds slot_used, the index and the counts from the active
 * generation: a restart with pins kept carries on from what is there. */
static int scan_active(struct sg_dp *dp, struct sg_err *err)
{
	uint32_t gen;
	int fd, rc = 0;

	index_free(&dp->slot_index);
	memset(dp->slot_used, 0, SG_SLOT_WORDS * sizeof(uint64_t));
	dp->n_trusted = 0;
	dp->n_hosts = 0;
	gen = sg_dp_active(dp);
	fd = sg_dp_inner_fd(dp, "sg_trusted_hosts", (int)gen);
	if (fd >= 0) {
		rc = scan_table(dp, fd, false, err);
		close(fd);
	}
	fd = rc ? -1 : sg_dp_inner_fd(dp, "sg_trusted_nets", (int)gen);
	if (fd >= 0) {
		rc = scan_table(dp, fd, true, err);
		close(fd);
	}
	return rc;
}

/* Every function that reads the index or the counts calls this first. */
static int ensure_index(struct sg_dp *dp, struct sg_err *err)
{
	int rc;

	if (dp->index_ready)
		return 0;
	rc = scan_active(dp, err);
	dp->index_ready = !rc;
	return rc;
}

/* ---- building a generation ---- */

#define BATCH 8192 /* elements per BPF_MAP_UPDATE_BATCH */

struct build {
	int fd[T_COUNT];
	uint64_t *used;   /* slots of the generation being built */
	struct sg_prefix_map *index; /* its prefix -> slot index */
	long n_trusted, n_hosts;
	uint32_t *reused; /* slots taken over from entries this build removes */
	size_t n_reused, cap_reused;
	struct sg_map_batch hosts, nets; /* the new tables' entries, queued */
	struct sg_map_batch resets;      /* new entries' buckets, zeroed before the switch */
	uint64_t *banned; /* slots with an automatic ban record (read once) */
};

static void build_free(struct build *b)
{
	/* The batches first: one may still be sending into a table below. */
	sg_map_batch_free(&b->hosts);
	sg_map_batch_free(&b->nets);
	sg_map_batch_free(&b->resets);
	for (int t = 0; t < T_COUNT; t++)
		if (b->fd[t] >= 0)
			close(b->fd[t]);
	free(b->used);
	free(b->reused);
	free(b->banned);
	index_free(&b->index);
}

static int put_trusted(int fd, const struct sg_trusted_entry *e, uint32_t slot, __u64 flags)
{
	struct sg_trusted v;

	sg_compile_trusted(e, &v);
	v.slot = slot;
	if (sg_prefix_is_host(&e->prefix))
		return bpf_map_update_elem(fd, &e->prefix.addr, &v, flags) ? -errno : 0;
	{
		struct sg_lpm_key k = lpm_key(&e->prefix);

		return bpf_map_update_elem(fd, &k, &v, flags) ? -errno : 0;
	}
}

/* The message for a refused batch: the key the kernel stopped at. */
static int batch_error(const struct sg_map_batch *q, bool host, int rc, struct sg_err *err)
{
	char text[SG_PREFIX_STRLEN];
	struct sg_prefix p;

	if (host) {
		memcpy(&p.addr, q->bad_key, sizeof(p.addr));
		p.len = 128;
	} else {
		struct sg_lpm_key k;

		memcpy(&k, q->bad_key, sizeof(k));
		p.addr = k.addr;
		p.len = k.prefixlen;
	}
	sg_prefix_format(&p, text, sizeof(text));
	return sg_errf(err, rc, "trusted %s: %s", text,
		       rc == -E2BIG || rc == -ENOSPC ? "trusted table full" : strerror(-rc));
}

/* Puts entry e into the generation being built, at slot: queued, sent
 * by the batch (the generation is not visible before the switch). */
static int place_trusted(struct sg_dp *dp, struct build *b, const struct sg_trusted_entry *e,
			 uint32_t slot, uint32_t gen, size_t n_hint, struct sg_err *err)
{
	bool host = sg_prefix_is_host(&e->prefix);
	struct sg_lpm_key k = lpm_key(&e->prefix);
	char text[SG_PREFIX_STRLEN];
	struct sg_trusted v;
	int rc;

	rc = index_add(&b->index, &e->prefix, slot, n_hint);
	if (rc == -EEXIST) {
		sg_prefix_format(&e->prefix, text, sizeof(text));
		return sg_errf(err, -EEXIST, "trusted prefix %s is listed twice", text);
	}
	if (rc)
		return sg_errf(err, rc, "out of memory");
	sg_bloom_set(dp, gen, &e->prefix);
	sg_compile_trusted(e, &v);
	v.slot = slot;
	rc = host ? sg_map_batch_add(&b->hosts, &e->prefix.addr, &v)
		  : sg_map_batch_add(&b->nets, &k, &v);
	if (rc)
		return batch_error(host ? &b->hosts : &b->nets, host, rc, err);
	sg_slot_set(b->used, slot);
	b->n_trusted++;
	b->n_hosts += host;
	return 0;
}

/* The slots sg_auto_bans has a record for: few (one per banned entry),
 * read once per build instead of one delete per new entry. */
static int read_banned(struct sg_dp *dp, struct build *b)
{
	int fd = bpf_map__fd(dp->skel->maps.sg_auto_bans);
	__u32 key, next, *prev = NULL;

	b->banned = calloc(SG_SLOT_WORDS, sizeof(uint64_t));
	if (!b->banned)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key < SG_MAX_TRUSTED)
			sg_slot_set(b->banned, key);
	}
	return 0;
}

/* reset_bucket for a slot no live entry uses, queued: the bucket is
 * zeroed by the batch before the switch, the ban record (rare) now. */
static int queue_reset(struct sg_dp *dp, struct build *b, uint32_t slot)
{
	struct sg_bucket zero = {};

	if (!b->banned && read_banned(dp, b))
		return -ENOMEM;
	if (sg_slot_test(b->banned, slot)) {
		if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.sg_auto_bans), &slot) &&
		    errno != ENOENT)
			return -errno;
		sg_slot_clear(b->banned, slot);
	}
	return sg_map_batch_add(&b->resets, &slot, &zero);
}

/* A slot for a new entry: preferably one neither generation uses (reset
 * before the switch, before the entry is visible); else one only the
 * running generation uses, whose entry this build removes (every entry
 * that stays has its slot marked in b->used already), reset after the
 * switch.  Fails only when the new generation itself has more entries
 * than there are slots. */
static long new_slot(struct sg_dp *dp, struct build *b, struct sg_err *err)
{
	long slot = alloc_slot(dp, dp->slot_used, b->used);
	int rc;

	if (slot >= 0) {
		if ((rc = queue_reset(dp, b, (uint32_t)slot)))
			return sg_errf(err, rc, "reset bucket: %s", strerror(-rc));
		return slot;
	}
	slot = alloc_slot(dp, b->used, NULL);
	if (slot < 0)
		return sg_errf(err, -ENOSPC, "more than %d trusted entries, the most the data "
			       "plane holds", SG_MAX_TRUSTED);
	if (b->n_reused == b->cap_reused) {
		size_t cap = b->cap_reused ? 2 * b->cap_reused : 256;
		uint32_t *r = realloc(b->reused, cap * sizeof(*r));

		if (!r)
			return sg_errf(err, -ENOMEM, "out of memory");
		b->reused = r;
		b->cap_reused = cap;
	}
	b->reused[b->n_reused++] = (uint32_t)slot;
	return slot;
}

static int build_trusted(struct sg_dp *dp, struct build *b, const struct sg_policy *p,
			 uint32_t gen, struct sg_err *err)
{
	int rc;

	/* BPF_ANY: batches take no other flag, and the index has refused
	 * a prefix listed twice before it is queued. */
	if (sg_map_batch_init(&b->hosts, b->fd[T_HOSTS], sizeof(struct sg_addr),
			      sizeof(struct sg_trusted), BPF_ANY, BATCH) ||
	    sg_map_batch_init(&b->nets, b->fd[T_NETS], sizeof(struct sg_lpm_key),
			      sizeof(struct sg_trusted), BPF_ANY, BATCH) ||
	    sg_map_batch_init(&b->resets, bpf_map__fd(dp->skel->maps.sg_buckets), sizeof(__u32),
			      sizeof(struct sg_bucket), BPF_ANY, BATCH))
		return sg_errf(err, -ENOMEM, "out of memory");
	/* The kernel allocates each element of the new tables: let it do so
	 * on another CPU while the next batch is prepared here.  Without the
	 * memory for it, batches simply go in line. */
	sg_map_batch_async(&b->hosts);
	sg_map_batch_async(&b->nets);
	/* The entries that stay first, so that their slots are known to be
	 * taken before any new entry looks for one.  Approvals that
	 * policy.json shadows (same prefix) are not the data plane's: the
	 * policy.json entry is. */
	for (size_t i = 0; i < p->n_trusted; i++) {
		const struct sg_trusted_entry *e = &p->trusted[i];
		long slot;

		if (sg_policy_is_shadowed(p, e))
			continue;
		slot = index_find(dp->slot_index, &e->prefix);
		if (slot >= 0 && (rc = place_trusted(dp, b, e, (uint32_t)slot, gen, p->n_trusted,
						     err)))
			return rc;
	}
	for (size_t i = 0; i < p->n_trusted; i++) {
		const struct sg_trusted_entry *e = &p->trusted[i];
		long slot;

		if (sg_policy_is_shadowed(p, e) || index_find(dp->slot_index, &e->prefix) >= 0)
			continue;
		slot = new_slot(dp, b, err);
		if (slot < 0)
			return (int)slot;
		if ((rc = place_trusted(dp, b, e, (uint32_t)slot, gen, p->n_trusted, err)))
			return rc;
	}
	if ((rc = sg_map_batch_flush(&b->hosts)))
		return batch_error(&b->hosts, true, rc, err);
	if ((rc = sg_map_batch_flush(&b->nets)))
		return batch_error(&b->nets, false, rc, err);
	if ((rc = sg_map_batch_flush(&b->resets)))
		return sg_errf(err, rc, "reset bucket: %s", strerror(-rc));
	return 0;
}

/* After the switch: once no packet can still judge by the previous
 * generation, the slots new entries took over from removed ones start
 * afresh (a full bucket, no ban), as every new entry's does, and the
 * previous generation's trusted tables are let go: kept installed, they
 * would double the kernel memory of the policy at rest until the next
 * reload replaced them (the data plane reads only the active generation,
 * and a missing table reads as no entry). */
static void after_switch(struct sg_dp *dp, const struct build *b, uint32_t prev)
{
	wait_quiescent();
	for (int t = T_HOSTS; t <= T_NETS; t++)
		bpf_map_delete_elem(sg_dp_map_fd(dp, inner_specs[t].outer), &prev);
	for (size_t i = 0; i < b->n_reused; i++)
		/* The switch is done and cannot be undone: should a reset
		 * fail, that entry keeps the removed one's state until its
		 * bucket refills, which errs on the strict side. */
		reset_bucket(dp, b->reused[i]);
}

static int build_scope_and_relays(struct build *b, const struct sg_policy *p,
				  struct sg_err *err)
{
	struct sg_relay_entry *relays = NULL;
	long n;
	__u8 one = 1;

	for (size_t i = 0; i < p->n_scope; i++) {
		struct sg_lpm_key k = lpm_key(&p->scope[i]);

		if (bpf_map_update_elem(b->fd[T_SCOPE], &k, &one, 0))
			return sg_errf(err, -errno, "scope: %s", strerror(errno));
	}
	n = sg_compile_relays(p, &relays);
	if (n < 0)
		return sg_errf(err, (int)n, "out of memory");
	for (long i = 0; i < n; i++) {
		if (bpf_map_update_elem(b->fd[T_RELAYS], &relays[i].key, &relays[i].groups, 0)) {
			int e = errno;

			free(relays);
			return sg_errf(err, -e, "relays: %s (at most %d address/port pairs)",
				       strerror(e), SG_MAX_RELAY_KEYS);
		}
	}
	free(relays);
	return 0;
}

/* Prefix tables are probed once per distinct length: more lengths than
 * the data plane probes would leave entries unreachable. */
static int check_prefix_lens(const struct sg_policy *p, struct sg_err *err)
{
	bool net[129] = { false }, scope[129] = { false };
	unsigned n_net = 0, n_scope = 0;

	for (size_t i = 0; i < p->n_trusted; i++) {
		unsigned len = p->trusted[i].prefix.len;

		if (len < 128 && !net[len]) {
			net[len] = true;
			n_net++;
		}
	}
	for (size_t i = 0; i < p->n_scope; i++) {
		unsigned len = p->scope[i].len;

		if (len <= 128 && !scope[len]) {
			scope[len] = true;
			n_scope++;
		}
	}
	if (n_net > SG_MAX_PREFIX_LENS || n_scope > SG_MAX_PREFIX_LENS)
		return sg_errf(err, -E2BIG, "%u distinct prefix lengths among %s: at most %d",
			       n_net > SG_MAX_PREFIX_LENS ? n_net : n_scope,
			       n_net > SG_MAX_PREFIX_LENS ? "trusted prefixes" : "scope prefixes",
			       SG_MAX_PREFIX_LENS);
	return 0;
}

/* sg_live.ports_any, the programs' first test, must hold the ports of
 * every generation a packet may be judged by.  Widened to the new
 * config's ports before the switch; narrowed to exactly them after it: a
 * packet that then finds its port missing passes as the new policy
 * would have it, and one that finds it reads a generation whose own
 * ports it asks next.  Word stores, so a packet never sees a torn word. */
static void ports_any_widen(struct sg_dp *dp, const struct sg_config *cfg)
{
	for (size_t w = 0; w < SG_PORT_WORDS; w++)
		__atomic_store_n(&dp->live->ports_any[w], dp->live->ports_any[w] | cfg->ports[w],
				 __ATOMIC_RELAXED);
}

static void ports_any_narrow(struct sg_dp *dp, const struct sg_config *cfg)
{
	for (size_t w = 0; w < SG_PORT_WORDS; w++)
		__atomic_store_n(&dp->live->ports_any[w], cfg->ports[w], __ATOMIC_RELAXED);
}

/* Writes config and inner maps into generation slot `next`, then switches
 * to it: the one write every change of generation ends with. */
static int install(struct sg_dp *dp, const struct build *b, uint32_t next,
		   const struct sg_config *cfg, struct sg_err *err)
{
	memcpy(&dp->live->config[next & (SG_GENERATIONS - 1)], cfg, sizeof(*cfg));
	ports_any_widen(dp, cfg);
	for (int t = 0; t < T_COUNT; t++)
		if (bpf_map_update_elem(sg_dp_map_fd(dp, inner_specs[t].outer), &next, &b->fd[t], 0))
			return sg_errf(err, -errno, "install %s: %s", inner_specs[t].name,
				       strerror(errno));
	/* The switch: a release store, so that a packet that reads the new
	 * index sees the config and tables written above. */
	__atomic_store_n(&dp->live->active, next & (SG_GENERATIONS - 1), __ATOMIC_RELEASE);
	ports_any_narrow(dp, cfg);
	/* The tables replaced are freed once nothing holds them: not this. */
	forget_active_tables(dp);
	return 0;
}

int sg_dp_apply(struct sg_dp *dp, const struct sg_policy *p, struct sg_err *err)
{
	struct build b = { .fd = { -1, -1, -1, -1 } };
	size_t n_entries[T_COUNT] = { 0 };
	struct sg_config *cfg = NULL;
	uint32_t cur, next;
	int rc;

	/* The running generation's slots are reused for the entries kept. */
	if ((rc = ensure_index(dp, err)))
		return rc;
	cur = sg_dp_active(dp);
	next = cur ^ 1;
	wait_quiescent();

	b.used = calloc(SG_SLOT_WORDS, sizeof(uint64_t));
	cfg = malloc(sizeof(*cfg));
	if (!b.used || !cfg) {
		rc = sg_errf(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p->n_trusted; i++)
		if (!sg_policy_is_shadowed(p, &p->trusted[i]))
			n_entries[sg_prefix_is_host(&p->trusted[i].prefix) ? T_HOSTS : T_NETS]++;
	for (int t = 0; t < T_COUNT; t++) {
		b.fd[t] = create_inner(t, t == T_HOSTS || t == T_NETS ? table_size(n_entries[t]) : 0,
				       err);
		if (b.fd[t] < 0) {
			rc = b.fd[t];
			goto out;
		}
	}
	/* The inactive half is quiescent (wait_quiescent above): refill it. */
	memset(sg_bloom_half(dp, next), 0, SG_BLOOM_WORDS * sizeof(uint64_t));
	if ((rc = check_prefix_lens(p, err)) || (rc = build_scope_and_relays(&b, p, err)) ||
	    (rc = build_trusted(dp, &b, p, next, err)))
		goto out;

	sg_compile_config(p, sg_dp_generation(dp) + 1, cfg);
	if ((rc = install(dp, &b, next, cfg, err)))
		goto out;
	after_switch(dp, &b, cur);
	index_free(&dp->slot_index);
	dp->slot_index = b.index;
	b.index = NULL;
	free(dp->slot_used);
	dp->slot_used = b.used;
	b.used = NULL;
	dp->n_trusted = b.n_trusted;
	dp->n_hosts = b.n_hosts;
	dp->index_ready = true;
	rc = 0;
out:
	build_free(&b);
	free(cfg);
	return rc;
}

/* ---- single entries in the active generation ---- */

/* Inner fd of a trusted table of the active generation, or an error if
 * no policy has been applied.  Borrowed: the handle keeps it open for the
 * generation's life (forget_active_tables); callers do not close it. */
static int active_table(struct sg_dp *dp, bool host, uint32_t *gen, struct sg_err *err)
{
	uint64_t number = sg_dp_generation(dp);

	*gen = sg_dp_active(dp);
	if (!number)
		return sg_errf(err, -ENOENT, "no policy applied yet");
	if (dp->trusted_fd_gen != number) {
		forget_active_tables(dp);
		dp->trusted_fd[0] = sg_dp_inner_fd(dp, "sg_trusted_hosts", (int)*gen);
		dp->trusted_fd[1] = sg_dp_inner_fd(dp, "sg_trusted_nets", (int)*gen);
		dp->trusted_fd_gen = number;
	}
	if (dp->trusted_fd[host ? 0 : 1] < 0)
		return sg_errf(err, -ENOENT, "active generation has no trusted table");
	return dp->trusted_fd[host ? 0 : 1];
}

/* Copies every entry of inner map `from` into `to`, one key at a time:
 * kernels without batch lookups of hashes. */
static int copy_each(int from, int to, __u32 key_size, __u32 value_size)
{
	char key[64], next[64], value[64];
	void *prev = NULL;

	if (key_size > sizeof(key) || value_size > sizeof(value))
		return -E2BIG;
	while (!bpf_map_get_next_key(from, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(from, key, value))
			continue;
		if (bpf_map_update_elem(to, key, value, BPF_NOEXIST))
			return -errno;
	}
	return 0;
}

#define COPY_BATCH 8192

/* Copies every entry of inner map `from` into `to`, COPY_BATCH per
 * syscall each way: a table grown under a bulk import may hold a million
 * entries, three syscalls each one at a time. */
static int copy_table(int from, int to, __u32 key_size, __u32 value_size)
{
	char *keys = malloc((size_t)COPY_BATCH * key_size);
	char *values = malloc((size_t)COPY_BATCH * value_size);
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u64 cursor = 0;
	bool first = true, done = false;
	int rc = 0;

	if (!keys || !values) {
		rc = -ENOMEM;
		goto out;
	}
	while (!done && !rc) {
		__u32 n = COPY_BATCH;

		/* The cursor is opaque to userspace (a bucket index for a hash). */
		if (bpf_map_lookup_batch(from, first ? NULL : &cursor, &cursor, keys, values, &n,
					 &o)) {
			if (errno != ENOENT) {
				rc = first && (errno == EINVAL || errno == ENOTSUP ||
					       errno == EOPNOTSUPP)
					? copy_each(from, to, key_size, value_size) : -errno;
				break;
			}
			done = true; /* the last batch, possibly empty */
		}
		first = false;
		if (n && bpf_map_update_batch(to, keys, values, &n, &o))
			rc = -errno;
	}
out:
	free(keys);
	free(values);
	return rc;
}

/* The maximum size of the active generation's inner map of table t. */
static __u32 active_size(struct sg_dp *dp, int t)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = sg_dp_inner_fd(dp, inner_specs[t].outer, (int)sg_dp_active(dp));

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

/* Switches to a copy of the running generation (the whole generation,
 * built aside and switched with one write as ever) whose trusted tables
 * are at least as large as want[T_HOSTS] and want[T_NETS] (want NULL or
 * 0: as large as now) and whose config lists prefix length add_len too
 * (0: none). */
static int copy_active(struct sg_dp *dp, const __u32 *want, unsigned add_len,
		       struct sg_err *err)
{
	struct build b = { .fd = { -1, -1, -1, -1 } };
	struct sg_config *cfg = malloc(sizeof(*cfg));
	uint32_t cur, next;
	int rc = 0;
	__u8 i;

	if (!cfg)
		return sg_errf(err, -ENOMEM, "out of memory");
	cur = sg_dp_active(dp);
	*cfg = dp->live->config[cur];
	next = cur ^ 1;
	wait_quiescent();
	memcpy(sg_bloom_half(dp, next), sg_bloom_half(dp, cur), SG_BLOOM_WORDS * sizeof(uint64_t));
	for (int t = 0; t < T_COUNT && !rc; t++) {
		int from = sg_dp_inner_fd(dp, inner_specs[t].outer, (int)cur);
		__u32 size = t == T_HOSTS || t == T_NETS ? active_size(dp, t) : 0;

		if (want && want[t] > size)
			size = want[t];
		b.fd[t] = create_inner(t, size, err);
		if (b.fd[t] < 0) {
			rc = b.fd[t];
			b.fd[t] = -1;
			if (from >= 0)
				close(from);
			break;
		}
		if (from >= 0) {
			rc = copy_table(from, b.fd[t], inner_specs[t].key_size,
					inner_specs[t].value_size);
			close(from);
			if (rc)
				sg_errf(err, rc, "copy %s: %s", inner_specs[t].name, strerror(-rc));
		}
	}
	if (rc)
		goto out;
	if (add_len) {
		/* Insert the length, keeping the list longest first. */
		for (i = cfg->n_net_lens; i > 0 && cfg->net_lens[i - 1] < add_len; i--)
			cfg->net_lens[i] = cfg->net_lens[i - 1];
		cfg->net_lens[i] = (__u8)add_len;
		cfg->n_net_lens++;
	}
	cfg->generation++;
	rc = install(dp, &b, next, cfg, err);
	if (!rc)
		after_switch(dp, &b, cur);
out:
	build_free(&b);
	free(cfg);
	return rc;
}

/* The data plane probes prefix tables only at the lengths listed in the
 * config.  A trust_put of a prefix whose length the running generation
 * does not list therefore first switches to a copy of the running
 * generation whose list includes it; the entry then goes in by a single
 * update like any other.  Rare: lengths are few. */
static int ensure_net_len(struct sg_dp *dp, unsigned len, struct sg_err *err)
{
	const struct sg_config *cfg = &dp->live->config[sg_dp_active(dp)];

	for (__u8 i = 0; i < cfg->n_net_lens; i++)
		if (cfg->net_lens[i] == len)
			return 0; /* listed already */
	if (cfg->n_net_lens >= SG_MAX_PREFIX_LENS)
		return sg_errf(err, -ENOSPC, "too many distinct prefix lengths among trusted "
			       "prefixes (at most %d)", SG_MAX_PREFIX_LENS);
	return copy_active(dp, NULL, len, err);
}

/* The active table of host (or not) entries is full: switch to a copy in
 * which it is twice as large.  -ENOSPC when it is at the limit already. */
static int grow_active(struct sg_dp *dp, bool host, struct sg_err *err)
{
	int t = host ? T_HOSTS : T_NETS;
	__u32 want[T_COUNT] = { 0 }, size = active_size(dp, t);

	if (size >= SG_MAX_TRUSTED)
		return sg_errf(err, -ENOSPC, "trusted table full (%d entries)", SG_MAX_TRUSTED);
	want[t] = size > SG_MAX_TRUSTED / 2 ? SG_MAX_TRUSTED : 2 * size;
	return copy_active(dp, want, 0, err);
}

int sg_dp_trust_reserve(struct sg_dp *dp, size_t hosts, size_t nets, struct sg_err *err)
{
	size_t need[T_COUNT] = { 0 };
	__u32 want[T_COUNT] = { 0 };
	bool grow = false;
	int rc;

	if (!sg_dp_generation(dp))
		return sg_errf(err, -ENOENT, "no policy applied yet");
	if ((rc = ensure_index(dp, err)))
		return rc;
	need[T_HOSTS] = hosts ? (size_t)dp->n_hosts + hosts : 0;
	need[T_NETS] = nets ? (size_t)(dp->n_trusted - dp->n_hosts) + nets : 0;
	for (int t = T_HOSTS; t <= T_NETS; t++) {
		if (!need[t] || active_size(dp, t) >= need[t])
			continue;
		/* Past the limit the puts themselves say "trusted table full". */
		want[t] = table_size(need[t]);
		grow = true;
	}
	return grow ? copy_active(dp, want, 0, err) : 0;
}

/* Tells the data plane's per-CPU trusted memo (struct sg_trusted_memo)
 * that a trusted table of the active generation changed in place: after
 * the change, so that no packet can remember the old answer as current. */
static void trusted_changed(struct sg_dp *dp)
{
	__atomic_fetch_add(&dp->live->state.trusted_version, 1, __ATOMIC_SEQ_CST);
}

int sg_dp_trust_put(struct sg_dp *dp, const struct sg_trusted_entry *t, struct sg_err *err)
{
	bool host = sg_prefix_is_host(&t->prefix);
	char text[SG_PREFIX_STRLEN];
	long slot;
	uint32_t gen;
	int fd, rc;

	sg_prefix_format(&t->prefix, text, sizeof(text));
	if (!sg_dp_generation(dp))
		return sg_errf(err, -ENOENT, "no policy applied yet");
	if ((rc = ensure_index(dp, err)))
		return rc;
	if (!host && (rc = ensure_net_len(dp, t->prefix.len, err)))
		return rc;
	fd = active_table(dp, host, &gen, err);
	if (fd < 0)
		return fd;
	slot = index_find(dp->slot_index, &t->prefix);
	if (slot >= 0) {
		rc = put_trusted(fd, t, (uint32_t)slot, BPF_EXIST);
		if (rc)
			sg_errf(err, rc, "trusted %s: %s", text, strerror(-rc));
		else
			trusted_changed(dp);
		goto out;
	}
	slot = alloc_slot(dp, dp->slot_used, NULL);
	if (slot < 0) {
		rc = sg_errf(err, -ENOSPC, "trusted table full (%d entries)", SG_MAX_TRUSTED);
		goto out;
	}
	if ((rc = reset_bucket(dp, (uint32_t)slot))) {
		sg_errf(err, rc, "reset bucket: %s", strerror(-rc));
		goto out;
	}
	if ((rc = index_add(&dp->slot_index, &t->prefix, (uint32_t)slot, 1024))) {
		sg_errf(err, rc, "out of memory");
		goto out;
	}
	sg_bloom_set(dp, gen, &t->prefix);
	rc = put_trusted(fd, t, (uint32_t)slot, BPF_NOEXIST);
	if (rc == -E2BIG) {
		/* The table is as large as the policy needed, and full. */
		rc = grow_active(dp, host, err);
		if (!rc && (fd = active_table(dp, host, &gen, err)) < 0)
			rc = fd;
		if (!rc) {
			sg_bloom_set(dp, gen, &t->prefix);
			rc = put_trusted(fd, t, (uint32_t)slot, BPF_NOEXIST);
		}
		if (rc && err && err->code) {
			index_del(dp->slot_index, &t->prefix);
			goto out;
		}
	}
	if (rc) {
		index_del(dp->slot_index, &t->prefix);
		sg_errf(err, rc, "trusted %s: %s", text,
			rc == -E2BIG || rc == -ENOSPC ? "trusted table full" : strerror(-rc));
		goto out;
	}
	trusted_changed(dp);
	sg_slot_set(dp->slot_used, (uint32_t)slot);
	dp->n_trusted++;
	dp->n_hosts += host;
out:
	return rc;
}

int sg_dp_trust_del(struct sg_dp *dp, const struct sg_prefix *prefix, struct sg_err *err)
{
	bool host = sg_prefix_is_host(prefix);
	char text[SG_PREFIX_STRLEN];
	uint32_t gen;
	int fd, rc;
	long slot;

	if ((rc = ensure_index(dp, err)))
		return rc;
	slot = index_find(dp->slot_index, prefix);
	sg_prefix_format(prefix, text, sizeof(text));
	if (slot < 0)
		return sg_errf(err, -ENOENT, "%s is not trusted", text);
	fd = active_table(dp, host, &gen, err);
	if (fd < 0)
		return fd;
	if (host)
		rc = bpf_map_delete_elem(fd, &prefix->addr) ? -errno : 0;
	else {
		struct sg_lpm_key k = lpm_key(prefix);

		rc = bpf_map_delete_elem(fd, &k) ? -errno : 0;
	}
	if (rc)
		return sg_errf(err, rc, "untrust %s: %s", text, strerror(-rc));
	trusted_changed(dp);
	index_del(dp->slot_index, prefix);
	sg_slot_clear(dp->slot_used, (uint32_t)slot);
	dp->n_trusted--;
	dp->n_hosts -= host;
	return 0;
}

int sg_dp_trust_get(struct sg_dp *dp, const struct sg_prefix *prefix, struct sg_trusted *out)
{
	bool host = sg_prefix_is_host(prefix);
	uint32_t gen;
	int fd, rc;

	if (ensure_index(dp, NULL) || index_find(dp->slot_index, prefix) < 0)
		return -ENOENT;
	fd = active_table(dp, host, &gen, NULL);
	if (fd < 0)
		return fd;
	if (host)
		rc = bpf_map_lookup_elem(fd, &prefix->addr, out) ? -errno : 0;
	else {
		struct sg_lpm_key k = lpm_key(prefix);

		rc = bpf_map_lookup_elem(fd, &k, out) ? -errno : 0;
	}
	return rc;
}

long sg_dp_trust_count(struct sg_dp *dp)
{
	if (ensure_index(dp, NULL))
		return -1;
	return dp->n_trusted;
}

int sg_dp_trust_peek(struct sg_dp *dp, const struct sg_prefix *prefix, struct sg_trusted *out)
{
	struct sg_lpm_key k = lpm_key(prefix);
	bool host = sg_prefix_is_host(prefix);
	uint32_t gen;
	int fd, rc;

	fd = active_table(dp, host, &gen, NULL);
	if (fd < 0)
		return fd;
	rc = bpf_map_lookup_elem(fd, host ? (const void *)&prefix->addr : (const void *)&k, out)
		? -errno : 0;
	return rc;
}
