// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The shortest path through the whole stack: policy in memory -> maps ->
 * program -> verdict -> counters, for XDP and both TC hooks.  The full
 * per-verdict tables live in the other tests/bpf files.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <string.h>
#include "harness.h"
#include "tap.h"

int main(void)
{
	static const char *const internal[] = { "198.18.0.25", "2001:db8::25", NULL };
	static const int hooks[] = { SG_HOOK_XDP, SG_HOOK_TC_INGRESS, SG_HOOK_TC_EGRESS };
	static const char *const hook_names[] = { "xdp", "tc-ingress", "tc-egress" };
	struct sg_policy p;
	struct sg_dp *dp = h_open();
	struct run_result r;
	const char *why;

	sg_policy_init(&p);
	sg_policy_add_port(&p, 25);
	h_group(&p, "internal", internal);
	h_trust(&p, "198.18.1.5", 1, SG_NO_CLASS, 0);
	h_trust(&p, "2001:db8:1::5", 1, SG_NO_CLASS, 0);
	p.unreg_action = SG_UNREG_REJECT;
	h_apply(dp, &p);

	for (int h = 0; h < 3; h++) {
		int pass = hooks[h] == SG_HOOK_XDP ? XDP_PASS : TC_ACT_OK;
		int drop = hooks[h] == SG_HOOK_XDP ? XDP_DROP : TC_ACT_SHOT;
		int rst = hooks[h] == SG_HOOK_XDP ? XDP_TX : TC_ACT_REDIRECT;
		char name[128];
		struct pkt_spec trusted = { .src = "198.18.1.5", .dst = "198.18.0.25",
					    .sport = 40000, .dport = 25, .flags = TCPF_SYN,
					    .seq = 1000 };
		struct pkt_spec untrusted = trusted, https = trusted, ack = trusted, v6 = trusted;

		untrusted.src = "198.18.1.6";
		https.src = "198.18.1.6";
		https.dport = 443;
		ack.src = "198.18.1.6";
		ack.flags = TCPF_ACK;
		v6.v6 = 1;
		v6.src = "2001:db8:1::6";
		v6.dst = "2001:db8::25";

		snprintf(name, sizeof(name), "%s: trusted SYN to the relay passes", hook_names[h]);
		tap_check(!h_run_spec(dp, hooks[h], &trusted, &r) && r.ret == pass, name,
			  "ret %d", r.ret);
		snprintf(name, sizeof(name), "%s: untrusted to port 443 is not governed", hook_names[h]);
		tap_check(!h_run_spec(dp, hooks[h], &https, &r) && r.ret == pass, name, "ret %d",
			  r.ret);
		snprintf(name, sizeof(name), "%s: untrusted non-SYN under reject is dropped",
			 hook_names[h]);
		tap_check(!h_run_spec(dp, hooks[h], &ack, &r) && r.ret == drop, name, "ret %d",
			  r.ret);
		snprintf(name, sizeof(name), "%s: untrusted IPv4 SYN gets a RST", hook_names[h]);
		if (tap_check(!h_run_spec(dp, hooks[h], &untrusted, &r) && r.ret == rst, name,
			      "ret %d", r.ret)) {
			why = pkt_check_rst(r.out, r.out_len, &untrusted);
			snprintf(name, sizeof(name), "%s: IPv4 RST is well formed", hook_names[h]);
			tap_check(!why, name, "%s", why ? why : "");
		}
		snprintf(name, sizeof(name), "%s: untrusted IPv6 SYN gets a RST", hook_names[h]);
		if (tap_check(!h_run_spec(dp, hooks[h], &v6, &r) && r.ret == rst, name, "ret %d",
			      r.ret)) {
			why = pkt_check_rst(r.out, r.out_len, &v6);
			snprintf(name, sizeof(name), "%s: IPv6 RST is well formed", hook_names[h]);
			tap_check(!why, name, "%s", why ? why : "");
		}
	}
	{
		struct sg_counter pass = h_counter(dp, SG_V_PASS, SG_R_TRUSTED);
		struct sg_counter rej = h_counter(dp, SG_V_REJECT, SG_R_UNTRUSTED_SOURCE);

		tap_check(pass.packets == 3 && pass.conns == 3, "counters: 3 trusted SYNs",
			  "packets %llu conns %llu", (unsigned long long)pass.packets,
			  (unsigned long long)pass.conns);
		tap_check(rej.packets == 9 && rej.conns == 6, "counters: 9 rejected, 6 of them SYNs",
			  "packets %llu conns %llu", (unsigned long long)rej.packets,
			  (unsigned long long)rej.conns);
	}
	sg_policy_free(&p);
	sg_dp_close(dp);
	return tap_done();
}
