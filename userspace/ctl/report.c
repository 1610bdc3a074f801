// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report: options, where the files are, and the document's
 * assembly (report.h says which file does what).  It reads files only,
 * never the control socket, so the daemon need not run: the state and
 * log dirs come from --state-dir and --log-dir, else from the host
 * config (--config, else /etc/smtpgate/smtpgate.json when readable),
 * else the defaults.
 *
 * Exit: 0 a complete report; 1 a report printed, but some input could
 * not be read (the report's "skipped" says what), or no report (a dir
 * missing); 2 bad usage.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "config.h"
#include "ctl.h"
#include "load.h"
#include "report.h"

/* A day (YYYY-MM-DD: its start, or with end its end) or an RFC 3339 time. */
static int parse_date(const char *s, bool end, long long *t)
{
	char full[40];

	if (strlen(s) == 10 && snprintf(full, sizeof(full), "%sT00:00:00Z", s) > 0 &&
	    !sg_parse_rfc3339(full, t)) {
		*t += end ? 86400 : 0;
		return 0;
	}
	return sg_parse_rfc3339(s, t);
}

static int check_dir(struct ctl *c, const char *opt, const char *dir)
{
	struct stat st;

	if (stat(dir, &st))
		return ctl_fail(c, CTL_FAILED, "%s %s: %s: no report", opt, dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ctl_fail(c, CTL_FAILED, "%s %s: not a directory: no report", opt, dir);
	if (access(dir, R_OK | X_OK))
		return ctl_fail(c, CTL_FAILED, "%s %s: %s (run it as root): no report", opt, dir,
				strerror(errno));
	return 0;
}

static int build(struct ctl *c, struct rpt *r, const char *format)
{
	rpt_build(r);
	for (size_t i = 0; i < json_array_size(r->skipped); i++)
		fprintf(stderr, "smtpgatectl: report: skipped: %s\n",
			json_string_value(json_array_get(r->skipped, i)));
	if (!strcmp(format, "json"))
		ctl_print_json(r->doc);
	else if (!strcmp(format, "csv"))
		rpt_print_csv(r->doc, stdout);
	else if (!strcmp(format, "html"))
		rpt_print_html(r->doc, stdout);
	else
		rpt_print_text(r->doc, stdout);
	(void)c;
	return json_array_size(r->skipped) ? CTL_FAILED : CTL_OK;
}

/* The dirs from the host config, for those not given: --config must be
 * usable; the default config is taken when readable. */
static int dirs_from_config(struct ctl *c, struct sg_host_config *cfg)
{
	struct sg_load_opts o = { .allow_any_owner = true };
	const char *path = c->config_opt ? c->config_opt : SG_DEFAULT_CONFIG;
	struct sg_diag diag = { 0 };
	int rc = 0;

	sg_host_config_init(cfg);
	if ((!access(path, R_OK) || c->config_opt) && sg_config_load(path, &o, cfg, &diag) &&
	    c->config_opt) {
		sg_diag_print(&diag, stderr);
		rc = ctl_fail(c, CTL_USAGE, "--config %s: cannot take the state and log dirs from it",
			      path);
	}
	sg_diag_free(&diag);
	return rc;
}

int ctl_cmd_report(struct ctl *c)
{
	const char *since, *until, *format, *state_dir, *log_dir, *review_age;
	struct rpt r = { .review_age = 365LL * 86400 };
	struct sg_host_config cfg;
	long long d;
	int rc;

	if (!ctl_parse(c, &rc))
		return rc;
	since = ctl_arg(c, "since");
	until = ctl_arg(c, "until");
	format = ctl_arg(c, "format") ? ctl_arg(c, "format") : "text";
	state_dir = ctl_arg(c, "state-dir");
	log_dir = ctl_arg(c, "log-dir");
	review_age = ctl_arg(c, "review-age");
	if (review_age && (sg_parse_duration(review_age, &r.review_age) || r.review_age <= 0))
		return ctl_usage(c, "--review-age %s: not a duration (365d, 52w)", review_age);
	if (c->json)
		format = "json";
	if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "csv") &&
	    strcmp(format, "html"))
		return ctl_usage(c, "--format %s: expected text, json, csv or html", format);
	r.until = time(NULL);
	if (until && parse_date(until, true, &r.until))
		return ctl_usage(c, "--until %s: not a date (YYYY-MM-DD or RFC 3339)", until);
	r.since = r.until - 365LL * 86400;
	if (since && parse_date(since, false, &r.since)) {
		if (*since == '-')
			since++;
		if (sg_parse_duration(since, &d))
			return ctl_usage(c, "--since %s: not a date (YYYY-MM-DD or RFC 3339) or a "
					 "duration (365d)", since);
		r.since = r.until - d;
	}
	if (r.since >= r.until) {
		char a[32], b[32];

		return ctl_usage(c, "the period is empty: --since (%s) is not before --until (%s)",
				 rpt_when(r.since, a, sizeof(a)), rpt_when(r.until, b, sizeof(b)));
	}
	if ((rc = dirs_from_config(c, &cfg))) {
		sg_host_config_free(&cfg);
		return rc;
	}
	r.state_dir = state_dir ? state_dir : cfg.state_dir;
	r.log_dir = log_dir ? log_dir : cfg.log_dir;
	rc = check_dir(c, "--state-dir", r.state_dir);
	if (!rc)
		rc = check_dir(c, "--log-dir", r.log_dir);
	if (!rc)
		rc = build(c, &r, format);
	json_decref(r.doc);
	rpt_log_free(&r.audit);
	rpt_log_free(&r.events);
	sg_host_config_free(&cfg);
	return rc;
}
