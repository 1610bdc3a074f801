// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sglab's command line: the subcommand picks the helper (see sglab.h).
 * Run inside the namespace whose interfaces it is about (the lab runs it
 * through nsenter --net, keeping the host's mounts).
 */
#include <stdio.h>
#include <string.h>
#include "sglab.h"

static const char usage_text[] =
	"usage:\n"
	"  sglab xdp-watch IF DURATION_MS [PERIOD_MS] [--until-attached] [--stop-file FILE]\n"
	"      every PERIOD_MS (default 50) for DURATION_MS, print\n"
	"      \"<ms since the epoch> <id>\": the XDP program on IF, 0 for none,\n"
	"      - if IF does not exist.  --until-attached: stop at the first\n"
	"      program (exit 0), exit 1 if none came.  --stop-file: stop\n"
	"      (exit 0) once FILE exists.\n"
	"  sglab xdp-pass IF\n"
	"      attach a do-nothing XDP program (native) to IF: gives a veth the\n"
	"      NAPI it needs to receive what XDP_TX on its peer sends (a reject's\n"
	"      RST).  Stays until IF goes away.\n"
	"\n"
	"  Exit status: 0 done, 1 failed, 2 bad usage.\n";

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "xdp-watch"))
		return sglab_xdp_watch(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "xdp-pass"))
		return sglab_xdp_pass(argc - 1, argv + 1);
	fputs(usage_text, stderr);
	return 2;
}
