// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The metrics that tell a fleet's gateways apart from each other:
 * smtpgate_policy_info{sha256} (gateways of one site should all show the
 * same policy.json; the shipped alert fires when they do not) and the
 * fleet store's state on this gateway (docs/fleet.md).
 */
#include <inttypes.h>
#include "metrics_text.h"

static void value(FILE *out, const char *name, const char *type, const char *help, int64_t v)
{
	sg_mt_family(out, name, type, help);
	fprintf(out, "%s %" PRId64 "\n", name, v);
}

void sg_mt_render_fleet(const struct sg_mt_snapshot *s, FILE *out)
{
	if (s->policy_sha256[0]) {
		sg_mt_family(out, "smtpgate_policy_info", "gauge",
			     "Always 1; sha256 is the SHA-256 of the policy.json in force.");
		fputs("smtpgate_policy_info{sha256=\"", out);
		sg_mt_escape(out, s->policy_sha256);
		fputs("\"} 1\n", out);
	}
	if (!s->store.configured)
		return;
	value(out, "smtpgate_store_up", "gauge",
	      "1 while this gateway's watch of the fleet store is established.", s->store.up);
	value(out, "smtpgate_store_revision", "gauge",
	      "The fleet store revision applied on this gateway.", s->store.revision);
	value(out, "smtpgate_store_last_sync_timestamp_seconds", "gauge",
	      "When the fleet store was last heard from, unix seconds (0: never).",
	      s->store.last_sync);
	value(out, "smtpgate_store_records_refused_total", "counter",
	      "Fleet store records refused as invalid or not applicable to this policy.",
	      (int64_t)s->store.refused);
	value(out, "smtpgate_store_failovers_total", "counter",
	      "Fleet store requests that moved to another endpoint.", (int64_t)s->store.failovers);
	value(out, "smtpgate_store_reconnects_total", "counter",
	      "Times the watch of the fleet store was established again after a loss.",
	      (int64_t)s->store.reconnects);
}
