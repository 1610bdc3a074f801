/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sglab: the namespace lab's small helpers that need the kernel's BPF and
 * netlink interfaces (scripts/lab/), as one program with a subcommand
 * each, so that the lab and the demo need no test tooling and no
 * interpreter.  Each subcommand returns an exit status: 0 done, 1
 * failed (or, for xdp-watch --until-attached, nothing attached), 2 bad
 * usage.
 */
#ifndef SG_LAB_SGLAB_H
#define SG_LAB_SGLAB_H

/* sglab xdp-watch IF DURATION_MS [PERIOD_MS] [--until-attached] [--stop-file FILE] */
int sglab_xdp_watch(int argc, char **argv);
/* sglab xdp-pass IF */
int sglab_xdp_pass(int argc, char **argv);

#endif
