// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Random policies and packets (see randpkt.h).
 *
 * Addresses come from a small "universe" so that random choices collide
 * often enough to matter: IPv4 198.18.0-3.x and IPv6
 * 2001:db8:0:0-3::0-3:x, relays from 198.18.100.1-4 and 2001:db8:100::1-4,
 * "far" sources from 198.19.x.x and 2001:db8:ffff::x.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "randpkt.h"

#define RP_RELAY_POOL 4

/* ---- PRNG ----------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rp_seed(struct rp_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	r->s = splitmix64(&x);
	if (!r->s)
		r->s = 1; /* xorshift never leaves 0 */
}

uint64_t rp_u64(struct rp_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

uint32_t rp_below(struct rp_rng *r, uint32_t n)
{
	return (uint32_t)((rp_u64(r) >> 32) % n);
}

uint32_t rp_range(struct rp_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rp_below(r, hi - lo + 1);
}

bool rp_pct(struct rp_rng *r, unsigned pct)
{
	return rp_below(r, 100) < pct;
}

/* ---- addresses ------------------------------------------------------ */

static bool addr_is_v4(const struct sg_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a->b, mapped, sizeof(mapped));
}

static bool prefix_is_v4(const struct sg_prefix *p)
{
	return addr_is_v4(&p->addr) && p->len >= 96;
}

static struct sg_addr v4_addr(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct sg_addr x = { 0 };

	x.b[10] = x.b[11] = 0xff;
	x.b[12] = a;
	x.b[13] = b;
	x.b[14] = c;
	x.b[15] = d;
	return x;
}

/* 2001:db8:hi:0:0:0:mid:lo */
static struct sg_addr v6_addr(uint16_t hi, uint16_t mid, uint16_t lo)
{
	struct sg_addr x = { 0 };

	x.b[0] = 0x20;
	x.b[1] = 0x01;
	x.b[2] = 0x0d;
	x.b[3] = 0xb8;
	x.b[4] = (uint8_t)(hi >> 8);
	x.b[5] = (uint8_t)hi;
	x.b[12] = (uint8_t)(mid >> 8);
	x.b[13] = (uint8_t)mid;
	x.b[14] = (uint8_t)(lo >> 8);
	x.b[15] = (uint8_t)lo;
	return x;
}

/* Draws are sequenced one per statement: the order in which a call's
 * arguments are evaluated is unspecified, and the stream must not depend
 * on the compiler. */
static struct sg_addr universe_addr(struct rp_rng *r, bool v4)
{
	uint32_t a = rp_below(r, 4), b = rp_below(r, 256);
	struct sg_addr x;

	if (v4)
		return v4_addr(198, 18, (uint8_t)a, (uint8_t)b);
	/* 2001:db8:0:A::C:B */
	x = v6_addr(0, (uint16_t)rp_below(r, 4), (uint16_t)b);
	x.b[7] = (uint8_t)a;
	return x;
}

static struct sg_addr far_addr(struct rp_rng *r, bool v4)
{
	uint32_t x = rp_below(r, 65536);

	if (v4)
		return v4_addr(198, 19, (uint8_t)(x >> 8), (uint8_t)x);
	return v6_addr(0xffff, 0, (uint16_t)x);
}

static struct sg_addr relay_pool_addr(int i, bool v4)
{
	return v4 ? v4_addr(198, 18, 100, (uint8_t)(1 + i)) : v6_addr(0x100, 0, (uint16_t)(1 + i));
}

static void mask_addr(struct sg_addr *a, unsigned len)
{
	for (unsigned bit = len; bit < 128; bit++)
		a->b[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
}

/* A random address inside p: near its base (only the last host byte
 * random) or with every host bit random. */
static struct sg_addr addr_inside(struct rp_rng *r, const struct sg_prefix *p)
{
	struct sg_addr a = p->addr;
	unsigned from = p->len;

	if (rp_pct(r, 60) && from < 120)
		from = 120;
	for (unsigned bit = from; bit < 128; bit++)
		if (rp_pct(r, 50))
			a.b[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
	return a;
}

static void addr_text(const struct sg_addr *a, bool v4, char *buf, size_t len)
{
	if (v4)
		inet_ntop(AF_INET, &a->b[12], buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
}

static void prefix_text(const struct sg_prefix *p, char *buf, size_t len)
{
	bool v4 = prefix_is_v4(p);
	size_t n;

	addr_text(&p->addr, v4, buf, len);
	n = strlen(buf);
	snprintf(buf + n, len - n, "/%u", v4 ? p->len - 96 : p->len);
}

/* ---- policies ------------------------------------------------------- */

static void add_classes(struct sg_policy *p)
{
	/* Bursts keep tau at a few seconds, far below the hour an
	 * exhausted bucket runs ahead. */
	static const struct sg_rate_class classes[RP_N_CLASSES] = {
		[RP_CLASS_UNLIMITED] = { .name = "unlimited" },
		[RP_CLASS_CONN] = { .name = "conn", .conn_per_sec = 10, .conn_burst = 5 },
		[RP_CLASS_BYTES] = { .name = "bytes", .bytes_per_sec = 1e6,
				     .bytes_burst = 1e6 },
		[RP_CLASS_BOTH] = { .name = "both", .conn_per_sec = 10, .conn_burst = 5,
				    .bytes_per_sec = 1e6, .bytes_burst = 1e6 },
	};

	for (int i = 0; i < RP_N_CLASSES; i++)
		if (sg_policy_add_class(p, &classes[i]) != i)
			abort();
}

static struct rm_limits class_limits(const struct sg_policy *p, uint32_t class_idx)
{
	struct rm_limits l = { 0 };

	if (class_idx < p->n_classes) {
		l.conn = p->classes[class_idx].conn_per_sec > 0;
		l.bytes = p->classes[class_idx].bytes_per_sec > 0;
	}
	return l;
}

bool rp_limited(const struct rm_limits *l)
{
	return l->conn || l->bytes;
}

static void make_ports(struct rp_rng *r, struct rp_policy *rp)
{
	static const uint16_t candidates[] = { 25, 465, 587, 2525 };

	while (!rp->pol.n_ports)
		for (size_t i = 0; i < 4; i++)
			if (rp_pct(r, i == 0 ? 80 : 40))
				sg_policy_add_port(&rp->pol, candidates[i]);
	rp->world.n_ports = rp->pol.n_ports;
	memcpy(rp->world.ports, rp->pol.ports, rp->pol.n_ports * sizeof(uint16_t));
}

static void make_relays(struct rp_rng *r, struct rp_policy *rp)
{
	static const uint16_t port_choices[] = { 25, 465, 587, 2525, 26 };
	unsigned n_groups = rp_range(r, 1, 4);

	for (unsigned g = 0; g < n_groups; g++) {
		char name[16];
		unsigned n_relays = rp_range(r, 1, 3);
		int gi;

		snprintf(name, sizeof(name), "g%u", g);
		gi = sg_policy_add_group(&rp->pol, name);
		if (gi < 0)
			abort();
		for (unsigned k = 0; k < n_relays; k++) {
			struct rm_relay *rel = &rp->world.relays[rp->world.n_relays++];
			int which = (int)rp_below(r, RP_RELAY_POOL);

			rel->addr = relay_pool_addr(which, rp_pct(r, 50));
			rel->group = gi;
			rel->n_ports = 0;
			if (rp_pct(r, 30))
				for (size_t i = 0; i < 5; i++)
					if (rp_pct(r, 40) || (i == 4 && !rel->n_ports))
						rel->ports[rel->n_ports++] = port_choices[i];
			if (sg_policy_add_relay(&rp->pol, gi, &rel->addr, rel->ports, rel->n_ports))
				abort();
		}
	}
}

static unsigned v4_prefix_len(struct rp_rng *r)
{
	static const unsigned lens[] = { 15, 16, 20, 22, 23, 24, 25, 26, 28, 30, 31 };

	if (rp_pct(r, 2))
		return 96; /* 0.0.0.0/0 */
	if (rp_pct(r, 40))
		return 128;
	return 96 + lens[rp_below(r, sizeof(lens) / sizeof(lens[0]))];
}

static unsigned v6_prefix_len(struct rp_rng *r)
{
	static const unsigned lens[] = { 32, 48, 56, 60, 62, 63, 64, 96, 112, 120, 124, 127 };

	if (rp_pct(r, 40))
		return 128;
	return lens[rp_below(r, sizeof(lens) / sizeof(lens[0]))];
}

static bool have_trusted(const struct rm_world *w, const struct sg_prefix *p)
{
	for (size_t i = 0; i < w->n_trusted; i++)
		if (w->trusted[i].prefix.len == p->len &&
		    !memcmp(&w->trusted[i].prefix.addr, &p->addr, sizeof(p->addr)))
			return true;
	return false;
}

/* A new prefix, often nested inside an existing entry so that longest
 * match decides. */
static struct sg_prefix trusted_prefix(struct rp_rng *r, const struct rm_world *w)
{
	struct sg_prefix p;

	if (w->n_trusted && rp_pct(r, 35)) {
		const struct sg_prefix *parent = &w->trusted[rp_below(r, (uint32_t)w->n_trusted)].prefix;

		if (parent->len < 128) {
			p.addr = addr_inside(r, parent);
			p.len = rp_range(r, parent->len + 1, 128);
			mask_addr(&p.addr, p.len);
			return p;
		}
	}
	if (rp_pct(r, 55)) {
		p.addr = universe_addr(r, true);
		p.len = v4_prefix_len(r);
	} else {
		p.addr = universe_addr(r, false);
		p.len = v6_prefix_len(r);
	}
	mask_addr(&p.addr, p.len);
	return p;
}

/* Would a prefix of this length take the policy past the number of
 * distinct prefix lengths the data plane probes (SG_MAX_PREFIX_LENS)? */
static bool too_many_lens(const struct rm_world *w, unsigned len)
{
	bool seen[129] = { false };
	unsigned n = 0;

	if (len == 128)
		return false;
	for (size_t i = 0; i < w->n_trusted; i++) {
		unsigned l = w->trusted[i].prefix.len;

		if (l < 128 && !seen[l]) {
			seen[l] = true;
			n++;
		}
	}
	return !seen[len] && n >= SG_MAX_PREFIX_LENS;
}

static void make_trusted(struct rp_rng *r, struct rp_policy *rp, int64_t now_unix)
{
	unsigned want = rp_range(r, 5, 40);
	uint64_t all_groups = (1ull << rp->pol.n_groups) - 1;

	for (unsigned tries = 0; rp->world.n_trusted < want && tries < 1000; tries++) {
		struct sg_trusted_entry e = { .ticket = "DIFF-1", .owner = "differential" };
		struct rm_trusted *t = &rp->world.trusted[rp->world.n_trusted];

		e.prefix = trusted_prefix(r, &rp->world);
		if (have_trusted(&rp->world, &e.prefix) || too_many_lens(&rp->world, e.prefix.len))
			continue;
		e.groups = rp_u64(r) & all_groups;
		if (rp_pct(r, 10))
			e.groups = 0;
		if (rp_pct(r, 5))
			e.groups |= 1ull << 40; /* a group no relay has */
		e.expires = 0;
		if (rp_pct(r, 20))
			e.expires = now_unix - 3600;
		else if (rp_pct(r, 25))
			e.expires = now_unix + 30 * 86400;
		sg_entry_set_class(&e, rp_pct(r, 45) ? SG_NO_CLASS : rp_below(r, RP_N_CLASSES));
		if (sg_policy_add_trusted(&rp->pol, &e))
			abort();
		t->prefix = e.prefix;
		t->groups = e.groups;
		t->expired = e.expires != 0 && e.expires <= now_unix;
		t->has_class = sg_entry_class(&e) != SG_NO_CLASS;
		t->limits = class_limits(&rp->pol, sg_entry_class(&e));
		if (rp_pct(r, 12))
			t->ban = rp_pct(r, 65) ? RM_EBAN_ACTIVE : RM_EBAN_ENDED;
		rp->world.n_trusted++;
	}
}

static void make_scope(struct rp_rng *r, struct rp_policy *rp)
{
	unsigned n = rp_pct(r, 40) ? 0 : rp_range(r, 1, 3);

	for (unsigned i = 0; i < n; i++) {
		struct sg_prefix p;
		bool v4 = rp_pct(r, 50);

		if (rp_pct(r, 30) && rp->world.n_trusted) {
			p = rp->world.trusted[rp_below(r, (uint32_t)rp->world.n_trusted)].prefix;
			v4 = prefix_is_v4(&p);
			p.len = v4 ? rp_range(r, 96 + 15, p.len) : rp_range(r, 32, p.len);
		} else {
			p.addr = universe_addr(r, v4);
			p.len = v4 ? rp_range(r, 96 + 15, 96 + 30) : rp_range(r, 32, 120);
		}
		mask_addr(&p.addr, p.len);
		if (sg_policy_add_scope(&rp->pol, &p))
			abort();
		rp->world.scope[rp->world.n_scope++] = p;
	}
}

static bool have_ban(const struct rm_world *w, const struct sg_addr *a)
{
	for (size_t i = 0; i < w->n_bans; i++)
		if (!memcmp(&w->bans[i].addr, a, sizeof(*a)))
			return true;
	return false;
}

static void make_bans(struct rp_rng *r, struct rp_policy *rp)
{
	unsigned n_active = rp_range(r, 0, 4), n_expired = rp_range(r, 0, 3);

	for (unsigned i = 0; i < n_active + n_expired; i++) {
		struct sg_addr a;

		if (rp_pct(r, 60) && rp->world.n_trusted)
			a = addr_inside(r, &rp->world.trusted[rp_below(
						   r, (uint32_t)rp->world.n_trusted)].prefix);
		else
			a = universe_addr(r, rp_pct(r, 50));
		if (have_ban(&rp->world, &a))
			continue;
		rp->world.bans[rp->world.n_bans].addr = a;
		rp->world.bans[rp->world.n_bans].active = i < n_active;
		rp->world.n_bans++;
	}
}

/* Relay caps, each unlimited in practice (1e9/s, a burst of 1e9) or
 * exhausted, and so is unregistered sources' share of it. */
static void make_caps(struct rp_rng *r, struct rp_policy *rp)
{
	for (size_t g = 0; g < rp->pol.n_groups && g < 64; g++) {
		struct rm_cap *c = &rp->world.caps[g];

		if (!rp_pct(r, 30))
			continue;
		c->capped = true;
		c->exhausted = rp_pct(r, 30);
		c->share_exhausted = rp_pct(r, 40);
		rp->pol.groups[g].cap_conn_per_sec = 1e9;
		rp->pol.groups[g].cap_conn_burst = 1e9;
	}
}

void rp_policy_make(struct rp_rng *r, struct rp_policy *rp, int64_t now_unix, unsigned variant)
{
	memset(rp, 0, sizeof(*rp));
	sg_policy_init(&rp->pol);
	rp->world.applied = true;
	add_classes(&rp->pol);
	make_ports(r, rp);
	make_relays(r, rp);
	make_trusted(r, rp, now_unix);
	make_scope(r, rp);
	make_bans(r, rp);
	make_caps(r, rp);
	/* Every (mode, unregistered action) pair comes round in six. */
	rp->pol.mode = (variant / 3) % 2 ? SG_MODE_MONITOR : SG_MODE_ENFORCE;
	rp->pol.unreg_action = (int)(variant % 3);
	if (rp->pol.unreg_action == SG_UNREG_THROTTLE) {
		rp->pol.unreg_class = rp_below(r, RP_N_CLASSES);
		rp->world.throttle = class_limits(&rp->pol, rp->pol.unreg_class);
	}
	/* Time-dependent state stays out: no new automatic bans (the bans
	 * made are written as state), caps unlimited or exhausted. */
	rp->pol.ban_enabled = false;
	rp->world.mode = rp->pol.mode;
	rp->world.unreg_action = rp->pol.unreg_action;
}

void rp_policy_free(struct rp_policy *rp)
{
	sg_policy_free(&rp->pol);
}

static const char *limits_text(const struct rm_limits *l)
{
	if (l->conn && l->bytes)
		return "conn+bytes exhausted";
	if (l->conn)
		return "conn exhausted";
	if (l->bytes)
		return "bytes exhausted";
	return "unlimited";
}

void rp_policy_print(const struct rp_policy *rp, FILE *out)
{
	static const char *const unreg[] = { "drop", "reject", "throttle" };
	const struct rm_world *w = &rp->world;
	char text[80];

	fprintf(out, "#   mode %s, unregistered %s", w->mode ? "monitor" : "enforce",
		unreg[w->unreg_action]);
	if (w->unreg_action == SG_UNREG_THROTTLE)
		fprintf(out, " (class %s)", limits_text(&w->throttle));
	fprintf(out, "\n#   ports");
	for (size_t i = 0; i < w->n_ports; i++)
		fprintf(out, " %u", w->ports[i]);
	fprintf(out, "\n#   scope%s", w->n_scope ? "" : " (everything)");
	for (size_t i = 0; i < w->n_scope; i++) {
		prefix_text(&w->scope[i], text, sizeof(text));
		fprintf(out, " %s", text);
	}
	fprintf(out, "\n");
	for (size_t i = 0; i < w->n_relays; i++) {
		const struct rm_relay *rel = &w->relays[i];

		addr_text(&rel->addr, addr_is_v4(&rel->addr), text, sizeof(text));
		fprintf(out, "#   relay g%d %s ports", rel->group, text);
		if (!rel->n_ports)
			fprintf(out, " (governed)");
		for (size_t j = 0; j < rel->n_ports; j++)
			fprintf(out, " %u", rel->ports[j]);
		fprintf(out, "\n");
	}
	for (size_t i = 0; i < w->n_trusted; i++) {
		const struct rm_trusted *t = &w->trusted[i];

		prefix_text(&t->prefix, text, sizeof(text));
		fprintf(out, "#   trusted %s groups %#llx%s%s class %s\n", text,
			(unsigned long long)t->groups, t->expired ? " EXPIRED" : "",
			t->ban == RM_EBAN_ACTIVE  ? " BANNED" :
			t->ban == RM_EBAN_ENDED ? " (ban ended)" : "",
			t->has_class ? limits_text(&t->limits) : "none");
	}
	for (size_t g = 0; g < 64; g++)
		if (w->caps[g].capped)
			fprintf(out, "#   cap g%zu %s, unregistered share %s\n", g,
				w->caps[g].exhausted ? "exhausted" : "open",
				w->caps[g].share_exhausted ? "exhausted" : "open");
	for (size_t i = 0; i < w->n_bans; i++) {
		addr_text(&w->bans[i].addr, addr_is_v4(&w->bans[i].addr), text, sizeof(text));
		fprintf(out, "#   ban %s %s\n", text, w->bans[i].active ? "active" : "expired");
	}
}

/* ---- packets -------------------------------------------------------- */

/* One of the trusted entries of the family, or NULL. */
static const struct sg_prefix *pick_trusted(struct rp_rng *r, const struct rm_world *w, bool v4)
{
	const struct sg_prefix *found[RM_MAX_TRUSTED];
	size_t k = 0;

	for (size_t i = 0; i < w->n_trusted; i++)
		if (prefix_is_v4(&w->trusted[i].prefix) == v4)
			found[k++] = &w->trusted[i].prefix;
	return k ? found[rp_below(r, (uint32_t)k)] : NULL;
}

/* One of the scope prefixes of the family, or NULL. */
static const struct sg_prefix *pick_scope(struct rp_rng *r, const struct rm_world *w, bool v4)
{
	const struct sg_prefix *found[RM_MAX_SCOPE];
	size_t k = 0;

	for (size_t i = 0; i < w->n_scope; i++)
		if (prefix_is_v4(&w->scope[i]) == v4)
			found[k++] = &w->scope[i];
	return k ? found[rp_below(r, (uint32_t)k)] : NULL;
}

static struct sg_addr pick_src(struct rp_rng *r, const struct rm_world *w, bool v4,
			       bool *mapped)
{
	const struct sg_prefix *p = NULL;
	unsigned dice = rp_below(r, 100);

	*mapped = false;
	if (dice < 40)
		p = pick_trusted(r, w, v4);
	else if (dice < 50 && w->n_bans) {
		const struct sg_addr *a = &w->bans[rp_below(r, (uint32_t)w->n_bans)].addr;

		if (addr_is_v4(a) == v4)
			return *a;
	} else if (dice < 60) {
		p = pick_scope(r, w, v4);
	} else if (dice < 70) {
		return far_addr(r, v4);
	} else if (dice < 75 && !v4) {
		/* An IPv6 packet from an IPv4-mapped address. */
		*mapped = true;
		p = pick_trusted(r, w, true);
		return p ? addr_inside(r, p) : universe_addr(r, true);
	}
	return p ? addr_inside(r, p) : universe_addr(r, v4);
}

static struct sg_addr pick_dst(struct rp_rng *r, const struct rm_world *w, bool v4)
{
	unsigned dice = rp_below(r, 100);

	if (!v4 && dice < 4) /* an IPv6 packet to an IPv4-mapped relay address */
		return relay_pool_addr((int)rp_below(r, RP_RELAY_POOL), true);
	if (dice < 50) {
		const struct sg_addr *found[RM_MAX_RELAYS];
		size_t k = 0;

		for (size_t i = 0; i < w->n_relays; i++)
			if (addr_is_v4(&w->relays[i].addr) == v4)
				found[k++] = &w->relays[i].addr;
		if (k)
			return *found[rp_below(r, (uint32_t)k)];
	}
	if (dice < 70)
		return relay_pool_addr((int)rp_below(r, RP_RELAY_POOL), v4);
	return universe_addr(r, v4);
}

static uint16_t pick_dport(struct rp_rng *r, const struct rm_world *w)
{
	static const uint16_t near[] = { 25, 465, 587, 2525, 26, 80 };
	unsigned dice = rp_below(r, 100);

	if (dice < 60)
		return w->ports[rp_below(r, (uint32_t)w->n_ports)];
	if (dice < 85)
		return near[rp_below(r, 6)];
	return (uint16_t)rp_below(r, 65536);
}

static uint8_t pick_flags(struct rp_rng *r)
{
	unsigned dice = rp_below(r, 100);

	if (dice < 35)
		return TCPF_SYN;
	if (dice < 50)
		return TCPF_SYN | TCPF_ACK;
	if (dice < 75)
		return TCPF_ACK | (rp_pct(r, 50) ? TCPF_PSH : 0);
	if (dice < 85)
		return TCPF_FIN | TCPF_ACK;
	return (uint8_t)rp_below(r, 256);
}

static uint16_t pick_frag_off(struct rp_rng *r)
{
	unsigned dice = rp_below(r, 100);

	if (dice < 45)
		return 0;
	if (dice < 75)
		return 1;
	return (uint16_t)rp_range(r, 2, 8191);
}

static void pick_v6_ext(struct rp_rng *r, struct pkt_spec *s, char *how, size_t cap)
{
	static const uint8_t kinds[] = { V6_HOP, V6_RT, V6_DST, V6_AH };

	s->n_ext = rp_pct(r, 55) ? 0 : (int)rp_range(r, 1, rp_pct(r, 20) ? 9 : 4);
	for (int i = 0; i < s->n_ext; i++) {
		s->ext[i] = kinds[rp_below(r, 4)];
		if (s->ext[i] == V6_AH)
			s->ext_len[i] = 4 * (int)rp_range(r, 2, 12);
		else
			s->ext_len[i] = 8 * (int)rp_range(r, 1, 6);
	}
	if (s->frag) {
		/* The fragment header somewhere in the chain. */
		int at = (int)rp_range(r, 0, (uint32_t)s->n_ext);

		memmove(&s->ext[at + 1], &s->ext[at], (size_t)(s->n_ext - at));
		memmove(&s->ext_len[at + 1], &s->ext_len[at], (size_t)(s->n_ext - at) * sizeof(int));
		s->ext[at] = V6_FRAG;
		s->ext_len[at] = 8;
		s->n_ext++;
	}
	if (s->n_ext) {
		ut_appendf(how, cap, " ext[");
		for (int i = 0; i < s->n_ext; i++)
			ut_appendf(how, cap, "%s%u:%d", i ? "," : "", s->ext[i], s->ext_len[i]);
		ut_appendf(how, cap, "]");
	}
}

/* Draws the knobs of a frame that pkt_build can make. */
static void pick_spec(struct rp_rng *r, const struct rm_world *w, struct rp_packet *pkt)
{
	struct pkt_spec *s = &pkt->spec;
	struct sg_addr src, dst;
	bool mapped;

	memset(s, 0, sizeof(*s));
	s->v6 = rp_pct(r, 50);
	src = pick_src(r, w, !s->v6, &mapped);
	dst = pick_dst(r, w, !s->v6);
	addr_text(&src, !s->v6, pkt->src, sizeof(pkt->src));
	addr_text(&dst, !s->v6, pkt->dst, sizeof(pkt->dst));
	s->src = pkt->src;
	s->dst = pkt->dst;
	s->sport = (uint16_t)rp_range(r, 1024, 65535);
	s->dport = pick_dport(r, w);
	s->flags = pick_flags(r);
	s->seq = (uint32_t)rp_u64(r);
	s->ack = (uint32_t)rp_u64(r);
	if (rp_pct(r, 6))
		s->proto = rp_pct(r, 50) ? 17 : (s->v6 ? 58 : 1);
	s->n_vlan = rp_pct(r, 65) ? 0 : (int)rp_range(r, 1, rp_pct(r, 15) ? 3 : 2);
	for (int i = 0; i < s->n_vlan; i++)
		s->vlan_tpid[i] = rp_pct(r, 50) ? 0x8100 : 0x88a8;
	if (!s->v6 && rp_pct(r, 20))
		s->ip_opt_len = 4 * (int)rp_range(r, 1, 10);
	if (rp_pct(r, 25)) {
		s->frag = 1;
		s->frag_off = pick_frag_off(r);
		s->mf = rp_pct(r, 60);
	}
	snprintf(pkt->how, sizeof(pkt->how), "%s %s -> %s:%u flags %#x seq %u", s->v6 ? "v6" : "v4",
		 s->src, s->dst, s->dport, s->flags, s->seq);
	if (s->proto)
		ut_appendf(pkt->how, sizeof(pkt->how), " proto %u", s->proto);
	if (s->n_vlan)
		ut_appendf(pkt->how, sizeof(pkt->how), " vlan %d", s->n_vlan);
	if (s->ip_opt_len)
		ut_appendf(pkt->how, sizeof(pkt->how), " ipopt %d", s->ip_opt_len);
	if (s->v6)
		pick_v6_ext(r, s, pkt->how, sizeof(pkt->how));
	if (s->frag)
		ut_appendf(pkt->how, sizeof(pkt->how), " frag off %u mf %d", s->frag_off, s->mf);
	if (rp_pct(r, 30))
		s->tcp_opt_len = 4 * (int)rp_range(r, 1, 10);
	s->payload = rp_pct(r, 50) ? 0 : (int)rp_range(r, 1, rp_pct(r, 20) ? 1000 : 200);
	/* Cut L4 short: often for first fragments, whose short headers have
	 * rules of their own. */
	if (rp_pct(r, s->frag && s->mf && !s->frag_off ? 40 : 8)) {
		int l4 = (s->proto ? 8 : 20 + s->tcp_opt_len) + s->payload;

		s->l4_len_override = (int)(rp_pct(r, 50) ? rp_range(r, 12, 20) : rp_range(r, 1, 24));
		/* Half the time the IP length agrees with the cut. */
		if (s->l4_len_override < l4 && rp_pct(r, 50))
			s->ip_len_delta = s->l4_len_override - l4;
	}
	if (rp_pct(r, 8))
		s->ip_len_delta += (int)rp_range(r, 0, 120) - 60;
	if (rp_pct(r, 2))
		s->ip_version_override = (int)rp_below(r, 16);
	if (!s->v6 && rp_pct(r, 3))
		s->ihl_override = (int)rp_below(r, 16);
	if (rp_pct(r, 4))
		s->doff_override = (int)rp_below(r, 16);
	ut_appendf(pkt->how, sizeof(pkt->how), " topt %d payload %d", s->tcp_opt_len, s->payload);
	if (s->l4_len_override)
		ut_appendf(pkt->how, sizeof(pkt->how), " l4cut %d", s->l4_len_override);
	if (s->ip_len_delta)
		ut_appendf(pkt->how, sizeof(pkt->how), " iplen%+d", s->ip_len_delta);
	if (s->ip_version_override)
		ut_appendf(pkt->how, sizeof(pkt->how), " ver %d", s->ip_version_override);
	if (s->ihl_override)
		ut_appendf(pkt->how, sizeof(pkt->how), " ihl %d", s->ihl_override);
	if (s->doff_override)
		ut_appendf(pkt->how, sizeof(pkt->how), " doff %d", s->doff_override);
	if (mapped)
		ut_appendf(pkt->how, sizeof(pkt->how), " (v4-mapped src)");
}

/* Offsets of the IP and L4 headers in the frame spec builds. */
static size_t spec_l3(const struct pkt_spec *s)
{
	return 14 + 4 * (size_t)s->n_vlan;
}

static size_t spec_l4(const struct pkt_spec *s)
{
	size_t off = spec_l3(s);

	if (!s->v6)
		return off + 20 + (size_t)s->ip_opt_len;
	off += 40;
	for (int i = 0; i < s->n_ext; i++)
		off += s->ext[i] == V6_FRAG ? 8 : (size_t)(s->ext_len[i] ? s->ext_len[i] : 8);
	return off;
}

static void put_byte(struct rp_packet *pkt, size_t off, uint8_t v, const char *what)
{
	if (off >= pkt->len)
		return;
	pkt->frame[off] = v;
	ut_appendf(pkt->how, sizeof(pkt->how), " | %s[%zu]=%#x", what, off, v);
}

/* Overwrites one of the fields that say how long something is. */
static void mutate_length_field(struct rp_rng *r, struct rp_packet *pkt)
{
	const struct pkt_spec *s = &pkt->spec;
	size_t l3 = spec_l3(s), l4 = spec_l4(s);
	uint8_t v = (uint8_t)rp_below(r, 256);

	switch (rp_below(r, 5)) {
	case 0: /* IPv4 total length / IPv6 payload length, high byte */
		put_byte(pkt, l3 + (s->v6 ? 4 : 2), (uint8_t)rp_below(r, 8), "iplen.hi");
		break;
	case 1: /* ... low byte */
		put_byte(pkt, l3 + (s->v6 ? 5 : 3), v, "iplen.lo");
		break;
	case 2: /* version / IHL */
		put_byte(pkt, l3, v, "ver/ihl");
		break;
	case 3: /* TCP data offset */
		put_byte(pkt, l4 + 12, v, "doff");
		break;
	default: /* an IPv6 extension header length, else the next header */
		if (s->v6 && s->n_ext) {
			int i = (int)rp_below(r, (uint32_t)s->n_ext);
			size_t off = l3 + 40;

			for (int k = 0; k < i; k++)
				off += s->ext[k] == V6_FRAG ? 8 : (size_t)s->ext_len[k];
			off += rp_pct(r, 70) ? 1 : 0; /* the length byte, else next header */
			if (rp_pct(r, 50))
				v = (uint8_t)rp_below(r, 8);
			put_byte(pkt, off, v, "extlen");
		} else {
			put_byte(pkt, l3 + (s->v6 ? 6 : 9), rp_pct(r, 50) ? 6 : v, "proto");
		}
		break;
	}
}

static void mutate(struct rp_rng *r, struct rp_packet *pkt)
{
	unsigned n = rp_pct(r, 70) ? 1 : rp_range(r, 2, 4);

	pkt->mutated = true;
	for (unsigned i = 0; i < n; i++) {
		size_t hdr_end = spec_l4(&pkt->spec) + 24;
		size_t off;

		switch (rp_below(r, 4)) {
		case 0: /* any byte */
			off = rp_below(r, (uint32_t)pkt->len);
			put_byte(pkt, off, (uint8_t)(pkt->frame[off] ^ (1u << rp_below(r, 8))), "flip");
			break;
		case 1: /* a header byte */
			if (hdr_end > pkt->len)
				hdr_end = pkt->len;
			off = rp_range(r, 12, (uint32_t)hdr_end - 1);
			put_byte(pkt, off, (uint8_t)rp_below(r, 256), "hdr");
			break;
		case 2: /* truncate */
			pkt->len = rp_range(r, 14, (uint32_t)pkt->len);
			ut_appendf(pkt->how, sizeof(pkt->how), " | cut to %zu", pkt->len);
			break;
		default:
			mutate_length_field(r, pkt);
			break;
		}
	}
}

/* Bytes at random, with a plausible start some of the time. */
static void random_frame(struct rp_rng *r, struct rp_packet *pkt)
{
	static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806 };
	size_t l3 = 14;

	pkt->len = rp_range(r, 14, 200);
	for (size_t i = 0; i < pkt->len; i++)
		pkt->frame[i] = (uint8_t)rp_below(r, 256);
	if (rp_pct(r, 80)) {
		uint16_t t = types[rp_below(r, 5)];

		pkt->frame[12] = (uint8_t)(t >> 8);
		pkt->frame[13] = (uint8_t)t;
		if (t == 0x0800 && pkt->len >= l3 + 20 && rp_pct(r, 70)) {
			pkt->frame[l3] = 0x45;
			pkt->frame[l3 + 9] = 6;
			pkt->frame[l3 + 6] &= 0x20;
			pkt->frame[l3 + 7] = 0;
		} else if (t == 0x86dd && pkt->len >= l3 + 40 && rp_pct(r, 70)) {
			pkt->frame[l3] = 0x60;
			pkt->frame[l3 + 6] = 6;
		}
	}
	pkt->mutated = true;
	snprintf(pkt->how, sizeof(pkt->how), "random frame of %zu bytes", pkt->len);
}

void rp_packet_make(struct rp_rng *r, const struct rp_policy *rp, struct rp_packet *pkt)
{
	pkt->mutated = false;
	if (rp_pct(r, 2)) {
		memset(&pkt->spec, 0, sizeof(pkt->spec));
		random_frame(r, pkt);
		return;
	}
	pick_spec(r, &rp->world, pkt);
	pkt->len = pkt_build(&pkt->spec, pkt->frame, sizeof(pkt->frame));
	if (pkt->len < 14)
		pkt->len = 14;
	if (rp_pct(r, 25))
		mutate(r, pkt);
}
