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
#include "gen_internal.h"

/* ---- helpers ---- */

/* A slot free in both bitmaps (b may be NULL), starting the search where
 * the last one ended so that freed slots are not reused at once. */
long sg_gen_alloc_slot(struct sg_dp *dp, const uint64_t *a, const uint64_t *b)
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
int sg_gen_reset_bucket(struct sg_dp *dp, uint32_t slot)
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
void sg_gen_wait_quiescent(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(100000); /* nohz_full kernels refuse it: wait generously */
}

/* Inner map shapes: must match the templates in bpf/maps.h (the kernel
 * refuses to sg_gen_install an inner map of another shape, so a drift fails the
 * first apply, loudly).  libbpf does not keep the templates after load. */
const struct sg_gen_inner_spec sg_gen_inner_specs[T_COUNT] = {
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
__u32 sg_gen_table_size(size_t n)
{
	size_t size = n + n / 4 + 4096;

	return size > SG_MAX_TRUSTED ? SG_MAX_TRUSTED : (__u32)size;
}

/* A new inner map of table t: max_entries 0 is the template's. */
int sg_gen_create_inner(int t, __u32 max_entries, struct sg_err *err)
{
	const struct sg_gen_inner_spec *s = &sg_gen_inner_specs[t];
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(s->type, s->name, s->key_size, s->value_size,
				max_entries ? max_entries : s->max_entries, &o);

	if (fd < 0)
		return sg_errf(err, -errno, "create %s: %s", s->name, strerror(errno));
	return fd;
}

/* ---- building a generation ---- */

void sg_gen_build_free(struct build *b)
{
	sg_gen_queue_free(&b->q);
	sg_map_batch_free(&b->resets);
	for (int t = 0; t < T_COUNT; t++)
		if (b->fd[t] >= 0)
			close(b->fd[t]);
	free(b->used);
	free(b->reused);
	free(b->banned);
	free(b->placed);
}

/* After the switch: once no packet can still judge by the previous
 * generation, the slots new entries took over from removed ones start
 * afresh (a full bucket, no ban), as every new entry's does, and the
 * previous generation's trusted tables are let go: kept installed, they
 * would double the kernel memory of the policy at rest until the next
 * reload replaced them (the data plane reads only the active generation,
 * and a missing table reads as no entry). */
void sg_gen_after_switch(struct sg_dp *dp, const struct build *b, uint32_t prev)
{
	sg_gen_wait_quiescent();
	for (int t = T_HOSTS; t <= T_NETS; t++)
		bpf_map_delete_elem(sg_dp_map_fd(dp, sg_gen_inner_specs[t].outer), &prev);
	for (size_t i = 0; i < b->n_reused; i++)
		/* The switch is done and cannot be undone: should a reset
		 * fail, that entry keeps the removed one's state until its
		 * bucket refills, which errs on the strict side. */
		sg_gen_reset_bucket(dp, b->reused[i]);
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
int sg_gen_install(struct sg_dp *dp, const struct build *b, uint32_t next,
		   const struct sg_config *cfg, struct sg_err *err)
{
	memcpy(&dp->live->config[next & (SG_GENERATIONS - 1)], cfg, sizeof(*cfg));
	ports_any_widen(dp, cfg);
	for (int t = 0; t < T_COUNT; t++)
		if (bpf_map_update_elem(sg_dp_map_fd(dp, sg_gen_inner_specs[t].outer), &next, &b->fd[t], 0))
			return sg_errf(err, -errno, "sg_gen_install %s: %s", sg_gen_inner_specs[t].name,
				       strerror(errno));
	/* The switch: a release store, so that a packet that reads the new
	 * index sees the config and tables written above. */
	__atomic_store_n(&dp->live->active, next & (SG_GENERATIONS - 1), __ATOMIC_RELEASE);
	ports_any_narrow(dp, cfg);
	/* The tables replaced are freed once nothing holds them: not this. */
	sg_dp_forget_tables(dp);
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
	if ((rc = sg_gen_ensure_index(dp, err)))
		return rc;
	cur = sg_dp_active(dp);
	next = cur ^ 1;
	sg_gen_wait_quiescent();

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
		b.fd[t] = sg_gen_create_inner(t, t == T_HOSTS || t == T_NETS ? sg_gen_table_size(n_entries[t]) : 0,
				       err);
		if (b.fd[t] < 0) {
			rc = b.fd[t];
			goto out;
		}
	}
	/* The inactive half is quiescent (sg_gen_wait_quiescent above): refill it. */
	memset(sg_bloom_half(dp, next), 0, SG_BLOOM_WORDS * sizeof(uint64_t));
	if ((rc = check_prefix_lens(p, err)) || (rc = build_scope_and_relays(&b, p, err)))
		goto out;
	if ((rc = sg_gen_build_trusted(dp, &b, p, next, err)))
		goto stale;

	sg_compile_config(p, sg_dp_generation(dp) + 1, cfg);
	if ((rc = sg_gen_install(dp, &b, next, cfg, err)))
		goto stale;
	sg_gen_after_switch(dp, &b, cur);
	if (dp->slot_index)
		sg_prefix_map_fit(dp->slot_index);
	free(dp->slot_used);
	dp->slot_used = b.used;
	b.used = NULL;
	dp->n_trusted = b.q.n_trusted;
	dp->n_hosts = b.q.n_hosts;
	rc = 0;
	goto out;
stale:
	/* build_trusted changed the index: read it again when needed. */
	dp->index_ready = false;
out:
	sg_gen_build_free(&b);
	free(cfg);
	return rc;
}

