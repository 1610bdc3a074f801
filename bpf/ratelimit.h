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
 * The check and the charge of both dimensions happen under the bucket's
 * spin lock, so a source spreading its flows over every CPU still gets
 * exactly its class.
 */
#ifndef SG_BPF_RATELIMIT_H
#define SG_BPF_RATELIMIT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "smtpgate/abi.h"

enum sg_charge_result {
	SG_CHARGE_OK = 0,
	SG_CHARGE_LIMITED = 1,
	SG_CHARGE_BAN = 2, /* limited, and this was the violation that bans */
};

/* Returns the new tat, or 0 if the packet does not conform: it needs
 * `need` ns of the burst still free (the whole cost for a connection,
 * 1 ns -- any credit -- for bytes). */
static __always_inline __u64 sg_gcra(__u64 tat, __u64 now, __u64 cost_ns, __u64 need, __u64 tau)
{
	if (tat < now)
		tat = now;
	if (tat - now + need > tau)
		return 0;
	return tat + cost_ns;
}

struct sg_ban_rule {
	__u32 violations;   /* 0: never ban */
	__u64 window_ns;
};

static __always_inline int sg_charge(struct sg_bucket *b, const struct sg_rate *r, __u64 now,
				     int is_conn, __u32 bytes, const struct sg_ban_rule *ban)
{
	__u64 conn_cost = is_conn ? r->conn_cost >> SG_RATE_SHIFT : 0;
	__u64 byte_cost = ((__u64)bytes * r->byte_cost) >> SG_RATE_SHIFT;
	int check_conn = is_conn && r->conn_cost;
	int check_bytes = r->byte_cost != 0;
	int result = SG_CHARGE_OK;
	__u64 conn_tat, byte_tat;

	if (!check_conn && !check_bytes)
		return SG_CHARGE_OK;

	bpf_spin_lock(&b->lock);
	conn_tat = b->conn_tat;
	byte_tat = b->byte_tat;
	if (check_conn) {
		conn_tat = sg_gcra(conn_tat, now, conn_cost, conn_cost, r->conn_tau_ns);
		if (!conn_tat)
			result = SG_CHARGE_LIMITED;
	}
	if (result == SG_CHARGE_OK && check_bytes) {
		byte_tat = sg_gcra(byte_tat, now, byte_cost, 1, r->byte_tau_ns);
		if (!byte_tat)
			result = SG_CHARGE_LIMITED;
	}
	if (result == SG_CHARGE_OK) {
		if (check_conn)
			b->conn_tat = conn_tat;
		if (check_bytes)
			b->byte_tat = byte_tat;
	} else if (ban && ban->violations) {
		if (now - b->window_start_ns > ban->window_ns) {
			b->window_start_ns = now;
			b->violations = 0;
		}
		b->violations++;
		if (b->violations >= ban->violations) {
			b->violations = 0;
			result = SG_CHARGE_BAN;
		}
	}
	bpf_spin_unlock(&b->lock);
	return result;
}

#endif /* SG_BPF_RATELIMIT_H */
