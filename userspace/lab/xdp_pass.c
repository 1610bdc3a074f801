// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sglab xdp-pass IF: a two-instruction XDP_PASS program, attached
 * natively through netlink so that it stays after we exit, without a pin.
 * On a veth it gives the device NAPI, which it needs to receive frames
 * its peer sends with XDP_TX (a reject's RST); GRO alone is not enough
 * (docs/lab.md, "Pitfalls").
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sglab.h"

int sglab_xdp_pass(int argc, char **argv)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	const char *ifname;
	int ifindex, fd, rc;

	if (argc != 2) {
		fprintf(stderr, "sglab: usage: sglab xdp-pass IF\n");
		return 2;
	}
	ifname = argv[1];
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "sglab: xdp-pass: %s: no such interface\n", ifname);
		return 1;
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "sg_xdp_pass", "GPL", insns, 2, NULL);
	if (fd < 0) {
		fprintf(stderr, "sglab: xdp-pass: load: %s\n", strerror(errno));
		return 1;
	}
	rc = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
	close(fd);
	if (rc) {
		fprintf(stderr, "sglab: xdp-pass: attach to %s (native): %s\n", ifname,
			strerror(-rc));
		return 1;
	}
	printf("sglab: %s: no-op XDP program attached\n", ifname);
	return 0;
}
