// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control commands: the table of them (name, whether it changes
 * anything, whether it waits for a reload in progress, its argument
 * keys, its handler), and the checks that a request names one of them
 * and gives it only the keys it takes.
 */
#include <stdio.h>
#include <string.h>
#include "control_cmd.h"

static const char *const no_keys[] = { NULL };
static const char *const trust_add_keys[] = {
	"prefix", "relays", "ticket", "owner", "rate", "contact", "expires", "note", NULL
};
static const char *const trust_del_keys[] = { "prefix", "ticket", NULL };
static const char *const trust_list_keys[] = {
	"expiring_within_sec", "prefix", "ticket", "owner", "source", "limit", "after", NULL
};
static const char *const trust_import_keys[] = { "approvals", NULL };
static const char *const ban_add_keys[] = { "addr", "duration_sec", "reason", "ticket", NULL };
static const char *const ban_del_keys[] = { "addr", "reason", "ticket", NULL };
static const char *const stats_keys[] = { "sources", "top", NULL };
static const char *const audit_keys[] = { "since", "limit", NULL };

/* Every change waits for a reload in progress (reload.c); so does
 * ban.list, which names the entries of automatic bans through the data
 * plane's index that the reload replaces. */
static const struct sgd_command commands[] = {
	{ SG_CTL_STATUS, false, false, no_keys, sgd_cmd_status },
	{ SG_CTL_TRUST_ADD, true, true, trust_add_keys, sgd_cmd_trust_add },
	{ SG_CTL_TRUST_DEL, true, true, trust_del_keys, sgd_cmd_trust_del },
	{ SG_CTL_TRUST_LIST, false, false, trust_list_keys, sgd_cmd_trust_list },
	{ SG_CTL_TRUST_IMPORT, true, true, trust_import_keys, sgd_cmd_trust_import },
	{ SG_CTL_RELAY_LIST, false, false, no_keys, sgd_cmd_relay_list },
	{ SG_CTL_BAN_ADD, true, true, ban_add_keys, sgd_cmd_ban_add },
	{ SG_CTL_BAN_DEL, true, true, ban_del_keys, sgd_cmd_ban_del },
	{ SG_CTL_BAN_LIST, false, true, no_keys, sgd_cmd_ban_list },
	{ SG_CTL_STATS, false, false, stats_keys, sgd_cmd_stats },
	{ SG_CTL_RELOAD, true, true, no_keys, sgd_cmd_reload },
	{ SG_CTL_AUDIT, false, false, audit_keys, sgd_cmd_audit },
};

const struct sgd_command *sgd_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void known_commands(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					commands[i].name);
}

int sgd_req_check_keys(struct sgd_req *r, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach(r->args, key, v) {
		bool known = false;
		char list[256] = "";
		size_t off = 0;

		for (size_t i = 0; keys[i] && !known; i++)
			known = !strcmp(keys[i], key);
		if (known)
			continue;
		for (size_t i = 0; keys[i] && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
						i ? ", " : "", keys[i]);
		return sgd_req_fail(r, SGD_E_INVALID, NULL, "%.64s: unknown argument of %s (%s)",
				    key, r->command, off ? list : "it takes none");
	}
	return 0;
}

int sgd_req_parse(struct sgd_req *r, json_t *request, const struct sgd_command **cmd)
{
	static const char *const top_keys[] = { "command", "args", NULL };
	json_t *c = json_object_get(request, "command"), *args = json_object_get(request, "args");
	char known[512];
	const char *key;
	json_t *v;

	*cmd = NULL;
	json_object_foreach(request, key, v) {
		if (strcmp(key, top_keys[0]) && strcmp(key, top_keys[1]))
			return sgd_req_fail(r, SGD_E_INVALID, NULL, "%.64s: unknown key of a request "
					    "(command, args)", key);
	}
	if (!json_is_string(c))
		return sgd_req_fail(r, SGD_E_INVALID, "command", c ? "must be a string" :
				    "is required");
	r->command = json_string_value(c);
	if (!(*cmd = sgd_command_find(r->command))) {
		known_commands(known, sizeof(known));
		return sgd_req_fail(r, SGD_E_INVALID, "command", "unknown command \"%.64s\" "
				    "(known: %s)", r->command, known);
	}
	if (args && !json_is_null(args) && !json_is_object(args))
		return sgd_req_fail(r, SGD_E_INVALID, "args", "must be an object");
	if (json_is_object(args))
		json_object_update(r->args, args);
	return 0;
}

bool sgd_control_waits_for_reload(struct sgd *d, json_t *request)
{
	const struct sgd_command *cmd;
	json_t *c = json_object_get(request, "command");

	if (!sgd_reload_busy(d) || !json_is_string(c))
		return false;
	cmd = sgd_command_find(json_string_value(c));
	return cmd && cmd->waits_for_reload;
}
