/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * BPF_PROG_TEST_RUN harness: a private data plane (no pins), a policy
 * built in memory, and one call to run a frame through the XDP or TC
 * program and get back the program's return value and the frame after.
 */
#ifndef SG_TEST_HARNESS_H
#define SG_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dataplane.h"
#include "pkt.h"

struct run_result {
	int ret;                 /* program return value (XDP_* or TC_ACT_*) */
	uint8_t out[PKT_MAX];    /* the frame after the program */
	uint32_t out_len;
};

/* Opens a data plane or bails. */
struct sg_dp *h_open(void);
/* Removes a test's own pin dir and the pins in it (the links and maps
 * go with their last reference); nothing if it is not there. */
void h_remove_pins(const char *dir);
/* Applies p or bails. */
void h_apply(struct sg_dp *dp, const struct sg_policy *p);
/* Runs frame through the program for hook (SG_HOOK_*), counting into slot 0.
 * Returns 0, or a negative errno if the run itself failed. */
int h_run(struct sg_dp *dp, int hook, const uint8_t *frame, size_t len,
	  struct run_result *r);
/* Builds from spec and runs. */
int h_run_spec(struct sg_dp *dp, int hook, const struct pkt_spec *s, struct run_result *r);

/* Policy builders for tests. */
int h_class(struct sg_policy *p, const char *name, double conn_per_sec, double conn_burst,
	    double bytes_per_sec, double bytes_burst);
int h_group(struct sg_policy *p, const char *name, const char *const *relays);
void h_trust(struct sg_policy *p, const char *prefix, uint64_t groups, uint32_t class_idx,
	     int64_t expires);
/* Counter of slot 0 for (verdict, reason), summed over CPUs. */
struct sg_counter h_counter(struct sg_dp *dp, int verdict, int reason);
/* Sum of packets over every verdict and reason of slot 0. */
uint64_t h_total_packets(struct sg_dp *dp);

/* ---- table-driven cases: one run, one TAP check of everything ---- */

#define H_NHOOKS 3
/* XDP, TC ingress, TC egress: every case runs through all three. */
extern const int h_hooks[H_NHOOKS];
const char *h_hook_name(int hook);

/* What the hook does with the frame, independent of the hook's codes. */
enum h_action {
	H_PASS = 0,
	H_DROP = 1,
	H_RST = 2, /* reply with a RST: XDP_TX, or TC_ACT_REDIRECT */
};
/* The return value hook must give for action. */
int h_hook_ret(int hook, int action);

/* verdict for a frame that is not governed: no counter may move. */
#define H_NOT_GOVERNED (-1)

struct h_expect {
	int action;      /* enum h_action */
	int verdict;     /* SG_V_*, or H_NOT_GOVERNED */
	int reason;      /* SG_R_* */
	uint64_t bytes;  /* IP bytes the counter must grow by */
	uint64_t conns;  /* 0 or 1 */
	/* Also check the per-source statistics (src_snap.h): src's move
	 * exactly as the verdict says (src NULL, or not governed: no
	 * source moves), every other source's not at all. */
	bool check_sources;
	const char *src;
};

typedef struct sg_counter h_snap_t[SG_V_COUNT][SG_R_COUNT];

/* Counters of slot 0 (every verdict and reason), summed over CPUs. */
void h_snapshot(struct sg_dp *dp, h_snap_t out);
/* NULL if after = before + exactly what e says (one packet, e->bytes,
 * e->conns in (verdict, reason), nothing else moved); otherwise a
 * description of every counter that is off. */
const char *h_delta_error(h_snap_t before, h_snap_t after, const struct h_expect *e);

/* Runs frame through hook and records one TAP check named name that
 * holds iff the return value is e->action's, the counters moved exactly
 * as e says, and the frame that comes out is the RST for rst_spec (H_RST;
 * rst_spec must then be the SYN's spec) or else the frame unchanged. */
bool h_check_frame(struct sg_dp *dp, int hook, const uint8_t *frame, size_t len,
		   const struct pkt_spec *rst_spec, const struct h_expect *e, const char *name);
/* Builds s and checks it as above (s is also the RST's reference). */
bool h_check_spec(struct sg_dp *dp, int hook, const struct pkt_spec *s,
		  const struct h_expect *e, const char *name);

/* Offset of the IP header in a frame built from s. */
size_t h_l3_off(const struct pkt_spec *s);
/* The IP length a frame claims: IPv4 total length, IPv6 40 + payload
 * length, read from the header at l3 (which must be in the frame). */
uint64_t h_ip_len_field(const uint8_t *frame, size_t l3, int v6);

/* Address text -> data plane address, or bail. */
struct sg_addr h_addr(const char *text);
/* Relay with its own port list (h_group's relays take the policy's). */
void h_relay_ports(struct sg_policy *p, int group, const char *addr, const uint16_t *ports,
		   size_t n_ports);
/* Unix seconds now, for trusted entries' `expires`. */
int64_t h_unix_now(void);

/* Make a bucket non-conforming for the next hour in both dimensions
 * (call after h_apply): the bucket of the trusted entry for exactly
 * prefix, the throttle bucket of a source, the cap of a relay group. */
void h_exhaust_trusted(struct sg_dp *dp, const char *prefix);
void h_exhaust_throttle(struct sg_dp *dp, const char *addr);
void h_exhaust_relay_cap(struct sg_dp *dp, uint32_t group);
/* Bans addr for duration_ns (0: until removed) via sg_dp_ban_put. */
void h_ban(struct sg_dp *dp, const char *addr, uint64_t duration_ns);

#endif
