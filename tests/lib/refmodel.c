// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The reference model (see refmodel.h).  Each step below carries the
 * number of the rule it implements in docs/semantics.md, so a reader can
 * check the two side by side.
 */
#include <stdio.h>
#include <string.h>
#include "refmodel.h"

#define ETH_HLEN_ 14
#define ETYPE_VLAN 0x8100
#define ETYPE_QINQ 0x88a8
#define ETYPE_IPV4 0x0800
#define ETYPE_IPV6 0x86dd
#define PROTO_TCP 6
#define NH_HOP 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_DSTOPTS 60
#define MAX_VLAN_TAGS 2
#define MAX_V6_EXT 8
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* ---- byte access ---------------------------------------------------- */

/* True if [off, off + n) lies inside [0, len). */
static bool fits(size_t len, size_t off, size_t n)
{
	return off <= len && n <= len - off;
}

static uint16_t rd16(const uint8_t *f, size_t off)
{
	return (uint16_t)(f[off] << 8 | f[off + 1]);
}

static uint32_t rd32(const uint8_t *f, size_t off)
{
	return (uint32_t)rd16(f, off) << 16 | rd16(f, off + 2);
}

static void addr_from_v4_bytes(struct sg_addr *a, const uint8_t *v4)
{
	memset(a, 0, sizeof(*a));
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	memcpy(&a->b[12], v4, 4);
}

static void addr_from_v6_bytes(struct sg_addr *a, const uint8_t *v6)
{
	memcpy(a->b, v6, 16);
}

bool rm_prefix_contains(const struct sg_prefix *prefix, const struct sg_addr *a)
{
	for (unsigned bit = 0; bit < prefix->len && bit < 128; bit++) {
		unsigned byte = bit / 8, shift = 7 - bit % 8;

		if (((prefix->addr.b[byte] >> shift) & 1) != ((a->b[byte] >> shift) & 1))
			return false;
	}
	return true;
}

static bool addr_equal(const struct sg_addr *a, const struct sg_addr *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

/* ---- §1 parsing ----------------------------------------------------- */

static void finish(struct rm_parsed *p, int know, int problem)
{
	p->know = know;
	p->problem = problem;
}

static bool is_vlan(uint16_t type)
{
	return type == ETYPE_VLAN || type == ETYPE_QINQ;
}

static bool is_v6_ext(uint8_t nh)
{
	return nh == NH_HOP || nh == NH_ROUTING || nh == NH_DSTOPTS || nh == NH_FRAGMENT ||
	       nh == NH_AH;
}

static int fragment_or(int first_frag, int otherwise)
{
	return first_frag != RM_FF_NONE ? RM_FRAGMENT : otherwise;
}

/* §1.13-16: the TCP header at l4 with avail bytes of IP payload. */
static void parse_tcp(const uint8_t *f, size_t len, size_t l4, size_t avail,
		      struct rm_parsed *p)
{
	size_t in_frame = len >= l4 ? len - l4 : 0;
	size_t have = in_frame < avail ? in_frame : avail;
	size_t doff;

	/* 13 */
	if (have < 4) {
		finish(p, RM_SRC, fragment_or(p->first_frag, RM_MALFORMED));
		return;
	}
	p->sport = rd16(f, l4);
	p->dport = rd16(f, l4 + 2);
	/* 14 */
	if (have < 20) {
		p->tcp_short = true;
		if (p->first_frag == RM_FF_V4) {
			if (have >= 14) {
				p->have_flags = true;
				p->flags = f[l4 + 13];
			}
			finish(p, RM_PORTS, RM_OK);
		} else if (p->first_frag == RM_FF_V6) {
			finish(p, RM_PORTS, RM_FRAGMENT);
		} else {
			finish(p, RM_PORTS, RM_MALFORMED);
		}
		return;
	}
	/* 15 */
	p->have_flags = true;
	p->flags = f[l4 + 13];
	p->seq = rd32(f, l4 + 4);
	doff = (size_t)(f[l4 + 12] >> 4) * 4;
	if (doff < 20) {
		finish(p, RM_PORTS, RM_MALFORMED);
		return;
	}
	if (doff > avail) {
		if (p->first_frag == RM_FF_V4)
			finish(p, RM_PORTS, RM_OK);
		else if (p->first_frag == RM_FF_V6)
			finish(p, RM_PORTS, RM_FRAGMENT);
		else
			finish(p, RM_PORTS, RM_MALFORMED);
		return;
	}
	/* 16 */
	p->payload_len = (uint32_t)(avail - doff);
	finish(p, RM_PORTS, RM_OK);
}

/* §1.4-8 */
static void parse_ipv4(const uint8_t *f, size_t len, struct rm_parsed *p)
{
	size_t l3 = p->l3, ihl_bytes, total;
	uint16_t frag_word, frag_offset;

	/* 4 */
	if (!fits(len, l3, 20)) {
		finish(p, RM_NOTHING, RM_MALFORMED);
		return;
	}
	if ((f[l3] >> 4) != 4 || (f[l3] & 0x0f) < 5) {
		finish(p, RM_NOTHING, RM_MALFORMED);
		return;
	}
	if (f[l3 + 9] != PROTO_TCP) {
		p->pass_early = true;
		return;
	}
	/* 5 */
	addr_from_v4_bytes(&p->src, &f[l3 + 12]);
	addr_from_v4_bytes(&p->dst, &f[l3 + 16]);
	total = rd16(f, l3 + 2);
	p->ip_bytes = total;
	/* 6 */
	frag_word = rd16(f, l3 + 6);
	frag_offset = frag_word & 0x1fff;
	if (frag_offset != 0) {
		if (frag_offset == 1)
			finish(p, RM_SRC, RM_FRAGMENT);
		else
			p->pass_early = true;
		return;
	}
	/* 7 */
	ihl_bytes = (size_t)(f[l3] & 0x0f) * 4;
	if (total < ihl_bytes || !fits(len, l3, total)) {
		p->ip_bytes = len - l3;
		finish(p, RM_SRC, RM_MALFORMED);
		return;
	}
	/* 8 */
	if (frag_word & 0x2000)
		p->first_frag = RM_FF_V4;
	parse_tcp(f, len, l3 + ihl_bytes, total - ihl_bytes, p);
}

static bool is_v4mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/* §1.9-12 */
static void parse_ipv6(const uint8_t *f, size_t len, struct rm_parsed *p)
{
	size_t l3 = p->l3, ip_end, off;
	uint8_t nh;

	/* 9 */
	if (!fits(len, l3, 40) || (f[l3] >> 4) != 6) {
		finish(p, RM_NOTHING, RM_MALFORMED);
		return;
	}
	nh = f[l3 + 6];
	if (nh != PROTO_TCP && !is_v6_ext(nh)) {
		p->pass_early = true;
		return;
	}
	/* 10 */
	addr_from_v6_bytes(&p->src, &f[l3 + 8]);
	addr_from_v6_bytes(&p->dst, &f[l3 + 24]);
	ip_end = l3 + 40 + rd16(f, l3 + 4);
	p->ip_bytes = 40 + (uint64_t)rd16(f, l3 + 4);
	if (ip_end > len) {
		p->ip_bytes = len - l3;
		finish(p, RM_SRC, RM_MALFORMED);
		return;
	}
	/* 11: ip_end <= len from here, so "in the frame and before ip_end"
	 * is "before ip_end". */
	off = l3 + 40;
	for (int n = 0; n < MAX_V6_EXT && is_v6_ext(nh); n++) {
		size_t hdr_len;

		if (!fits(ip_end, off, 8)) {
			finish(p, RM_SRC, fragment_or(p->first_frag, RM_MALFORMED));
			return;
		}
		if (nh == NH_FRAGMENT) {
			if ((rd16(f, off + 2) >> 3) != 0) {
				p->pass_early = true;
				return;
			}
			if (f[off + 3] & 1)
				p->first_frag = RM_FF_V6;
			hdr_len = 8;
		} else if (nh == NH_AH) {
			hdr_len = ((size_t)f[off + 1] + 2) * 4;
		} else {
			hdr_len = ((size_t)f[off + 1] + 1) * 8;
		}
		nh = f[off];
		off += hdr_len;
		if (off > ip_end) {
			finish(p, RM_SRC, fragment_or(p->first_frag, RM_MALFORMED));
			return;
		}
	}
	if (is_v6_ext(nh)) {
		finish(p, RM_SRC, RM_MALFORMED);
		return;
	}
	if (nh != PROTO_TCP) {
		p->pass_early = true;
		return;
	}
	/* 12: IPv4-mapped addresses are a host-internal notation, never valid
	 * in an IPv6 header (Linux drops a mapped source on input). */
	if (is_v4mapped(&f[l3 + 8]) || is_v4mapped(&f[l3 + 24])) {
		finish(p, RM_SRC, RM_MALFORMED);
		return;
	}
	parse_tcp(f, len, off, ip_end - off, p);
}

void rm_parse(const uint8_t *f, size_t len, struct rm_parsed *p)
{
	uint16_t type;
	size_t off;

	memset(p, 0, sizeof(*p));
	/* 1 */
	if (len < ETH_HLEN_) {
		finish(p, RM_NOTHING, RM_MALFORMED);
		return;
	}
	/* 2 */
	type = rd16(f, 12);
	off = ETH_HLEN_;
	for (int tags = 0; tags < MAX_VLAN_TAGS && is_vlan(type); tags++) {
		if (!fits(len, off, 4)) {
			finish(p, RM_NOTHING, RM_MALFORMED);
			return;
		}
		type = rd16(f, off + 2);
		off += 4;
	}
	if (is_vlan(type)) {
		finish(p, RM_NOTHING, RM_MALFORMED);
		return;
	}
	/* 3 */
	p->l3 = off;
	if (type == ETYPE_IPV4) {
		parse_ipv4(f, len, p);
	} else if (type == ETYPE_IPV6) {
		p->v6 = 1;
		parse_ipv6(f, len, p);
	} else {
		p->pass_early = true;
	}
}

/* ---- §2 governed? -------------------------------------------------- */

static bool port_governed(const struct rm_world *w, uint16_t port)
{
	for (size_t i = 0; i < w->n_ports; i++)
		if (w->ports[i] == port)
			return true;
	return false;
}

static bool in_scope(const struct rm_world *w, const struct sg_addr *src)
{
	if (!w->n_scope)
		return true;
	for (size_t i = 0; i < w->n_scope; i++)
		if (rm_prefix_contains(&w->scope[i], src))
			return true;
	return false;
}

static bool governed(const struct rm_world *w, const struct rm_parsed *p)
{
	if (!w->applied || p->pass_early)
		return false;
	if (p->know == RM_PORTS && !port_governed(w, p->dport))
		return false;
	if (p->know >= RM_SRC && !in_scope(w, &p->src))
		return false;
	return true;
}

/* ---- §3 decision --------------------------------------------------- */

static bool banned(const struct rm_world *w, const struct sg_addr *src)
{
	for (size_t i = 0; i < w->n_bans; i++)
		if (addr_equal(&w->bans[i].addr, src))
			return w->bans[i].active;
	return false;
}

/* §3.b: the exact host entry, else the longest containing prefix. */
static const struct rm_trusted *trusted_entry(const struct rm_world *w,
					      const struct sg_addr *src)
{
	const struct rm_trusted *best = NULL;

	for (size_t i = 0; i < w->n_trusted; i++) {
		const struct rm_trusted *t = &w->trusted[i];

		if (t->prefix.len == 128 && addr_equal(&t->prefix.addr, src))
			return t;
	}
	for (size_t i = 0; i < w->n_trusted; i++) {
		const struct rm_trusted *t = &w->trusted[i];

		if (t->prefix.len < 128 && rm_prefix_contains(&t->prefix, src) &&
		    (!best || t->prefix.len > best->prefix.len))
			best = t;
	}
	return best;
}

/* Relay groups (a bit mask) that (dst, dport) belongs to. */
static uint64_t relay_groups(const struct rm_world *w, const struct sg_addr *dst,
			     uint16_t dport)
{
	uint64_t groups = 0;

	for (size_t i = 0; i < w->n_relays; i++) {
		const struct rm_relay *r = &w->relays[i];
		bool port_ok = false;

		if (!addr_equal(&r->addr, dst))
			continue;
		if (!r->n_ports)
			port_ok = port_governed(w, dport);
		for (size_t j = 0; j < r->n_ports; j++)
			if (r->ports[j] == dport)
				port_ok = true;
		if (port_ok)
			groups |= 1ull << r->group;
	}
	return groups;
}

/* §5 with exhausted buckets: conforming iff no limited dimension is checked. */
static bool conforms(const struct rm_limits *l, bool is_conn)
{
	if (l->bytes)
		return false;
	if (l->conn && is_conn)
		return false;
	return true;
}

/* §3.f: a new connection is held by the cap of the lowest-numbered group
 * it may use; an unregistered source's also by its share of that cap. */
static bool cap_allows(const struct rm_world *w, uint64_t usable, bool is_conn, bool unreg)
{
	const struct rm_cap *c;
	int g = 0;

	if (!is_conn || !usable)
		return true;
	while (!(usable & (1ull << g)))
		g++;
	c = &w->caps[g];
	if (!c->capped)
		return true;
	return !c->exhausted && !(unreg && c->share_exhausted);
}

static void decide_trusted(const struct rm_world *w, const struct rm_trusted *t,
			   const struct rm_parsed *p, bool is_conn, struct rm_answer *a)
{
	uint64_t usable;

	a->verdict = SG_V_DROP;
	/* The entry's automatic ban: all of the entry, whichever address. */
	if (t->ban == RM_EBAN_ACTIVE) {
		a->reason = SG_R_BANNED;
		return;
	}
	if (t->expired) {
		a->reason = SG_R_EXPIRED;
		return;
	}
	usable = relay_groups(w, &p->dst, p->dport) & t->groups;
	if (!usable) {
		a->reason = SG_R_UNAPPROVED_RELAY;
		return;
	}
	if (t->has_class && !conforms(&t->limits, is_conn)) {
		a->reason = SG_R_RATE_LIMITED;
		return;
	}
	if (!cap_allows(w, usable, is_conn, false)) {
		a->reason = SG_R_RATE_LIMITED;
		return;
	}
	a->verdict = SG_V_PASS;
	a->reason = SG_R_TRUSTED;
}

static void decide_untrusted(const struct rm_world *w, const struct rm_parsed *p,
			     bool is_conn, struct rm_answer *a)
{
	switch (w->unreg_action) {
	case SG_UNREG_REJECT:
		a->verdict = SG_V_REJECT;
		a->reason = SG_R_UNTRUSTED_SOURCE;
		return;
	case SG_UNREG_THROTTLE:
		a->verdict = SG_V_DROP;
		if (!relay_groups(w, &p->dst, p->dport)) {
			a->reason = SG_R_UNAPPROVED_RELAY;
			return;
		}
		if (!conforms(&w->throttle, is_conn) ||
		    !cap_allows(w, relay_groups(w, &p->dst, p->dport), is_conn, true)) {
			a->reason = SG_R_RATE_LIMITED;
			return;
		}
		a->verdict = SG_V_PASS;
		a->reason = SG_R_THROTTLE_ALLOWANCE;
		return;
	default:
		a->verdict = SG_V_DROP;
		a->reason = SG_R_UNTRUSTED_SOURCE;
		return;
	}
}

static void decide(const struct rm_world *w, const struct rm_parsed *p, bool is_conn,
		   struct rm_answer *a)
{
	const struct rm_trusted *t;

	if (p->problem == RM_FRAGMENT) {
		a->verdict = SG_V_DROP;
		a->reason = SG_R_FRAGMENT;
		return;
	}
	if (p->problem == RM_MALFORMED || p->know < RM_PORTS) {
		a->verdict = SG_V_DROP;
		a->reason = SG_R_MALFORMED;
		return;
	}
	if (banned(w, &p->src)) {
		a->verdict = SG_V_DROP;
		a->reason = SG_R_BANNED;
		return;
	}
	t = trusted_entry(w, &p->src);
	if (t)
		decide_trusted(w, t, p, is_conn, a);
	else
		decide_untrusted(w, p, is_conn, a);
}

/* ---- §4 action ------------------------------------------------------ */

static int action_of(int verdict, bool is_conn, const struct rm_parsed *p)
{
	switch (verdict) {
	case SG_V_PASS:
	case SG_V_MONITOR:
		return RM_PASS;
	case SG_V_REJECT:
		return is_conn && p->first_frag == RM_FF_NONE ? RM_RST : RM_DROP;
	default:
		return RM_DROP;
	}
}

void rm_decide(const struct rm_world *w, const uint8_t *frame, size_t len,
	       struct rm_answer *a)
{
	struct rm_parsed *p = &a->pkt;

	memset(a, 0, sizeof(*a));
	rm_parse(frame, len, p);
	a->is_conn = p->have_flags && (p->flags & TCP_SYN) && !(p->flags & TCP_ACK);
	a->ip_bytes = p->ip_bytes;
	a->governed = governed(w, p);
	if (!a->governed) {
		a->action = RM_PASS;
		return;
	}
	decide(w, p, a->is_conn, a);
	a->enforce_verdict = a->verdict;
	if (w->mode == SG_MODE_MONITOR && a->verdict != SG_V_PASS)
		a->verdict = SG_V_MONITOR;
	a->action = action_of(a->verdict, a->is_conn, p);
}

/* ---- the RST (§4) --------------------------------------------------- */

static uint16_t checksum(uint32_t sum, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += rd16(data, i);
	if (len & 1)
		sum += (uint32_t)data[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo-header sum for a 20-byte TCP segment. */
static uint32_t pseudo_sum(const uint8_t *ip, int v6)
{
	uint32_t sum = 0;

	if (v6) {
		for (size_t i = 8; i < 40; i += 2)
			sum += rd16(ip, i);
	} else {
		for (size_t i = 12; i < 20; i += 2)
			sum += rd16(ip, i);
	}
	return sum + PROTO_TCP + 20;
}

const char *rm_check_rst(const uint8_t *f, size_t len, const struct rm_parsed *p,
			 const uint8_t *o, size_t out_len)
{
	static char why[128];
	size_t l3 = p->l3, ip_len = p->v6 ? 40 : 20;
	const uint8_t *ip = o + l3, *tcp = o + l3 + ip_len;
	uint32_t want_ack = p->seq + 1 + p->payload_len;

	if (out_len != l3 + ip_len + 20) {
		snprintf(why, sizeof(why), "RST frame is %zu bytes, want %zu", out_len,
			 l3 + ip_len + 20);
		return why;
	}
	if (len < l3 || memcmp(o, f + 6, 6) || memcmp(o + 6, f, 6))
		return "MAC addresses not swapped";
	if (memcmp(o + 12, f + 12, l3 - 12))
		return "VLAN tags / EtherType not kept";
	if (!p->v6) {
		if (ip[0] != 0x45 || rd16(ip, 2) != 40 || ip[9] != PROTO_TCP)
			return "IPv4 header: version/IHL/total length/protocol";
		if (rd16(ip, 6) != 0x4000)
			return "IPv4 header: not DF with offset 0";
		if (ip[8] != 64)
			return "IPv4 TTL is not 64";
		if (checksum(0, ip, 20) != 0)
			return "IPv4 header checksum";
		if (memcmp(ip + 12, &p->dst.b[12], 4) || memcmp(ip + 16, &p->src.b[12], 4))
			return "IPv4 addresses not swapped";
	} else {
		if ((ip[0] >> 4) != 6 || rd16(ip, 4) != 20 || ip[6] != PROTO_TCP)
			return "IPv6 header: version/payload length/next header";
		if (ip[7] != 64)
			return "IPv6 hop limit is not 64";
		if (memcmp(ip + 8, p->dst.b, 16) || memcmp(ip + 24, p->src.b, 16))
			return "IPv6 addresses not swapped";
	}
	if (rd16(tcp, 0) != p->dport || rd16(tcp, 2) != p->sport)
		return "TCP ports not swapped";
	if (rd32(tcp, 4) != 0)
		return "TCP seq is not 0";
	if (rd32(tcp, 8) != want_ack) {
		snprintf(why, sizeof(why), "TCP ack %u, want %u", rd32(tcp, 8), want_ack);
		return why;
	}
	if ((tcp[12] >> 4) != 5)
		return "TCP data offset is not 5";
	if (tcp[13] != (TCP_RST | TCP_ACK))
		return "TCP flags are not RST|ACK";
	if (rd16(tcp, 14) != 0)
		return "TCP window is not 0";
	if (checksum(pseudo_sum(ip, p->v6), tcp, 20) != 0)
		return "TCP checksum";
	return NULL;
}

const char *rm_answer_text(const struct rm_answer *a, char *buf, size_t len)
{
	static const char *const actions[] = { "pass", "drop", "rst" };

	if (!a->governed)
		snprintf(buf, len, "%s, not governed", actions[a->action]);
	else
		snprintf(buf, len, "%s, %s/%s bytes %llu conns %d", actions[a->action],
			 sg_verdict_names[a->verdict], sg_reason_names[a->reason],
			 (unsigned long long)a->ip_bytes, a->is_conn ? 1 : 0);
	return buf;
}
