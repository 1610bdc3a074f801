// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Data-plane events: the ring buffer, already sampled and aggregated in
 * the kernel, becomes JSON lines in log_dir/events.jsonl and log lines.
 * Reading happens in the event loop and never blocks the data plane: if
 * we fall behind, the kernel drops events and counts them (events_lost).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "append.h"
#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "safe_path.h"

void sgd_format_time_ms(uint64_t boot_ns, char *buf, size_t len)
{
	int64_t real_ns = sg_real_ns() - (int64_t)(sg_boot_ns() - boot_ns);
	time_t sec = (time_t)(real_ns / 1000000000);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)((real_ns / 1000000) % 1000));
}

/* One line per event, whole or not at all (a full disk must not leave a
 * torn line for the next event to be glued onto); only what was written
 * is counted as written, a failure is counted and logged once. */
void sgd_events_write(struct sgd *d, void *json)
{
	json_t *o = json;
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len;
	int rc;

	if (!line)
		return;
	len = strlen(line);
	line[len++] = '\n'; /* json_dumps' NUL becomes the newline */
	rc = d->events ? sg_append_fd(fileno(d->events), line, len) : -EBADF;
	free(line);
	pthread_mutex_lock(&d->lock);
	if (rc)
		d->events_write_failures++;
	else
		d->events_written++;
	pthread_mutex_unlock(&d->lock);
	/* Logged once per failing stretch, not per event: events come from
	 * packets, and a flood must not flood the journal too. */
	if (rc && !d->events_failing)
		sgd_err("%s: cannot write events (%s): they are dropped until it works again "
			"(counted in smtpgate_events_write_failures_total)", d->events_path,
			strerror(-rc));
	else if (!rc && d->events_failing)
		sgd_notice("%s: writing events again; %llu were not written", d->events_path,
			   d->events_unwritten);
	d->events_unwritten = rc ? d->events_unwritten + 1 : 0;
	d->events_failing = rc != 0;
}

/* An automatic ban is a control-plane change made by the data plane:
 * it goes to the audit trail too.  addr is the banned entry, src the
 * address whose violation reached the threshold. */
static void audit_auto_ban(struct sgd *d, const char *entry, const char *src,
			   const char *ifname)
{
	struct sgd_audit a = { .uid = -1, .command = "ban.auto", .result = "ok" };

	a.args = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f}", "addr", entry, "scope", "entry",
			   "source", src, "interface", ifname, "violations",
			   (int)d->policy.ban_violations, "duration_sec",
			   d->policy.ban_duration_sec);
	sgd_audit(d, &a);
}

struct ban_entry_find {
	const struct sg_addr *src;
	uint64_t since;
	struct sg_prefix entry;
	bool found;
};

/* The entry the data plane banned for src (its latest record naming src). */
static int ban_entry_cb(const struct sg_entry_ban *b, void *ctx)
{
	struct ban_entry_find *f = ctx;

	if (b->known && !memcmp(&b->rec.src, f->src, sizeof(*f->src)) &&
	    (!f->found || b->rec.since_ns > f->since)) {
		f->entry = b->entry;
		f->since = b->rec.since_ns;
		f->found = true;
	}
	return 0;
}

/* Ban events that came during a reload (reload.c): naming the banned
 * entry takes the data plane's index of slots, which the reload is
 * replacing.  They are written when it ends, in order; beyond this many
 * (a ban storm during one reload), a ban is written at once, naming the
 * address that reached the threshold instead of its entry. */
#define HELD_MAX 1024
static struct sg_event held[HELD_MAX];
static size_t n_held;

static int write_event(struct sgd *d, const struct sg_event *e, size_t size, bool may_resolve)
{
	const struct sgd_slot_name *slot;
	char when[40], src[SG_PREFIX_STRLEN], dst[SG_PREFIX_STRLEN];
	bool ban = e->kind == SG_EVT_BAN_START;
	json_t *o;

	char entry[SG_PREFIX_STRLEN];

	if (size < sizeof(*e) || e->verdict >= SG_V_COUNT || e->reason >= SG_R_COUNT)
		return 0;
	slot = &d->slots[e->attach % SG_MAX_ATTACH];
	sgd_format_time_ms(e->ts_ns, when, sizeof(when));
	sg_addr_format(&e->src, src, sizeof(src));
	sg_addr_format(&e->dst, dst, sizeof(dst));
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:I}",
		      "time", when, "event", ban ? "ban" : "blocked", "source", src,
		      "destination", dst, "port", (int)e->dport,
		      "interface", slot->ifname[0] ? slot->ifname : "?", "hook",
		      sg_hook_name(slot->hook), "verdict", sg_verdict_names[e->verdict],
		      "reason", sg_reason_names[e->reason], "count", (json_int_t)e->count);
	if (!o)
		return 0;
	if (ban) {
		struct ban_entry_find f = { .src = &e->src };

		/* The ban is the entry's: name it (a prefix is banned whole). */
		if (may_resolve)
			sg_dp_auto_ban_foreach(d->dp, ban_entry_cb, &f);
		if (f.found)
			sg_prefix_format(&f.entry, entry, sizeof(entry));
		else
			snprintf(entry, sizeof(entry), "%s", src);
		json_object_set_new(o, "entry", json_string(entry));
		json_object_set_new(o, "scope", json_string("entry"));
	}
	sgd_events_write(d, o);
	json_decref(o);
	if (ban) {
		if (strcmp(entry, src))
			sgd_warn("banned %s after repeated rate-limit violations (the whole "
				 "trusted entry; %s reached the threshold; on %s %s)",
				 entry, src, slot->ifname, sg_hook_name(slot->hook));
		else
			sgd_warn("banned %s after repeated rate-limit violations (on %s %s)", src,
				 slot->ifname, sg_hook_name(slot->hook));
		audit_auto_ban(d, entry, src, slot->ifname);
	} else
		sgd_info("%s %s -> %s:%u %s/%s x%llu", slot->ifname, src, dst, e->dport,
			 sg_verdict_names[e->verdict], sg_reason_names[e->reason],
			 (unsigned long long)e->count);
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct sgd *d = ctx;
	const struct sg_event *e = data;
	bool reloading = sgd_reload_busy(d);

	if (reloading && size >= sizeof(*e) && e->kind == SG_EVT_BAN_START && n_held < HELD_MAX) {
		held[n_held++] = *e;
		return 0;
	}
	return write_event(d, e, size, !reloading);
}

void sgd_events_resume(struct sgd *d)
{
	for (size_t i = 0; i < n_held; i++)
		write_event(d, &held[i], sizeof(held[i]), true);
	n_held = 0;
}

static int open_events_file(struct sgd *d)
{
	struct sg_err err = { 0 };
	int fd = sg_open_own_file(d->events_path, O_WRONLY | O_APPEND | O_CREAT, 0640, &err);

	if (fd < 0) {
		sgd_err("%s", err.msg);
		return -1;
	}
	if (d->events)
		fclose(d->events);
	d->events = fdopen(fd, "a");
	if (!d->events) {
		sgd_err("%s: %s", d->events_path, strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

/* logrotate renames the file away: follow the path, not the old inode. */
static void reopen_if_rotated(struct sgd *d)
{
	struct stat by_path, by_fd;

	if (!d->events || fstat(fileno(d->events), &by_fd))
		return;
	if (lstat(d->events_path, &by_path) || by_path.st_ino != by_fd.st_ino ||
	    by_path.st_dev != by_fd.st_dev)
		open_events_file(d);
}

int sgd_events_start(struct sgd *d)
{
	if (open_events_file(d))
		return -1;
	d->rb = ring_buffer__new(sg_dp_map_fd(d->dp, "sg_events"), on_event, d, NULL);
	if (!d->rb) {
		sgd_err("ring buffer: %s", strerror(errno));
		return -1;
	}
	return ring_buffer__epoll_fd(d->rb);
}

void sgd_events_poll(struct sgd *d)
{
	if (d->rb)
		ring_buffer__consume(d->rb);
}

void sgd_events_tick(struct sgd *d)
{
	uint64_t stats[SG_STAT_COUNT];

	reopen_if_rotated(d);
	sgd_events_poll(d);
	if (!sg_dp_read_stats(d->dp, stats) && stats[SG_STAT_EVENTS_LOST] > d->events_lost_logged) {
		sgd_warn("%llu data-plane events lost (ring buffer full); counters are exact, "
			 "only samples were dropped",
			 (unsigned long long)(stats[SG_STAT_EVENTS_LOST] - d->events_lost_logged));
		d->events_lost_logged = stats[SG_STAT_EVENTS_LOST];
	}
}

void sgd_events_stop(struct sgd *d)
{
	if (d->rb)
		ring_buffer__consume(d->rb);
	ring_buffer__free(d->rb);
	d->rb = NULL;
	if (d->events)
		fclose(d->events);
	d->events = NULL;
}
