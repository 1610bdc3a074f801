// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sgpolicy: apply a policy.json (the daemon's own loader and validation)
 * to the maps pinned in a directory, and attach or detach single hooks,
 * without a daemon.  For the live benchmark, which loads a 100,000-entry
 * policy once and then moves smtpgate between XDP and TC ingress round
 * after round; sgload's flags cannot carry 100,000 entries, and
 * restarting smtpgated per round would reload them every time.
 *
 * Run it inside the namespace that owns the interfaces, with the host's
 * bpffs visible (nsenter --net=..., not `ip netns exec`).  Files are
 * checked like the daemon's --test-mode: any owner, never group- or
 * world-writable.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_link.h>
#include "dataplane.h"
#include "linktype.h"
#include "load.h"

#define MAX_HOOKS 16

static const char usage_text[] =
	"usage:\n"
	"  sgpolicy --pin-dir DIR [--policy FILE] [--attach IF:HOOK[:MODE]]...\n"
	"           [--detach IF:HOOK]...\n"
	"      apply FILE as a new generation on the maps pinned in DIR (created\n"
	"      if absent), then detach and attach the given hooks, and exit;\n"
	"      enforcement stays.\n"
	"  sgpolicy --pin-dir DIR --destroy\n"
	"      detach everything recorded in DIR and remove its pins\n"
	"\n"
	"  HOOK: xdp | tc-ingress | tc-egress     MODE: auto (default) | native | generic\n"
	"  Exit status: 0 done, 1 failed, 2 bad usage.\n";

struct hook_arg {
	char ifname[32];
	int hook;
	int mode;
};

struct opts {
	const char *pin_dir;
	const char *policy;
	struct hook_arg attach[MAX_HOOKS], detach[MAX_HOOKS];
	int n_attach, n_detach;
	bool destroy;
};

static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "sgpolicy: %s%s%s\n(sgpolicy --help for usage)\n", what,
		arg ? ": " : "", arg ? arg : "");
	return 2;
}

static int parse_hook_arg(const char *text, struct hook_arg *h)
{
	char buf[64], *hook, *mode;

	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return -1;
	hook = strchr(buf, ':');
	if (!hook || hook == buf || hook - buf >= (long)sizeof(h->ifname))
		return -1;
	*hook++ = '\0';
	mode = strchr(hook, ':');
	if (mode)
		*mode++ = '\0';
	memcpy(h->ifname, buf, (size_t)(hook - buf)); /* the name and its NUL */
	if (!strcmp(hook, "xdp"))
		h->hook = SG_HOOK_XDP;
	else if (!strcmp(hook, "tc-ingress"))
		h->hook = SG_HOOK_TC_INGRESS;
	else if (!strcmp(hook, "tc-egress"))
		h->hook = SG_HOOK_TC_EGRESS;
	else
		return -1;
	h->mode = SG_XDP_AUTO;
	if (!mode || !strcmp(mode, "auto"))
		return 0;
	if (h->hook != SG_HOOK_XDP)
		return -1;
	if (!strcmp(mode, "native"))
		h->mode = SG_XDP_NATIVE;
	else if (!strcmp(mode, "generic"))
		h->mode = SG_XDP_GENERIC;
	else
		return -1;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "policy", required_argument, NULL, 'p' },
		{ "attach", required_argument, NULL, 'a' },
		{ "detach", required_argument, NULL, 'x' },
		{ "destroy", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->pin_dir = optarg; break;
		case 'p': o->policy = optarg; break;
		case 'a':
			if (o->n_attach >= MAX_HOOKS || parse_hook_arg(optarg, &o->attach[o->n_attach++]))
				return bad_usage("--attach wants IF:HOOK[:MODE] (at most 16)", optarg);
			break;
		case 'x':
			if (o->n_detach >= MAX_HOOKS || parse_hook_arg(optarg, &o->detach[o->n_detach++]))
				return bad_usage("--detach wants IF:HOOK (at most 16)", optarg);
			break;
		case 'D': o->destroy = true; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: return 2;
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument", argv[optind]);
	if (!o->pin_dir)
		return bad_usage("--pin-dir is required", NULL);
	if (o->destroy && (o->policy || o->n_attach || o->n_detach))
		return bad_usage("--destroy takes no other flag", NULL);
	if (!o->destroy && !o->policy && !o->n_attach && !o->n_detach)
		return bad_usage("nothing to do", NULL);
	return 0;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int apply_policy(struct sg_dp *dp, const char *path)
{
	struct sg_load_opts lo = { .allow_any_owner = true };
	struct sg_diag diag = {};
	struct sg_err err = {};
	struct sg_policy p;
	struct timespec t0;
	double t_load;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = sg_policy_load(path, &lo, &p, NULL, &diag);
	sg_diag_print(&diag, stderr);
	sg_diag_free(&diag);
	if (rc) {
		fprintf(stderr, "sgpolicy: %s: refused\n", path);
		return 1;
	}
	t_load = since(&t0);
	rc = sg_dp_apply(dp, &p, &err);
	if (rc)
		fprintf(stderr, "sgpolicy: apply %s: %s\n", path, err.msg);
	else
		printf("sgpolicy: %zu trusted entries, generation %llu applied "
		       "(parse %.2f s, apply %.2f s)\n", p.n_trusted,
		       (unsigned long long)sg_dp_generation(dp), t_load, since(&t0) - t_load);
	sg_policy_free(&p);
	return rc ? 1 : 0;
}

static int change_hooks(struct sg_dp *dp, const struct opts *o)
{
	struct sg_err err = {};

	for (int i = 0; i < o->n_detach; i++) {
		if (sg_dp_detach(dp, o->detach[i].ifname, o->detach[i].hook, &err)) {
			fprintf(stderr, "sgpolicy: detach %s: %s\n", o->detach[i].ifname, err.msg);
			return 1;
		}
		printf("sgpolicy: %s detached\n", o->detach[i].ifname);
	}
	for (int i = 0; i < o->n_attach; i++) {
		if (sg_dp_attach(dp, o->attach[i].ifname, o->attach[i].hook, o->attach[i].mode,
				 &err)) {
			fprintf(stderr, "sgpolicy: attach %s: %s\n", o->attach[i].ifname, err.msg);
			return 1;
		}
	}
	if (o->n_attach) {
		struct sg_attachment att[SG_MAX_ATTACH];
		int n = sg_dp_attachments(dp, att, SG_MAX_ATTACH);

		for (int i = 0; i < n && i < SG_MAX_ATTACH; i++)
			printf("sgpolicy: %s hook %d%s slot %u%s\n", att[i].ifname, att[i].hook,
			       att[i].xdp_flags & XDP_FLAGS_DRV_MODE ? " native" :
			       att[i].xdp_flags & XDP_FLAGS_SKB_MODE ? " generic" : "",
			       att[i].slot, att[i].attached ? "" : " (not attached)");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	struct sg_err err = {};
	struct sg_dp *dp;
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc;
	/* Every --attach target is checked before anything is pinned: a
	 * device that is absent or not Ethernet changes nothing. */
	for (int i = 0; i < o.n_attach; i++) {
		if (sg_link_check_ethernet(o.attach[i].ifname, NULL, &err)) {
			fprintf(stderr, "sgpolicy: attach %s: %s; nothing changed\n",
				o.attach[i].ifname, err.msg);
			return 1;
		}
	}
	if (sg_dp_open(&dp, o.pin_dir, &err)) {
		fprintf(stderr, "sgpolicy: %s: %s\n", o.pin_dir, err.msg);
		return 1;
	}
	if (o.destroy) {
		rc = sg_dp_destroy(dp, &err) ? 1 : 0;
		if (rc)
			fprintf(stderr, "sgpolicy: destroy: %s\n", err.msg);
	} else {
		rc = o.policy ? apply_policy(dp, o.policy) : 0;
		if (!rc)
			rc = change_hooks(dp, &o);
	}
	sg_dp_close(dp);
	return rc;
}
