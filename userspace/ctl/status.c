// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* smtpgatectl status and reload: the daemon itself. */
#include <stdio.h>
#include <string.h>
#include "ctl.h"

static void print_attachments(json_t *arr)
{
	static const char *const headers[] = { "INTERFACE", "HOOK", "MODE", "ATTACHED" };
	struct ctl_table *t;
	size_t i;
	json_t *a;

	if (!json_array_size(arr)) {
		printf("no attachments\n");
		return;
	}
	t = ctl_table_new(4, headers);
	json_array_foreach(arr, i, a) {
		const char *row[4] = {
			ctl_str(json_object_get(a, "interface"), "?"),
			ctl_str(json_object_get(a, "hook"), "?"),
			ctl_str(json_object_get(a, "mode"), "-"),
			json_is_true(json_object_get(a, "attached")) ? "yes" : "NO",
		};

		ctl_table_row(t, row);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
}

static void print_status(json_t *s)
{
	char a[64], b[64], up[64], line[512];
	struct ctl_table *t = ctl_table_new(2, NULL);
	const char *key;
	size_t off = 0;
	json_t *v;

#define ROW(k, ...) do { \
		const char *row[2] = { k, line }; \
		snprintf(line, sizeof(line), __VA_ARGS__); \
		ctl_table_row(t, row); \
	} while (0)

	ROW("smtpgated", "%s, pid %s, up %s", ctl_str(json_object_get(s, "version"), "?"),
	    ctl_int(json_object_get(s, "pid"), a, sizeof(a)),
	    ctl_duration_text(json_integer_value(json_object_get(s, "uptime_sec")), up,
			      sizeof(up)));
	ROW("mode", "%s", ctl_str(json_object_get(s, "mode"), "?"));
	ROW("policy", "%s (generation %s)", ctl_str(json_object_get(s, "policy_path"), "?"),
	    ctl_int(json_object_get(s, "generation"), a, sizeof(a)));
	ROW("policy sha256", "%s", ctl_str(json_object_get(s, "policy_sha256"), "?"));
	ROW("last reload", "%s (%s failed since start)",
	    ctl_str(json_object_get(s, "last_reload_success"), "never"),
	    ctl_int(json_object_get(s, "reload_failures"), a, sizeof(a)));
	if (json_is_true(json_object_get(json_object_get(s, "reload"), "in_progress"))) {
		json_t *rl = json_object_get(s, "reload");

		/* Said plainly: changes sent now wait for it. */
		ROW("reload", "IN PROGRESS since %s (%.1f s), %s; %s requests waiting for it",
		    ctl_str(json_object_get(rl, "since"), "?"),
		    json_number_value(json_object_get(rl, "seconds")),
		    ctl_str(json_object_get(rl, "by"), "?"),
		    ctl_int(json_object_get(rl, "requests_waiting"), a, sizeof(a)));
	}
	ROW("trusted", "%s entries in the data plane, %s approvals",
	    ctl_int(json_object_get(s, "trusted_entries"), a, sizeof(a)),
	    ctl_int(json_object_get(s, "approvals"), b, sizeof(b)));
	if (json_is_integer(json_object_get(s, "map_memory_bytes")))
		ROW("kernel maps", "%.1f MiB",
		    (double)json_integer_value(json_object_get(s, "map_memory_bytes")) / 1048576);
	ROW("bans active", "%s", ctl_int(json_object_get(s, "bans_active"), a, sizeof(a)));
	ROW("events lost", "%s", ctl_int(json_object_get(s, "events_lost"), a, sizeof(a)));
	ROW("pin dir", "%s", ctl_str(json_object_get(s, "pin_dir"), "?"));
	if (json_is_object(json_object_get(s, "store"))) {
		json_t *st = json_object_get(s, "store");

		ROW("fleet store", "%s %s as %s: %s, revision %s, last sync %s%s%s",
		    ctl_str(json_object_get(st, "backend"), "?"),
		    ctl_str(json_object_get(st, "prefix"), "?"),
		    ctl_str(json_object_get(st, "gateway"), "?"),
		    json_is_true(json_object_get(st, "up")) ? "up" : "DOWN",
		    ctl_int(json_object_get(st, "revision"), a, sizeof(a)),
		    ctl_str(json_object_get(st, "last_sync"), "never"),
		    json_is_string(json_object_get(st, "error")) ? ": " : "",
		    ctl_str(json_object_get(st, "error"), ""));
	}
	line[0] = '\0';
	json_object_foreach(json_object_get(s, "totals"), key, v)
		off += (size_t)snprintf(line + off, off < sizeof(line) ? sizeof(line) - off : 0,
					"%s%s %s", off ? ", " : "", key, ctl_int(v, a, sizeof(a)));
	{
		const char *row[2] = { "packets", line };

		ctl_table_row(t, row);
	}
#undef ROW
	ctl_table_print(t, stdout);
	ctl_table_free(t);
	printf("\n");
	print_attachments(json_object_get(s, "attachments"));
}

int ctl_cmd_status(struct ctl *c)
{
	return ctl_run_simple(c, SG_CTL_STATUS, print_status);
}

static void print_reload(json_t *result)
{
	printf("%s\n", ctl_str(json_object_get(result, "message"), "reloaded"));
}

int ctl_cmd_reload(struct ctl *c)
{
	return ctl_run_simple(c, SG_CTL_RELOAD, print_reload);
}
