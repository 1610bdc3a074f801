// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sgload: a small command line over the loader library, for the e2e and
 * load tests and the benchmarks: it drives the data plane without a
 * daemon, so a test of the maps and programs does not depend on
 * smtpgated's configuration, control socket or reload logic.  It builds a
 * policy from flags, applies it as a new generation on the pinned maps in
 * --pin-dir, attaches, and exits: enforcement stays (XDP links are
 * pinned, TC filters stay by themselves).  Run it inside the namespace
 * that owns the interfaces, with the host's bpffs visible (nsenter
 * --net=..., not `ip netns exec`).
 *
 * Test tooling: deliberately simple, no config file, no daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane.h"
#include "linktype.h"
#include "policy.h"

#define MAX_ITEMS 64

static const char usage_text[] =
	"usage:\n"
	"  sgload --pin-dir DIR [--port N]... [--scope PFX]...\n"
	"         --relay GROUP=ADDR[:PORT]... --trust PFX=GROUP[,GROUP]...\n"
	"         [--class NAME:conn_per_sec:conn_burst:bytes_per_sec:bytes_burst]...\n"
	"         [--trust-class PFX=NAME]... [--unregistered drop|reject|throttle:CLASS]\n"
	"         [--monitor] [--attach IF:HOOK[:XDPMODE]]...\n"
	"      apply the policy as a new generation on the maps pinned in DIR\n"
	"      (created if absent), attach, and exit; enforcement stays.\n"
	"  sgload --pin-dir DIR --counters IF:HOOK\n"
	"      print the non-zero counters of one attachment, one line each:\n"
	"      \"VERDICT REASON PACKETS BYTES CONNS\"\n"
	"  sgload --pin-dir DIR --detach\n"
	"      detach everything recorded in DIR and remove its pins\n"
	"\n"
	"  HOOK: xdp | tc-ingress | tc-egress     XDPMODE: auto (default) | native | generic\n"
	"  ADDR: 198.18.0.25, 198.18.0.25:25, 2001:db8::25, [2001:db8::25]:25\n"
	"  --port defaults to 25; relays without :PORT take every governed port.\n"
	"  Trusted entries are unlimited unless --trust-class names a class.\n"
	"  A rate of 0 means no limit on that dimension.\n"
	"\n"
	"  Exit status: 0 done, 1 failed, 2 bad usage.\n";

/* Everything from the command line, before it is turned into a policy. */
struct opts {
	const char *pin_dir;
	const char *counters;
	const char *unregistered;
	bool detach;
	bool monitor;
	const char *ports[MAX_ITEMS], *scopes[MAX_ITEMS], *relays[MAX_ITEMS];
	const char *trusts[MAX_ITEMS], *classes[MAX_ITEMS], *trust_classes[MAX_ITEMS];
	const char *attaches[MAX_ITEMS];
	int n_ports, n_scopes, n_relays, n_trusts, n_classes, n_trust_classes, n_attaches;
};

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "sgload: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(sgload --help for usage)\n");
	return 2;
}

static int push(const char **arr, int *n, const char *v, const char *flag)
{
	if (*n >= MAX_ITEMS)
		return bad_usage("too many %s (at most 64)", flag);
	arr[(*n)++] = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "scope", required_argument, NULL, 's' },
		{ "relay", required_argument, NULL, 'r' },
		{ "trust", required_argument, NULL, 't' },
		{ "class", required_argument, NULL, 'c' },
		{ "trust-class", required_argument, NULL, 'T' },
		{ "unregistered", required_argument, NULL, 'u' },
		{ "monitor", no_argument, NULL, 'm' },
		{ "attach", required_argument, NULL, 'a' },
		{ "counters", required_argument, NULL, 'C' },
		{ "detach", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;

	while (!rc && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->pin_dir = optarg; break;
		case 'p': rc = push(o->ports, &o->n_ports, optarg, "--port"); break;
		case 's': rc = push(o->scopes, &o->n_scopes, optarg, "--scope"); break;
		case 'r': rc = push(o->relays, &o->n_relays, optarg, "--relay"); break;
		case 't': rc = push(o->trusts, &o->n_trusts, optarg, "--trust"); break;
		case 'c': rc = push(o->classes, &o->n_classes, optarg, "--class"); break;
		case 'T':
			rc = push(o->trust_classes, &o->n_trust_classes, optarg, "--trust-class");
			break;
		case 'u': o->unregistered = optarg; break;
		case 'm': o->monitor = true; break;
		case 'a': rc = push(o->attaches, &o->n_attaches, optarg, "--attach"); break;
		case 'C': o->counters = optarg; break;
		case 'D': o->detach = true; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			return 2;
		}
	}
	if (rc)
		return rc;
	if (optind < argc)
		return bad_usage("unexpected argument \"%s\"", argv[optind]);
	if (!o->pin_dir)
		return bad_usage("%s", "--pin-dir is required");
	if (o->detach && o->counters)
		return bad_usage("%s", "--detach and --counters do not go together");
	if ((o->detach || o->counters) &&
	    (o->n_ports || o->n_scopes || o->n_relays || o->n_trusts || o->n_classes ||
	     o->n_trust_classes || o->n_attaches || o->unregistered || o->monitor))
		return bad_usage("%s", "--detach and --counters take no policy or --attach flags");
	return 0;
}

/* ---- small parsers ---- */

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out > max ? -EINVAL : 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	*out = strtod(s, &end);
	return errno || *end || *out < 0 ? -EINVAL : 0;
}

static int parse_hook(const char *s)
{
	if (!strcmp(s, "xdp"))
		return SG_HOOK_XDP;
	if (!strcmp(s, "tc-ingress"))
		return SG_HOOK_TC_INGRESS;
	if (!strcmp(s, "tc-egress"))
		return SG_HOOK_TC_EGRESS;
	return -1;
}

/* "IF:HOOK[:MODE]" into its parts (buf is scratch space). */
static int parse_attach(const char *text, char *buf, size_t len, const char **ifname,
			int *hook, int *mode)
{
	char *hook_s, *mode_s;

	if (snprintf(buf, len, "%s", text) >= (int)len)
		return -EINVAL;
	hook_s = strchr(buf, ':');
	if (!hook_s || hook_s == buf)
		return -EINVAL;
	*hook_s++ = '\0';
	mode_s = strchr(hook_s, ':');
	if (mode_s)
		*mode_s++ = '\0';
	*ifname = buf;
	*hook = parse_hook(hook_s);
	if (*hook < 0)
		return -EINVAL;
	*mode = SG_XDP_AUTO;
	if (!mode_s)
		return 0;
	if (*hook != SG_HOOK_XDP)
		return -EINVAL;
	if (!strcmp(mode_s, "native"))
		*mode = SG_XDP_NATIVE;
	else if (!strcmp(mode_s, "generic"))
		*mode = SG_XDP_GENERIC;
	else if (strcmp(mode_s, "auto"))
		return -EINVAL;
	return 0;
}

/* "ADDR", "V4:PORT" or "[V6]:PORT"; *port 0 when none is given. */
static int parse_relay_addr(const char *text, struct sg_addr *addr, uint16_t *port)
{
	char buf[128], *colon = NULL, *a = buf;
	unsigned long p = 0;

	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return -EINVAL;
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		*close = '\0';
		a = buf + 1;
		if (close[1] == ':')
			colon = close + 1;
	} else if (strchr(buf, ':') == strrchr(buf, ':')) {
		colon = strchr(buf, ':'); /* IPv4 with a port, or NULL */
		if (colon)
			*colon = '\0';
	}
	if (colon && (parse_uint(colon + 1, 65535, &p) || !p))
		return -EINVAL;
	*port = (uint16_t)p;
	return sg_addr_parse(a, addr, NULL);
}

/* ---- building the policy ---- */

/* Splits "KEY=VALUE" at the first '='; returns VALUE or NULL. */
static char *split_eq(char *s)
{
	char *eq = strchr(s, '=');

	if (!eq || eq == s || !eq[1])
		return NULL;
	*eq = '\0';
	return eq + 1;
}

static int add_classes(struct sg_policy *p, const struct opts *o)
{
	for (int i = 0; i < o->n_classes; i++) {
		struct sg_rate_class c = {};
		char buf[256], *f[5], *save = NULL, *tok;
		int n = 0;

		snprintf(buf, sizeof(buf), "%s", o->classes[i]);
		for (tok = strtok_r(buf, ":", &save); tok && n < 5; tok = strtok_r(NULL, ":", &save))
			f[n++] = tok;
		if (n != 5 || tok || strlen(f[0]) >= SG_NAME_MAX ||
		    parse_double(f[1], &c.conn_per_sec) || parse_double(f[2], &c.conn_burst) ||
		    parse_double(f[3], &c.bytes_per_sec) || parse_double(f[4], &c.bytes_burst))
			return bad_usage("--class \"%s\": want NAME:conn_per_sec:conn_burst:"
					 "bytes_per_sec:bytes_burst (numbers >= 0)", o->classes[i]);
		if (sg_policy_class_index(p, f[0]) >= 0)
			return bad_usage("--class: \"%s\" is defined twice", f[0]);
		snprintf(c.name, sizeof(c.name), "%s", f[0]);
		if (sg_policy_add_class(p, &c) < 0)
			return bad_usage("--class \"%s\": too many classes", o->classes[i]);
	}
	return 0;
}

static int add_relays(struct sg_policy *p, const struct opts *o)
{
	for (int i = 0; i < o->n_relays; i++) {
		char buf[256], *val;
		struct sg_addr addr;
		uint16_t port;
		int g;

		snprintf(buf, sizeof(buf), "%s", o->relays[i]);
		val = split_eq(buf);
		if (!val || strlen(buf) >= SG_NAME_MAX || parse_relay_addr(val, &addr, &port))
			return bad_usage("--relay \"%s\": want GROUP=ADDR[:PORT] "
					 "(IPv6 with a port: [ADDR]:PORT)", o->relays[i]);
		g = sg_policy_group_index(p, buf);
		if (g < 0)
			g = sg_policy_add_group(p, buf);
		if (g < 0 || sg_policy_add_relay(p, g, &addr, port ? &port : NULL, port ? 1 : 0))
			return bad_usage("--relay \"%s\": too many groups or out of memory",
					 o->relays[i]);
	}
	return 0;
}

/* The class named for prefix by --trust-class, SG_NO_CLASS if none. */
static int trust_class_of(const struct sg_policy *p, const struct opts *o,
			  const struct sg_prefix *prefix, uint32_t *class_idx)
{
	*class_idx = SG_NO_CLASS;
	for (int i = 0; i < o->n_trust_classes; i++) {
		char buf[256], *name;
		struct sg_prefix tp;
		int c;

		snprintf(buf, sizeof(buf), "%s", o->trust_classes[i]);
		name = split_eq(buf);
		if (!name || sg_prefix_parse(buf, &tp, NULL))
			return bad_usage("--trust-class \"%s\": want PFX=CLASS",
					 o->trust_classes[i]);
		if (!sg_prefix_equal(&tp, prefix))
			continue;
		c = sg_policy_class_index(p, name);
		if (c < 0)
			return bad_usage("--trust-class: no --class named \"%s\"", name);
		*class_idx = (uint32_t)c;
	}
	return 0;
}

static int add_trusted(struct sg_policy *p, const struct opts *o)
{
	for (int i = 0; i < o->n_trusts; i++) {
		struct sg_trusted_entry t = { .ticket = "sgload", .owner = "sgload" };
		char buf[512], *groups, *save = NULL, *g;
		struct sg_err err = {};
		uint32_t class_idx;
		int rc;

		snprintf(buf, sizeof(buf), "%s", o->trusts[i]);
		groups = split_eq(buf);
		if (!groups)
			return bad_usage("--trust \"%s\": want PFX=GROUP[,GROUP]", o->trusts[i]);
		if (sg_prefix_parse(buf, &t.prefix, &err))
			return bad_usage("--trust: %s", err.msg);
		for (g = strtok_r(groups, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
			int idx = sg_policy_group_index(p, g);

			if (idx < 0)
				return bad_usage("--trust: no --relay group named \"%s\"", g);
			t.groups |= 1ull << idx;
		}
		rc = trust_class_of(p, o, &t.prefix, &class_idx);
		if (rc)
			return rc;
		sg_entry_set_class(&t, class_idx);
		if (sg_policy_find_trusted(p, &t.prefix) >= 0)
			return bad_usage("--trust \"%s\": prefix given twice", o->trusts[i]);
		if (sg_policy_add_trusted(p, &t))
			return bad_usage("%s", "out of memory");
	}
	/* A --trust-class for a prefix that is not trusted is a typo. */
	for (int i = 0; i < o->n_trust_classes; i++) {
		char buf[256];
		struct sg_prefix tp;

		snprintf(buf, sizeof(buf), "%s", o->trust_classes[i]);
		if (split_eq(buf) && !sg_prefix_parse(buf, &tp, NULL) &&
		    sg_policy_find_trusted(p, &tp) < 0)
			return bad_usage("--trust-class \"%s\": that prefix has no --trust",
					 o->trust_classes[i]);
	}
	return 0;
}

static int set_unregistered(struct sg_policy *p, const char *text)
{
	int c;

	if (!text || !strcmp(text, "drop")) {
		p->unreg_action = SG_UNREG_DROP;
	} else if (!strcmp(text, "reject")) {
		p->unreg_action = SG_UNREG_REJECT;
	} else if (!strncmp(text, "throttle:", 9)) {
		c = sg_policy_class_index(p, text + 9);
		if (c < 0)
			return bad_usage("--unregistered: no --class named \"%s\"", text + 9);
		p->unreg_action = SG_UNREG_THROTTLE;
		p->unreg_class = (uint32_t)c;
	} else {
		return bad_usage("--unregistered \"%s\": want drop, reject or throttle:CLASS",
				 text);
	}
	return 0;
}

static int build_policy(struct sg_policy *p, const struct opts *o)
{
	int rc;

	for (int i = 0; i < o->n_ports; i++) {
		unsigned long port;

		if (parse_uint(o->ports[i], 65535, &port) || !port)
			return bad_usage("--port \"%s\": want 1-65535", o->ports[i]);
		sg_policy_add_port(p, (uint16_t)port);
	}
	if (!o->n_ports)
		sg_policy_add_port(p, 25);
	for (int i = 0; i < o->n_scopes; i++) {
		struct sg_prefix pfx;
		struct sg_err err = {};

		if (sg_prefix_parse(o->scopes[i], &pfx, &err))
			return bad_usage("--scope: %s", err.msg);
		sg_policy_add_scope(p, &pfx);
	}
	rc = add_classes(p, o);
	if (!rc)
		rc = add_relays(p, o);
	if (!rc)
		rc = add_trusted(p, o);
	if (!rc)
		rc = set_unregistered(p, o->unregistered);
	p->mode = o->monitor ? SG_MODE_MONITOR : SG_MODE_ENFORCE;
	return rc;
}

/* ---- commands ---- */

static int fail(const char *what, const struct sg_err *err)
{
	fprintf(stderr, "sgload: %s: %s\n", what, err->msg[0] ? err->msg : strerror(-err->code));
	return 1;
}

static int cmd_apply(const struct opts *o)
{
	struct sg_attachment att[SG_MAX_ATTACH];
	struct sg_policy p;
	struct sg_err err = {};
	struct sg_dp *dp;
	int rc, n;

	/* Check every --attach before anything changes. */
	for (int i = 0; i < o->n_attaches; i++) {
		char buf[64];
		const char *ifname;
		int hook, mode;

		if (parse_attach(o->attaches[i], buf, sizeof(buf), &ifname, &hook, &mode))
			return bad_usage("--attach \"%s\": want IF:xdp[:auto|native|generic], "
					 "IF:tc-ingress or IF:tc-egress", o->attaches[i]);
		if (!if_nametoindex(ifname)) {
			fprintf(stderr, "sgload: --attach %s: no interface %s in this network "
				"namespace; nothing changed\n", o->attaches[i], ifname);
			return 1;
		}
		if (sg_link_check_ethernet(ifname, NULL, &err)) {
			fprintf(stderr, "sgload: --attach %s: %s; nothing changed\n",
				o->attaches[i], err.msg);
			return 1;
		}
	}
	sg_policy_init(&p);
	rc = build_policy(&p, o);
	if (rc) {
		sg_policy_free(&p);
		return rc;
	}
	if (sg_dp_open(&dp, o->pin_dir, &err)) {
		sg_policy_free(&p);
		return fail(o->pin_dir, &err);
	}
	rc = sg_dp_apply(dp, &p, &err) ? fail("apply policy", &err) : 0;
	sg_policy_free(&p);
	if (!rc)
		printf("sgload: policy generation %llu applied\n",
		       (unsigned long long)sg_dp_generation(dp));
	for (int i = 0; !rc && i < o->n_attaches; i++) {
		char buf[64];
		const char *ifname;
		int hook, mode;

		parse_attach(o->attaches[i], buf, sizeof(buf), &ifname, &hook, &mode);
		if (sg_dp_attach(dp, ifname, hook, mode, &err))
			rc = fail(o->attaches[i], &err);
	}
	n = rc ? 0 : sg_dp_attachments(dp, att, SG_MAX_ATTACH);
	for (int i = 0; i < n && i < SG_MAX_ATTACH; i++)
		printf("sgload: %s %s%s%s slot %u\n", att[i].ifname, sg_hook_name(att[i].hook),
		       att[i].xdp_flags & XDP_FLAGS_DRV_MODE ? " native" :
		       att[i].xdp_flags & XDP_FLAGS_SKB_MODE ? " generic" : "",
		       att[i].attached ? "" : " (not attached)", att[i].slot);
	sg_dp_close(dp);
	return rc;
}

static int cmd_counters(const struct opts *o)
{
	struct sg_counter c[SG_V_COUNT][SG_R_COUNT];
	struct sg_attachment att[SG_MAX_ATTACH];
	struct sg_err err = {};
	char buf[64];
	const char *ifname;
	int hook, mode, n, rc = 1;
	bool found = false;
	struct sg_dp *dp;

	if (parse_attach(o->counters, buf, sizeof(buf), &ifname, &hook, &mode))
		return bad_usage("--counters \"%s\": want IF:HOOK", o->counters);
	if (sg_dp_open_pinned(&dp, o->pin_dir, &err))
		return fail("--counters", &err);
	n = sg_dp_attachments(dp, att, SG_MAX_ATTACH);
	for (int i = 0; i < n && i < SG_MAX_ATTACH; i++) {
		if (att[i].hook != hook || strcmp(att[i].ifname, ifname))
			continue;
		found = true;
		rc = sg_dp_read_counters(dp, att[i].slot, c);
		if (rc) {
			fprintf(stderr, "sgload: read counters: %s\n", strerror(-rc));
			rc = 1;
			break;
		}
		for (int v = 0; v < SG_V_COUNT; v++)
			for (int r = 0; r < SG_R_COUNT; r++)
				if (c[v][r].packets || c[v][r].bytes || c[v][r].conns)
					printf("%s %s %llu %llu %llu\n", sg_verdict_names[v],
					       sg_reason_names[r],
					       (unsigned long long)c[v][r].packets,
					       (unsigned long long)c[v][r].bytes,
					       (unsigned long long)c[v][r].conns);
		break;
	}
	if (!found)
		fprintf(stderr, "sgload: %s %s is not attached in %s\n", ifname, sg_hook_name(hook),
			o->pin_dir);
	sg_dp_close(dp);
	return rc;
}

static int cmd_detach(const struct opts *o)
{
	struct sg_err err = {};
	struct sg_dp *dp;
	int rc;

	if (sg_dp_open_pinned(&dp, o->pin_dir, &err))
		return fail("--detach", &err);
	rc = sg_dp_destroy(dp, &err) ? fail("--detach", &err) : 0;
	sg_dp_close(dp);
	if (!rc)
		printf("sgload: detached; pins in %s removed\n", o->pin_dir);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc;
	if (o.detach)
		return cmd_detach(&o);
	if (o.counters)
		return cmd_counters(&o);
	return cmd_apply(&o);
}
