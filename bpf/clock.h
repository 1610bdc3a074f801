/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data plane's clock, read lazily: at most once per packet, and only
 * on the paths that need a time (bans, expiry, buckets, events).  An
 * untrusted source's drop or reject needs none.  The clock is a helper
 * call of a few nanoseconds on a virtual machine, as much as the rest of
 * a verdict, so each CPU also remembers it for the current jiffy (struct
 * sg_clock_memo): a trusted flood reads jiffies (one inlined load), not
 * the clock, and gets the very value the helper would return.  0 in *now
 * means "not read yet" (the monotonic clock is never 0 once the system
 * has booted).
 */
#ifndef SG_BPF_CLOCK_H
#define SG_BPF_CLOCK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "smtpgate/abi.h"

/* m: this CPU's memo, or NULL to read the clock itself. */
static __always_inline __u64 sg_clock(struct sg_clock_memo *m, __u64 *now)
{
	__u64 jiffies, ns;

	if (*now)
		return *now;
	if (!m) {
		*now = bpf_ktime_get_coarse_ns();
		return *now;
	}
	jiffies = bpf_jiffies64();
	if (m->jiffies == jiffies) {
		*now = m->ns;
		return *now;
	}
	ns = bpf_ktime_get_coarse_ns();
	if (ns != m->ns) { /* the tick has updated the time too: keep it */
		m->jiffies = jiffies;
		m->ns = ns;
	}
	*now = ns;
	return ns;
}

#endif /* SG_BPF_CLOCK_H */
