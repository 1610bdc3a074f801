// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The values this gateway writes to the fleet store: an approval is the
 * object an entry of approvals.json is (so sg_store_approval_parse reads
 * it back exactly like approvals.json's loader would), a ban the object
 * sg_store_ban_parse reads.  Both in compact ASCII JSON, with the prefix
 * or address in canonical form (the key's name).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "load.h"
#include "store.h"

static int set_text(json_t *o, const char *key, const char *value)
{
	return value ? json_object_set_new(o, key, json_string(value)) : 0;
}

static int set_time(json_t *o, const char *key, long long t)
{
	char when[40];

	if (!t)
		return json_object_set_new(o, key, json_null());
	sg_format_rfc3339(t, when, sizeof(when));
	return json_object_set_new(o, key, json_string(when));
}

static char *dump(json_t *o, int bad)
{
	char *text = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(o);
	return text;
}

char *sg_store_approval_value(const struct sg_policy *p, const struct sg_trusted_entry *t)
{
	json_t *o = json_object(), *relays = json_array();
	char text[SG_PREFIX_STRLEN];
	int bad = !o || !relays;
	long long created;
	const char *by;

	sg_prefix_format(&t->prefix, text, sizeof(text));
	bad |= json_object_set_new(o, "addr", json_string(text));
	for (size_t g = 0; g < p->n_groups && g < 64; g++)
		if (t->groups & (1ull << g))
			bad |= json_array_append_new(relays, json_string(p->groups[g].name));
	bad |= json_object_set_new(o, "relays", relays);
	/* The class is written even when it is the default, so the approval
	 * keeps the rate it was granted on every gateway; null: unlimited. */
	bad |= json_object_set_new(o, "rate", sg_entry_class(t) < p->n_classes
				   ? json_string(p->classes[sg_entry_class(t)].name) : json_null());
	bad |= set_text(o, "ticket", t->ticket);
	bad |= set_text(o, "owner", t->owner);
	bad |= set_text(o, "contact", sg_entry_contact(t));
	if (t->expires)
		bad |= set_time(o, "expires", t->expires);
	bad |= set_text(o, "note", sg_entry_note(t));
	created = sg_entry_created(t);
	by = sg_entry_created_by(t);
	bad |= set_time(o, "created", created ? created : (long long)time(NULL));
	bad |= set_text(o, "created_by", by ? by : "unknown");
	return dump(o, bad);
}

char *sg_store_ban_value(const struct sg_addr *a, long long expires, const char *reason,
			 const char *ticket, const char *created_by)
{
	json_t *o = json_object();
	char text[SG_PREFIX_STRLEN];
	int bad = !o;

	sg_addr_format(a, text, sizeof(text));
	bad |= json_object_set_new(o, "addr", json_string(text));
	bad |= set_time(o, "expires", expires);
	bad |= set_text(o, "reason", reason);
	bad |= set_text(o, "ticket", ticket);
	bad |= set_time(o, "created", (long long)time(NULL));
	bad |= set_text(o, "created_by", created_by);
	return dump(o, bad);
}
