// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Single trusted entries in the active generation: an approval added,
 * changed or revoked in place by one map write, and the tables grown
 * (copied into larger ones, switched as a whole generation) when they
 * are full or a bulk import asks for room.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "compile.h"
#include "gen_internal.h"
#include "map_scan.h"

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


/* ---- single entries in the active generation ---- */

/* Inner fd of a trusted table of the active generation, or an error if
 * no policy has been applied.  Borrowed: the handle keeps it open for the
 * generation's life (sg_dp_forget_tables); callers do not close it. */
static int active_table(struct sg_dp *dp, bool host, uint32_t *gen, struct sg_err *err)
{
	uint64_t number = sg_dp_generation(dp);

	*gen = sg_dp_active(dp);
	if (!number)
		return sg_errf(err, -ENOENT, "no policy applied yet");
	if (dp->trusted_fd_gen != number) {
		sg_dp_forget_tables(dp);
		dp->trusted_fd[0] = sg_dp_inner_fd(dp, "sg_trusted_hosts", (int)*gen);
		dp->trusted_fd[1] = sg_dp_inner_fd(dp, "sg_trusted_nets", (int)*gen);
		dp->trusted_fd_gen = number;
	}
	if (dp->trusted_fd[host ? 0 : 1] < 0)
		return sg_errf(err, -ENOENT, "active generation has no trusted table");
	return dp->trusted_fd[host ? 0 : 1];
}

static int copy_one(const void *key, const void *value, void *ctx)
{
	return sg_map_batch_add(ctx, key, value);
}

/* Copies every entry of inner map `from` into the new, empty `to`, a
 * batch at a time both ways (map_scan.h, map_batch.h): a table grown
 * under a bulk import may hold a million entries, three syscalls each
 * one at a time. */
static int copy_table(int from, int to, __u32 key_size, __u32 value_size)
{
	struct sg_map_batch q;
	int rc = sg_map_batch_init(&q, to, key_size, value_size, BPF_ANY, 8192);

	if (!rc)
		rc = sg_map_scan(from, key_size, value_size, copy_one, &q);
	if (!rc)
		rc = sg_map_batch_flush(&q);
	sg_map_batch_free(&q);
	return rc;
}

/* The maximum size of the active generation's inner map of table t. */
static __u32 active_size(struct sg_dp *dp, int t)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = sg_dp_inner_fd(dp, sg_gen_inner_specs[t].outer, (int)sg_dp_active(dp));

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
	sg_gen_wait_quiescent();
	memcpy(sg_bloom_half(dp, next), sg_bloom_half(dp, cur), SG_BLOOM_WORDS * sizeof(uint64_t));
	for (int t = 0; t < T_COUNT && !rc; t++) {
		int from = sg_dp_inner_fd(dp, sg_gen_inner_specs[t].outer, (int)cur);
		__u32 size = t == T_HOSTS || t == T_NETS ? active_size(dp, t) : 0;

		if (want && want[t] > size)
			size = want[t];
		b.fd[t] = sg_gen_create_inner(t, size, err);
		if (b.fd[t] < 0) {
			rc = b.fd[t];
			b.fd[t] = -1;
			if (from >= 0)
				close(from);
			break;
		}
		if (from >= 0) {
			rc = copy_table(from, b.fd[t], sg_gen_inner_specs[t].key_size,
					sg_gen_inner_specs[t].value_size);
			close(from);
			if (rc)
				sg_errf(err, rc, "copy %s: %s", sg_gen_inner_specs[t].name, strerror(-rc));
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
	rc = sg_gen_install(dp, &b, next, cfg, err);
	if (!rc)
		sg_gen_after_switch(dp, &b, cur);
out:
	sg_gen_build_free(&b);
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
	if ((rc = sg_gen_ensure_index(dp, err)))
		return rc;
	need[T_HOSTS] = hosts ? (size_t)dp->n_hosts + hosts : 0;
	need[T_NETS] = nets ? (size_t)(dp->n_trusted - dp->n_hosts) + nets : 0;
	for (int t = T_HOSTS; t <= T_NETS; t++) {
		if (!need[t] || active_size(dp, t) >= need[t])
			continue;
		/* Past the limit the puts themselves say "trusted table full". */
		want[t] = sg_gen_table_size(need[t]);
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
	if ((rc = sg_gen_ensure_index(dp, err)))
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
	slot = sg_gen_alloc_slot(dp, dp->slot_used, NULL);
	if (slot < 0) {
		rc = sg_errf(err, -ENOSPC, "trusted table full (%d entries)", SG_MAX_TRUSTED);
		goto out;
	}
	if ((rc = sg_gen_reset_bucket(dp, (uint32_t)slot))) {
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

	if ((rc = sg_gen_ensure_index(dp, err)))
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

	if (sg_gen_ensure_index(dp, NULL) || index_find(dp->slot_index, prefix) < 0)
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
	if (sg_gen_ensure_index(dp, NULL))
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
