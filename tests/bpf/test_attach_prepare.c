// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Programs loaded ahead of attaching (sg_dp_prepare, which smtpgated runs
 * beside the policy's read at start): each attachment's counter slot is
 * compiled into its program, so a prepared program serves only if the
 * slot was guessed as sg_dp_attach finds it.  Checked on a veth pair in
 * a network namespace of this process's own:
 *   - a fresh table: the interfaces get slots 0, 1, 2 in order, an
 *     absent one skipped, and attaching them loads nothing more;
 *   - after a restart with the pins kept, in another order: the
 *     recorded slots are found, and again nothing more is loaded;
 *   - a wrong guess (an interface prepared but another one attached)
 *     costs a load and nothing else: the attachment is right.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dataplane.h"
#include "dp_internal.h"
#include "harness.h"
#include "tap.h"

static char pin_dir[64];

static void cleanup(void)
{
	h_remove_pins(pin_dir);
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static struct sg_dp *open_dp(void)
{
	struct sg_err err = { 0 };
	struct sg_dp *dp;

	if (sg_dp_open(&dp, pin_dir, &err))
		tap_bail("open %s: %s", pin_dir, err.msg);
	return dp;
}

/* "hook/slot hook/slot ..." of the programs dp holds, in load order. */
static const char *progs(const struct sg_dp *dp)
{
	static char buf[256];
	size_t at = 0;

	buf[0] = '\0';
	for (int i = 0; i < dp->n_progs && at < sizeof(buf); i++)
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%d/%u", i ? " " : "",
				       dp->progs[i].hook, dp->progs[i].slot);
	return buf;
}

/* The slot recorded for ifname at hook, -1 if none is attached there. */
static long attached_slot(struct sg_dp *dp, const char *ifname, int hook)
{
	struct sg_attachment a[SG_MAX_ATTACH];
	int n = sg_dp_attachments(dp, a, SG_MAX_ATTACH);

	for (int i = 0; i < n && i < SG_MAX_ATTACH; i++)
		if (a[i].hook == hook && !strcmp(a[i].ifname, ifname) && a[i].attached)
			return a[i].slot;
	return -1;
}

static void attach(struct sg_dp *dp, const char *ifname, int hook, const char *name)
{
	struct sg_err err = { 0 };
	int rc = sg_dp_attach(dp, ifname, hook, SG_XDP_AUTO, &err);

	tap_check(rc == 0, name, "attach %s hook %d: %s", ifname, hook, err.msg);
}

/* Attaches want[] in its order, as smtpgated does after preparing it,
 * the absent interface left out. */
static void attach_wanted(struct sg_dp *dp, const struct sg_dp_want *want, size_t n,
			  const char *phase)
{
	char name[96];

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(want[i].ifname, "sgp-absent"))
			continue;
		snprintf(name, sizeof(name), "%s: %s hook %d attaches", phase, want[i].ifname,
			 want[i].hook);
		attach(dp, want[i].ifname, want[i].hook, name);
	}
}

/* Prepares want[], checks the programs loaded (hook/slot, in order),
 * attaches want[] and checks that attaching loaded nothing more. */
static void prepare_then_attach(struct sg_dp *dp, const struct sg_dp_want *want, size_t n,
				const char *phase, const char *progs_want, const char *why)
{
	char name[96];

	sg_dp_prepare(dp, want, n);
	tap_check(!strcmp(progs(dp), progs_want), why, "programs (hook/slot): %s", progs(dp));
	attach_wanted(dp, want, n, phase);
	snprintf(name, sizeof(name), "%s: attaching loads no program beyond the prepared ones",
		 phase);
	tap_check(!strcmp(progs(dp), progs_want), name, "programs (hook/slot): %s", progs(dp));
}

static void test_fresh(void)
{
	const struct sg_dp_want want[] = {
		{ "sgp0", SG_HOOK_XDP },
		{ "sgp-absent", SG_HOOK_XDP },
		{ "sgp1", SG_HOOK_TC_INGRESS },
		{ "sgp0", SG_HOOK_TC_EGRESS },
	};
	struct sg_dp *dp = open_dp();

	prepare_then_attach(dp, want, sizeof(want) / sizeof(want[0]), "fresh", "1/0 2/1 3/2",
			    "fresh: slots 0, 1, 2 prepared in order, the absent interface skipped");
	tap_check(attached_slot(dp, "sgp0", SG_HOOK_XDP) == 0 &&
			  attached_slot(dp, "sgp1", SG_HOOK_TC_INGRESS) == 1 &&
			  attached_slot(dp, "sgp0", SG_HOOK_TC_EGRESS) == 2,
		  "fresh: the attachments are recorded at the prepared slots", "slots %ld %ld %ld",
		  attached_slot(dp, "sgp0", SG_HOOK_XDP), attached_slot(dp, "sgp1", SG_HOOK_TC_INGRESS),
		  attached_slot(dp, "sgp0", SG_HOOK_TC_EGRESS));
	sg_dp_close(dp);
}

static void test_restart(void)
{
	const struct sg_dp_want want[] = {
		{ "sgp0", SG_HOOK_TC_EGRESS },
		{ "sgp1", SG_HOOK_TC_INGRESS },
		{ "sgp0", SG_HOOK_XDP },
	};
	struct sg_dp *dp = open_dp();

	tap_check(sg_dp_reused(dp), "restart: the pins are reused", "a fresh data plane");
	prepare_then_attach(dp, want, sizeof(want) / sizeof(want[0]), "restart", "3/2 2/1 1/0",
			    "restart: the recorded slots are prepared, whatever the order");
	sg_dp_close(dp);
}

static void test_wrong_guess(void)
{
	const struct sg_dp_want want[] = { { "sgp1", SG_HOOK_XDP } };
	struct sg_dp *dp = open_dp();

	sg_dp_prepare(dp, want, 1);
	tap_check(!strcmp(progs(dp), "1/3"), "wrong guess: sgp1 XDP prepared at the next free slot",
		  "programs (hook/slot): %s", progs(dp));
	/* Not what was prepared: a new table entry for another hook. */
	attach(dp, "sgp1", SG_HOOK_TC_EGRESS, "wrong guess: sgp1 TC egress still attaches");
	tap_check(attached_slot(dp, "sgp1", SG_HOOK_TC_EGRESS) == 3 && dp->n_progs == 2 &&
			  dp->progs[1].hook == SG_HOOK_TC_EGRESS && dp->progs[1].slot == 3,
		  "wrong guess: attaching loads its own program, at the right slot",
		  "slot %ld, programs (hook/slot): %s", attached_slot(dp, "sgp1", SG_HOOK_TC_EGRESS),
		  progs(dp));
	sg_dp_close(dp);
}

int main(void)
{
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/sgt-prep-%d", (int)getpid());
	cleanup();
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* A network namespace of this process's own: its veth pair goes
	 * with it when the test exits, whatever happens. */
	if (unshare(CLONE_NEWNET))
		tap_bail("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (system("ip link add sgp0 type veth peer name sgp1 && ip link set sgp0 up && "
		   "ip link set sgp1 up"))
		tap_bail("cannot create the veth pair");
	test_fresh();
	test_restart();
	test_wrong_guess();
	return tap_done();
}
