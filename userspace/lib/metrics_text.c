// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Prometheus text exposition (see metrics_text.h and docs/metrics.md):
 * the counters per attachment, the policy, the data plane's statistics
 * and the daemon's own figures.  The per-source series are
 * metrics_sources.c, the fleet's metrics_fleet.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "metrics_text.h"

/* ---- collecting ----------------------------------------------------------- */

int sg_mt_collect(struct sg_dp *dp, const struct sg_iface_cfg *ifaces, size_t n_ifaces,
		  unsigned top_n, struct sg_mt_snapshot *s)
{
	/* Both lists of top sources; the caches left out, so that counters
	 * never go down (see struct sg_stats_opts). */
	const struct sg_stats_opts opts = {
		.ifaces = ifaces, .n_ifaces = n_ifaces,
		.sources = true, .top_n = top_n, .top_blocked = true, .add_cached = false,
	};

	memset(s, 0, sizeof(*s));
	return sg_stats_collect(dp, &opts, &s->kernel);
}

void sg_mt_snapshot_free(struct sg_mt_snapshot *s)
{
	sg_stats_snapshot_free(&s->kernel);
	free(s->expiries);
	free(s->expiry_text);
	memset(s, 0, sizeof(*s));
}

/* ---- rendering ----------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p, or 0 if there is none. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not UTF-8. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Where escaped text goes: a stream, or a fixed buffer. */
struct sink {
	FILE *f;
	char *buf;
	size_t len, used;
};

static void put(struct sink *k, const char *s, size_t n)
{
	if (k->f) {
		fwrite(s, 1, n, k->f);
		return;
	}
	if (k->used + n < k->len) {
		memcpy(k->buf + k->used, s, n);
		k->used += n;
		k->buf[k->used] = '\0';
	}
}

static void escape_to(struct sink *k, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;

	while (*p) {
		size_t n = utf8_len(p);

		if (*p == '\\')
			put(k, "\\\\", 2);
		else if (*p == '"')
			put(k, "\\\"", 2);
		else if (*p == '\n')
			put(k, "\\n", 2);
		else if (!n)
			put(k, "?", 1);
		else
			put(k, (const char *)p, n);
		p += n ? n : 1;
	}
}

void sg_mt_escape(FILE *out, const char *value)
{
	struct sink k = { .f = out };

	escape_to(&k, value);
}

void sg_mt_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Can the data plane ever count (verdict, reason)?  These series are
 * printed even at zero, so an alert sees the first increment. */
static bool combination_occurs(int v, int r)
{
	switch (v) {
	case SG_V_PASS:
		return r == SG_R_TRUSTED || r == SG_R_THROTTLE_ALLOWANCE;
	case SG_V_REJECT:
		/* `unregistered: reject` is the only reject. */
		return r == SG_R_UNTRUSTED_SOURCE;
	case SG_V_DROP:
	case SG_V_MONITOR:
		return r != SG_R_TRUSTED && r != SG_R_THROTTLE_ALLOWANCE;
	default:
		return false;
	}
}

enum counter_field { F_PACKETS, F_BYTES, F_CONNS };

static uint64_t field_of(const struct sg_counter *c, enum counter_field f)
{
	return f == F_PACKETS ? c->packets : f == F_BYTES ? c->bytes : c->conns;
}

/* `interface="...",hook="..."` of one attachment, escaped once for all
 * of its series. */
static void attachment_labels(const struct sg_stats_attachment *a, char *buf, size_t len)
{
	struct sink k = { .buf = buf, .len = len };
	const char *hook = sg_hook_name(a->hook);

	buf[0] = '\0';
	put(&k, "interface=\"", 11);
	escape_to(&k, a->ifname);
	put(&k, "\",hook=\"", 8);
	put(&k, hook, strlen(hook));
	put(&k, "\"", 1);
}

static void render_counters(const struct sg_mt_snapshot *s, FILE *out, const char *name,
			    const char *help, enum counter_field f)
{
	/* Escaping at most doubles the name. */
	char labels[2 * SG_IFNAME_MAX + 64];

	sg_mt_family(out, name, "counter", help);
	for (size_t i = 0; i < s->kernel.n_attach; i++) {
		const struct sg_stats_attachment *a = &s->kernel.attach[i];

		if (!a->has_slot)
			continue;
		attachment_labels(a, labels, sizeof(labels));
		for (int v = 0; v < SG_V_COUNT; v++) {
			for (int r = 0; r < SG_R_COUNT; r++) {
				uint64_t x = field_of(&a->c[v][r], f);

				/* A count where none can occur is still shown:
				 * it means the table above is out of date. */
				if (!x && !combination_occurs(v, r))
					continue;
				fprintf(out, "%s{%s,verdict=\"%s\",reason=\"%s\"} %llu\n", name,
					labels, sg_verdict_names[v], sg_reason_names[r],
					(unsigned long long)x);
			}
		}
	}
}

static void gauge(FILE *out, const char *name, const char *help, long long value)
{
	sg_mt_family(out, name, "gauge", help);
	fprintf(out, "%s %lld\n", name, value);
}

static void counter(FILE *out, const char *name, const char *help, unsigned long long value)
{
	sg_mt_family(out, name, "counter", help);
	fprintf(out, "%s %llu\n", name, value);
}

static int by_prefix_ticket(const void *pa, const void *pb)
{
	const struct sg_mt_expiry *a = *(const struct sg_mt_expiry *const *)pa;
	const struct sg_mt_expiry *b = *(const struct sg_mt_expiry *const *)pb;
	int c = memcmp(&a->prefix.addr, &b->prefix.addr, sizeof(a->prefix.addr));

	if (!c && a->prefix.len != b->prefix.len)
		c = a->prefix.len < b->prefix.len ? -1 : 1;
	if (!c)
		c = strcmp(a->ticket, b->ticket);
	if (!c)
		c = a->expires < b->expires ? -1 : a->expires > b->expires;
	return c;
}

/* Sorted by prefix (by address, then length) and ticket; one series per
 * pair (the earliest expiry if a prefix is listed twice under one
 * ticket), since a duplicate series would make Prometheus drop the
 * sample. */
static void render_expiries(const struct sg_mt_snapshot *s, FILE *out)
{
	const struct sg_mt_expiry **idx = calloc(s->n_expiries ? s->n_expiries : 1, sizeof(*idx));
	const struct sg_mt_expiry *prev = NULL;

	gauge(out, "smtpgate_expiring_entries",
	      "Trusted entries with an expiry, listed in "
	      "smtpgate_approval_expiry_timestamp_seconds or not.", (long long)s->n_expiring);
	sg_mt_family(out, "smtpgate_approval_expiry_timestamp_seconds", "gauge",
		     "When a trusted entry (approval or policy.json entry) expires, unix seconds; "
		     "the metrics.expiry_series entries that expire first (10,000 by default), "
		     "entries without an expiry are not listed.");
	if (!idx)
		return;
	for (size_t i = 0; i < s->n_expiries; i++)
		idx[i] = &s->expiries[i];
	qsort(idx, s->n_expiries, sizeof(*idx), by_prefix_ticket);
	for (size_t i = 0; i < s->n_expiries; i++) {
		const struct sg_mt_expiry *e = idx[i];

		char prefix[SG_PREFIX_STRLEN];

		if (prev && sg_prefix_equal(&prev->prefix, &e->prefix) &&
		    !strcmp(prev->ticket, e->ticket))
			continue;
		prev = e;
		sg_prefix_format(&e->prefix, prefix, sizeof(prefix));
		fputs("smtpgate_approval_expiry_timestamp_seconds{prefix=\"", out);
		sg_mt_escape(out, prefix);
		fputs("\",ticket=\"", out);
		sg_mt_escape(out, e->ticket);
		fprintf(out, "\"} %lld\n", (long long)e->expires);
	}
	free(idx);
}

static void render_attached(const struct sg_mt_snapshot *s, FILE *out)
{
	sg_mt_family(out, "smtpgate_attached", "gauge",
		     "1 if smtpgate's program is attached at this interface and hook, 0 if it is "
		     "configured or recorded but not in place (mode: native or generic XDP, "
		     "empty for TC).");
	for (size_t i = 0; i < s->kernel.n_attach; i++) {
		const struct sg_stats_attachment *a = &s->kernel.attach[i];

		fputs("smtpgate_attached{interface=\"", out);
		sg_mt_escape(out, a->ifname);
		fprintf(out, "\",hook=\"%s\",mode=\"%s\"} %d\n", sg_hook_name(a->hook), a->mode,
			a->attached ? 1 : 0);
	}
}

static void render_map_memory(const struct sg_mt_snapshot *s, FILE *out)
{
	if (!s->kernel.n_maps)
		return;
	sg_mt_family(out, "smtpgate_map_memory_bytes", "gauge",
		     "Kernel memory of each data-plane map (the kernel's memlock accounting), the "
		     "per-generation tables with both generations' inner maps.");
	for (int i = 0; i < s->kernel.n_maps; i++)
		fprintf(out, "smtpgate_map_memory_bytes{map=\"%s\"} %llu\n", s->kernel.maps[i].name,
			(unsigned long long)s->kernel.maps[i].bytes);
}

static void render_policy(const struct sg_mt_snapshot *s, FILE *out)
{
	gauge(out, "smtpgate_policy_generation",
	      "Generation of the policy in force in the kernel (increments on every switch).",
	      (long long)s->kernel.generation);
	sg_mt_family(out, "smtpgate_policy_mode", "gauge",
		     "1 for the mode of the policy in force (enforce or monitor), 0 for the other.");
	fprintf(out, "smtpgate_policy_mode{mode=\"enforce\"} %d\n",
		s->kernel.mode == SG_MODE_ENFORCE);
	fprintf(out, "smtpgate_policy_mode{mode=\"monitor\"} %d\n",
		s->kernel.mode == SG_MODE_MONITOR);
	counter(out, "smtpgate_policy_reload_failures_total",
		"Policy reloads refused since the daemon started (the running policy stayed).",
		(unsigned long long)s->reload_failures);
	gauge(out, "smtpgate_policy_last_reload_success_timestamp_seconds",
	      "When a policy was last loaded successfully (start or reload), unix seconds.",
	      (long long)s->last_reload_success);
	gauge(out, "smtpgate_policy_reload_in_progress",
	      "1 while a policy reload runs (changes wait for it), else 0.",
	      s->reload_in_progress);
	sg_mt_family(out, "smtpgate_policy_last_reload_duration_seconds", "gauge",
		     "How long the last reload took, from the request to its commit or refusal "
		     "(0 before the first).");
	fprintf(out, "smtpgate_policy_last_reload_duration_seconds %.3f\n",
		(double)s->reload_last_ms / 1000.0);
	gauge(out, "smtpgate_trusted_prefixes",
	      "Trusted entries (addresses and prefixes) in force in the data plane.",
	      (long long)s->trusted_prefixes);
	gauge(out, "smtpgate_approvals",
	      "Trusted entries that are approvals made through smtpgatectl (approvals.json).",
	      (long long)s->approvals);
	counter(out, "smtpgate_approvals_not_durable_total",
		"Approval changes made and saved to approvals.json whose directory fsync then "
		"failed: a power loss may undo them (check the disk).",
		(unsigned long long)s->approvals_not_durable);
	render_expiries(s, out);
}

/* The data plane's global statistics (enum sg_stat), by their ABI names,
 * so a statistic added to the ABI shows up (under a derived name) before
 * anyone writes its line here. */
static const struct {
	const char *stat, *metric, *help;
} stat_metrics[] = {
	{ "events_lost", "smtpgate_events_lost_total",
	  "Data-plane events lost because the ring buffer was full (counters stay exact)." },
	{ "events_suppressed", "smtpgate_events_suppressed_total",
	  "Data-plane events not emitted because a CPU was over its event budget." },
	{ "ban_failed", "smtpgate_ban_failures_total",
	  "Automatic bans whose record the data plane could not store (enforced all the same, not listed)." },
	{ "rst_failed", "smtpgate_rst_failures_total",
	  "Rejects for which no TCP RST could be built (the packet was dropped)." },
	{ "sources_untracked", "smtpgate_sources_untracked_packets_total",
	  "Packets of sources not added to the per-source statistics because a CPU was "
	  "over its budget for new sources (still counted per interface)." },
};

static void render_stats(const struct sg_mt_snapshot *s, FILE *out)
{
	for (int i = 0; i < SG_STAT_COUNT; i++) {
		const char *name = sg_stat_names[i] ? sg_stat_names[i] : "unnamed";
		size_t k = 0, n = sizeof(stat_metrics) / sizeof(stat_metrics[0]);
		char metric[96], help[128];

		while (k < n && strcmp(stat_metrics[k].stat, name))
			k++;
		if (k < n) {
			counter(out, stat_metrics[k].metric, stat_metrics[k].help,
				(unsigned long long)s->kernel.stats[i]);
			continue;
		}
		snprintf(metric, sizeof(metric), "smtpgate_%s_total", name);
		snprintf(help, sizeof(help), "Data-plane statistic \"%s\".", name);
		counter(out, metric, help, (unsigned long long)s->kernel.stats[i]);
	}
	counter(out, "smtpgate_events_written_total",
		"Events written to events.jsonl since the daemon started.",
		(unsigned long long)s->events_written);
	counter(out, "smtpgate_events_write_failures_total",
		"Events that could not be written to events.jsonl since the daemon started "
		"(they are not in the file; the counters have them).",
		(unsigned long long)s->events_write_failures);
	counter(out, "smtpgate_audit_write_failures_total",
		"Audit records that could not be written since the daemon started (the "
		"changes they were for were not made).",
		(unsigned long long)s->audit_write_failures);
	counter(out, "smtpgate_audit_refusals_suppressed_total",
		"Refused requests of unprivileged peers not written to the audit log "
		"because their uid was over its rate, since the daemon started.",
		(unsigned long long)s->audit_refusals_suppressed);
}

int sg_mt_render(const struct sg_mt_snapshot *s, FILE *out)
{
	sg_mt_family(out, "smtpgate_build_info", "gauge",
		     "Always 1; the labels give the smtpgate and libbpf versions.");
	fputs("smtpgate_build_info{version=\"", out);
	sg_mt_escape(out, s->version ? s->version : "");
	fputs("\",libbpf=\"", out);
	sg_mt_escape(out, s->libbpf_version ? s->libbpf_version : "");
	fputs("\"} 1\n", out);
	render_counters(s, out, "smtpgate_packets_total",
			"Governed packets by interface, hook, verdict and reason.", F_PACKETS);
	render_counters(s, out, "smtpgate_bytes_total",
			"IP bytes (header and payload) of governed packets by interface, hook, "
			"verdict and reason.", F_BYTES);
	render_counters(s, out, "smtpgate_connections_total",
			"New connections (TCP SYN without ACK) by interface, hook, verdict and "
			"reason.", F_CONNS);
	sg_mt_render_sources(s, out);
	gauge(out, "smtpgate_bans_active", "Bans in force (automatic and manual).",
	      (long long)s->kernel.bans_active);
	gauge(out, "smtpgate_bans_auto_active",
	      "Bans in force that the data plane made after repeated rate-limit violations.",
	      (long long)s->kernel.bans_auto_active);
	render_policy(s, out);
	render_map_memory(s, out);
	sg_mt_render_fleet(s, out);
	render_stats(s, out);
	render_attached(s, out);
	if (s->start_time)
		gauge(out, "smtpgate_start_time_seconds",
		      "When the daemon started, unix seconds.", (long long)s->start_time);
	sg_mt_family(out, "smtpgate_collect_duration_seconds", "gauge",
		     "How long reading the kernel's counters and tables took for this output.");
	fprintf(out, "smtpgate_collect_duration_seconds %.6f\n", s->kernel.collect_seconds);
	return ferror(out) ? -EIO : 0;
}

int sg_mt_render_buffer(const struct sg_mt_snapshot *s, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int rc;

	if (!f)
		return -errno;
	rc = sg_mt_render(s, f);
	if (fclose(f) && !rc)
		rc = -EIO;
	if (rc) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	return rc;
}
