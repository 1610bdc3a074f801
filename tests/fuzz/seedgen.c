// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Writes the packet target's seed corpus: frames built with
 * tests/lib/pkt (the shapes the BPF tests use: plain IPv4 and IPv6 SYNs
 * and data, VLAN tags, IPv4 options and fragments, IPv6 extension
 * chains and fragments, short and truncated headers) and frames that
 * tests/lib/randpkt draws for each of the fixed policies, each file one
 * selector byte and the frame (see fuzz_packet.h).
 *
 *   seedgen DIR      (tests/fuzz/corpus/packet)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_packet.h"
#include "harness.h"
#include "pkt.h"

static const char *dir;
static int written;

static void put(const char *name, unsigned selector, const uint8_t *frame, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f || fputc((int)selector, f) == EOF || fwrite(frame, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
	written++;
}

static void spec(const char *name, unsigned policy, unsigned hook, const struct pkt_spec *s)
{
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(s, frame, sizeof(frame));

	put(name, fp_selector(policy, hook), frame, len < 14 ? 14 : len);
}

int main(int argc, char **argv)
{
	struct pkt_spec v4 = { .src = "10.1.0.5", .dst = "192.0.2.25", .sport = 40000,
			       .dport = 25, .flags = TCPF_SYN, .seq = 1000 };
	struct pkt_spec v6 = { .v6 = 1, .src = "2001:db8:1::5", .dst = "2001:db8::25",
			       .sport = 40001, .dport = 587, .flags = TCPF_SYN, .seq = 7 };
	struct pkt_spec s;
	char name[64];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];

	spec("v4-syn", 0, 0, &v4);
	s = v4, s.flags = TCPF_ACK | TCPF_PSH, s.payload = 100;
	spec("v4-data", 1, 1, &s);
	s = v4, s.n_vlan = 2, s.vlan_tpid[0] = 0x88a8;
	spec("v4-qinq", 2, 2, &s);
	s = v4, s.n_vlan = 3;
	spec("v4-three-tags", 3, 0, &s);
	s = v4, s.ip_opt_len = 12;
	spec("v4-options", 4, 1, &s);
	s = v4, s.frag = 1, s.mf = 1;
	spec("v4-first-fragment", 5, 0, &s);
	s = v4, s.frag = 1, s.frag_off = 1;
	spec("v4-fragment-offset-1", 0, 2, &s);
	s = v4, s.frag = 1, s.mf = 1, s.l4_len_override = 8;
	spec("v4-first-fragment-short", 1, 0, &s);
	s = v4, s.l4_len_override = 12;
	spec("v4-truncated-tcp", 2, 1, &s);
	s = v4, s.doff_override = 4;
	spec("v4-bad-doff", 3, 0, &s);
	s = v4, s.ihl_override = 4;
	spec("v4-bad-ihl", 4, 0, &s);
	s = v4, s.ip_len_delta = 9;
	spec("v4-long-total-length", 5, 2, &s);
	s = v4, s.proto = 17;
	spec("v4-udp", 0, 0, &s);
	spec("v6-syn", 1, 0, &v6);
	s = v6, s.n_ext = 3, s.ext[0] = V6_HOP, s.ext[1] = V6_RT, s.ext[2] = V6_DST;
	spec("v6-ext-chain", 2, 1, &s);
	s = v6, s.n_ext = 9;
	for (int i = 0; i < 9; i++)
		s.ext[i] = V6_DST;
	spec("v6-ext-too-long", 3, 0, &s);
	s = v6, s.n_ext = 1, s.ext[0] = V6_FRAG, s.frag = 1, s.mf = 1;
	spec("v6-first-fragment", 4, 2, &s);
	s = v6, s.n_ext = 2, s.ext[0] = V6_AH, s.ext[1] = V6_FRAG, s.frag = 1, s.frag_off = 3;
	spec("v6-later-fragment", 5, 0, &s);
	s = v6, s.src = "::ffff:10.1.0.5";
	spec("v6-mapped-source", 0, 1, &s);
	s = v6, s.n_vlan = 1, s.flags = TCPF_ACK, s.payload = 40;
	spec("v6-vlan-data", 1, 2, &s);

	/* What the differential test's generator draws, per policy. */
	for (unsigned k = 0; k < FP_N_POLICIES; k++) {
		struct rp_policy *rp = calloc(1, sizeof(*rp));
		static struct rp_packet pkt;
		struct rp_rng r;

		if (!rp)
			return 1;
		fp_policy_make(k, rp, h_unix_now());
		rp_seed(&r, FP_SEED ^ (0x9e3779b97f4a7c15ull * (k + 1)));
		for (int i = 0; i < 12; i++) {
			rp_packet_make(&r, rp, &pkt);
			snprintf(name, sizeof(name), "policy%u-drawn-%02d", k, i);
			put(name, fp_selector(k, (unsigned)i % 3), pkt.frame, pkt.len);
		}
		rp_policy_free(rp);
		free(rp);
	}
	printf("seedgen: %d frames in %s\n", written, dir);
	return 0;
}
