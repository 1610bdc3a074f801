// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Verdicts with a million trusted entries: a policy of 1,000,000 entries
 * (IPv6 and IPv4 hosts, /64 and /24 networks, a /48 around the /64s,
 * one entry in 1,000 expired) is applied, then a reload that removes
 * 1,000 hosts, adds 1,000 others and moves 1,000 hosts to other relay
 * groups.  After each, sources inside the table (its hosts, addresses
 * in its networks, the /48 around them) and outside it send SYNs
 * through the XDP program (BPF_PROG_TEST_RUN) to the relays of both
 * groups, and each verdict, reason and counter change must be the
 * reference model's (tests/lib/refmodel.c).
 *
 * The model decides a source on the entries that contain it, which is
 * all that longest-prefix matching may consult: they are looked up in
 * an index of the whole policy for each sample, at every length the
 * policy uses.  Not timed: the benchmarks measure (tests/bench/
 * bench_scale.sh).
 *
 *   test_scale [-n SAMPLES] [-s SEED]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "prefix_map.h"
#include "refmodel.h"
#include "tap.h"
#include "unit.h"

#define N_ENTRIES 1000000
#define N_HOSTS6 800000
#define N_HOSTS4 100000
#define N_NETS6 50000
#define N_NETS4 (N_ENTRIES - N_HOSTS6 - N_HOSTS4 - N_NETS6 - 1) /* and one /48 */
#define N_CHANGE 1000
#define GROUP_A 1ull
#define GROUP_B 2ull

static const char *const relays_a[] = { "198.18.0.25", "2001:db8::25", NULL };
static const char *const relays_b[] = { "198.18.0.26", "2001:db8::26", NULL };

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The i-th entry of generation `gen` (0: first policy, 1: the reload). */
static void entry_text(int gen, size_t i, char *buf, size_t len)
{
	if (i < N_HOSTS6) {
		/* The reload replaces the first N_CHANGE hosts by others. */
		if (gen == 1 && i < N_CHANGE)
			snprintf(buf, len, "2001:db8:4::%zx", i + 1);
		else
			snprintf(buf, len, "2001:db8:1:%zx::%zx", i >> 16, i & 0xffff);
	} else if ((i -= N_HOSTS6) < N_HOSTS4) {
		snprintf(buf, len, "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
	} else if ((i -= N_HOSTS4) < N_NETS6) {
		snprintf(buf, len, "2001:db8:2:%zx::/64", i);
	} else if ((i -= N_NETS6) < N_NETS4) {
		snprintf(buf, len, "11.%zu.%zu.0/24", i >> 8, i & 255);
	} else {
		snprintf(buf, len, "2001:db8:2::/48");
	}
}

/* Groups of entry i: {a}, {b}, {a, b} in turn (the /48: {b}); the
 * reload moves hosts N_CHANGE..2*N_CHANGE to the next set. */
static uint64_t entry_groups(int gen, size_t i)
{
	size_t k = i + (gen == 1 && i >= N_CHANGE && i < 2 * N_CHANGE);

	if (i == N_ENTRIES - 1)
		return GROUP_B;
	return (uint64_t)(k % 3) + 1;
}

static bool entry_expired(size_t i)
{
	return i % 1000 == 999;
}

struct world {
	struct sg_policy p;
	struct sg_prefix_map *index; /* prefix -> entry */
	unsigned lens[SG_MAX_PREFIX_LENS + 1];
	size_t n_lens;
};

static void build(struct world *w, int gen)
{
	int64_t past = h_unix_now() - 3600;
	char text[64];

	sg_policy_init(&w->p);
	if (sg_policy_add_port(&w->p, 25) || h_group(&w->p, "a", relays_a) != 0 ||
	    h_group(&w->p, "b", relays_b) != 1)
		tap_bail("policy: groups");
	if (sg_policy_reserve_trusted(&w->p, N_ENTRIES))
		tap_bail("policy: out of memory");
	w->index = sg_prefix_map_new(N_ENTRIES);
	if (!w->index)
		tap_bail("index: out of memory");
	w->n_lens = 0;
	for (size_t i = 0; i < N_ENTRIES; i++) {
		const struct sg_trusted_entry *e;
		bool seen = false;

		entry_text(gen, i, text, sizeof(text));
		h_trust(&w->p, text, entry_groups(gen, i), SG_NO_CLASS,
			entry_expired(i) ? past : 0);
		e = &w->p.trusted[w->p.n_trusted - 1];
		if (sg_prefix_map_add(w->index, &e->prefix, (uint32_t)i))
			tap_bail("index: %s", text);
		for (size_t l = 0; l < w->n_lens; l++)
			seen |= w->lens[l] == e->prefix.len;
		if (!seen)
			w->lens[w->n_lens++] = e->prefix.len;
	}
}

static void world_free(struct world *w)
{
	sg_policy_free(&w->p);
	sg_prefix_map_free(w->index);
}

static struct sg_prefix masked(const struct sg_addr *a, unsigned len)
{
	struct sg_prefix p = { .addr = *a, .len = len };

	for (unsigned b = len; b < 128; b++)
		p.addr.b[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	return p;
}

/* The model's world for src: the policy's settings and the entries that
 * contain src. */
static void model_world(const struct world *w, const struct sg_addr *src, struct rm_world *m)
{
	memset(m, 0, sizeof(*m));
	m->applied = true;
	m->mode = SG_MODE_ENFORCE;
	m->unreg_action = SG_UNREG_DROP;
	m->ports[m->n_ports++] = 25;
	for (int g = 0; g < 2; g++)
		for (int r = 0; r < 2; r++) {
			m->relays[m->n_relays].addr = h_addr((g ? relays_b : relays_a)[r]);
			m->relays[m->n_relays++].group = g;
		}
	for (size_t l = 0; l < w->n_lens; l++) {
		struct sg_prefix p = masked(src, w->lens[l]);
		long i = sg_prefix_map_get(w->index, &p);
		struct rm_trusted *t;

		if (i < 0 || m->n_trusted == RM_MAX_TRUSTED)
			continue;
		t = &m->trusted[m->n_trusted++];
		t->prefix = w->p.trusted[i].prefix;
		t->groups = w->p.trusted[i].groups;
		t->expired = w->p.trusted[i].expires != 0;
	}
}

/* A source: an entry's address (a host, or an address inside a network),
 * or one outside every entry. */
static void sample_source(int gen, int kind, char *buf, size_t len)
{
	size_t i = rnd() % N_ENTRIES;
	char text[64], *slash;

	switch (kind) {
	case 0: /* an entry: a host, or a random address in a network */
		entry_text(gen, i, text, sizeof(text));
		slash = strchr(text, '/');
		if (!slash) {
			snprintf(buf, len, "%s", text);
		} else if (strchr(text, ':')) {
			*slash = '\0';
			if (!strcmp(text, "2001:db8:2::"))
				snprintf(buf, len, "2001:db8:2:%x::%x",
					 (unsigned)(N_NETS6 + rnd() % 1000), (unsigned)(rnd() & 0xffff));
			else
				snprintf(buf, len, "%s%x", text, (unsigned)(rnd() % 0xfffe) + 1);
		} else {
			*slash = '\0';
			snprintf(buf, len, "%.*s%u", (int)strlen(text) - 1, text,
				 (unsigned)(rnd() % 254) + 1);
		}
		break;
	case 1: /* the hosts the reload replaced, both ways */
		entry_text(!gen, rnd() % N_CHANGE, buf, len);
		break;
	case 2: /* outside, IPv6 */
		snprintf(buf, len, "2001:db8:3:%x::%x", (unsigned)(rnd() & 0xffff),
			 (unsigned)(rnd() & 0xffff) + 1);
		break;
	default: /* outside, IPv4 */
		snprintf(buf, len, "12.%u.%u.%u", (unsigned)(rnd() & 255),
			 (unsigned)(rnd() & 255), (unsigned)(rnd() % 254) + 1);
		break;
	}
}

static void check_samples(struct sg_dp *dp, const struct world *w, int gen, int n,
			  const char *what)
{
	static const int kinds[] = { 0, 0, 0, 0, 0, 1, 2, 3 };
	int bad = 0, governed = 0, trusted = 0;
	char first[1024] = "";

	for (int k = 0; k < n; k++) {
		struct pkt_spec s = { .sport = 40000, .dport = 25, .flags = 0x02, .seq = 1 };
		char src[64], dst[64], why[512] = "";
		struct sg_addr a;
		struct rm_world m;
		struct rm_answer ans;
		struct run_result r;
		h_snap_t before, after;
		uint8_t frame[PKT_MAX];
		size_t len;
		const char *bad_counters;
		struct h_expect e;

		sample_source(gen, kinds[rnd() % (sizeof(kinds) / sizeof(kinds[0]))], src,
			      sizeof(src));
		s.v6 = strchr(src, ':') != NULL;
		snprintf(dst, sizeof(dst), "%s", (rnd() & 1 ? relays_b : relays_a)[s.v6]);
		s.src = src;
		s.dst = dst;
		a = h_addr(src);
		model_world(w, &a, &m);
		len = pkt_build(&s, frame, sizeof(frame));
		rm_decide(&m, frame, len, &ans);
		h_snapshot(dp, before);
		if (h_run(dp, SG_HOOK_XDP, frame, len, &r))
			tap_bail("test run failed");
		h_snapshot(dp, after);
		e = (struct h_expect){ .action = ans.action,
				       .verdict = ans.governed ? ans.verdict : H_NOT_GOVERNED,
				       .reason = ans.reason, .bytes = ans.ip_bytes,
				       .conns = ans.is_conn };
		if (r.ret != h_hook_ret(SG_HOOK_XDP, ans.action))
			ut_appendf(why, sizeof(why), "returned %d, want %d; ", r.ret,
				   h_hook_ret(SG_HOOK_XDP, ans.action));
		bad_counters = h_delta_error(before, after, &e);
		if (bad_counters)
			ut_appendf(why, sizeof(why), "counters: %s", bad_counters);
		governed += ans.governed;
		trusted += ans.governed && ans.reason == SG_R_TRUSTED;
		if (why[0] && !bad++)
			snprintf(first, sizeof(first), "%s -> %s (%zu entries contain it): %s", src,
				 dst, m.n_trusted, why);
	}
	tap_check(bad == 0 && trusted > n / 4 && governed - trusted > n / 8, what,
		  "%d of %d frames differ from the model (first: %s); %d governed, %d trusted",
		  bad, n, first, governed, trusted);
}

int main(int argc, char **argv)
{
	struct world w0, w1;
	struct sg_dp *dp;
	int n = 2000, c;

	rng_state = 0x5347536361ull; /* "SGSca" */
	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 's')
			rng_state = strtoull(optarg, NULL, 0);
		else
			return 2;
	}
	dp = h_open();
	build(&w0, 0);
	tap_check(w0.p.n_trusted == N_ENTRIES, "a policy of 1,000,000 entries is built",
		  "%zu entries", w0.p.n_trusted);
	h_apply(dp, &w0.p);
	tap_check(sg_dp_trust_count(dp) == N_ENTRIES, "it applies: 1,000,000 entries in the data plane",
		  "count %ld", sg_dp_trust_count(dp));
	check_samples(dp, &w0, 0, n, "1,000,000 entries: every verdict is the model's");

	build(&w1, 1);
	h_apply(dp, &w1.p);
	tap_check(sg_dp_trust_count(dp) == N_ENTRIES,
		  "a reload replacing 1,000 hosts and moving 1,000 applies over it",
		  "count %ld", sg_dp_trust_count(dp));
	world_free(&w0);
	check_samples(dp, &w1, 1, n, "after the reload: every verdict is the model's");
	world_free(&w1);
	sg_dp_close(dp);
	return tap_done();
}
