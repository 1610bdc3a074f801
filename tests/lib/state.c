// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "harness.h"
#include "state.h"
#include "tap.h"

static int map_fd(struct sg_dp *dp, const char *name)
{
	int fd = sg_dp_map_fd(dp, name);

	if (fd < 0)
		tap_bail("no map %s", name);
	return fd;
}

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	if (n <= 0)
		tap_bail("cannot count CPUs");
	return n;
}

struct pkt_spec st_pkt(const char *src, const char *dst, uint8_t flags, int payload)
{
	struct pkt_spec s = { .src = src, .dst = dst, .sport = 40000, .dport = 25,
			      .flags = flags, .seq = 1, .payload = payload };

	s.v6 = strchr(src, ':') != NULL;
	return s;
}

int st_xdp(struct sg_dp *dp, const struct pkt_spec *s)
{
	struct run_result *r = malloc(sizeof(*r));
	int ret;

	if (!r)
		tap_bail("out of memory");
	if (h_run_spec(dp, SG_HOOK_XDP, s, r))
		tap_bail("test run failed");
	ret = r->ret;
	free(r);
	return ret;
}

void st_run(struct sg_dp *dp, const struct pkt_spec *s, struct st_outcome *o)
{
	struct sg_counter before[SG_V_COUNT][SG_R_COUNT], after[SG_V_COUNT][SG_R_COUNT];

	if (sg_dp_read_counters(dp, 0, before))
		tap_bail("read counters");
	o->ret = st_xdp(dp, s);
	if (sg_dp_read_counters(dp, 0, after))
		tap_bail("read counters");
	o->verdict = -1;
	o->reason = -1;
	o->moved = 0;
	for (int v = 0; v < SG_V_COUNT; v++) {
		for (int r = 0; r < SG_R_COUNT; r++) {
			if (after[v][r].packets == before[v][r].packets)
				continue;
			o->moved++;
			o->verdict = v;
			o->reason = r;
		}
	}
}

const char *st_vr_name(int verdict, int reason, char *buf, size_t len)
{
	if (verdict < 0 || verdict >= SG_V_COUNT || reason < 0 || reason >= SG_R_COUNT)
		snprintf(buf, len, "not counted");
	else
		snprintf(buf, len, "%s/%s", sg_verdict_names[verdict], sg_reason_names[reason]);
	return buf;
}

bool st_expect(struct sg_dp *dp, const struct pkt_spec *s, int verdict, int reason,
	       const char *name)
{
	int want_ret = verdict == SG_V_DROP ? XDP_DROP : XDP_PASS;
	char want[64], got[64];
	struct st_outcome o;

	st_run(dp, s, &o);
	return tap_check(o.moved == (verdict < 0 ? 0 : 1) && o.verdict == verdict &&
				 (verdict < 0 || o.reason == reason) &&
				 o.ret == want_ret,
			 name, "want %s (xdp %d), got %s (xdp %d, %d cells moved)",
			 st_vr_name(verdict, reason, want, sizeof(want)), want_ret,
			 st_vr_name(o.verdict, o.reason, got, sizeof(got)), o.ret, o.moved);
}

bool st_expect_to(struct sg_dp *dp, const char *src, const char *dst, uint8_t flags,
		  int verdict, int reason, const char *name)
{
	struct pkt_spec s = st_pkt(src, dst, flags, 0);

	return st_expect(dp, &s, verdict, reason, name);
}

struct sg_addr st_addr(const char *text)
{
	struct sg_err err = { 0 };
	struct sg_addr a;

	if (sg_addr_parse(text, &a, &err))
		tap_bail("address %s: %s", text, err.msg);
	return a;
}

struct sg_prefix st_prefix(const char *text)
{
	struct sg_err err = { 0 };
	struct sg_prefix p;

	if (sg_prefix_parse(text, &p, &err))
		tap_bail("prefix %s: %s", text, err.msg);
	return p;
}

uint32_t st_slot(struct sg_dp *dp, const char *prefix)
{
	struct sg_prefix p = st_prefix(prefix);
	struct sg_trusted t;
	int rc = sg_dp_trust_get(dp, &p, &t);

	if (rc)
		tap_bail("trust_get %s: %s", prefix, strerror(-rc));
	return t.slot;
}

void st_bucket_get(struct sg_dp *dp, const char *map, uint32_t key, struct sg_bucket *b)
{
	if (bpf_map_lookup_elem(map_fd(dp, map), &key, b))
		tap_bail("read %s[%u]: %s", map, key, strerror(errno));
}

void st_bucket_put(struct sg_dp *dp, const char *map, uint32_t key, const struct sg_bucket *b)
{
	if (bpf_map_update_elem(map_fd(dp, map), &key, b, 0))
		tap_bail("write %s[%u]: %s", map, key, strerror(errno));
}

uint64_t st_conn_tat(struct sg_dp *dp, const char *map, uint32_t key)
{
	struct sg_bucket b;

	st_bucket_get(dp, map, key, &b);
	return b.conn_tat;
}

void st_bucket_set(struct sg_dp *dp, const char *map, uint32_t key, uint64_t conn_tat,
		   uint64_t byte_tat)
{
	struct sg_bucket b;

	memset(&b, 0, sizeof(b));
	b.conn_tat = conn_tat;
	b.byte_tat = byte_tat;
	st_bucket_put(dp, map, key, &b);
}

int st_ban_get(struct sg_dp *dp, const struct sg_addr *a, struct sg_ban *out)
{
	return bpf_map_lookup_elem(map_fd(dp, "sg_bans"), a, out) ? -errno : 0;
}

void st_ban_write(struct sg_dp *dp, const struct sg_addr *a, const struct sg_ban *b)
{
	if (bpf_map_update_elem(map_fd(dp, "sg_bans"), a, b, 0))
		tap_bail("write ban: %s", strerror(errno));
}

int st_ban_count(struct sg_dp *dp)
{
	struct sg_addr key, next, *prev = NULL;
	int fd = map_fd(dp, "sg_bans"), n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next) && n < SG_MAX_BANS) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

bool st_clock_memo_holds(struct sg_dp *dp, uint64_t ns)
{
	int n = ncpus();
	struct sg_cpu *v = calloc((size_t)n, sizeof(*v));
	__u32 zero = 0;
	bool found = false;

	if (!v)
		tap_bail("out of memory");
	if (bpf_map_lookup_elem(map_fd(dp, "sg_cpu"), &zero, v))
		tap_bail("read sg_cpu: %s", strerror(errno));
	for (int c = 0; c < n; c++)
		found |= v[c].clock.jiffies && v[c].clock.ns == ns;
	free(v);
	return found;
}

void st_budget_set(struct sg_dp *dp, uint64_t start_ns, uint32_t keys)
{
	int n = ncpus(), fd = map_fd(dp, "sg_cpu");
	struct sg_cpu *v = calloc((size_t)n, sizeof(*v));
	__u32 zero = 0;

	if (!v)
		tap_bail("out of memory");
	if (bpf_map_lookup_elem(fd, &zero, v))
		tap_bail("read sg_cpu: %s", strerror(errno));
	for (int c = 0; c < n; c++) {
		v[c].budget.window_start_ns = start_ns;
		v[c].budget.event_keys = keys;
		v[c].budget.source_keys = 0;
		v[c].budget.blocked_updates = 0;
	}
	if (bpf_map_update_elem(fd, &zero, v, 0))
		tap_bail("set sg_cpu budgets: %s", strerror(errno));
	free(v);
}

void st_config(struct sg_dp *dp, struct sg_config *cfg)
{
	sg_dp_active_config(dp, cfg);
}

uint64_t st_stat(struct sg_dp *dp, int stat)
{
	uint64_t s[SG_STAT_COUNT];

	if (sg_dp_read_stats(dp, s))
		tap_bail("read stats");
	return s[stat];
}

int st_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

struct race_arg {
	struct st_racer *r;
	int prog_fd;
	const uint8_t *frame;
	uint32_t len;
	uint64_t stop_ns;
	pthread_barrier_t *start;
};

static void *racer(void *arg)
{
	struct race_arg *a = arg;
	struct st_racer *r = a->r;
	uint8_t out[PKT_MAX];

	r->error = st_pin_cpu(r->cpu) != 0;
	r->ran_on = sched_getcpu();
	pthread_barrier_wait(a->start);
	for (uint64_t now = sg_boot_ns(); now < a->stop_ns; now = r->last_after) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = a->frame, .data_size_in = a->len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

		if (bpf_prog_test_run_opts(a->prog_fd, &o)) {
			r->error = 1;
			break;
		}
		r->last_before = now;
		r->last_after = sg_boot_ns();
		if (!r->runs) {
			r->first_before = now;
			r->first_after = r->last_after;
		}
		r->runs++;
		r->passed += o.retval == XDP_PASS;
	}
	return NULL;
}

uint64_t st_race(int prog_fd, const uint8_t *frame, uint32_t len, struct st_racer *r, int n,
		 uint64_t duration_ns)
{
	struct race_arg *args = calloc((size_t)n, sizeof(*args));
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	pthread_barrier_t start;
	uint64_t begin;

	if (!args || !th || pthread_barrier_init(&start, NULL, (unsigned)n + 1))
		tap_bail("race set-up");
	for (int i = 0; i < n; i++) {
		args[i] = (struct race_arg){ .r = &r[i], .prog_fd = prog_fd, .frame = frame,
					     .len = len, .stop_ns = UINT64_MAX, .start = &start };
		if (pthread_create(&th[i], NULL, racer, &args[i]))
			tap_bail("pthread_create");
	}
	/* The barrier publishes stop_ns to the threads. */
	begin = sg_boot_ns();
	for (int i = 0; i < n; i++)
		args[i].stop_ns = begin + duration_ns;
	pthread_barrier_wait(&start);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	free(args);
	free(th);
	return begin;
}
