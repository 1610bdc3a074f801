/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane's clock, read lazily: at most once per packet, and only
 * on the paths that need a time (bans, expiry, buckets, events).  An
 * untrusted source's drop or reject needs none, and the clock is a
 * helper call of a few nanoseconds on a virtual machine: as much as the
 * rest of the verdict.  0 in *now means "not read yet" (the monotonic
 * clock is never 0 once the system has booted).
 */
#ifndef SG_BPF_CLOCK_H
#define SG_BPF_CLOCK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u64 sg_clock(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_coarse_ns();
	return *now;
}

#endif /* SG_BPF_CLOCK_H */
