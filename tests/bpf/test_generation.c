// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The loader library (dataplane.h): policy generations, single trusted
 * entries, slots and their buckets across reloads, failed applies, the
 * per-CPU memos (trusted lookup, relay) across changes and reloads, the
 * governed ports across reloads (sg_live.ports_any), pinning (reuse,
 * ABI check, bpffs check, destroy), and a full table: a policy of nearly
 * SG_MAX_TRUSTED entries that replaces 1,000 of them applies over the
 * running one, also after a restart with the pins kept.
 *
 * The pinned part uses a pin dir unique to this process under
 * /sys/fs/bpf, removed at exit whatever happens.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "clock.h"
#include "harness.h"
#include "state.h"
#include "tap.h"

#define RELAY "198.18.0.25"
#define RELAY6 "2001:db8::25"
#define RELAY_B "198.18.0.26"
#define S1    "198.18.1.1"
#define S2    "198.18.1.2"
#define S3    "198.18.1.3"
#define S4    "198.18.1.4" /* rate class: its bucket must survive reloads */
#define S5    "198.18.1.5"
#define NET   "198.18.2.0/24"
#define NET25 "198.18.2.0/25"
#define NET6  "2001:db8:2::/48"

#define POISON_SLOTS 1024

static char pin_dir[64], tmp_a[64], tmp_b[64];

/* Removes this run's pins and directories; safe to call twice. */
static void cleanup(void)
{
	h_remove_pins(pin_dir);
	if (tmp_a[0])
		rmdir(tmp_a);
	if (tmp_b[0])
		rmdir(tmp_b);
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A SYN to the relay of the source's family. */
static struct pkt_spec syn(const char *src)
{
	return st_pkt(src, strchr(src, ':') ? RELAY6 : RELAY, TCPF_SYN, 0);
}

static void pass(struct sg_dp *dp, const char *src, const char *name)
{
	struct pkt_spec s = syn(src);

	st_expect(dp, &s, SG_V_PASS, SG_R_TRUSTED, name);
}

static void untrusted(struct sg_dp *dp, const char *src, const char *name)
{
	struct pkt_spec s = syn(src);

	st_expect(dp, &s, SG_V_DROP, SG_R_UNTRUSTED_SOURCE, name);
}

static void limited(struct sg_dp *dp, const char *src, const char *name)
{
	struct pkt_spec s = syn(src);

	st_expect(dp, &s, SG_V_DROP, SG_R_RATE_LIMITED, name);
}

/* A policy with a relay group, class 0 (10 conn/s, burst 3) and entries
 * given as "addr" (unlimited) or "=addr" (class 0), NULL-terminated. */
static void make_policy(struct sg_policy *p, const char *const *entries)
{
	static const char *const relays[] = { RELAY, RELAY6, NULL };

	sg_policy_init(p);
	sg_policy_add_port(p, 25);
	if (h_class(p, "conn", 10, 3, 0, 0) != 0)
		tap_bail("class");
	h_group(p, "relays", relays);
	for (; *entries; entries++) {
		if (**entries == '=')
			h_trust(p, *entries + 1, 1, 0, 0);
		else
			h_trust(p, *entries, 1, SG_NO_CLASS, 0);
	}
}

static int apply(struct sg_dp *dp, const char *const *entries, struct sg_err *err)
{
	struct sg_policy p;
	int rc;

	make_policy(&p, entries);
	rc = sg_dp_apply(dp, &p, err);
	sg_policy_free(&p);
	return rc;
}

static void must_apply(struct sg_dp *dp, const char *const *entries)
{
	struct sg_err err = { 0 };

	if (apply(dp, entries, &err))
		tap_bail("apply: %s", err.msg);
}

static int trust_put(struct sg_dp *dp, const char *prefix, uint64_t groups, uint32_t class_idx,
		     struct sg_err *err)
{
	struct sg_trusted_entry t = { .prefix = st_prefix(prefix), .groups = groups,
				      .rate_class = SG_ENTRY_CLASS(class_idx), .ticket = "T-1",
				      .owner = "tests" };

	return sg_dp_trust_put(dp, &t, err);
}

/* Marks the first POISON_SLOTS buckets exhausted, so that an entry that
 * gets one of them without a reset would be rate limited. */
static void poison_buckets(struct sg_dp *dp)
{
	uint64_t far = sg_boot_ns() + 100 * ST_SEC;

	for (uint32_t s = 0; s < POISON_SLOTS; s++)
		st_bucket_set(dp, "sg_buckets", s, far, far);
}

static bool bucket_fresh(struct sg_dp *dp, uint32_t slot)
{
	struct sg_bucket b;

	st_bucket_get(dp, "sg_buckets", slot, &b);
	return slot < POISON_SLOTS && b.conn_tat == 0 && b.byte_tat == 0 && !b.violations;
}

static uint64_t trusted_packets(struct sg_dp *dp)
{
	return h_counter(dp, SG_V_PASS, SG_R_TRUSTED).packets;
}

static void test_generations(struct sg_dp *dp)
{
	static const char *const pol_a[] = { S1, "=" S4, NULL };
	static const char *const pol_b[] = { S2, "=" S4, NULL };
	static const char *const pol_c[] = { S2, "=" S4, "=" S1, "=" S5, NULL };
	struct pkt_spec s1 = syn(S1);
	struct sg_err err = { 0 };
	struct st_outcome o;
	uint32_t slot4;
	struct sg_bucket b4, b;

	st_run(dp, &s1, &o);
	tap_check(sg_dp_generation(dp) == 0 && o.ret == XDP_PASS && o.moved == 0,
		  "no policy: generation 0, packets pass uncounted", "gen %llu ret %d moved %d",
		  (unsigned long long)sg_dp_generation(dp), o.ret, o.moved);
	tap_check(trust_put(dp, S3, 1, SG_NO_CLASS, &err) == -ENOENT &&
			  strstr(err.msg, "no policy"),
		  "no policy: trust_put is refused", "msg \"%s\"", err.msg);

	must_apply(dp, pol_a);
	tap_check(sg_dp_generation(dp) == 1 && sg_dp_trust_count(dp) == 2,
		  "policy A: generation 1, 2 trusted entries", "gen %llu count %ld",
		  (unsigned long long)sg_dp_generation(dp), sg_dp_trust_count(dp));
	pass(dp, S1, "policy A: S1 passes");
	untrusted(dp, S2, "policy A: S2 is untrusted");
	slot4 = st_slot(dp, S4);
	st_bucket_set(dp, "sg_buckets", slot4, sg_boot_ns() + 100 * ST_SEC, 0);
	st_bucket_get(dp, "sg_buckets", slot4, &b4);
	limited(dp, S4, "policy A: S4 with an exhausted bucket is limited");

	must_apply(dp, pol_b);
	tap_check(sg_dp_generation(dp) == 2 && sg_dp_trust_count(dp) == 2,
		  "policy B: generation 2, 2 trusted entries", "gen %llu count %ld",
		  (unsigned long long)sg_dp_generation(dp), sg_dp_trust_count(dp));
	untrusted(dp, S1, "policy B: S1 is untrusted now");
	pass(dp, S2, "policy B: S2 passes now");
	st_bucket_get(dp, "sg_buckets", slot4, &b);
	tap_check(st_slot(dp, S4) == slot4 && b.conn_tat == b4.conn_tat,
		  "policy B: S4 kept its slot and its bucket state", "slot %u -> %u",
		  slot4, st_slot(dp, S4));
	limited(dp, S4, "policy B: S4 is still limited after the reload");

	poison_buckets(dp);
	must_apply(dp, pol_c);
	tap_check(bucket_fresh(dp, st_slot(dp, S5)) && bucket_fresh(dp, st_slot(dp, S1)),
		  "policy C: new entries (S5, S1 re-added) get reset buckets",
		  "slots %u %u", st_slot(dp, S5), st_slot(dp, S1));
	tap_check(st_slot(dp, S4) == slot4 && st_slot(dp, S1) != st_slot(dp, S5) &&
			  st_slot(dp, S1) != slot4 && st_slot(dp, S5) != slot4,
		  "policy C: every live entry has its own slot", "S1 %u S4 %u S5 %u",
		  st_slot(dp, S1), slot4, st_slot(dp, S5));
	pass(dp, S5, "policy C: new S5 passes (fresh bucket)");
	pass(dp, S1, "policy C: re-added S1 passes (fresh bucket)");
	limited(dp, S4, "policy C: S4 still limited");
}

static void test_single_entries(struct sg_dp *dp)
{
	struct sg_err err = { 0 };
	struct sg_prefix p3 = st_prefix(S3);
	struct sg_trusted t;
	uint32_t slot4 = st_slot(dp, S4);
	long count = sg_dp_trust_count(dp);
	struct sg_config *cfg = malloc(sizeof(*cfg));
	__u64 gen_before;
	int rc;

	if (!cfg)
		tap_bail("out of memory");
	untrusted(dp, S3, "trust_put: S3 untrusted before");
	poison_buckets(dp);
	rc = trust_put(dp, S3, 1, 0, &err);
	tap_check(rc == 0 && sg_dp_trust_count(dp) == count + 1,
		  "trust_put: S3 added, count + 1", "rc %d (%s) count %ld", rc, err.msg,
		  sg_dp_trust_count(dp));
	tap_check(!sg_dp_trust_get(dp, &p3, &t) && t.relay_groups == 1 && t.class_idx == 0 &&
			  t.expires_ns == 0 && bucket_fresh(dp, t.slot),
		  "trust_get: S3 as put, with a reset bucket", "groups %llu class %u slot %u",
		  (unsigned long long)t.relay_groups, t.class_idx, t.slot);
	pass(dp, S3, "trust_put: S3 passes at once");

	rc = sg_dp_trust_del(dp, &p3, &err);
	tap_check(rc == 0 && sg_dp_trust_count(dp) == count, "trust_del: S3 removed, count back",
		  "rc %d count %ld", rc, sg_dp_trust_count(dp));
	untrusted(dp, S3, "trust_del: S3 untrusted at once");
	tap_check(sg_dp_trust_get(dp, &p3, &t) == -ENOENT, "trust_get: S3 gone", "still there");
	err = (struct sg_err){ 0 };
	rc = sg_dp_trust_del(dp, &p3, &err);
	tap_check(rc == -ENOENT && strstr(err.msg, S3) && strstr(err.msg, "not trusted"),
		  "trust_del: twice -> -ENOENT naming the prefix", "rc %d msg \"%s\"", rc, err.msg);

	/* Replacing an entry keeps its slot and bucket. */
	rc = trust_put(dp, S4, 1, SG_NO_CLASS, &err);
	tap_check(rc == 0 && st_slot(dp, S4) == slot4 && sg_dp_trust_count(dp) == count,
		  "trust_put: replacing S4 keeps its slot and the count", "rc %d slot %u", rc,
		  st_slot(dp, S4));
	pass(dp, S4, "trust_put: S4 made unlimited passes");
	trust_put(dp, S4, 1, 0, &err);
	limited(dp, S4, "trust_put: S4 back on its class is limited by its kept bucket");

	/* Prefix entries are probed at the lengths the config lists: the
	 * first /24 switches to a generation that lists 120 (96 + 24). */
	st_config(dp, cfg);
	gen_before = cfg->generation;
	tap_check(cfg->n_net_lens == 0, "nets: a hosts-only policy lists no prefix length",
		  "n_net_lens %u", cfg->n_net_lens);
	untrusted(dp, "198.18.2.7", "nets: 198.18.2.7 untrusted before");
	rc = trust_put(dp, NET, 1, SG_NO_CLASS, &err);
	st_config(dp, cfg);
	tap_check(rc == 0 && cfg->n_net_lens == 1 && cfg->net_lens[0] == 120 &&
			  cfg->generation == gen_before + 1 && sg_dp_trust_count(dp) == count + 1,
		  "nets: trust_put of a /24 switches to a generation listing length 120",
		  "rc %d n_net_lens %u lens[0] %u generation %llu", rc, cfg->n_net_lens,
		  cfg->net_lens[0], (unsigned long long)cfg->generation);
	limited(dp, S4, "nets: the new generation kept S4's entry and its exhausted bucket");
	pass(dp, "198.18.2.7", "nets: 198.18.2.7 passes via the /24");
	untrusted(dp, "198.18.3.7", "nets: 198.18.3.7 outside it is untrusted");
	trust_put(dp, NET25, 0, SG_NO_CLASS, &err);
	st_expect_to(dp, "198.18.2.7", RELAY, TCPF_SYN, SG_V_DROP, SG_R_UNAPPROVED_RELAY,
		     "nets: the longer /25 (no groups) wins");
	pass(dp, "198.18.2.200", "nets: 198.18.2.200 (only in the /24) passes");
	trust_put(dp, "198.18.2.7", 1, SG_NO_CLASS, &err);
	pass(dp, "198.18.2.7", "nets: a host entry beats the /25");
	st_config(dp, cfg);
	tap_check(cfg->n_net_lens == 2 && cfg->net_lens[0] == 121 && cfg->net_lens[1] == 120,
		  "nets: lengths are listed longest first", "n %u: %u %u", cfg->n_net_lens,
		  cfg->net_lens[0], cfg->net_lens[1]);
	rc = trust_put(dp, NET6, 1, SG_NO_CLASS, &err);
	tap_check(rc == 0, "nets: trust_put of an IPv6 /48", "%s", err.msg);
	pass(dp, "2001:db8:2::9", "nets: 2001:db8:2::9 passes via the /48");
	tap_check(sg_dp_trust_count(dp) == count + 4, "trust_count: 4 more entries",
		  "count %ld want %ld", sg_dp_trust_count(dp), count + 4);
	free(cfg);
}

static void test_failed_apply(struct sg_dp *dp)
{
	static const char *const dup_host[] = { S2, "=" S4, S1, S2, NULL };
	static const char *const dup_net[] = { S2, NET, "=" S4, NET, NULL };
	static const char *const pol_d[] = { S2, "=" S4, NULL };
	uint64_t gen = sg_dp_generation(dp), pkts;
	long count = sg_dp_trust_count(dp);
	struct sg_err err = { 0 };
	int rc;

	rc = apply(dp, dup_host, &err);
	tap_check(rc == -EEXIST && strstr(err.msg, S2) && strstr(err.msg, "twice"),
		  "duplicate host: apply fails naming " S2, "rc %d msg \"%s\"", rc, err.msg);
	err = (struct sg_err){ 0 };
	rc = apply(dp, dup_net, &err);
	tap_check(rc == -EEXIST && strstr(err.msg, NET),
		  "duplicate prefix: apply fails naming " NET, "rc %d msg \"%s\"", rc, err.msg);
	tap_check(sg_dp_generation(dp) == gen && sg_dp_trust_count(dp) == count,
		  "failed applies: generation and trust_count unchanged",
		  "gen %llu/%llu count %ld/%ld",
		  (unsigned long long)sg_dp_generation(dp), (unsigned long long)gen,
		  sg_dp_trust_count(dp), count);
	st_bucket_set(dp, "sg_buckets", st_slot(dp, S5), 0, 0);
	pass(dp, S5, "failed applies: packets still judged by the old policy (S5 passes)");
	pass(dp, "198.18.2.200", "failed applies: entries put since still pass");

	pkts = trusted_packets(dp);
	must_apply(dp, pol_d);
	tap_check(sg_dp_generation(dp) == gen + 1 && sg_dp_trust_count(dp) == 2 &&
			  trusted_packets(dp) == pkts,
		  "after failures a good apply works: generation + 1, 2 entries, counters kept",
		  "gen %llu count %ld", (unsigned long long)sg_dp_generation(dp),
		  sg_dp_trust_count(dp));
	untrusted(dp, S5, "policy D: S5 untrusted");
	untrusted(dp, "198.18.2.200", "policy D: the put /24 is gone with the reload");
}

static bool dir_exists(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static void test_pinning(void)
{
	static const char *const pol[] = { S1, "=" S4, NULL };
	struct sg_err err = { 0 };
	struct sg_dp *dp = NULL;
	uint32_t slot1, slot3, slot4;
	uint64_t gen, pkts;
	char meta_path[128];
	struct sg_meta meta;
	int fd, rc;

	rc = sg_dp_open(&dp, pin_dir, &err);
	if (rc)
		tap_bail("open %s: %s", pin_dir, err.msg);
	snprintf(meta_path, sizeof(meta_path), "%s/sg_meta", pin_dir);
	tap_check(!sg_dp_reused(dp) && access(meta_path, F_OK) == 0,
		  "pins: a fresh pin dir is created and pinned, not reused", "reused %d",
		  sg_dp_reused(dp));
	must_apply(dp, pol);
	trust_put(dp, S3, 1, SG_NO_CLASS, &err);
	pass(dp, S1, "pins: S1 passes before the restart");
	slot1 = st_slot(dp, S1);
	slot3 = st_slot(dp, S3);
	slot4 = st_slot(dp, S4);
	st_bucket_set(dp, "sg_buckets", slot4, sg_boot_ns() + 100 * ST_SEC, 0);
	gen = sg_dp_generation(dp);
	pkts = trusted_packets(dp);
	sg_dp_close(dp);

	rc = sg_dp_open(&dp, pin_dir, &err);
	if (rc)
		tap_bail("reopen %s: %s", pin_dir, err.msg);
	tap_check(sg_dp_reused(dp) && sg_dp_generation(dp) == gen && sg_dp_trust_count(dp) == 3,
		  "pins: reopen reuses them: same generation, 3 entries", "reused %d gen %llu/%llu "
		  "count %ld", sg_dp_reused(dp), (unsigned long long)sg_dp_generation(dp),
		  (unsigned long long)gen, sg_dp_trust_count(dp));
	tap_check(st_slot(dp, S1) == slot1 && st_slot(dp, S3) == slot3 && st_slot(dp, S4) == slot4,
		  "pins: trust_get finds S1, S3 (put) and S4 at their slots", "slots %u %u %u",
		  st_slot(dp, S1), st_slot(dp, S3), st_slot(dp, S4));
	tap_check(trusted_packets(dp) == pkts, "pins: counters survive", "%llu want %llu",
		  (unsigned long long)trusted_packets(dp), (unsigned long long)pkts);
	pass(dp, S3, "pins: the put S3 still passes");
	tap_check(trusted_packets(dp) == pkts + 1, "pins: counters continue", "%llu want %llu",
		  (unsigned long long)trusted_packets(dp), (unsigned long long)pkts + 1);
	limited(dp, S4, "pins: S4's exhausted bucket survived");
	must_apply(dp, pol);
	tap_check(sg_dp_generation(dp) == gen + 1 && st_slot(dp, S4) == slot4,
		  "pins: apply after reopen: generation + 1, S4 keeps its slot",
		  "gen %llu slot %u", (unsigned long long)sg_dp_generation(dp), st_slot(dp, S4));
	sg_dp_close(dp);

	/* Pins of another ABI are refused, not reused. */
	fd = bpf_obj_get(meta_path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &(__u32){ 0 }, &meta))
		tap_bail("read pinned sg_meta: %s", strerror(errno));
	meta.abi_version = SG_ABI_VERSION + 1;
	bpf_map_update_elem(fd, &(__u32){ 0 }, &meta, 0);
	err = (struct sg_err){ 0 };
	rc = sg_dp_open(&dp, pin_dir, &err);
	tap_check(rc != 0 && strstr(err.msg, "ABI"), "pins: a wrong abi_version is refused (ABI)",
		  "rc %d msg \"%s\"", rc, err.msg);
	if (!rc)
		sg_dp_close(dp);
	meta.abi_version = SG_ABI_VERSION;
	bpf_map_update_elem(fd, &(__u32){ 0 }, &meta, 0);
	close(fd);

	/* Not on bpffs: refused, whether the directory exists or not. */
	err = (struct sg_err){ 0 };
	rc = sg_dp_open(&dp, tmp_a, &err);
	tap_check(rc != 0 && strstr(err.msg, "BPF filesystem"),
		  "pins: a new pin dir under /tmp is refused (BPF filesystem)", "rc %d msg \"%s\"",
		  rc, err.msg);
	if (!rc)
		sg_dp_close(dp);
	mkdir(tmp_b, 0700);
	err = (struct sg_err){ 0 };
	rc = sg_dp_open(&dp, tmp_b, &err);
	tap_check(rc != 0 && strstr(err.msg, "BPF filesystem"),
		  "pins: an existing dir under /tmp is refused (BPF filesystem)",
		  "rc %d msg \"%s\"",
		  rc, err.msg);
	if (!rc)
		sg_dp_close(dp);

	rc = sg_dp_open(&dp, pin_dir, &err);
	if (rc)
		tap_bail("reopen for destroy: %s", err.msg);
	rc = sg_dp_destroy(dp, &err);
	tap_check(rc == 0 && !dir_exists(pin_dir), "pins: destroy removes the pins and the dir",
		  "rc %d (%s), dir %s", rc, err.msg, dir_exists(pin_dir) ? "still there" : "gone");
	sg_dp_close(dp);
}

/* S1 trusted, allowed to the group holding relays (port 25; 587 is
 * governed too but no relay's port). */
static void apply_relays(struct sg_dp *dp, const char *const *relays)
{
	static const char *const none[] = { NULL };
	static const uint16_t port25[] = { 25 };
	struct sg_policy p;
	struct sg_err err = { 0 };

	sg_policy_init(&p);
	sg_policy_add_port(&p, 25);
	sg_policy_add_port(&p, 587);
	h_group(&p, "relays", none);
	for (; *relays; relays++)
		h_relay_ports(&p, 0, *relays, port25, 1);
	h_trust(&p, S1, 1, SG_NO_CLASS, 0);
	if (sg_dp_apply(dp, &p, &err))
		tap_bail("apply: %s", err.msg);
	sg_policy_free(&p);
}

/* The per-CPU relay memo answers for one generation only: the packet
 * right after a reload that moves the relay must see the new table. */
static void test_relay_memo(struct sg_dp *dp)
{
	static const char *const only_a[] = { RELAY, NULL };
	static const char *const only_b[] = { RELAY_B, NULL };
	struct pkt_spec to_a = st_pkt(S1, RELAY, TCPF_SYN, 0);
	struct pkt_spec to_b = st_pkt(S1, RELAY_B, TCPF_SYN, 0);
	struct pkt_spec to_a587 = to_a;

	to_a587.dport = 587;
	apply_relays(dp, only_a);
	st_expect(dp, &to_a, SG_V_PASS, SG_R_TRUSTED, "relay memo: relay A passes");
	st_expect(dp, &to_a, SG_V_PASS, SG_R_TRUSTED, "relay memo: relay A passes again");
	st_expect(dp, &to_a587, SG_V_DROP, SG_R_UNAPPROVED_RELAY,
		  "relay memo: A on port 587 right after A:25 is not a relay");
	st_expect(dp, &to_a, SG_V_PASS, SG_R_TRUSTED, "relay memo: and A:25 still is");
	apply_relays(dp, only_b);
	st_expect(dp, &to_a, SG_V_DROP, SG_R_UNAPPROVED_RELAY,
		  "relay memo: after a reload that moves the relay, A is refused at once");
	st_expect(dp, &to_b, SG_V_PASS, SG_R_TRUSTED, "relay memo: relay B passes");
	st_expect(dp, &to_b, SG_V_PASS, SG_R_TRUSTED, "relay memo: relay B passes again");
	apply_relays(dp, only_a);
	st_expect(dp, &to_b, SG_V_DROP, SG_R_UNAPPROVED_RELAY,
		  "relay memo: moved back, B is refused at once");
	st_expect(dp, &to_a, SG_V_PASS, SG_R_TRUSTED, "relay memo: and A passes");
}

/* Nothing trusted; the relays on every governed port; ports[n]. */
static void apply_ports(struct sg_dp *dp, const uint16_t *ports, size_t n)
{
	static const char *const relays[] = { RELAY, RELAY6, NULL };
	struct sg_policy p;
	struct sg_err err = { 0 };

	sg_policy_init(&p);
	for (size_t i = 0; i < n; i++)
		sg_policy_add_port(&p, ports[i]);
	h_group(&p, "relays", relays);
	if (sg_dp_apply(dp, &p, &err))
		tap_bail("apply: %s", err.msg);
	sg_policy_free(&p);
}

/* The union of governed ports the programs test before anything else
 * equals the ports in force once a reload is over. */
static bool ports_any_exact(struct sg_dp *dp)
{
	static struct sg_live live;
	struct sg_config cfg;
	__u32 key = 0;

	if (bpf_map_lookup_elem(sg_dp_map_fd(dp, SG_LIVE_SECTION), &key, &live))
		return false;
	sg_dp_active_config(dp, &cfg);
	return !memcmp(live.ports_any, cfg.ports, sizeof(cfg.ports));
}

/* An untrusted SYN to port: governed (drop/untrusted_source) or not
 * (no counter), over IPv4 as the pre-parse finishes it, IPv4 with
 * options and IPv6 (both left to the full parser). */
static void expect_port(struct sg_dp *dp, uint16_t port, bool governed, const char *when)
{
	struct {
		struct pkt_spec s;
		const char *family;
	} frames[] = {
		{ st_pkt(S5, RELAY, TCPF_SYN, 0), "IPv4" },
		{ st_pkt(S5, RELAY, TCPF_SYN, 0), "IPv4 with options" },
		{ st_pkt("2001:db8:9::5", RELAY6, TCPF_SYN, 0), "IPv6" },
	};
	char name[160];

	frames[1].s.ip_opt_len = 8;
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		frames[i].s.dport = port;
		snprintf(name, sizeof(name), "ports: %s, port %u is %sgoverned (%s)", when, port,
			 governed ? "" : "not ", frames[i].family);
		st_expect(dp, &frames[i].s, governed ? SG_V_DROP : -1,
			  governed ? SG_R_UNTRUSTED_SOURCE : 0, name);
	}
}

/* Reloads that add, drop and move governed ports: after each, the
 * union the programs test first is exact and both ports are judged by
 * the new policy at once. */
static void test_ports_reload(struct sg_dp *dp)
{
	static const struct {
		uint16_t ports[2];
		size_t n;
		const char *when;
		bool gov25, gov587;
	} steps[] = {
		{ { 25 }, 1, "{25}", true, false },
		{ { 25, 587 }, 2, "{25} -> {25, 587}", true, true },
		{ { 587 }, 1, "{25, 587} -> {587}", false, true },
		{ { 25 }, 1, "{587} -> {25}", true, false },
	};
	char name[96];

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		apply_ports(dp, steps[i].ports, steps[i].n);
		expect_port(dp, 25, steps[i].gov25, steps[i].when);
		expect_port(dp, 587, steps[i].gov587, steps[i].when);
		snprintf(name, sizeof(name), "ports: %s: the programs' union is exactly the new ports",
			 steps[i].when);
		tap_ok(ports_any_exact(dp), name);
	}
}

/* ---- a full table ---- */

#define FULL_N (SG_MAX_TRUSTED - 1)
#define FULL_CHANGE 1000

/* Entry i of the big policies: distinct IPv6 hosts in 2001:db8::/32. */
static void full_addr(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "2001:db8:a:%zx::%zx", i >> 16, i & 0xffff);
}

/* Entries first .. first + n - 1, in the relay group, rate class 0 (so
 * that an exhausted bucket shows). */
static void full_policy(struct sg_policy *p, size_t first, size_t n)
{
	static const char *const none[] = { NULL };
	char a[SG_PREFIX_STRLEN];

	make_policy(p, none);
	for (size_t i = first; i < first + n; i++) {
		full_addr(i, a, sizeof(a));
		h_trust(p, a, 1, 0, 0);
	}
}

static int full_apply(struct sg_dp *dp, size_t first, size_t n, struct sg_err *err)
{
	struct sg_policy p;
	int rc;

	full_policy(&p, first, n);
	rc = sg_dp_apply(dp, &p, err);
	sg_policy_free(&p);
	return rc;
}

/* Entries first..first+n-1 each have their own slot, and every one
 * passes: most took over the slot of a removed entry whose bucket was
 * exhausted (full_poison), so each of them shows the slot was reset. */
static void full_check_new(struct sg_dp *dp, size_t first, size_t n, const char *when)
{
	uint64_t *seen = calloc(SG_MAX_TRUSTED / 64, sizeof(*seen));
	char a[SG_PREFIX_STRLEN], name[160];
	size_t passed = 0;
	bool unique = true;

	if (!seen)
		tap_bail("out of memory");
	for (size_t i = first; i < first + n; i++) {
		struct pkt_spec spec;
		struct st_outcome o;
		uint32_t slot;

		full_addr(i, a, sizeof(a));
		slot = st_slot(dp, a);
		unique &= slot < SG_MAX_TRUSTED && !(seen[slot / 64] & (1ull << (slot % 64)));
		if (slot < SG_MAX_TRUSTED)
			seen[slot / 64] |= 1ull << (slot % 64);
		spec = syn(a);
		st_run(dp, &spec, &o);
		passed += o.ret == XDP_PASS && o.verdict == SG_V_PASS && o.reason == SG_R_TRUSTED;
	}
	snprintf(name, sizeof(name), "%s: the %zu new entries each have their own slot", when, n);
	tap_ok(unique, name);
	snprintf(name, sizeof(name), "%s: all %zu new entries pass (slots taken over were reset)",
		 when, n);
	tap_check(passed == n, name, "%zu of %zu passed", passed, n);
	free(seen);
}

/* Marks the buckets of entries first..first+n-1 exhausted:
 * the entries that take their slots over must not inherit that. */
static void full_poison(struct sg_dp *dp, size_t first, size_t n)
{
	uint64_t far = sg_boot_ns() + 100 * ST_SEC;
	char a[SG_PREFIX_STRLEN];

	for (size_t i = first; i < first + n; i++) {
		full_addr(i, a, sizeof(a));
		st_bucket_set(dp, "sg_buckets", st_slot(dp, a), far, far);
	}
}

static void test_full_table(void)
{
	char want[64];
	struct sg_err err = { 0 };
	struct sg_dp *dp = NULL;
	char a[SG_PREFIX_STRLEN];
	uint32_t kept_slot;
	uint64_t gen;
	int rc;

	if (sg_dp_open(&dp, pin_dir, &err))
		tap_bail("open %s: %s", pin_dir, err.msg);
	if (full_apply(dp, 0, FULL_N, &err))
		tap_bail("apply %d entries: %s", FULL_N, err.msg);
	tap_check(sg_dp_trust_count(dp) == FULL_N, "full: a policy of SG_MAX_TRUSTED - 1 entries applies",
		  "count %ld", sg_dp_trust_count(dp));
	full_addr(FULL_N - 1, a, sizeof(a));
	kept_slot = st_slot(dp, a);
	full_poison(dp, 0, FULL_CHANGE);

	/* 1,000 prefixes replaced: one slot is free in both generations,
	 * 999 new entries take over the slots of removed ones. */
	rc = full_apply(dp, FULL_CHANGE, FULL_N, &err);
	tap_check(rc == 0 && sg_dp_trust_count(dp) == FULL_N,
		  "full: a reload replacing 1,000 of SG_MAX_TRUSTED - 1 prefixes succeeds",
		  "rc %d (%s) count %ld", rc, err.msg, sg_dp_trust_count(dp));
	full_check_new(dp, FULL_N, FULL_CHANGE, "full reload");
	full_addr(0, a, sizeof(a));
	untrusted(dp, a, "full reload: a removed entry is untrusted");
	full_addr(FULL_N - 1, a, sizeof(a));
	tap_check(st_slot(dp, a) == kept_slot, "full reload: an entry that stays keeps its slot",
		  "slot %u want %u", st_slot(dp, a), kept_slot);

	/* The same after a restart that keeps the pins. */
	full_poison(dp, FULL_CHANGE, FULL_CHANGE);
	sg_dp_close(dp);
	if (sg_dp_open(&dp, pin_dir, &err))
		tap_bail("reopen %s: %s", pin_dir, err.msg);
	rc = full_apply(dp, 2 * FULL_CHANGE, FULL_N, &err);
	tap_check(rc == 0 && sg_dp_trust_count(dp) == FULL_N,
		  "full, pins kept: a restart's policy replacing 1,000 prefixes applies",
		  "rc %d (%s) count %ld", rc, err.msg, sg_dp_trust_count(dp));
	full_check_new(dp, FULL_N + FULL_CHANGE, FULL_CHANGE, "full, pins kept");

	/* One entry more than the data plane holds: refused, saying so. */
	gen = sg_dp_generation(dp);
	err = (struct sg_err){ 0 };
	rc = full_apply(dp, 0, SG_MAX_TRUSTED + 1, &err);
	snprintf(want, sizeof(want), "more than %d trusted entries", SG_MAX_TRUSTED);
	tap_check(rc == -ENOSPC && strstr(err.msg, want) &&
			  sg_dp_generation(dp) == gen,
		  "full: a policy over the limit is refused with the limit, the running one stays",
		  "rc %d msg \"%s\"", rc, err.msg);
	if (sg_dp_destroy(dp, &err))
		tap_bail("destroy: %s", err.msg);
	sg_dp_close(dp);
}

/* The trusted tables are sized for the policy (with room for 4,096
 * approvals more): 6,000 approvals in place fill the host table, which
 * is then copied into one twice as large, every entry still found. */
static void test_tables_grow(struct sg_dp *dp)
{
	static const char *const one[] = { "198.18.9.1", NULL };
	struct sg_err err = { 0 };
	uint64_t gen;
	char a[64];
	int failed = 0, i;

	must_apply(dp, one);
	gen = sg_dp_generation(dp);
	for (i = 0; i < 6000; i++) {
		snprintf(a, sizeof(a), "2001:db8:77::%x", i + 1);
		failed += trust_put(dp, a, 1, SG_NO_CLASS, &err) != 0;
	}
	tap_check(!failed && sg_dp_trust_count(dp) == 6001,
		  "6,000 approvals in place beyond the policy's table: all go in",
		  "%d failed (last: %s), count %ld", failed, err.msg, sg_dp_trust_count(dp));
	tap_check(sg_dp_generation(dp) > gen, "the full table was copied into a larger one",
		  "generation %llu, was %llu", (unsigned long long)sg_dp_generation(dp),
		  (unsigned long long)gen);
	pass(dp, "2001:db8:77::1", "grown table: the first approval passes");
	pass(dp, "2001:db8:77::1770", "grown table: the last approval passes");
	pass(dp, "198.18.9.1", "grown table: the policy's entry passes");
	untrusted(dp, "2001:db8:77::1771", "grown table: a source never approved is untrusted");
}

/* A bulk import reserves room first: one copy of the generation (every
 * entry in it carried over, a batch at a time), then 20,000 puts that
 * never grow the table again. */
static void test_reserve(struct sg_dp *dp)
{
	static const char *const one[] = { "198.18.9.1", NULL };
	struct sg_err err = { 0 };
	uint64_t gen;
	char a[64];
	int failed = 0, rc, i;

	must_apply(dp, one);
	for (i = 0; i < 100; i++) {
		snprintf(a, sizeof(a), "2001:db8:78::%x", i + 1);
		failed += trust_put(dp, a, 1, SG_NO_CLASS, &err) != 0;
	}
	gen = sg_dp_generation(dp);
	rc = sg_dp_trust_reserve(dp, 100, 0, &err);
	tap_check(!failed && !rc && sg_dp_generation(dp) == gen,
		  "reserve: room for 100 more hosts is there already, nothing copied",
		  "%d failed, rc %d (%s), generation %llu, was %llu", failed, rc, err.msg,
		  (unsigned long long)sg_dp_generation(dp), (unsigned long long)gen);
	rc = sg_dp_trust_reserve(dp, 20000, 0, &err);
	tap_check(!rc && sg_dp_generation(dp) == gen + 1,
		  "reserve: room for 20,000 more hosts is one copy of the generation",
		  "rc %d (%s), generation %llu, was %llu", rc, err.msg,
		  (unsigned long long)sg_dp_generation(dp), (unsigned long long)gen);
	pass(dp, "198.18.9.1", "reserve: the policy's entry is carried over");
	pass(dp, "2001:db8:78::1", "reserve: the first approval is carried over");
	pass(dp, "2001:db8:78::64", "reserve: the last approval is carried over");
	for (i = 100; i < 20100; i++) {
		snprintf(a, sizeof(a), "2001:db8:78::%x", i + 1);
		failed += trust_put(dp, a, 1, SG_NO_CLASS, &err) != 0;
	}
	tap_check(!failed && sg_dp_trust_count(dp) == 20101 && sg_dp_generation(dp) == gen + 1,
		  "reserve: the 20,000 puts go in without another copy",
		  "%d failed (last: %s), count %ld, generation %llu", failed, err.msg,
		  sg_dp_trust_count(dp), (unsigned long long)sg_dp_generation(dp));
	pass(dp, "2001:db8:78::4e84", "reserve: the last put passes");
	untrusted(dp, "2001:db8:78::4e85", "reserve: a source never approved is untrusted");
}

int main(void)
{
	struct sg_dp *dp;

	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/sgt-%d", (int)getpid());
	snprintf(tmp_a, sizeof(tmp_a), "/tmp/sgt-%d-a", (int)getpid());
	snprintf(tmp_b, sizeof(tmp_b), "/tmp/sgt-%d-b", (int)getpid());
	cleanup(); /* a stale dir of a recycled pid */
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* One CPU, so that every packet meets the per-CPU memos (trusted
	 * lookup, relay) the previous one left: each change below must be
	 * seen by the very next packet through them. */
	if (st_pin_cpu(0))
		tap_bail("pin to CPU 0: %s", strerror(errno));
	dp = h_open();
	test_generations(dp);
	test_single_entries(dp);
	test_failed_apply(dp);
	test_relay_memo(dp);
	test_ports_reload(dp);
	test_tables_grow(dp);
	test_reserve(dp);
	sg_dp_close(dp);
	test_pinning();
	test_full_table();
	return tap_done();
}
