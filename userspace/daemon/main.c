// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgated: loads the policy, attaches the programs, keeps enforcing
 * across its own restarts, reloads and link flaps.  Enforcement lives in
 * the kernel (pinned maps and links, TC filters): stopping or killing the
 * daemon leaves it in force; only --detach removes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "control.h"
#include "clock.h"
#include "daemon.h"
#include "fleet.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "notify.h"
#include "safe_path.h"
#include "threads.h"
#include "usage_history.h"

/* glibc's own starting value, kept: only its growth is switched off. */
#define SGD_MMAP_THRESHOLD (128 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: smtpgated [--config FILE] [--check | --detach] [OPTIONS]\n"
		"\n"
		"Enforces the SMTP egress policy with XDP/TC programs: loads the policy,\n"
		"attaches to the configured interfaces, persists approvals, writes the audit\n"
		"log and events, serves the control socket and /metrics.  Runs in the\n"
		"foreground (systemd Type=notify).  Enforcement stays in force when the\n"
		"daemon stops or is killed; only --detach removes it.\n"
		"\n"
		"  -c, --config FILE   host config (default %s)\n"
		"      --check         validate config, policy and approvals, and that each\n"
		"                      configured interface present is Ethernet; exit 0/1\n"
		"      --detach        remove smtpgate's programs, links and pins, then exit\n"
		"      --test-mode     accept config and policy files not owned by root\n"
		"                      (for tests and labs; permissions are still checked)\n"
		"      --syslog        also log to syslog (journald reads stderr already)\n"
		"  -v, --verbose       debug logging\n"
		"  -h, --help          this help\n"
		"  -V, --version       version\n"
		"\n"
		"Signals: SIGHUP reloads the policy (refused whole if invalid), SIGTERM and\n"
		"SIGINT stop the daemon.  See smtpgated(8) and docs/operations.md.\n",
		SG_DEFAULT_CONFIG);
}

static int parse_args(int argc, char **argv, struct sgd_opts *o)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "detach", no_argument, NULL, 'd' },
		{ "test-mode", no_argument, NULL, 't' },
		{ "syslog", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	o->config_path = SG_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:vhV", longs, NULL)) != -1) {
		switch (c) {
		case 'c': o->config_path = optarg; break;
		case 'k': o->check = true; break;
		case 'd': o->detach = true; break;
		case 't': o->allow_any_owner = true; break;
		case 's': o->use_syslog = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("smtpgated %s (libbpf %s)\n", SG_VERSION, libbpf_version_string());
			  exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "smtpgated: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (o->check && o->detach) {
		fprintf(stderr, "smtpgated: --check and --detach exclude each other\n");
		return -1;
	}
	return 0;
}

static int make_dir(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -1;
	return 0;
}

static int load_config(struct sgd *d)
{
	struct sg_diag diag = { 0 };
	int rc;

	sg_host_config_init(&d->cfg);
	rc = sg_config_load(d->opts.config_path, &d->load_opts, &d->cfg, &diag);
	sg_diag_print(&diag, stderr);
	sg_diag_free(&diag);
	if (rc)
		fprintf(stderr, "smtpgated: %s: refused\n", d->opts.config_path);
	snprintf(d->approvals_path, sizeof(d->approvals_path), "%s/approvals.json",
		 d->cfg.state_dir);
	snprintf(d->audit_path, sizeof(d->audit_path), "%s/audit.jsonl", d->cfg.log_dir);
	snprintf(d->events_path, sizeof(d->events_path), "%s/events.jsonl", d->cfg.log_dir);
	return rc;
}

/* One daemon per state dir: two would fight over approvals.json. */
static int take_lock(struct sgd *d)
{
	struct sg_err err = { 0 };
	char path[PATH_MAX], pid[32];

	snprintf(path, sizeof(path), "%s/smtpgated.lock", d->cfg.state_dir);
	/* Not through a planted link: the file is truncated below. */
	d->lock_fd = sg_open_own_file(path, O_RDWR | O_CREAT, 0600, &err);
	if (d->lock_fd < 0) {
		sgd_err("%s", err.msg);
		return -1;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
		char other[32] = "?";

		if (read(d->lock_fd, other, sizeof(other) - 1) > 0)
			other[strcspn(other, "\n")] = '\0';
		sgd_err("another smtpgated (pid %s) uses state dir %s", other, d->cfg.state_dir);
		return -1;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(d->lock_fd, 0) || pwrite(d->lock_fd, pid, strlen(pid), 0) < 0)
		sgd_warn("%s: cannot record pid", path);
	return 0;
}

/* Detaching under a running daemon would be undone by it (it re-attaches
 * what it finds missing), leaving enforcement half on: refuse. */
static int refuse_if_running(struct sgd *d)
{
	char path[PATH_MAX], pid[32] = "?";
	int fd;

	snprintf(path, sizeof(path), "%s/smtpgated.lock", d->cfg.state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0; /* never ran with this state dir (or not a lock of ours) */
	if (!flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return 0;
	}
	if (read(fd, pid, sizeof(pid) - 1) > 0)
		pid[strcspn(pid, "\n")] = '\0';
	close(fd);
	fprintf(stderr, "smtpgated: smtpgated (pid %s) is running with state dir %s: stop it "
		"first (systemctl stop smtpgated), then detach; nothing was changed\n", pid,
		d->cfg.state_dir);
	return -1;
}

static int detach(struct sgd *d)
{
	struct sg_err err = { 0 };
	struct stat st;
	int rc = 0;

	if (refuse_if_running(d))
		return 1;
	if (stat(d->cfg.pin_dir, &st)) {
		printf("smtpgated: nothing pinned at %s\n", d->cfg.pin_dir);
	} else {
		if (sg_dp_open(&d->dp, d->cfg.pin_dir, &err)) {
			fprintf(stderr, "smtpgated: %s\n", err.msg);
			return 1;
		}
		if (sg_dp_destroy(d->dp, &err)) {
			fprintf(stderr, "smtpgated: %s\n", err.msg);
			rc = 1;
		}
		sg_dp_close(d->dp);
		d->dp = NULL;
	}
	/* Pins gone but filters left behind (pins removed by hand): the TC
	 * filters at smtpgate's handle on the configured interfaces are ours. */
	for (size_t i = 0; i < d->cfg.n_ifaces; i++) {
		const struct sg_iface_cfg *c = &d->cfg.ifaces[i];

		if (c->hook != SG_HOOK_XDP && !sg_tc_detach_ifname(c->name, c->hook))
			printf("smtpgated: %s: removed a leftover TC filter\n", c->name);
	}
	if (!rc)
		printf("smtpgated: detached; outbound SMTP is no longer governed on this host\n");
	return rc;
}

static void on_events(struct sgd *d, void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	sgd_events_poll(d);
}

static void on_link_events(struct sgd *d, void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	sgd_linkwatch_read(d);
}

/* The state and log dirs are root's alone, and the files smtpgated
 * appends to there are its own, before anything is written. */
static int check_own_paths(struct sgd *d)
{
	struct sg_err err = { 0 };
	const char *files[] = { d->audit_path, d->events_path };
	bool any = d->load_opts.allow_any_owner;
	int fd;

	if (sg_check_private_dir("paths.state_dir", d->cfg.state_dir, any, &err) ||
	    sg_check_private_dir("paths.log_dir", d->cfg.log_dir, any, &err)) {
		sgd_err("%s", err.msg);
		return -1;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fd = sg_open_own_file(files[i], O_WRONLY | O_APPEND | O_CREAT, 0640, &err);
		if (fd < 0) {
			sgd_err("%s", err.msg);
			return -1;
		}
		close(fd);
	}
	return 0;
}

struct dp_opening {
	struct sgd *d;
	struct sg_err err;
	int rc;
};

static void open_dp(void *arg)
{
	struct dp_opening *o = arg;

	o->rc = sg_dp_open(&o->d->dp, o->d->cfg.pin_dir, &o->err);
	/* The programs sgd_attach_all will attach: verifying them is most
	 * of attaching, and the policy is usually still being read. */
	if (!o->rc)
		sgd_prepare_attachments(o->d);
}

struct policy_reading {
	struct sgd *d;
	struct sgd_policy_read *r;
};

static void read_policy(void *arg)
{
	struct policy_reading *pr = arg;

	sgd_policy_read(pr->d, pr->r);
}

/* Opens the data plane (loading and verifying the programs, the pinned
 * maps) in a thread of its own while this one reads policy.json: with a
 * large policy each takes a good part of the start, and neither needs
 * the other.  0, or -1 with the reason logged. */
static int open_dp_reading_policy(struct sgd *d, struct sgd_policy_read *first)
{
	struct dp_opening o = { .d = d };
	struct policy_reading pr = { d, first };

	sg_run_beside(read_policy, &pr, open_dp, &o);
	if (o.rc) {
		sgd_err("%s", o.err.msg);
		return -1;
	}
	return 0;
}

static int start(struct sgd *d)
{
	struct sgd_policy_read first = { 0 };
	int fd;

	/* Before anything is created: a hook on a non-Ethernet device
	 * would report itself attached and pass everything. */
	if (sgd_check_interfaces(d)) {
		sgd_err("refusing to start: nothing was attached or pinned");
		return -1;
	}
	if (make_dir(d->cfg.state_dir, 0750) || make_dir(d->cfg.log_dir, 0750)) {
		sgd_err("cannot create %s or %s: %s", d->cfg.state_dir, d->cfg.log_dir,
			strerror(errno));
		return -1;
	}
	if (check_own_paths(d) || take_lock(d))
		return -1;
	if (open_dp_reading_policy(d, &first)) {
		sgd_policy_read_free(&first);
		return -1;
	}
	if (sg_dp_reused(d->dp))
		sgd_notice("reusing pinned maps in %s (generation %llu): enforcement continued "
			   "while the daemon was away", d->cfg.pin_dir,
			   (unsigned long long)sg_dp_generation(d->dp));
	if ((d->cfg.store && sgd_fleet_open(d)) || sgd_policy_start(d, &first)) {
		sgd_policy_read_free(&first);
		return -1;
	}
	if (d->store)
		sgd_fleet_apply_bans(d);
	sgd_attach_all(d);
	if (sgd_loop_init(d) || sgd_reload_init(d))
		return -1;
	if (d->store && sgd_fleet_follow(d))
		return -1;
	fd = sgd_events_start(d);
	if (fd < 0 || sgd_watch_add(d, fd, EPOLLIN, on_events, NULL))
		return -1;
	sgd_history_start(d);
	fd = sgd_linkwatch_start(d);
	if (fd < 0 || sgd_watch_add(d, fd, EPOLLIN, on_link_events, NULL))
		return -1;
	/* Interfaces that appeared between the first attach and the watch. */
	sgd_ensure_attached(d, NULL);
	if (sgd_control_start(d) || sgd_metrics_start(d))
		return -1;
	return 0;
}

static void stop(struct sgd *d)
{
	sgd_reload_fini(d);
	sgd_metrics_stop(d);
	sgd_control_stop(d);
	sgd_linkwatch_stop(d);
	if (d->events)
		sgd_history_stop(d);
	sgd_events_stop(d);
	if (d->fleet)
		sgd_fleet_close(d);
	sgd_loop_fini(d);
	sg_dp_close(d->dp);
	sgd_approvals_close(d);
	sg_policy_free(&d->policy);
	sg_expiry_list_free(&d->expiries);
	sg_host_config_free(&d->cfg);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
}

int main(int argc, char **argv)
{
	struct sgd d = { .epfd = -1, .sigfd = -1, .timerfd = -1, .lock_fd = -1 };
	char ready[64] = "";
	int rc = 1;

	/* glibc raises its mmap threshold (up to 32 MiB) each time a large
	 * block is freed, and from then on serves large blocks from the
	 * heap, whose freed pages stay resident until a trim.  A reload
	 * frees and allocates many (parse windows, scratch arrays, the
	 * approvals' growing array, string blocks) while two policies are
	 * held: with the threshold fixed, they go back to the system when
	 * freed, and the reload's peak with a million entries, 100,000 of
	 * them approvals, fell from 208 to 198 MiB (docs/benchmarks.md). */
	mallopt(M_MMAP_THRESHOLD, SGD_MMAP_THRESHOLD);
	pthread_mutex_init(&d.lock, NULL);
	if (parse_args(argc, argv, &d.opts))
		return 2;
	d.load_opts.allow_any_owner = d.opts.allow_any_owner;
	sgd_log_init(d.opts.use_syslog, d.opts.verbose);
	if (load_config(&d)) {
		sg_host_config_free(&d.cfg);
		return 1;
	}
	if (d.opts.check) {
		rc = sgd_check(&d);
		sg_host_config_free(&d.cfg);
		return rc;
	}
	if (d.opts.detach) {
		rc = detach(&d);
		sg_host_config_free(&d.cfg);
		return rc;
	}
	d.started = time(NULL);
	if (!start(&d)) {
		sgd_notify_ready("running");
		/* Read by status from here on; set before the loop runs. */
		d.startup_ms = sg_process_age_ms();
		if (d.startup_ms >= 0)
			snprintf(ready, sizeof(ready), "; ready %.2f s after the process started",
				 (double)d.startup_ms / 1000.0);
		sgd_notice("running: %zu interface(s), control %s, metrics %s%s", d.cfg.n_ifaces,
			   d.cfg.control_socket, d.cfg.metrics_listen, ready);
		rc = sgd_loop_run(&d) ? 1 : 0;
		sgd_notify_stopping();
	}
	stop(&d);
	return rc;
}
