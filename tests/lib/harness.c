// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <linux/bpf.h>
#include <string.h>
#include <bpf/bpf.h>
#include "harness.h"
#include "tap.h"

struct sg_dp *h_open(void)
{
	struct sg_err err = { 0 };
	struct sg_dp *dp;

	if (sg_dp_open(&dp, NULL, &err))
		tap_bail("open data plane: %s", err.msg);
	return dp;
}

void h_apply(struct sg_dp *dp, const struct sg_policy *p)
{
	struct sg_err err = { 0 };

	if (sg_dp_apply(dp, p, &err))
		tap_bail("apply policy: %s", err.msg);
}

int h_run(struct sg_dp *dp, int hook, const uint8_t *frame, size_t len, struct run_result *r)
{
	struct sg_err err = { 0 };
	struct __sk_buff skb = { 0 };
	int fd = sg_dp_prog_fd(dp, hook, 0, &err);
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = frame,
		    .data_size_in = (__u32)len,
		    .data_out = r->out,
		    .data_size_out = sizeof(r->out),
		    .repeat = 1);

	if (fd < 0)
		tap_bail("program for hook %d: %s", hook, err.msg);
	if (hook != SG_HOOK_XDP) {
		/* TC test runs want an skb context with the protocol set. */
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	}
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	r->ret = (int)o.retval;
	r->out_len = o.data_size_out;
	return 0;
}

int h_run_spec(struct sg_dp *dp, int hook, const struct pkt_spec *s, struct run_result *r)
{
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(s, frame, sizeof(frame));

	return h_run(dp, hook, frame, len, r);
}

int h_class(struct sg_policy *p, const char *name, double conn_per_sec, double conn_burst,
	    double bytes_per_sec, double bytes_burst)
{
	struct sg_rate_class c = { .conn_per_sec = conn_per_sec, .conn_burst = conn_burst,
				   .bytes_per_sec = bytes_per_sec, .bytes_burst = bytes_burst };

	snprintf(c.name, sizeof(c.name), "%s", name);
	return sg_policy_add_class(p, &c);
}

int h_group(struct sg_policy *p, const char *name, const char *const *relays)
{
	int g = sg_policy_add_group(p, name);

	if (g < 0)
		tap_bail("add group %s", name);
	for (; relays && *relays; relays++) {
		struct sg_addr a;

		if (sg_addr_parse(*relays, &a, NULL) || sg_policy_add_relay(p, g, &a, NULL, 0))
			tap_bail("relay %s", *relays);
	}
	return g;
}

void h_trust(struct sg_policy *p, const char *prefix, uint64_t groups, uint32_t class_idx,
	     int64_t expires)
{
	struct sg_trusted_entry t = { .groups = groups, .class_idx = class_idx,
				      .expires = expires, .ticket = "TEST-1", .owner = "tests" };
	struct sg_err err = { 0 };

	if (sg_prefix_parse(prefix, &t.prefix, &err))
		tap_bail("trusted %s: %s", prefix, err.msg);
	if (sg_policy_add_trusted(p, &t))
		tap_bail("add trusted %s", prefix);
}

struct sg_counter h_counter(struct sg_dp *dp, int verdict, int reason)
{
	struct sg_counter c[SG_V_COUNT][SG_R_COUNT];

	if (sg_dp_read_counters(dp, 0, c))
		tap_bail("read counters");
	return c[verdict][reason];
}

uint64_t h_total_packets(struct sg_dp *dp)
{
	struct sg_counter c[SG_V_COUNT][SG_R_COUNT];
	uint64_t n = 0;

	if (sg_dp_read_counters(dp, 0, c))
		tap_bail("read counters");
	for (int v = 0; v < SG_V_COUNT; v++)
		for (int r = 0; r < SG_R_COUNT; r++)
			n += c[v][r].packets;
	return n;
}
