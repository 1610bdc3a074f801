// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* smtpgatectl relay list: the relay groups of the policy in force. */
#include <stdio.h>
#include "ctl.h"

static void print_relays(json_t *arr)
{
	static const char *const headers[] = { "GROUP", "ADDR", "PORTS", "CAP_CONN/S", "CAP_BURST" };
	struct ctl_table *t;
	size_t i;
	json_t *r;

	if (!json_array_size(arr)) {
		printf("the policy defines no relays\n");
		return;
	}
	t = ctl_table_new(5, headers);
	ctl_table_right(t, 3);
	ctl_table_right(t, 4);
	json_array_foreach(arr, i, r) {
		char ports[256], cap[32], burst[32];
		const char *row[5] = {
			ctl_str(json_object_get(r, "group"), "?"),
			ctl_str(json_object_get(r, "addr"), "?"),
			ctl_join(json_object_get(r, "ports"), ports, sizeof(ports)),
			ctl_int(json_object_get(r, "cap_conn_per_sec"), cap, sizeof(cap)),
			ctl_int(json_object_get(r, "cap_conn_burst"), burst, sizeof(burst)),
		};

		ctl_table_row(t, row);
	}
	ctl_table_print(t, stdout);
	ctl_table_free(t);
}

static int relay_list(struct ctl *c)
{
	return ctl_run_simple(c, SG_CTL_RELAY_LIST, print_relays);
}

int ctl_cmd_relay(struct ctl *c)
{
	static const struct ctl_verb verbs[] = { { "list", relay_list } };

	return ctl_dispatch(c, verbs, 1);
}
