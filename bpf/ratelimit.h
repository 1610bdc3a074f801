/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Token buckets, as a generic cell rate algorithm (virtual scheduling).
 *
 * Each dimension keeps a theoretical arrival time (tat); the backlog is
 * max(tat, now) - now and tau = burst * cost-per-unit is how far it may
 * run ahead.  A conforming packet pushes tat forward by its cost.
 *  - A new connection needs a whole token: it conforms iff
 *    backlog + cost <= tau, so exactly `burst` connections pass at once
 *    and then one per 1/rate.
 *  - Bytes need only some credit: a packet conforms iff backlog < tau,
 *    so a packet larger than the remaining credit (a 64 KiB GSO packet
 *    on TC, say) still passes and the debt is repaid before the next
 *    one: no packet size can be starved and the long-run rate is exact.
 * No division on the fast path: costs are precomputed ns << SG_RATE_SHIFT.
 *
 * Each dimension is taken with compare-and-swap on its tat, so a source
 * spreading its flows over every CPU still gets exactly its class, with
 * no lock.  A new connection takes the connection dimension first, then
 * bytes; if bytes refuse, the connection's reservation is given back.
 */
#ifndef SG_BPF_RATELIMIT_H
#define SG_BPF_RATELIMIT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "smtpgate/abi.h"

/* Contended compare-and-swaps retry this often, then refuse (fail closed:
 * only ever under a race storm on one bucket). */
#define SG_CAS_TRIES 4

enum sg_charge_result {
	SG_CHARGE_OK = 0,
	SG_CHARGE_LIMITED = 1,
	SG_CHARGE_BAN = 2, /* limited, and this was the violation that bans */
};

/* Takes `cost` ns from the dimension whose tat is at *tat if `need` ns of
 * the burst tau are free (the whole cost for a connection, 1 ns -- any
 * credit -- for bytes).  Returns 1 if taken, with the values before and
 * after in *was and *is (for an exact refund). */
static __always_inline int sg_take(__u64 *tat, __u64 now, __u64 cost, __u64 need, __u64 tau,
				   __u64 *was, __u64 *is)
{
#pragma unroll
	for (int i = 0; i < SG_CAS_TRIES; i++) {
		__u64 old = *(volatile __u64 *)tat;
		__u64 base = old < now ? now : old;

		if (base - now + need > tau)
			return 0;
		if (__sync_val_compare_and_swap(tat, old, base + cost) == old) {
			*was = old;
			*is = base + cost;
			return 1;
		}
	}
	return 0;
}

struct sg_ban_rule {
	__u32 violations;   /* 0: never ban */
	__u64 window_ns;
};

/* Counts one violation; returns 1 for the one that reaches the rule's
 * threshold within its window (exactly one CPU sees that count). */
static __always_inline int sg_violation(struct sg_bucket *b, const struct sg_ban_rule *ban,
					__u64 now)
{
	__u64 start = *(volatile __u64 *)&b->window_start_ns;

	if (now - start > ban->window_ns &&
	    __sync_val_compare_and_swap(&b->window_start_ns, start, now) == start)
		__sync_lock_test_and_set(&b->violations, 0);
	if (__sync_add_and_fetch(&b->violations, 1) != ban->violations)
		return 0;
	__sync_lock_test_and_set(&b->violations, 0);
	return 1;
}

static __always_inline int sg_charge(struct sg_bucket *b, const struct sg_rate *r, __u64 now,
				     int is_conn, __u32 bytes, const struct sg_ban_rule *ban)
{
	__u64 conn_cost = r->conn_cost >> SG_RATE_SHIFT;
	__u64 byte_cost = ((__u64)bytes * r->byte_cost) >> SG_RATE_SHIFT;
	__u64 conn_was = 0, conn_is = 0, unused_was, unused_is;
	int took_conn = 0;

	if (is_conn && r->conn_cost) {
		if (!sg_take(&b->conn_tat, now, conn_cost, conn_cost, r->conn_tau_ns, &conn_was,
			     &conn_is))
			goto limited;
		took_conn = 1;
	}
	if (r->byte_cost &&
	    !sg_take(&b->byte_tat, now, byte_cost, 1, r->byte_tau_ns, &unused_was, &unused_is)) {
		/* Give the connection back: exactly, unless another CPU took
		 * after us, then by its cost. */
		if (took_conn && __sync_val_compare_and_swap(&b->conn_tat, conn_is, conn_was) != conn_is)
			__sync_fetch_and_sub(&b->conn_tat, conn_cost);
		goto limited;
	}
	return SG_CHARGE_OK;
limited:
	if (ban && ban->violations && sg_violation(b, ban, now))
		return SG_CHARGE_BAN;
	return SG_CHARGE_LIMITED;
}

#endif /* SG_BPF_RATELIMIT_H */
