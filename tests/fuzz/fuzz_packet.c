// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: arbitrary frames through the XDP and TC programs
 * (BPF_PROG_TEST_RUN), each compared with the reference model
 * (tests/lib/refmodel.c): the return value must be the model's action,
 * slot 0's counters must move by exactly the model's (verdict, reason,
 * bytes, connection) or not at all, a RST must be the RST the model
 * describes and any other frame must come out unchanged.  Any
 * disagreement prints both sides and aborts, so libFuzzer keeps the frame.
 *
 * Six fixed policies (fuzz_packet.h), each in a data plane of its own
 * (sg_dp_open without pins), with the state the model assumes: exhausted
 * buckets, bans.  That state is renewed every few minutes, since an
 * "exhausted" bucket is one whose theoretical arrival time is an hour
 * ahead.
 *
 * Mutation is structure-aware (LLVMFuzzerCustomMutator): a new frame
 * drawn by tests/lib/randpkt.c (pkt_build skeletons aimed at the
 * policy: trusted, banned, relay and scope addresses, governed ports,
 * VLAN tags, IPv4 options, IPv6 extension chains, fragments), or one
 * header field of the current frame set to a value that matters (an
 * address of the policy, a governed port, a length off by one, a
 * fragment offset, a next header, TCP flags, a data offset), a header
 * added or cut, the selector byte changed, or libFuzzer's own byte
 * mutations.
 */
#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fuzz_common.h"
#include "fuzz_packet.h"
#include "clock.h"
#include "harness.h"
#include "refmodel.h"
#include "world_state.h"
#include "tap.h"

#define NS_PER_SEC 1000000000ull
#define RENEW_SEC 300
#define FRAME_MAX 1514
#define SLOT0_CELLS (SG_V_COUNT * SG_R_COUNT)

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

struct plane {
	struct rp_policy *rp;
	struct sg_dp *dp;
	int fds[4];             /* by SG_HOOK_* */
	int counters_fd;
	h_snap_t last;          /* counters after the previous frame */
};

static struct plane planes[FP_N_POLICIES];
static int ncpu;
static struct sg_counter *cvals;
static __u32 ckeys[SLOT0_CELLS];
static uint64_t renewed_at;

static struct {
	uint64_t frames, governed, rst, by_hook[4], by_policy[FP_N_POLICIES];
} totals;

/* ---- the state the model assumes ------------------------------------- */

static void set_state(struct plane *pl)
{
	const struct rm_world *w = &pl->rp->world;
	uint64_t now = sg_boot_ns(), until = now + 3600ull * NS_PER_SEC;

	/* Entry bans for two hours, like the manual ones (renewed long before). */
	ws_apply(pl->dp, pl->rp, until, now + 7200ull * NS_PER_SEC);
	for (size_t i = 0; i < w->n_bans; i++) {
		struct sg_ban b = { .since_ns = now - 2 * NS_PER_SEC, .flags = SG_BAN_MANUAL };

		/* Active: for two hours (renewed long before); else over. */
		b.expires_ns = w->bans[i].active ? now + 7200ull * NS_PER_SEC : now - NS_PER_SEC;
		if (w->bans[i].active) {
			struct sg_err err = { 0 };

			if (sg_dp_ban_put(pl->dp, &w->bans[i].addr, 7200ull * NS_PER_SEC,
					  SG_BAN_MANUAL, &err))
				tap_bail("ban: %s", err.msg);
		} else if (bpf_map_update_elem(sg_dp_map_fd(pl->dp, "sg_bans"), &w->bans[i].addr,
					       &b, 0)) {
			tap_bail("expired ban: %s", strerror(errno));
		}
	}
}

/* ---- counters of slot 0, one batch lookup ------------------------------ */

static void read_slot0(struct plane *pl, h_snap_t out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = SLOT0_CELLS, next;

	if (bpf_map_lookup_batch(pl->counters_fd, NULL, &next, ckeys, cvals, &count, &opts) &&
	    errno != ENOENT)
		tap_bail("batch lookup of sg_counters: %s", strerror(errno));
	if (count != SLOT0_CELLS)
		tap_bail("batch lookup of sg_counters: %u cells", count);
	memset(out, 0, sizeof(h_snap_t));
	for (__u32 i = 0; i < count; i++) {
		__u32 k = ckeys[i];

		for (int c = 0; c < ncpu; c++) {
			const struct sg_counter *v = &cvals[(size_t)i * (size_t)ncpu + (size_t)c];

			out[k / SG_R_COUNT][k % SG_R_COUNT].packets += v->packets;
			out[k / SG_R_COUNT][k % SG_R_COUNT].bytes += v->bytes;
			out[k / SG_R_COUNT][k % SG_R_COUNT].conns += v->conns;
		}
	}
}

/* ---- set-up ------------------------------------------------------------ */

static void report_totals(void)
{
	fprintf(stderr, "fuzz_packet: %" PRIu64 " frames compared with the model, 0 disagreements"
		" (governed %" PRIu64 ", RST %" PRIu64 "; XDP %" PRIu64 ", TC ingress %" PRIu64
		", TC egress %" PRIu64 ")\n", totals.frames, totals.governed, totals.rst,
		totals.by_hook[SG_HOOK_XDP], totals.by_hook[SG_HOOK_TC_INGRESS],
		totals.by_hook[SG_HOOK_TC_EGRESS]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int64_t now = h_unix_now();

	(void)argc;
	(void)argv;
	fz_quiet_stdout();
	ncpu = libbpf_num_possible_cpus();
	cvals = calloc((size_t)SLOT0_CELLS * (size_t)ncpu, sizeof(*cvals));
	if (ncpu <= 0 || !cvals)
		abort();
	for (unsigned k = 0; k < FP_N_POLICIES; k++) {
		struct plane *pl = &planes[k];
		struct sg_err err = { 0 };

		pl->rp = calloc(1, sizeof(*pl->rp));
		if (!pl->rp)
			abort();
		fp_policy_make(k, pl->rp, now);
		if (getenv("SG_FUZZ_VERBOSE")) {
			fprintf(stderr, "# policy %u (%s):\n", k, fp_policy_names[k]);
			rp_policy_print(pl->rp, stderr);
		}
		pl->dp = h_open();
		h_apply(pl->dp, &pl->rp->pol);
		for (int h = SG_HOOK_XDP; h <= SG_HOOK_TC_EGRESS; h++)
			if ((pl->fds[h] = sg_dp_prog_fd(pl->dp, h, 0, &err)) < 0)
				tap_bail("program fd: %s", err.msg);
		pl->counters_fd = sg_dp_map_fd(pl->dp, "sg_counters");
		set_state(pl);
		read_slot0(pl, pl->last);
	}
	renewed_at = sg_boot_ns();
	atexit(report_totals);
	return 0;
}

/* ---- one frame --------------------------------------------------------- */

static void hexdump(const uint8_t *f, size_t len)
{
	for (size_t i = 0; i < len; i += 16) {
		fprintf(stderr, "  %04zx:", i);
		for (size_t j = i; j < i + 16 && j < len; j++)
			fprintf(stderr, " %02x", f[j]);
		fprintf(stderr, "\n");
	}
}

/* BPF_PROG_TEST_RUN refuses an skb whose EtherType says IP but that is
 * too short for the fixed IP header: such frames go through XDP. */
static bool tc_can_run(const uint8_t *f, size_t len)
{
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);

	if (type == 0x0800)
		return len >= 14 + 20;
	if (type == 0x86dd)
		return len >= 14 + 40;
	return true;
}

static void disagree(unsigned k, int hook, const uint8_t *f, size_t len,
		     const struct rm_answer *m, int ret, const char *why)
{
	char text[160];

	fprintf(stderr, "fuzz_packet: DISAGREEMENT with the model, policy %u (%s), hook %s\n", k,
		fp_policy_names[k], h_hook_name(hook));
	rp_policy_print(planes[k].rp, stderr);
	fprintf(stderr, "frame (%zu bytes):\n", len);
	hexdump(f, len);
	fprintf(stderr, "model: %s (know %d problem %d first_frag %d)\nbpf: returned %d\nwhy: %s\n",
		rm_answer_text(m, text, sizeof(text)), m->pkt.know, m->pkt.problem,
		m->pkt.first_frag, ret, why);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[4096];
	static h_snap_t after;
	const uint8_t *f = data + 1;
	size_t len = size - 1;
	unsigned k;
	int hook;
	struct plane *pl;
	struct rm_answer m;
	struct __sk_buff skb = { 0 };
	struct h_expect e;
	const char *bad;
	char why[1200];

	if (size < 1 + 14 || len > FRAME_MAX)
		return -1;
	k = fp_policy_of(data[0]);
	hook = SG_HOOK_XDP + (int)fp_hook_of(data[0]);
	if (hook != SG_HOOK_XDP && !tc_can_run(f, len))
		hook = SG_HOOK_XDP;
	pl = &planes[k];
	if (sg_boot_ns() - renewed_at > RENEW_SEC * NS_PER_SEC) {
		for (unsigned i = 0; i < FP_N_POLICIES; i++)
			set_state(&planes[i]);
		renewed_at = sg_boot_ns();
	}

	rm_decide(&pl->rp->world, f, len, &m);
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = (__u32)len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

		if (hook != SG_HOOK_XDP) {
			o.ctx_in = &skb;
			o.ctx_size_in = sizeof(skb);
		}
		if (bpf_prog_test_run_opts(pl->fds[hook], &o)) {
			snprintf(why, sizeof(why), "the test run failed: %s", strerror(errno));
			disagree(k, hook, f, len, &m, -1, why);
		}
		read_slot0(pl, after);
		why[0] = '\0';
		if ((int)o.retval != h_hook_ret(hook, m.action))
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "returned %u, want %d; ", o.retval, h_hook_ret(hook, m.action));
		e = (struct h_expect){ .action = m.action,
				       .verdict = m.governed ? m.verdict : H_NOT_GOVERNED,
				       .reason = m.reason, .bytes = m.ip_bytes,
				       .conns = m.is_conn };
		bad = h_delta_error(pl->last, after, &e);
		if (bad)
			snprintf(why + strlen(why), sizeof(why) - strlen(why), "counters: %s", bad);
		if (m.action == RM_RST && (int)o.retval == h_hook_ret(hook, RM_RST)) {
			bad = rm_check_rst(f, len, &m.pkt, out, o.data_size_out);
			if (bad)
				snprintf(why + strlen(why), sizeof(why) - strlen(why), "RST: %s; ",
					 bad);
		} else if (m.action != RM_RST && (o.data_size_out != len || memcmp(out, f, len))) {
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "frame changed (%u bytes out of %zu); ", o.data_size_out, len);
		}
		if (why[0])
			disagree(k, hook, f, len, &m, (int)o.retval, why);
		(void)o;
	}
	memcpy(pl->last, after, sizeof(h_snap_t));
	totals.frames++;
	totals.governed += m.governed;
	totals.rst += m.action == RM_RST;
	totals.by_hook[hook]++;
	totals.by_policy[k]++;
	return 0;
}

/* ---- structure-aware mutation ------------------------------------------ */

enum field_kind {
	F_ETHERTYPE, F_V4_VERIHL, F_V4_LEN, F_V4_FRAG, F_V4_PROTO, F_ADDR4, F_ADDR6,
	F_V6_VER, F_V6_PLEN, F_V6_NEXT, F_EXT_NEXT, F_EXT_LEN, F_FRAG6, F_PORT,
	F_TCP_FLAGS, F_TCP_DOFF, F_TCP_SEQ,
};

struct site {
	size_t off;
	int kind;
};

struct layout {
	struct site s[48];
	int n;
	size_t bounds[16];      /* header boundaries, for cuts and inserts */
	int nb;
	size_t l3;
};

static void add_site(struct layout *L, size_t off, int kind, size_t width, size_t len)
{
	if (off + width <= len && L->n < (int)(sizeof(L->s) / sizeof(L->s[0])))
		L->s[L->n++] = (struct site){ off, kind };
}

static void add_bound(struct layout *L, size_t off, size_t len)
{
	if (off <= len && L->nb < (int)(sizeof(L->bounds) / sizeof(L->bounds[0])))
		L->bounds[L->nb++] = off;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void walk_tcp(struct layout *L, size_t l4, size_t len)
{
	add_bound(L, l4, len);
	add_site(L, l4, F_PORT, 2, len);
	add_site(L, l4 + 2, F_PORT, 2, len);
	add_site(L, l4 + 4, F_TCP_SEQ, 4, len);
	add_site(L, l4 + 12, F_TCP_DOFF, 1, len);
	add_site(L, l4 + 13, F_TCP_FLAGS, 1, len);
	add_bound(L, l4 + 20, len);
}

/* Finds the fields of f, as far as they go. */
static void walk(const uint8_t *f, size_t len, struct layout *L)
{
	size_t off = 12;
	uint16_t type;

	L->n = L->nb = 0;
	add_bound(L, 12, len);
	for (int tags = 0; tags < 3 && off + 2 <= len; tags++) {
		type = rd16(f + off);
		add_site(L, off, F_ETHERTYPE, 2, len);
		if (type != 0x8100 && type != 0x88a8 && type != 0x9100)
			break;
		off += 4;
	}
	if (off + 2 > len)
		return;
	type = rd16(f + off);
	off += 2;
	L->l3 = off;
	add_bound(L, off, len);
	if (type == 0x0800 && off + 20 <= len) {
		size_t ihl = (size_t)(f[off] & 15) * 4;

		add_site(L, off, F_V4_VERIHL, 1, len);
		add_site(L, off + 2, F_V4_LEN, 2, len);
		add_site(L, off + 6, F_V4_FRAG, 2, len);
		add_site(L, off + 9, F_V4_PROTO, 1, len);
		add_site(L, off + 12, F_ADDR4, 4, len);
		add_site(L, off + 16, F_ADDR4, 4, len);
		if (ihl >= 20)
			walk_tcp(L, off + ihl, len);
	} else if (type == 0x86dd && off + 40 <= len) {
		uint8_t next = f[off + 6];
		size_t p = off + 40;

		add_site(L, off, F_V6_VER, 1, len);
		add_site(L, off + 4, F_V6_PLEN, 2, len);
		add_site(L, off + 6, F_V6_NEXT, 1, len);
		add_site(L, off + 8, F_ADDR6, 16, len);
		add_site(L, off + 24, F_ADDR6, 16, len);
		for (int i = 0; i < 10 && p + 8 <= len; i++) {
			size_t hl;

			if (next == 6) {
				walk_tcp(L, p, len);
				return;
			}
			if (next != 0 && next != 43 && next != 44 && next != 51 && next != 60)
				return;
			add_bound(L, p, len);
			add_site(L, p, F_EXT_NEXT, 1, len);
			if (next == 44) {
				add_site(L, p + 2, F_FRAG6, 2, len);
				hl = 8;
			} else {
				add_site(L, p + 1, F_EXT_LEN, 1, len);
				hl = next == 51 ? ((size_t)f[p + 1] + 2) * 4 : ((size_t)f[p + 1] + 1) * 8;
			}
			next = f[p];
			p += hl;
		}
	}
}

/* An address the policy cares about (IPv4-mapped for IPv4), or a random one. */
static struct sg_addr policy_addr(struct rp_rng *r, const struct rm_world *w)
{
	struct sg_addr a;
	unsigned pick = rp_below(r, 5);

	for (int i = 0; i < 4; i++) {
		uint64_t x = rp_u64(r);

		memcpy((uint8_t *)&a + 4 * i, &x, 4);
	}
	if (pick == 0 && w->n_trusted) {
		const struct sg_prefix *p = &w->trusted[rp_below(r, (uint32_t)w->n_trusted)].prefix;
		struct sg_addr host = a;

		/* A random host inside the prefix. */
		for (unsigned b = 0; b < p->len; b++) {
			uint8_t bit = (uint8_t)(0x80 >> (b % 8));

			host.b[b / 8] = (uint8_t)((host.b[b / 8] & ~bit) | (p->addr.b[b / 8] & bit));
		}
		return rp_pct(r, 50) ? p->addr : host;
	}
	if (pick == 1 && w->n_relays)
		return w->relays[rp_below(r, (uint32_t)w->n_relays)].addr;
	if (pick == 2 && w->n_bans)
		return w->bans[rp_below(r, (uint32_t)w->n_bans)].addr;
	if (pick == 3 && w->n_scope)
		return w->scope[rp_below(r, (uint32_t)w->n_scope)].addr;
	return a;
}

static uint16_t policy_port(struct rp_rng *r, const struct rm_world *w)
{
	static const uint16_t common[] = { 25, 465, 587, 2525, 80, 0, 65535 };

	if (rp_pct(r, 60) && w->n_ports)
		return w->ports[rp_below(r, (uint32_t)w->n_ports)];
	if (rp_pct(r, 50) && w->n_relays) {
		const struct rm_relay *rl = &w->relays[rp_below(r, (uint32_t)w->n_relays)];

		if (rl->n_ports)
			return rl->ports[rp_below(r, (uint32_t)rl->n_ports)];
	}
	return rp_pct(r, 80) ? common[rp_below(r, 7)] : (uint16_t)rp_u64(r);
}

static uint16_t pick16(struct rp_rng *r, const uint16_t *v, unsigned n)
{
	return rp_pct(r, 85) ? v[rp_below(r, n)] : (uint16_t)rp_u64(r);
}

static void set_field(struct rp_rng *r, const struct rm_world *w, uint8_t *f, size_t len,
		      const struct layout *L, const struct site *s)
{
	uint8_t *p = f + s->off;
	uint16_t ip_len = (uint16_t)(len - L->l3);

	switch (s->kind) {
	case F_ETHERTYPE: {
		static const uint16_t v[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x0806 };

		wr16(p, pick16(r, v, 6));
		break;
	}
	case F_V4_VERIHL: {
		static const uint16_t v[] = { 0x45, 0x46, 0x4f, 0x44, 0x40, 0x65, 0x35, 0x47 };

		*p = (uint8_t)pick16(r, v, 8);
		break;
	}
	case F_V4_LEN:
	case F_V6_PLEN: {
		uint16_t base = s->kind == F_V4_LEN ? ip_len : (uint16_t)(ip_len - 40);
		const uint16_t v[] = { base, (uint16_t)(base + 1), (uint16_t)(base - 1), 0,
				       0xffff, 20, (uint16_t)(base + 8), 40 };

		wr16(p, pick16(r, v, 8));
		break;
	}
	case F_V4_FRAG: {
		static const uint16_t v[] = { 0, 0x2000, 0x0001, 0x2001, 0x4000, 0x0002, 0x1fff,
					      0x6000 };

		wr16(p, pick16(r, v, 8));
		break;
	}
	case F_V4_PROTO:
	case F_V6_NEXT:
	case F_EXT_NEXT: {
		static const uint16_t v[] = { 6, 6, 0, 43, 44, 51, 60, 59, 17, 1, 58 };

		*p = (uint8_t)pick16(r, v, s->kind == F_V4_PROTO ? 1 : 11);
		if (s->kind == F_V4_PROTO && rp_pct(r, 30))
			*p = (uint8_t)v[rp_below(r, 11)];
		break;
	}
	case F_ADDR4: {
		struct sg_addr a = policy_addr(r, w);

		memcpy(p, a.b + 12, 4);
		break;
	}
	case F_ADDR6: {
		struct sg_addr a = policy_addr(r, w);

		memcpy(p, a.b, 16);
		break;
	}
	case F_V6_VER: {
		static const uint16_t v[] = { 0x60, 0x40, 0x61, 0x6f, 0x00 };

		*p = (uint8_t)((pick16(r, v, 5) & 0xf0) | (*p & 0x0f));
		break;
	}
	case F_EXT_LEN: {
		static const uint16_t v[] = { 0, 1, 2, 255, 4 };

		*p = (uint8_t)pick16(r, v, 5);
		break;
	}
	case F_FRAG6: {
		static const uint16_t v[] = { 0, 1, 8, 9, 0xfff8, 0x10 };

		wr16(p, pick16(r, v, 6));
		break;
	}
	case F_PORT:
		wr16(p, policy_port(r, w));
		break;
	case F_TCP_FLAGS: {
		static const uint16_t v[] = { TCPF_SYN, TCPF_SYN | TCPF_ACK, TCPF_ACK, TCPF_RST,
					      TCPF_FIN | TCPF_ACK, 0, TCPF_SYN | TCPF_FIN, 0xff };

		*p = (uint8_t)pick16(r, v, 8);
		break;
	}
	case F_TCP_DOFF: {
		static const uint16_t v[] = { 0x50, 0x40, 0xf0, 0x00, 0x60, 0x10, 0x80 };

		*p = (uint8_t)((pick16(r, v, 7) & 0xf0) | (*p & 0x0f));
		break;
	}
	case F_TCP_SEQ: {
		uint64_t x = rp_pct(r, 50) ? 0xffffffffull : rp_u64(r);

		memcpy(p, &x, 4);
		break;
	}
	}
}

/* Inserts n bytes at off (random contents, or a VLAN tag at 12). */
static size_t insert_bytes(struct rp_rng *r, uint8_t *f, size_t len, size_t max, size_t off,
			   size_t n)
{
	if (len + n > max || off > len)
		return len;
	memmove(f + off + n, f + off, len - off);
	for (size_t i = 0; i < n; i++)
		f[off + i] = (uint8_t)rp_u64(r);
	if (off == 12 && n == 4) {
		wr16(f + 12, rp_pct(r, 70) ? 0x8100 : 0x88a8);
		f[14] &= 0x0f; /* PCP/DEI 0, a VLAN id */
	}
	return len + n;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	struct rp_rng r;
	const struct rp_policy *rp;
	unsigned k, what;
	size_t max = max_size - 1 < FRAME_MAX ? max_size - 1 : FRAME_MAX;
	uint8_t *f = data + 1;
	size_t len = size ? size - 1 : 0;
	struct layout L;

	rp_seed(&r, seed);
	if (max_size < 1 + 14)
		return LLVMFuzzerMutate(data, size, max_size);
	if (size < 1 + 14)
		goto fresh;
	k = fp_policy_of(data[0]);
	rp = planes[k].rp;
	what = rp_below(&r, 100);
	if (what < 12)
		goto fresh;
	if (what < 20) {
		data[0] = (uint8_t)fp_selector(rp_below(&r, FP_N_POLICIES), rp_below(&r, 3));
		return size;
	}
	if (what < 70) {
		/* One to three fields. */
		for (unsigned n = rp_range(&r, 1, 3); n; n--) {
			walk(f, len, &L);
			if (!L.n)
				break;
			set_field(&r, &rp->world, f, len, &L, &L.s[rp_below(&r, (uint32_t)L.n)]);
		}
		return size;
	}
	if (what < 80) {
		walk(f, len, &L);
		if (L.nb) {
			size_t at = L.bounds[rp_below(&r, (uint32_t)L.nb)];

			switch (rp_below(&r, 4)) {
			case 0: /* cut at a header boundary, give or take a few bytes */
				at = at + rp_below(&r, 9) - 4 < 14 ? 14 : at + rp_below(&r, 9) - 4;
				if (at < len)
					len = at;
				break;
			case 1: /* a VLAN tag */
				len = insert_bytes(&r, f, len, max, 12, 4);
				break;
			case 2: /* eight bytes at a boundary (an extension header, options) */
				len = insert_bytes(&r, f, len, max, at, 8);
				break;
			default: /* four bytes less at a boundary */
				if (at + 4 <= len && len - 4 >= 14) {
					memmove(f + at, f + at + 4, len - at - 4);
					len -= 4;
				}
				break;
			}
		}
		return len + 1;
	}
	return LLVMFuzzerMutate(data, size, max_size);

fresh:
	{
		static struct rp_packet pkt;

		k = rp_below(&r, FP_N_POLICIES);
		rp_packet_make(&r, planes[k].rp, &pkt);
		if (pkt.len > max)
			pkt.len = max;
		data[0] = (uint8_t)fp_selector(k, rp_below(&r, 3));
		memcpy(data + 1, pkt.frame, pkt.len);
		return pkt.len + 1;
	}
}
