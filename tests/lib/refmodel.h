/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A reference model of the data plane's decision, written from
 * docs/semantics.md (parsing, governed?, decision, action) and nothing
 * else: it never looks at the BPF code.  Plain C, byte-level, every read
 * bounds-checked against an explicit length; clarity over speed.
 *
 * The model does not keep time or rate state.  It is given the state that
 * decides a packet, in a form that cannot drift while a test runs:
 * trusted entries are expired or not, bans active or not, and a rate
 * bucket is either unlimited or exhausted (its theoretical arrival time an
 * hour ahead, so every checked dimension is non-conforming).
 */
#ifndef SG_TEST_REFMODEL_H
#define SG_TEST_REFMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"

#define RM_MAX_PORTS   16
#define RM_MAX_SCOPE   8
#define RM_MAX_RELAYS  32
#define RM_MAX_TRUSTED 64
#define RM_MAX_BANS    16

/* How much of the packet the parser learnt (docs/semantics.md §1). */
enum rm_know {
	RM_NOTHING = 0,
	RM_SRC = 1,
	RM_PORTS = 2,
};

enum rm_problem {
	RM_OK = 0,
	RM_FRAGMENT = 1,
	RM_MALFORMED = 2,
};

enum rm_first_frag {
	RM_FF_NONE = 0,
	RM_FF_V4 = 4, /* IPv4 fragment at offset 0 with MF set */
	RM_FF_V6 = 6, /* IPv6 fragment header at offset 0 with M set */
};

/* Same values as the harness's enum h_action. */
enum rm_action {
	RM_PASS = 0,
	RM_DROP = 1,
	RM_RST = 2,
};

/* What the parser found in one frame. */
struct rm_parsed {
	bool pass_early;       /* not governed whatever the policy says */
	int know;              /* enum rm_know */
	int problem;           /* enum rm_problem */
	int v6;                /* 1 if the IP header is IPv6 */
	size_t l3;             /* offset of the IP header (valid from SRC on) */
	struct sg_addr src;    /* valid from RM_SRC on; IPv4 as ::ffff:a.b.c.d */
	struct sg_addr dst;
	uint16_t sport;        /* valid at RM_PORTS */
	uint16_t dport;
	bool tcp_short;        /* fewer than 20 TCP bytes (rule 14) */
	bool have_flags;       /* the TCP flags byte was read */
	uint8_t flags;
	uint32_t seq;          /* valid when problem is RM_OK and the header is whole */
	uint32_t payload_len;  /* TCP payload bytes (RM_OK and whole header) */
	int first_frag;        /* enum rm_first_frag */
	uint64_t ip_bytes;     /* what the byte counter grows by */
};

/* A limited rate dimension whose bucket is exhausted: every packet it
 * checks is non-conforming.  Both false: unlimited (always conforms). */
struct rm_limits {
	bool conn;             /* checked for connection packets (SYN, no ACK) */
	bool bytes;            /* checked for every packet */
};

struct rm_relay {
	struct sg_addr addr;
	int group;                    /* relay group index, 0..63 */
	uint16_t ports[RM_MAX_PORTS]; /* the relay's own ports */
	size_t n_ports;               /* 0: the policy's governed ports */
};

/* The automatic ban of a trusted entry (a ban of the entry, all of a
 * prefix, not of an address). */
enum rm_entry_ban {
	RM_EBAN_NONE = 0,
	RM_EBAN_ACTIVE = 1,           /* in force */
	RM_EBAN_ENDED = 2,            /* its deadline has passed: no effect */
};

struct rm_trusted {
	struct sg_prefix prefix;      /* len over the mapped 128 bits */
	uint64_t groups;              /* relay groups the entry may use */
	int ban;                      /* enum rm_entry_ban */
	bool expired;                 /* its expiry lies in the past */
	bool has_class;               /* a rate class is charged */
	struct rm_limits limits;      /* the class's dimensions (bucket exhausted) */
};

struct rm_ban {
	struct sg_addr addr;
	bool active;                  /* false: the ban's expiry has passed */
};

/* A relay group's cap: with capped set, the cap itself (charged by every
 * new connection that uses the group) and unregistered sources' share of
 * it (charged by theirs as well) are each unlimited in practice or
 * exhausted. */
struct rm_cap {
	bool capped;
	bool exhausted;
	bool share_exhausted;
};

/* Everything the model needs to decide a packet. */
struct rm_world {
	bool applied;                 /* false: no policy yet, nothing governed */
	int mode;                     /* enum sg_mode */
	int unreg_action;             /* enum sg_unreg_action */
	struct rm_limits throttle;    /* the throttle class's buckets */
	uint16_t ports[RM_MAX_PORTS];
	size_t n_ports;
	struct sg_prefix scope[RM_MAX_SCOPE];
	size_t n_scope;               /* 0: every source is in scope */
	struct rm_relay relays[RM_MAX_RELAYS];
	size_t n_relays;
	struct rm_trusted trusted[RM_MAX_TRUSTED];
	size_t n_trusted;
	struct rm_ban bans[RM_MAX_BANS];
	size_t n_bans;
	struct rm_cap caps[64];       /* by relay group */
};

/* The model's answer for one frame. */
struct rm_answer {
	int action;                   /* enum rm_action */
	bool governed;                /* false: no counter moves */
	int verdict;                  /* enum sg_verdict (governed only) */
	int reason;                   /* enum sg_reason (governed only) */
	int enforce_verdict;          /* the verdict before monitor mode */
	bool is_conn;                 /* conns += 1 */
	uint64_t ip_bytes;            /* bytes += ip_bytes */
	struct rm_parsed pkt;         /* what the parser saw, for the RST check */
};

/* Parses frame bytes [0, len) as docs/semantics.md §1 says. */
void rm_parse(const uint8_t *frame, size_t len, struct rm_parsed *out);
/* Decides frame bytes [0, len) under world (docs/semantics.md §1-§4). */
void rm_decide(const struct rm_world *w, const uint8_t *frame, size_t len,
	       struct rm_answer *out);

/* True if prefix (length over 128 bits) contains a. */
bool rm_prefix_contains(const struct sg_prefix *prefix, const struct sg_addr *a);

/* NULL if out (out_len bytes) is the RST docs/semantics.md §4 says the data plane
 * sends back for frame (len bytes) parsed as p; else what is wrong. */
const char *rm_check_rst(const uint8_t *frame, size_t len, const struct rm_parsed *p,
			 const uint8_t *out, size_t out_len);

/* "rst, reject/untrusted_source bytes 60 conn" into buf. */
const char *rm_answer_text(const struct rm_answer *a, char *buf, size_t len);

#endif
