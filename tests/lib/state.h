/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Helpers for tests of the data plane's state: judging a packet by the
 * counter it moved, reading and writing rate buckets, bans, the event
 * budget and the active config, pinning to a CPU, and racing packets
 * from several CPUs.
 *
 * Time is best controlled by writing state relative to sg_boot_ns() (the
 * CLOCK_BOOTTIME the programs read) rather than by sleeping.
 */
#ifndef SG_TEST_STATE_H
#define SG_TEST_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include "dataplane.h"
#include "pkt.h"

#define ST_MS 1000000ull
#define ST_SEC 1000000000ull

/* What one packet did: the program's XDP action and the single
 * (verdict, reason) counter cell of slot 0 that moved. */
struct st_outcome {
	int ret;       /* XDP_* */
	int verdict;   /* -1: no counter moved (not governed) */
	int reason;
	int moved;     /* counter cells that changed: 1 for a governed packet */
};

/* A TCP packet src -> dst:25 from port 40000 (IPv6 if src is), seq 1. */
struct pkt_spec st_pkt(const char *src, const char *dst, uint8_t flags, int payload);

/* Runs spec through the XDP program and diffs the counters. */
void st_run(struct sg_dp *dp, const struct pkt_spec *s, struct st_outcome *o);
/* Runs spec through the XDP program only (no counter reads): the action. */
int st_xdp(struct sg_dp *dp, const struct pkt_spec *s);
/* One TAP check: spec is counted as exactly (verdict, reason), and the
 * action matches the verdict (pass/monitor -> XDP_PASS, drop -> XDP_DROP).
 * verdict -1: not governed (XDP_PASS, no counter moved; reason ignored). */
bool st_expect(struct sg_dp *dp, const struct pkt_spec *s, int verdict, int reason,
	       const char *name);
/* st_expect() for st_pkt(src, dst, flags, 0). */
bool st_expect_to(struct sg_dp *dp, const char *src, const char *dst, uint8_t flags,
		  int verdict, int reason, const char *name);
/* "drop/rate_limited" into buf. */
const char *st_vr_name(int verdict, int reason, char *buf, size_t len);

/* Parsing that bails on error. */
struct sg_addr st_addr(const char *text);
struct sg_prefix st_prefix(const char *text);
/* The bucket slot of the trusted entry for exactly this prefix. */
uint32_t st_slot(struct sg_dp *dp, const char *prefix);

/* Buckets in "sg_buckets", "sg_throttle" or "sg_relay_caps". */
void st_bucket_get(struct sg_dp *dp, const char *map, uint32_t key, struct sg_bucket *b);
void st_bucket_put(struct sg_dp *dp, const char *map, uint32_t key, const struct sg_bucket *b);
/* conn_tat of a bucket. */
uint64_t st_conn_tat(struct sg_dp *dp, const char *map, uint32_t key);
/* Writes a bucket with the given tats (0 = fresh) and no violations. */
void st_bucket_set(struct sg_dp *dp, const char *map, uint32_t key, uint64_t conn_tat,
		   uint64_t byte_tat);

/* The ban of a, 0; or -ENOENT. */
int st_ban_get(struct sg_dp *dp, const struct sg_addr *a, struct sg_ban *out);
/* Writes a ban entry as is. */
void st_ban_write(struct sg_dp *dp, const struct sg_addr *a, const struct sg_ban *b);
/* Number of entries in sg_bans. */
int st_ban_count(struct sg_dp *dp);

/* Does some CPU's clock memo (sg_cpu.clock) hold exactly ns? */
bool st_clock_memo_holds(struct sg_dp *dp, uint64_t ns);

/* Sets every CPU's event-key budget: window started at start_ns, keys used. */
void st_budget_set(struct sg_dp *dp, uint64_t start_ns, uint32_t keys);
/* Reads the config of the active generation. */
void st_config(struct sg_dp *dp, struct sg_config *cfg);
/* One global statistic (enum sg_stat), summed over CPUs. */
uint64_t st_stat(struct sg_dp *dp, int stat);

static inline bool st_in(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi;
}

/* Pins the calling thread to cpu; 0 or -errno. */
int st_pin_cpu(int cpu);

/* One thread of st_race(): set cpu, the rest is filled in. */
struct st_racer {
	int cpu;          /* pin to this CPU */
	int ran_on;       /* sched_getcpu() once pinned */
	int error;        /* pinning or a test run failed */
	long runs;        /* test runs done */
	long passed;      /* of which returned XDP_PASS */
	/* CLOCK_BOOTTIME around its first and its last run: the program's
	 * own clock read lies between (a preempted run widens the gap). */
	uint64_t first_before, first_after, last_before, last_after;
};

/* Runs frame through the XDP program prog_fd, one packet per test run, as
 * fast as it can from n threads (each pinned to r[i].cpu) that start
 * together, for duration_ns.  Returns the instant they were released. */
uint64_t st_race(int prog_fd, const uint8_t *frame, uint32_t len, struct st_racer *r, int n,
		 uint64_t duration_ns);

#endif
