// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Every verdict and reason of the decision (docs/semantics.md §3 and §4),
 * table-driven: each case is a policy variant, a packet and the exact
 * outcome (hook return value, RST, the one counter that moves and by how
 * much).  Each case runs through XDP, TC ingress and TC egress, for IPv4
 * and IPv6, untagged and behind an 802.1Q tag, and after every run the
 * whole counter table of the slot is compared with the one before, and
 * so is the whole per-source table (the packet's source moves by its
 * verdict, its bytes and connection if passed, its reason if blocked;
 * no other source moves).
 */
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include "clock.h"
#include "harness.h"
#include "tap.h"

/* Addresses, each with an IPv4 and an IPv6 form. */
enum {
	R_INTERNAL,   /* group internal (0), the policy's ports */
	R_PARTNER,    /* group partner (1), port 587 only */
	R_RESTRICTED, /* group restricted (2): no entry below may use it */
	R_CAPPED,     /* group capped (3), relay cap exhausted */
	R_SHARED,     /* group shared (4): cap open, unregistered sources' share exhausted */
	R_NONE,       /* not a relay */
	S_TRUSTED,    /* internal, partner, capped; unlimited; no expiry */
	S_EXPIRED,    /* expires an hour ago */
	S_FUTURE,     /* expires in an hour */
	S_LIMITED,    /* class "limited", both dimensions exhausted */
	S_CONNONLY,   /* class "connonly" (connections only), exhausted */
	S_BANNED,     /* trusted, and banned for an hour */
	S_OLDBAN,     /* trusted, ban already expired */
	S_UNTRUSTED,  /* no entry */
	S_UNTR_BAN,   /* no entry, banned */
	S_THR_EXH,    /* no entry, its throttle bucket exhausted */
	S_HOST,       /* host entry (partner) inside a /24 entry (internal) */
	S_HOSTNET,    /* same /24, no host entry */
	S_NET24,      /* /24 (partner) inside a /16 (internal) */
	S_NET16,      /* the /16 only */
	S_OUTSCOPE,   /* untrusted, outside the scope of P_SCOPE */
	S_EBAN_A,     /* inside a prefix entry whose automatic ban is in force */
	S_EBAN_B,     /* another host of that prefix */
	S_EBAN_HOST,  /* a host entry of its own inside the banned prefix */
	A_COUNT
};

static const char *const addr4[A_COUNT] = {
	[R_INTERNAL] = "198.18.0.25", [R_PARTNER] = "198.18.0.26",
	[R_RESTRICTED] = "198.18.0.27", [R_CAPPED] = "198.18.0.28", [R_NONE] = "198.18.0.99",
	[R_SHARED] = "198.18.0.29", [S_EBAN_A] = "198.18.4.1", [S_EBAN_B] = "198.18.4.2",
	[S_EBAN_HOST] = "198.18.4.3",
	[S_TRUSTED] = "198.18.1.5", [S_EXPIRED] = "198.18.1.6", [S_FUTURE] = "198.18.1.7",
	[S_LIMITED] = "198.18.1.8", [S_CONNONLY] = "198.18.1.9", [S_BANNED] = "198.18.1.10",
	[S_OLDBAN] = "198.18.1.11", [S_UNTRUSTED] = "198.18.1.20", [S_UNTR_BAN] = "198.18.1.21",
	[S_THR_EXH] = "198.18.1.22", [S_HOST] = "198.18.3.5", [S_HOSTNET] = "198.18.3.6",
	[S_NET24] = "198.19.5.1", [S_NET16] = "198.19.6.1", [S_OUTSCOPE] = "198.18.2.1",
};

static const char *const addr6[A_COUNT] = {
	[R_INTERNAL] = "2001:db8::25", [R_PARTNER] = "2001:db8::26",
	[R_RESTRICTED] = "2001:db8::27", [R_CAPPED] = "2001:db8::28", [R_NONE] = "2001:db8::99",
	[R_SHARED] = "2001:db8::29", [S_EBAN_A] = "2001:db8:4::1", [S_EBAN_B] = "2001:db8:4::2",
	[S_EBAN_HOST] = "2001:db8:4::3",
	[S_TRUSTED] = "2001:db8:1::5", [S_EXPIRED] = "2001:db8:1::6",
	[S_FUTURE] = "2001:db8:1::7", [S_LIMITED] = "2001:db8:1::8",
	[S_CONNONLY] = "2001:db8:1::9", [S_BANNED] = "2001:db8:1::10",
	[S_OLDBAN] = "2001:db8:1::11", [S_UNTRUSTED] = "2001:db8:1::20",
	[S_UNTR_BAN] = "2001:db8:1::21", [S_THR_EXH] = "2001:db8:1::22",
	[S_HOST] = "2001:db8:3::5", [S_HOSTNET] = "2001:db8:3::6",
	[S_NET24] = "2001:db8:19:5::1", [S_NET16] = "2001:db8:19:6::1",
	[S_OUTSCOPE] = "2001:db8:2::1",
};

/* Prefix entries: [0] IPv4, [1] IPv6. */
static const char *const host_net[2] = { "198.18.3.0/24", "2001:db8:3::/64" };
static const char *const net24[2] = { "198.19.5.0/24", "2001:db8:19:5::/64" };
static const char *const net16[2] = { "198.19.0.0/16", "2001:db8:19::/48" };
static const char *const scope[2] = { "198.18.1.0/24", "2001:db8:1::/64" };
static const char *const eban_net[2] = { "198.18.4.0/24", "2001:db8:4::/64" };

enum { G_INTERNAL = 1, G_PARTNER = 2, G_RESTRICTED = 4, G_CAPPED = 8, G_SHARED = 16 };
#define CAPPED_GROUP 3
#define SHARED_GROUP 4

/* Policy variants. */
enum {
	P_DROP,     /* enforce, unregistered: drop, ports 25, 465, 587 */
	P_REJECT,   /* unregistered: reject */
	P_THROTTLE, /* unregistered: throttle */
	P_MONITOR,  /* monitor mode, unregistered: drop */
	P_MONREJ,   /* monitor mode, unregistered: reject */
	P_SCOPE,    /* scope 198.18.1.0/24 + 2001:db8:1::/64 */
	P_PORT25,   /* ports: 25 only */
	P_COUNT
};

static const char *const policy_names[P_COUNT] = {
	"drop", "reject", "throttle", "monitor", "monitor+reject", "scope", "port 25",
};

/* Packet modifiers. */
#define M_FRAG      1 /* IPv4 offset 1 / IPv6 first fragment cut before the ports */
#define M_BADDOFF   2 /* TCP data offset 3 */
#define M_FIRSTFRAG 4 /* first fragment (MF / M set) holding the whole TCP header */
#define M_PAYLOAD   8 /* 10 payload bytes */

struct vcase {
	int policy;
	const char *what;
	int src, dst;
	uint16_t dport;
	uint8_t flags;
	int mods;
	int action, verdict, reason;
	int conns;
};

#define SYN TCPF_SYN
#define ACK TCPF_ACK
#define SYNACK (TCPF_SYN | TCPF_ACK)
#define PASS_(r) H_PASS, SG_V_PASS, SG_R_##r
#define DROP_(r) H_DROP, SG_V_DROP, SG_R_##r
#define MON_(r) H_PASS, SG_V_MONITOR, SG_R_##r
#define REJ_RST H_RST, SG_V_REJECT, SG_R_UNTRUSTED_SOURCE
#define REJ_DROP H_DROP, SG_V_REJECT, SG_R_UNTRUSTED_SOURCE
#define UNGOV H_PASS, H_NOT_GOVERNED, 0

static const struct vcase cases[] = {
	/* pass/trusted and the relay checks */
	{ P_DROP, "trusted SYN to its relay", S_TRUSTED, R_INTERNAL, 25, SYN, 0,
	  PASS_(TRUSTED), 1 },
	{ P_DROP, "trusted ACK to its relay", S_TRUSTED, R_INTERNAL, 25, ACK, 0,
	  PASS_(TRUSTED), 0 },
	{ P_DROP, "trusted SYN+ACK", S_TRUSTED, R_INTERNAL, 25, SYNACK, 0, PASS_(TRUSTED), 0 },
	{ P_DROP, "trusted SYN with payload", S_TRUSTED, R_INTERNAL, 25, SYN, M_PAYLOAD,
	  PASS_(TRUSTED), 1 },
	{ P_DROP, "trusted to port 465 (relay takes policy ports)", S_TRUSTED, R_INTERNAL, 465,
	  SYN, 0, PASS_(TRUSTED), 1 },
	{ P_DROP, "trusted to port 587", S_TRUSTED, R_INTERNAL, 587, SYN, 0, PASS_(TRUSTED), 1 },
	{ P_DROP, "trusted to relay on its port 587", S_TRUSTED, R_PARTNER, 587, SYN, 0,
	  PASS_(TRUSTED), 1 },
	{ P_DROP, "trusted to relay on a port not in its list", S_TRUSTED, R_PARTNER, 25, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	{ P_DROP, "trusted to a non-relay", S_TRUSTED, R_NONE, 25, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	{ P_DROP, "trusted ACK to a non-relay", S_TRUSTED, R_NONE, 25, ACK, 0,
	  DROP_(UNAPPROVED_RELAY), 0 },
	{ P_DROP, "trusted to a relay of a group it may not use", S_TRUSTED, R_RESTRICTED, 25,
	  SYN, 0, DROP_(UNAPPROVED_RELAY), 1 },
	{ P_DROP, "trusted to port 443", S_TRUSTED, R_NONE, 443, SYN, 0, UNGOV, 0 },
	{ P_DROP, "untrusted to port 443", S_UNTRUSTED, R_INTERNAL, 443, SYN, 0, UNGOV, 0 },
	/* drop/untrusted_source */
	{ P_DROP, "untrusted SYN", S_UNTRUSTED, R_INTERNAL, 25, SYN, 0,
	  DROP_(UNTRUSTED_SOURCE), 1 },
	{ P_DROP, "untrusted ACK", S_UNTRUSTED, R_INTERNAL, 25, ACK, 0,
	  DROP_(UNTRUSTED_SOURCE), 0 },
	{ P_DROP, "untrusted SYN to port 587", S_UNTRUSTED, R_PARTNER, 587, SYN, 0,
	  DROP_(UNTRUSTED_SOURCE), 1 },
	{ P_DROP, "untrusted SYN to port 465", S_UNTRUSTED, R_NONE, 465, SYN, 0,
	  DROP_(UNTRUSTED_SOURCE), 1 },
	{ P_DROP, "untrusted SYN to a non-relay", S_UNTRUSTED, R_NONE, 25, SYN, 0,
	  DROP_(UNTRUSTED_SOURCE), 1 },
	/* expiry */
	{ P_DROP, "expired entry", S_EXPIRED, R_INTERNAL, 25, SYN, 0, DROP_(EXPIRED), 1 },
	{ P_DROP, "expired entry to a non-relay", S_EXPIRED, R_NONE, 25, ACK, 0,
	  DROP_(EXPIRED), 0 },
	{ P_DROP, "entry expiring in an hour", S_FUTURE, R_INTERNAL, 25, SYN, 0,
	  PASS_(TRUSTED), 1 },
	/* rate limits */
	{ P_DROP, "exhausted class, SYN", S_LIMITED, R_INTERNAL, 25, SYN, 0,
	  DROP_(RATE_LIMITED), 1 },
	{ P_DROP, "exhausted class, ACK (bytes)", S_LIMITED, R_INTERNAL, 25, ACK, 0,
	  DROP_(RATE_LIMITED), 0 },
	{ P_DROP, "exhausted class to a non-relay", S_LIMITED, R_NONE, 25, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	{ P_DROP, "exhausted conn-only class, SYN", S_CONNONLY, R_INTERNAL, 25, SYN, 0,
	  DROP_(RATE_LIMITED), 1 },
	{ P_DROP, "exhausted conn-only class, ACK", S_CONNONLY, R_INTERNAL, 25, ACK, 0,
	  PASS_(TRUSTED), 0 },
	{ P_DROP, "trusted SYN to an exhausted relay cap", S_TRUSTED, R_CAPPED, 25, SYN, 0,
	  DROP_(RATE_LIMITED), 1 },
	{ P_DROP, "trusted ACK to an exhausted relay cap", S_TRUSTED, R_CAPPED, 25, ACK, 0,
	  PASS_(TRUSTED), 0 },
	/* bans */
	{ P_DROP, "banned trusted SYN", S_BANNED, R_INTERNAL, 25, SYN, 0, DROP_(BANNED), 1 },
	{ P_DROP, "banned trusted ACK", S_BANNED, R_INTERNAL, 25, ACK, 0, DROP_(BANNED), 0 },
	{ P_DROP, "banned to port 443", S_BANNED, R_INTERNAL, 443, SYN, 0, UNGOV, 0 },
	{ P_DROP, "expired ban", S_OLDBAN, R_INTERNAL, 25, SYN, 0, PASS_(TRUSTED), 1 },
	{ P_DROP, "banned untrusted", S_UNTR_BAN, R_NONE, 25, SYN, 0, DROP_(BANNED), 1 },
	/* the automatic ban of a prefix entry: every host of it, before the rest */
	{ P_DROP, "entry-banned /24: host A SYN", S_EBAN_A, R_INTERNAL, 25, SYN, 0,
	  DROP_(BANNED), 1 },
	{ P_DROP, "entry-banned /24: host B SYN", S_EBAN_B, R_INTERNAL, 25, SYN, 0,
	  DROP_(BANNED), 1 },
	{ P_DROP, "entry-banned /24: host B ACK", S_EBAN_B, R_INTERNAL, 25, ACK, 0,
	  DROP_(BANNED), 0 },
	{ P_DROP, "entry-banned /24: to a non-relay (ban first)", S_EBAN_A, R_NONE, 25, SYN, 0,
	  DROP_(BANNED), 1 },
	{ P_DROP, "entry-banned /24: to port 443", S_EBAN_A, R_INTERNAL, 443, SYN, 0, UNGOV, 0 },
	{ P_DROP, "host entry of its own inside an entry-banned /24", S_EBAN_HOST, R_INTERNAL, 25,
	  SYN, 0, PASS_(TRUSTED), 1 },
	/* relay caps: trusted entries are not held by unregistered sources' share */
	{ P_DROP, "trusted SYN, cap open, unregistered share exhausted", S_TRUSTED, R_SHARED, 25,
	  SYN, 0, PASS_(TRUSTED), 1 },
	/* longest prefix */
	{ P_DROP, "host entry beats /24 (internal refused)", S_HOST, R_INTERNAL, 25, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	{ P_DROP, "host entry beats /24 (partner allowed)", S_HOST, R_PARTNER, 587, SYN, 0,
	  PASS_(TRUSTED), 1 },
	{ P_DROP, "/24 without host entry (internal allowed)", S_HOSTNET, R_INTERNAL, 25, SYN, 0,
	  PASS_(TRUSTED), 1 },
	{ P_DROP, "/24 without host entry (partner refused)", S_HOSTNET, R_PARTNER, 587, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	{ P_DROP, "/24 beats /16 (internal refused)", S_NET24, R_INTERNAL, 25, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	{ P_DROP, "/24 beats /16 (partner allowed)", S_NET24, R_PARTNER, 587, SYN, 0,
	  PASS_(TRUSTED), 1 },
	{ P_DROP, "/16 only (internal allowed)", S_NET16, R_INTERNAL, 25, SYN, 0,
	  PASS_(TRUSTED), 1 },
	{ P_DROP, "/16 only (partner refused)", S_NET16, R_PARTNER, 587, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	/* fragment and malformed, whatever the source */
	{ P_DROP, "trusted fragment", S_TRUSTED, R_INTERNAL, 25, SYN, M_FRAG, DROP_(FRAGMENT), 0 },
	{ P_DROP, "untrusted fragment", S_UNTRUSTED, R_INTERNAL, 25, SYN, M_FRAG,
	  DROP_(FRAGMENT), 0 },
	{ P_DROP, "trusted SYN with doff 3", S_TRUSTED, R_INTERNAL, 25, SYN, M_BADDOFF,
	  DROP_(MALFORMED), 1 },
	{ P_DROP, "untrusted ACK with doff 3", S_UNTRUSTED, R_INTERNAL, 25, ACK, M_BADDOFF,
	  DROP_(MALFORMED), 0 },
	{ P_DROP, "doff 3 to port 443", S_UNTRUSTED, R_INTERNAL, 443, SYN, M_BADDOFF, UNGOV, 0 },
	{ P_DROP, "trusted first fragment", S_TRUSTED, R_INTERNAL, 25, SYN, M_FIRSTFRAG,
	  PASS_(TRUSTED), 1 },

	/* reject */
	{ P_REJECT, "untrusted SYN", S_UNTRUSTED, R_INTERNAL, 25, SYN, 0, REJ_RST, 1 },
	{ P_REJECT, "untrusted SYN with payload", S_UNTRUSTED, R_INTERNAL, 25, SYN, M_PAYLOAD,
	  REJ_RST, 1 },
	{ P_REJECT, "untrusted SYN to a non-relay", S_UNTRUSTED, R_NONE, 587, SYN, 0, REJ_RST, 1 },
	{ P_REJECT, "untrusted ACK", S_UNTRUSTED, R_INTERNAL, 25, ACK, 0, REJ_DROP, 0 },
	{ P_REJECT, "untrusted SYN+ACK", S_UNTRUSTED, R_INTERNAL, 25, SYNACK, 0, REJ_DROP, 0 },
	{ P_REJECT, "untrusted SYN first fragment", S_UNTRUSTED, R_INTERNAL, 25, SYN, M_FIRSTFRAG,
	  REJ_DROP, 1 },
	{ P_REJECT, "untrusted fragment", S_UNTRUSTED, R_INTERNAL, 25, SYN, M_FRAG,
	  DROP_(FRAGMENT), 0 },
	{ P_REJECT, "untrusted SYN with doff 3", S_UNTRUSTED, R_INTERNAL, 25, SYN, M_BADDOFF,
	  DROP_(MALFORMED), 1 },
	{ P_REJECT, "banned untrusted SYN", S_UNTR_BAN, R_INTERNAL, 25, SYN, 0, DROP_(BANNED), 1 },
	{ P_REJECT, "trusted SYN", S_TRUSTED, R_INTERNAL, 25, SYN, 0, PASS_(TRUSTED), 1 },
	{ P_REJECT, "trusted SYN to a non-relay", S_TRUSTED, R_NONE, 25, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	{ P_REJECT, "untrusted to port 443", S_UNTRUSTED, R_INTERNAL, 443, SYN, 0, UNGOV, 0 },

	/* throttle */
	{ P_THROTTLE, "untrusted SYN to a relay", S_UNTRUSTED, R_INTERNAL, 25, SYN, 0,
	  PASS_(THROTTLE_ALLOWANCE), 1 },
	{ P_THROTTLE, "untrusted ACK to a relay", S_UNTRUSTED, R_INTERNAL, 25, ACK, 0,
	  PASS_(THROTTLE_ALLOWANCE), 0 },
	{ P_THROTTLE, "untrusted to any group's relay", S_UNTRUSTED, R_RESTRICTED, 25, SYN, 0,
	  PASS_(THROTTLE_ALLOWANCE), 1 },
	{ P_THROTTLE, "untrusted to relay on its port", S_UNTRUSTED, R_PARTNER, 587, SYN, 0,
	  PASS_(THROTTLE_ALLOWANCE), 1 },
	{ P_THROTTLE, "untrusted to relay on another port", S_UNTRUSTED, R_PARTNER, 25, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	{ P_THROTTLE, "untrusted to a non-relay", S_UNTRUSTED, R_NONE, 25, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	{ P_THROTTLE, "exhausted throttle bucket, SYN", S_THR_EXH, R_INTERNAL, 25, SYN, 0,
	  DROP_(RATE_LIMITED), 1 },
	{ P_THROTTLE, "exhausted throttle bucket, ACK", S_THR_EXH, R_INTERNAL, 25, ACK, 0,
	  DROP_(RATE_LIMITED), 0 },
	{ P_THROTTLE, "exhausted throttle bucket to a non-relay", S_THR_EXH, R_NONE, 25, SYN, 0,
	  DROP_(UNAPPROVED_RELAY), 1 },
	{ P_THROTTLE, "untrusted SYN to an exhausted relay cap", S_UNTRUSTED, R_CAPPED, 25, SYN, 0,
	  DROP_(RATE_LIMITED), 1 },
	{ P_THROTTLE, "untrusted ACK to an exhausted relay cap", S_UNTRUSTED, R_CAPPED, 25, ACK, 0,
	  PASS_(THROTTLE_ALLOWANCE), 0 },
	{ P_THROTTLE, "trusted SYN", S_TRUSTED, R_INTERNAL, 25, SYN, 0, PASS_(TRUSTED), 1 },
	{ P_THROTTLE, "untrusted SYN, cap open, unregistered share exhausted", S_UNTRUSTED,
	  R_SHARED, 25, SYN, 0, DROP_(RATE_LIMITED), 1 },
	{ P_THROTTLE, "untrusted ACK, unregistered share exhausted", S_UNTRUSTED, R_SHARED, 25,
	  ACK, 0, PASS_(THROTTLE_ALLOWANCE), 0 },
	{ P_THROTTLE, "trusted SYN, cap open, unregistered share exhausted", S_TRUSTED, R_SHARED,
	  25, SYN, 0, PASS_(TRUSTED), 1 },
	{ P_THROTTLE, "entry-banned /24 SYN", S_EBAN_A, R_INTERNAL, 25, SYN, 0, DROP_(BANNED), 1 },
	{ P_THROTTLE, "banned untrusted", S_UNTR_BAN, R_INTERNAL, 25, SYN, 0, DROP_(BANNED), 1 },

	/* monitor: every non-pass verdict becomes monitor, and passes */
	{ P_MONITOR, "untrusted SYN", S_UNTRUSTED, R_INTERNAL, 25, SYN, 0,
	  MON_(UNTRUSTED_SOURCE), 1 },
	{ P_MONITOR, "trusted to a non-relay", S_TRUSTED, R_NONE, 25, SYN, 0,
	  MON_(UNAPPROVED_RELAY), 1 },
	{ P_MONITOR, "exhausted class", S_LIMITED, R_INTERNAL, 25, SYN, 0, MON_(RATE_LIMITED), 1 },
	{ P_MONITOR, "banned", S_BANNED, R_INTERNAL, 25, ACK, 0, MON_(BANNED), 0 },
	{ P_MONITOR, "entry-banned /24", S_EBAN_B, R_INTERNAL, 25, SYN, 0, MON_(BANNED), 1 },
	{ P_MONITOR, "expired entry", S_EXPIRED, R_INTERNAL, 25, SYN, 0, MON_(EXPIRED), 1 },
	{ P_MONITOR, "fragment", S_UNTRUSTED, R_INTERNAL, 25, SYN, M_FRAG, MON_(FRAGMENT), 0 },
	{ P_MONITOR, "doff 3", S_TRUSTED, R_INTERNAL, 25, SYN, M_BADDOFF, MON_(MALFORMED), 1 },
	{ P_MONITOR, "trusted SYN", S_TRUSTED, R_INTERNAL, 25, SYN, 0, PASS_(TRUSTED), 1 },
	{ P_MONITOR, "untrusted to port 443", S_UNTRUSTED, R_INTERNAL, 443, SYN, 0, UNGOV, 0 },
	{ P_MONREJ, "untrusted SYN (no RST)", S_UNTRUSTED, R_INTERNAL, 25, SYN, 0,
	  MON_(UNTRUSTED_SOURCE), 1 },
	{ P_MONREJ, "untrusted ACK", S_UNTRUSTED, R_INTERNAL, 25, ACK, 0,
	  MON_(UNTRUSTED_SOURCE), 0 },

	/* scope */
	{ P_SCOPE, "untrusted in scope", S_UNTRUSTED, R_INTERNAL, 25, SYN, 0,
	  DROP_(UNTRUSTED_SOURCE), 1 },
	{ P_SCOPE, "trusted in scope", S_TRUSTED, R_INTERNAL, 25, SYN, 0, PASS_(TRUSTED), 1 },
	{ P_SCOPE, "untrusted out of scope", S_OUTSCOPE, R_INTERNAL, 25, SYN, 0, UNGOV, 0 },
	{ P_SCOPE, "trusted out of scope to a non-relay", S_HOST, R_NONE, 25, SYN, 0, UNGOV, 0 },
	{ P_SCOPE, "fragment out of scope", S_OUTSCOPE, R_INTERNAL, 25, SYN, M_FRAG, UNGOV, 0 },
	{ P_SCOPE, "doff 3 out of scope", S_OUTSCOPE, R_INTERNAL, 25, SYN, M_BADDOFF, UNGOV, 0 },
	{ P_SCOPE, "fragment in scope", S_UNTRUSTED, R_INTERNAL, 25, SYN, M_FRAG,
	  DROP_(FRAGMENT), 0 },

	/* ports */
	{ P_PORT25, "untrusted to port 25", S_UNTRUSTED, R_INTERNAL, 25, SYN, 0,
	  DROP_(UNTRUSTED_SOURCE), 1 },
	{ P_PORT25, "untrusted to port 587", S_UNTRUSTED, R_INTERNAL, 587, SYN, 0, UNGOV, 0 },
	{ P_PORT25, "untrusted to port 465", S_UNTRUSTED, R_INTERNAL, 465, SYN, 0, UNGOV, 0 },
	{ P_PORT25, "trusted to a non-relay on 587", S_TRUSTED, R_NONE, 587, SYN, 0, UNGOV, 0 },
};

static void trust_both(struct sg_policy *p, int who, uint64_t groups, uint32_t cls,
		       int64_t expires)
{
	h_trust(p, addr4[who], groups, cls, expires);
	h_trust(p, addr6[who], groups, cls, expires);
}

static void relays(struct sg_policy *p, int group, int who, const uint16_t *ports, size_t n)
{
	h_relay_ports(p, group, addr4[who], ports, n);
	h_relay_ports(p, group, addr6[who], ports, n);
}

static void build_policy(struct sg_policy *p, int variant)
{
	static const uint16_t p587[] = { 587 };
	int64_t now = h_unix_now();
	int limited, connonly, thr;

	sg_policy_init(p);
	sg_policy_add_port(p, 25);
	if (variant != P_PORT25) {
		sg_policy_add_port(p, 465);
		sg_policy_add_port(p, 587);
	}
	relays(p, h_group(p, "internal", NULL), R_INTERNAL, NULL, 0);
	relays(p, h_group(p, "partner", NULL), R_PARTNER, p587, 1);
	relays(p, h_group(p, "restricted", NULL), R_RESTRICTED, NULL, 0);
	relays(p, h_group(p, "capped", NULL), R_CAPPED, NULL, 0);
	relays(p, h_group(p, "shared", NULL), R_SHARED, NULL, 0);
	p->groups[CAPPED_GROUP].cap_conn_per_sec = 1;
	p->groups[CAPPED_GROUP].cap_conn_burst = 1;
	p->groups[SHARED_GROUP].cap_conn_per_sec = 1e6;
	p->groups[SHARED_GROUP].cap_conn_burst = 1e6;
	limited = h_class(p, "limited", 1, 1, 1000, 1000);
	connonly = h_class(p, "connonly", 1, 1, 0, 0);
	thr = h_class(p, "throttle", 1e6, 1e6, 1e12, 0);

	trust_both(p, S_TRUSTED, G_INTERNAL | G_PARTNER | G_CAPPED | G_SHARED, SG_NO_CLASS, 0);
	trust_both(p, S_EBAN_HOST, G_INTERNAL, SG_NO_CLASS, 0);
	trust_both(p, S_EXPIRED, G_INTERNAL, SG_NO_CLASS, now - 3600);
	trust_both(p, S_FUTURE, G_INTERNAL, SG_NO_CLASS, now + 3600);
	trust_both(p, S_LIMITED, G_INTERNAL, (uint32_t)limited, 0);
	trust_both(p, S_CONNONLY, G_INTERNAL, (uint32_t)connonly, 0);
	trust_both(p, S_BANNED, G_INTERNAL, SG_NO_CLASS, 0);
	trust_both(p, S_OLDBAN, G_INTERNAL, SG_NO_CLASS, 0);
	trust_both(p, S_HOST, G_PARTNER, SG_NO_CLASS, 0);
	for (int f = 0; f < 2; f++) {
		h_trust(p, host_net[f], G_INTERNAL, SG_NO_CLASS, 0);
		h_trust(p, net16[f], G_INTERNAL, SG_NO_CLASS, 0);
		h_trust(p, net24[f], G_PARTNER, SG_NO_CLASS, 0);
		h_trust(p, eban_net[f], G_INTERNAL, (uint32_t)connonly, 0);
	}
	switch (variant) {
	case P_REJECT:
		p->unreg_action = SG_UNREG_REJECT;
		break;
	case P_THROTTLE:
		p->unreg_action = SG_UNREG_THROTTLE;
		p->unreg_class = (uint32_t)thr;
		break;
	case P_MONREJ:
		p->unreg_action = SG_UNREG_REJECT;
		/* fall through */
	case P_MONITOR:
		p->mode = SG_MODE_MONITOR;
		break;
	case P_SCOPE:
		for (int f = 0; f < 2; f++) {
			struct sg_prefix sp;

			if (sg_prefix_parse(scope[f], &sp, NULL) || sg_policy_add_scope(p, &sp))
				tap_bail("scope %s", scope[f]);
		}
		break;
	}
}

/* Puts the rate state the cases expect into the maps of a fresh policy. */
static void exhaust_buckets(struct sg_dp *dp)
{
	struct sg_addr a = h_addr(addr4[S_UNTRUSTED]), b = h_addr(addr4[S_THR_EXH]);
	struct sg_addr c = h_addr(addr6[S_UNTRUSTED]), d = h_addr(addr6[S_THR_EXH]);

	/* The throttle bucket of the passing source must be another one. */
	if (sg_throttle_hash(&a) == sg_throttle_hash(&b) ||
	    sg_throttle_hash(&c) == sg_throttle_hash(&d))
		tap_bail("throttle test addresses share a bucket: pick others");
	h_exhaust_trusted(dp, addr4[S_LIMITED]);
	h_exhaust_trusted(dp, addr6[S_LIMITED]);
	h_exhaust_trusted(dp, addr4[S_CONNONLY]);
	h_exhaust_trusted(dp, addr6[S_CONNONLY]);
	h_exhaust_throttle(dp, addr4[S_THR_EXH]);
	h_exhaust_throttle(dp, addr6[S_THR_EXH]);
	h_exhaust_relay_cap(dp, CAPPED_GROUP);
	h_exhaust_relay_cap(dp, SG_MAX_GROUPS + SHARED_GROUP); /* the share, not the cap */
	for (int f = 0; f < 2; f++) {
		struct sg_bucket b = { .ban_until_ns = f ? SG_BAN_FOREVER
							 : sg_boot_ns() + 3600ull * 1000000000ull };
		struct sg_prefix pfx;
		struct sg_trusted t;

		if (sg_prefix_parse(eban_net[f], &pfx, NULL) || sg_dp_trust_get(dp, &pfx, &t) ||
		    bpf_map_update_elem(sg_dp_map_fd(dp, "sg_buckets"), &t.slot, &b, 0))
			tap_bail("ban entry %s", eban_net[f]);
	}
}

static void make_spec(const struct vcase *c, int v6, int vlan, struct pkt_spec *s)
{
	const char *const *a = v6 ? addr6 : addr4;

	memset(s, 0, sizeof(*s));
	s->v6 = v6;
	s->src = a[c->src];
	s->dst = a[c->dst];
	s->sport = 40000;
	s->dport = c->dport;
	s->flags = c->flags;
	s->seq = 0x01020304;
	s->ack = c->flags & ACK ? 77 : 0;
	s->n_vlan = vlan;
	if (c->mods & M_PAYLOAD)
		s->payload = 10;
	if (c->mods & M_BADDOFF)
		s->doff_override = 3;
	if (c->mods & (M_FIRSTFRAG | M_FRAG)) {
		s->frag = 1;
		s->mf = 1;
		if (v6) {
			s->n_ext = 1;
			s->ext[0] = V6_FRAG;
		}
	}
	if (c->mods & M_FRAG) {
		if (v6) {
			/* First fragment with only 2 bytes of TCP: no ports. */
			s->l4_len_override = 2;
			s->ip_len_delta = -18;
		} else {
			s->frag_off = 1;
		}
	}
}

static void run_case(struct sg_dp *dp, const struct vcase *c)
{
	for (int v6 = 0; v6 < 2; v6++) {
		for (int vlan = 0; vlan < 2; vlan++) {
			struct pkt_spec s;
			uint8_t frame[PKT_MAX];
			size_t len;
			struct h_expect e = { .action = c->action, .verdict = c->verdict,
					      .reason = c->reason, .conns = (uint64_t)c->conns,
					      .check_sources = true };

			make_spec(c, v6, vlan, &s);
			e.src = s.src;
			len = pkt_build(&s, frame, sizeof(frame));
			e.bytes = h_ip_len_field(frame, h_l3_off(&s), v6);
			for (int h = 0; h < H_NHOOKS; h++) {
				char name[256];

				if (c->verdict == H_NOT_GOVERNED)
					snprintf(name, sizeof(name),
						 "%s %s%s [%s]: %s -> pass, not governed",
						 h_hook_name(h_hooks[h]), v6 ? "v6" : "v4",
						 vlan ? " vlan" : "", policy_names[c->policy],
						 c->what);
				else
					snprintf(name, sizeof(name), "%s %s%s [%s]: %s -> %s/%s%s",
						 h_hook_name(h_hooks[h]), v6 ? "v6" : "v4",
						 vlan ? " vlan" : "", policy_names[c->policy],
						 c->what, sg_verdict_names[c->verdict],
						 sg_reason_names[c->reason],
						 c->action == H_RST ? " + RST" :
						 c->action == H_DROP && c->verdict == SG_V_REJECT ?
						 " (dropped)" : "");
				h_check_frame(dp, h_hooks[h], frame, len, &s, &e, name);
			}
		}
	}
}

/* Before any policy: everything passes and nothing is counted. */
static void check_no_policy(struct sg_dp *dp)
{
	static const struct vcase none[] = {
		{ 0, "untrusted SYN", S_UNTRUSTED, R_INTERNAL, 25, SYN, 0, UNGOV, 0 },
		{ 0, "doff 3", S_UNTRUSTED, R_INTERNAL, 25, SYN, M_BADDOFF, UNGOV, 0 },
		{ 0, "fragment", S_UNTRUSTED, R_INTERNAL, 25, SYN, M_FRAG, UNGOV, 0 },
	};
	struct pkt_spec s;
	struct h_expect e = { .action = H_PASS, .verdict = H_NOT_GOVERNED, .check_sources = true };
	uint8_t frame[PKT_MAX];
	char name[160];

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		for (int v6 = 0; v6 < 2; v6++) {
			make_spec(&none[i], v6, 0, &s);
			for (int h = 0; h < H_NHOOKS; h++) {
				snprintf(name, sizeof(name),
					 "%s %s [no policy]: %s -> pass, not governed",
					 h_hook_name(h_hooks[h]), v6 ? "v6" : "v4", none[i].what);
				h_check_spec(dp, h_hooks[h], &s, &e, name);
			}
		}
	}
	/* A frame whose source cannot be read is not governed either.  It
	 * carries a VLAN tag because a TC test run refuses an untagged IPv4
	 * frame shorter than an IPv4 header. */
	memset(frame, 0, sizeof(frame));
	frame[12] = 0x81;
	frame[16] = 0x08;
	frame[18] = 0x45;
	for (int h = 0; h < H_NHOOKS; h++) {
		snprintf(name, sizeof(name), "%s [no policy]: IPv4 header cut -> pass",
			 h_hook_name(h_hooks[h]));
		h_check_frame(dp, h_hooks[h], frame, 24, NULL, &e, name);
	}
}

int main(void)
{
	struct sg_dp *dp = h_open();
	struct sg_policy p;

	check_no_policy(dp);
	h_ban(dp, addr4[S_BANNED], 3600ull * 1000000000ull);
	h_ban(dp, addr6[S_BANNED], 3600ull * 1000000000ull);
	h_ban(dp, addr4[S_UNTR_BAN], 0);
	h_ban(dp, addr6[S_UNTR_BAN], 0);
	h_ban(dp, addr4[S_OLDBAN], 1); /* expires 1 ns after it is set */
	h_ban(dp, addr6[S_OLDBAN], 1);
	for (int variant = 0; variant < P_COUNT; variant++) {
		build_policy(&p, variant);
		h_apply(dp, &p);
		sg_policy_free(&p);
		exhaust_buckets(dp);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			if (cases[i].policy == variant)
				run_case(dp, &cases[i]);
	}
	sg_dp_close(dp);
	return tap_done();
}
