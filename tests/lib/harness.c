// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <string.h>
#include <bpf/bpf.h>
#include "unit.h"
#include "clock.h"
#include "harness.h"
#include "src_snap.h"
#include "tap.h"

void h_remove_pins(const char *dir)
{
	DIR *d = dir[0] ? opendir(dir) : NULL;
	struct dirent *e;
	char path[400];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

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
	struct sg_trusted_entry t = { .groups = groups, .rate_class = SG_ENTRY_CLASS(class_idx),
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

/* ---- table-driven cases ------------------------------------------- */

const int h_hooks[H_NHOOKS] = { SG_HOOK_XDP, SG_HOOK_TC_INGRESS, SG_HOOK_TC_EGRESS };

const char *h_hook_name(int hook)
{
	switch (hook) {
	case SG_HOOK_XDP:
		return "xdp";
	case SG_HOOK_TC_INGRESS:
		return "tc-ingress";
	case SG_HOOK_TC_EGRESS:
		return "tc-egress";
	default:
		return "?";
	}
}

int h_hook_ret(int hook, int action)
{
	static const int xdp[] = { [H_PASS] = XDP_PASS, [H_DROP] = XDP_DROP, [H_RST] = XDP_TX };
	static const int tc[] = { [H_PASS] = TC_ACT_OK, [H_DROP] = TC_ACT_SHOT,
				  [H_RST] = TC_ACT_REDIRECT };

	return hook == SG_HOOK_XDP ? xdp[action] : tc[action];
}

void h_snapshot(struct sg_dp *dp, h_snap_t out)
{
	if (sg_dp_read_counters(dp, 0, out))
		tap_bail("read counters");
}

const char *h_delta_error(h_snap_t before, h_snap_t after, const struct h_expect *e)
{
	static char why[1024];

	why[0] = 0;
	for (int v = 0; v < SG_V_COUNT; v++) {
		for (int r = 0; r < SG_R_COUNT; r++) {
			int hit = e->verdict == v && e->reason == r;
			uint64_t dp = after[v][r].packets - before[v][r].packets;
			uint64_t db = after[v][r].bytes - before[v][r].bytes;
			uint64_t dc = after[v][r].conns - before[v][r].conns;

			if (dp == (hit ? 1u : 0u) && db == (hit ? e->bytes : 0) &&
			    dc == (hit ? e->conns : 0))
				continue;
			ut_appendf(why, sizeof(why), "%s/%s moved packets %llu bytes %llu conns %llu",
				sg_verdict_names[v], sg_reason_names[r], (unsigned long long)dp,
				(unsigned long long)db, (unsigned long long)dc);
			if (hit)
				ut_appendf(why, sizeof(why), " (want 1 %llu %llu)",
					(unsigned long long)e->bytes,
					(unsigned long long)e->conns);
			ut_appendf(why, sizeof(why), "; ");
		}
	}
	return why[0] ? why : NULL;
}

static const char *expect_text(const struct h_expect *e)
{
	static const char *const act[] = { "pass", "drop", "rst" };
	static char buf[96];

	if (e->verdict == H_NOT_GOVERNED)
		snprintf(buf, sizeof(buf), "%s, not governed", act[e->action]);
	else
		snprintf(buf, sizeof(buf), "%s, %s/%s bytes %llu conns %llu", act[e->action],
			 sg_verdict_names[e->verdict], sg_reason_names[e->reason],
			 (unsigned long long)e->bytes, (unsigned long long)e->conns);
	return buf;
}

bool h_check_frame(struct sg_dp *dp, int hook, const uint8_t *frame, size_t len,
		   const struct pkt_spec *rst_spec, const struct h_expect *e, const char *name)
{
	static struct run_result r;
	static char why[2400];
	static struct src_snap src_before, src_after;
	h_snap_t before, after;
	const char *bad;
	int want = h_hook_ret(hook, e->action), rc;

	why[0] = 0;
	h_snapshot(dp, before);
	if (e->check_sources)
		src_snap_take(dp, &src_before);
	rc = h_run(dp, hook, frame, len, &r);
	h_snapshot(dp, after);
	if (e->check_sources)
		src_snap_take(dp, &src_after);
	if (rc) {
		snprintf(why, sizeof(why), "test run failed: %d (frame of %zu bytes)", rc, len);
		return tap_check(false, name, "%s", why);
	}
	if (r.ret != want)
		ut_appendf(why, sizeof(why), "returned %d, want %d; ", r.ret, want);
	bad = h_delta_error(before, after, e);
	if (bad)
		ut_appendf(why, sizeof(why), "counters: %s", bad);
	if (e->check_sources) {
		struct sg_source_stats one;
		struct sg_addr src;

		if (e->src)
			src = h_addr(e->src);
		src_expect_one(&one, e->verdict, e->reason, e->bytes, e->conns);
		bad = src_snap_delta_error(&src_before, &src_after, e->src ? &src : NULL, &one);
		if (bad)
			ut_appendf(why, sizeof(why), "per source: %s", bad);
	}
	if (e->action == H_RST && r.ret == want) {
		bad = rst_spec ? pkt_check_rst(r.out, r.out_len, rst_spec) : "no SYN spec to check";
		if (bad)
			ut_appendf(why, sizeof(why), "RST: %s; ", bad);
	} else if (e->action != H_RST && (r.out_len != len || memcmp(r.out, frame, len))) {
		ut_appendf(why, sizeof(why), "frame changed (%u bytes out of %zu); ", r.out_len, len);
	}
	if (why[0])
		ut_appendf(why, sizeof(why), " [expected %s]", expect_text(e));
	return tap_check(!why[0], name, "%s", why);
}

bool h_check_spec(struct sg_dp *dp, int hook, const struct pkt_spec *s,
		  const struct h_expect *e, const char *name)
{
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(s, frame, sizeof(frame));

	return h_check_frame(dp, hook, frame, len, s, e, name);
}

size_t h_l3_off(const struct pkt_spec *s)
{
	return 14 + 4 * (size_t)s->n_vlan;
}

uint64_t h_ip_len_field(const uint8_t *frame, size_t l3, int v6)
{
	const uint8_t *ip = frame + l3;

	if (v6)
		return 40 + (uint64_t)(ip[4] << 8 | ip[5]);
	return (uint64_t)(ip[2] << 8 | ip[3]);
}

struct sg_addr h_addr(const char *text)
{
	struct sg_err err = { 0 };
	struct sg_addr a;

	if (sg_addr_parse(text, &a, &err))
		tap_bail("address %s: %s", text, err.msg);
	return a;
}

void h_relay_ports(struct sg_policy *p, int group, const char *addr, const uint16_t *ports,
		   size_t n_ports)
{
	struct sg_addr a = h_addr(addr);

	if (sg_policy_add_relay(p, group, &a, ports, n_ports))
		tap_bail("relay %s", addr);
}

int64_t h_unix_now(void)
{
	return sg_real_ns() / 1000000000ll;
}

static void exhaust(struct sg_dp *dp, const char *map, uint32_t key)
{
	uint64_t until = sg_boot_ns() + 3600ull * 1000000000ull;
	struct sg_bucket b = { .conn_tat = until, .byte_tat = until };
	int fd = sg_dp_map_fd(dp, map);

	if (fd < 0 || bpf_map_update_elem(fd, &key, &b, 0))
		tap_bail("exhaust %s[%u]: %s", map, key, strerror(errno));
}

void h_exhaust_trusted(struct sg_dp *dp, const char *prefix)
{
	struct sg_err err = { 0 };
	struct sg_prefix p;
	struct sg_trusted val;

	if (sg_prefix_parse(prefix, &p, &err))
		tap_bail("prefix %s: %s", prefix, err.msg);
	if (sg_dp_trust_get(dp, &p, &val))
		tap_bail("trusted entry %s not in the data plane", prefix);
	exhaust(dp, "sg_buckets", val.slot);
}

void h_exhaust_throttle(struct sg_dp *dp, const char *addr)
{
	struct sg_addr a = h_addr(addr);

	exhaust(dp, "sg_throttle", sg_throttle_hash(&a));
}

void h_exhaust_relay_cap(struct sg_dp *dp, uint32_t group)
{
	exhaust(dp, "sg_relay_caps", group);
}

void h_ban(struct sg_dp *dp, const char *addr, uint64_t duration_ns)
{
	struct sg_addr a = h_addr(addr);
	struct sg_err err = { 0 };

	if (sg_dp_ban_put(dp, &a, duration_ns, SG_BAN_MANUAL, &err))
		tap_bail("ban %s: %s", addr, err.msg);
}
