// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl stats: counters per attachment, verdict and reason, the top
 * sources, and the data plane's own statistics.  Through smtpgated, or
 * with --pin-dir straight from the pinned maps, so an operator can still
 * see what the kernel does while the daemon is down.  Both build the
 * same document (userspace/lib/stats_json.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "config.h"
#include "ctl.h"

static void print_counters(json_t *atts)
{
	static const char *const headers[] = {
		"INTERFACE", "HOOK", "VERDICT", "REASON", "PACKETS", "BYTES", "CONNECTIONS"
	};
	struct ctl_table *t = ctl_table_new(7, headers);
	size_t i, j, rows = 0;
	json_t *a, *k;

	for (int col = 4; col < 7; col++)
		ctl_table_right(t, col);
	json_array_foreach(atts, i, a) {
		json_array_foreach(json_object_get(a, "counters"), j, k) {
			char p[32], b[32], n[32];
			const char *row[7] = {
				ctl_str(json_object_get(a, "interface"), "?"),
				ctl_str(json_object_get(a, "hook"), "?"),
				ctl_str(json_object_get(k, "verdict"), "?"),
				ctl_str(json_object_get(k, "reason"), "?"),
				ctl_int(json_object_get(k, "packets"), p, sizeof(p)),
				ctl_int(json_object_get(k, "bytes"), b, sizeof(b)),
				ctl_int(json_object_get(k, "connections"), n, sizeof(n)),
			};

			ctl_table_row(t, row);
			rows++;
		}
	}
	if (rows)
		ctl_table_print(t, stdout);
	else
		printf("no governed packets counted yet\n");
	ctl_table_free(t);
}

/* "rate_limited=5,banned=2" of a source's blocked packets by reason. */
static const char *reasons_text(json_t *blocked, char *buf, size_t len)
{
	size_t off = 0;
	const char *k;
	json_t *v;

	buf[0] = '\0';
	json_object_foreach(blocked, k, v) {
		int n = snprintf(buf + off, len - off, "%s%s=%lld", off ? "," : "", k,
				 (long long)json_integer_value(v));

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf[0] ? buf : "-";
}

static void print_sources(json_t *srcs)
{
	static const char *const headers[] = {
		"SOURCE", "TOTAL", "PASS", "DROP", "REJECT", "MONITOR", "CONNS", "BYTES",
		"BLOCKED BY REASON"
	};
	static const char *const keys[] = { "pass", "drop", "reject", "monitor" };
	struct ctl_table *t;
	size_t i;
	json_t *s;

	if (!json_array_size(srcs)) {
		printf("no sources counted\n");
		return;
	}
	t = ctl_table_new(9, headers);
	for (int col = 1; col < 8; col++)
		ctl_table_right(t, col);
	json_array_foreach(srcs, i, s) {
		char n[7][32], why[256];
		const char *row[9] = {
			ctl_str(json_object_get(s, "source"), "?"),
			ctl_int(json_object_get(s, "total"), n[0], sizeof(n[0])),
		};

		for (int v = 0; v < 4; v++)
			row[2 + v] = ctl_int(json_object_get(json_object_get(s, "packets"), keys[v]),
					     n[1 + v], sizeof(n[1 + v]));
		row[6] = ctl_int(json_object_get(s, "connections"), n[5], sizeof(n[5]));
		row[7] = ctl_int(json_object_get(s, "bytes"), n[6], sizeof(n[6]));
		row[8] = reasons_text(json_object_get(s, "blocked"), why, sizeof(why));
		ctl_table_row(t, row);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
}

static void print_stats(json_t *st, const char *pin_dir)
{
	json_t *dp = json_object_get(st, "data_plane");
	char g[32], n[32], b[32], l[32];

	if (pin_dir)
		printf("read from the pinned maps in %s (smtpgated not asked)\n\n", pin_dir);
	print_counters(json_object_get(st, "attachments"));
	printf("\ndata plane: generation %s, %s trusted entries, %s bans active, %s events lost\n",
	       ctl_int(json_object_get(dp, "generation"), g, sizeof(g)),
	       ctl_int(json_object_get(dp, "trusted_entries"), n, sizeof(n)),
	       ctl_int(json_object_get(dp, "bans_active"), b, sizeof(b)),
	       ctl_int(json_object_get(dp, "events_lost"), l, sizeof(l)));
	if (json_object_get(st, "sources")) {
		printf("\n");
		print_sources(json_object_get(st, "sources"));
	}
}

int ctl_cmd_stats(struct ctl *c)
{
	const char *pin_dir, *top_text;
	bool sources;
	json_t *args, *result;
	long long top = SG_DEFAULT_TOP_SOURCES;
	int rc;

	if (!ctl_parse(c, &rc))
		return rc;
	sources = ctl_flag(c, "sources");
	top_text = ctl_arg(c, "top");
	pin_dir = ctl_arg(c, "pin-dir");
	if (top_text) {
		if (ctl_parse_count(top_text, 1, SG_MAX_TOP_SOURCES, &top))
			return ctl_usage(c, "--top: \"%s\" is not a number from 1 to %d", top_text,
					 SG_MAX_TOP_SOURCES);
		sources = true;
	}
	if (pin_dir) {
		rc = ctl_stats_from_pins(c, pin_dir, sources, (unsigned)top, &result);
	} else {
		args = json_pack("{s:b}", "sources", sources);
		if (top_text)
			json_object_set_new(args, "top", json_integer(top));
		rc = ctl_call(c, SG_CTL_STATS, args, &result);
	}
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(result);
	else
		print_stats(result, pin_dir);
	json_decref(result);
	return CTL_OK;
}
