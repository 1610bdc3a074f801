/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Deterministic random policies and packets for the differential test:
 * a seeded PRNG, a policy generator that builds a struct sg_policy and
 * the reference model's view of it side by side, and a packet generator
 * that draws frames aimed at the interesting cases (trusted, banned,
 * in- and out-of-scope sources, relays and non-relays, governed and other
 * ports, VLAN tags, IPv4 options, IPv6 extension chains, fragments) and
 * then sometimes mutates them (flipped bytes, truncation, random length
 * fields).
 */
#ifndef SG_TEST_RANDPKT_H
#define SG_TEST_RANDPKT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "pkt.h"
#include "policy.h"
#include "refmodel.h"

/* ---- PRNG (xorshift64*, seeded through splitmix64) ---- */

struct rp_rng {
	uint64_t s;
};

void rp_seed(struct rp_rng *r, uint64_t seed);
uint64_t rp_u64(struct rp_rng *r);
/* Uniform in [0, n); n > 0. */
uint32_t rp_below(struct rp_rng *r, uint32_t n);
/* Uniform in [lo, hi]. */
uint32_t rp_range(struct rp_rng *r, uint32_t lo, uint32_t hi);
/* True with probability pct %. */
bool rp_pct(struct rp_rng *r, unsigned pct);

/* ---- policies ---- */

/* The rate classes every random policy has, by index. */
enum rp_class {
	RP_CLASS_UNLIMITED = 0, /* a class with no limits: always conforms */
	RP_CLASS_CONN = 1,      /* connections only */
	RP_CLASS_BYTES = 2,     /* bytes only */
	RP_CLASS_BOTH = 3,
	RP_N_CLASSES
};

struct rp_policy {
	struct sg_policy pol;   /* what the data plane gets */
	/* The model's view.  The caller must make the data plane match it
	 * after applying pol: exhaust the bucket of every trusted entry i
	 * with world.trusted[i].limits set, every throttle bucket if
	 * world.throttle has a limit, and write world.bans. */
	struct rm_world world;
};

/* Builds a random policy; now_unix decides which entries are expired;
 * variant % 6 picks the (mode, unregistered action) pair. */
void rp_policy_make(struct rp_rng *r, struct rp_policy *rp, int64_t now_unix, unsigned variant);
void rp_policy_free(struct rp_policy *rp);
/* True if limits has a limited dimension (its buckets must be exhausted). */
bool rp_limited(const struct rm_limits *l);
/* Prints the policy as "# " comment lines. */
void rp_policy_print(const struct rp_policy *rp, FILE *out);

/* ---- packets ---- */

struct rp_packet {
	struct pkt_spec spec;   /* spec.src/dst point into src/dst below */
	char src[64];
	char dst[64];
	uint8_t frame[PKT_MAX];
	size_t len;             /* >= 14 (BPF_PROG_TEST_RUN needs an Ethernet header) */
	bool mutated;           /* frame is no longer what spec builds */
	char how[256];          /* the knobs and mutations drawn, for diagnostics */
};

/* Draws one frame aimed at rp's policy. */
void rp_packet_make(struct rp_rng *r, const struct rp_policy *rp, struct rp_packet *pkt);

#endif
