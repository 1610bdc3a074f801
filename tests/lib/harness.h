/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * BPF_PROG_TEST_RUN harness: a private data plane (no pins), a policy
 * built in memory, and one call to run a frame through the XDP or TC
 * program and get back the program's return value and the frame after.
 */
#ifndef SG_TEST_HARNESS_H
#define SG_TEST_HARNESS_H

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

#endif
