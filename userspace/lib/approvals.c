// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * approvals.json: the trusted entries approved through smtpgatectl,
 * written only by the daemon.
 *
 *     {"version": 1, "approvals": [{"addr": ..., "relays": [...], "rate": ...,
 *       "ticket": ..., "owner": ..., "contact": ..., "expires": ..., "note": ...,
 *       "created": RFC 3339, "created_by": "name (uid N)"}]}
 *
 * It is the snapshot: changes since it are lines of approvals.journal
 * (approvals_journal.h), which loading applies over it and which the
 * daemon folds into it now and then with sg_approvals_save().
 *
 * Loading resolves names against the policy and refuses an approval whose
 * group or class the policy lost (so a reload can never silently drop an
 * approval).  Saving is crash-safe: the new content is written to an
 * unnamed file (O_TMPFILE) in the same directory and fsync'd, then given
 * a temporary name and renamed over the old file, then the directory is
 * fsync'd.  A crash before the rename leaves the old file, and (with
 * O_TMPFILE) no temporary file either.  A failure before the rename
 * leaves the old file as it was; after it (the directory's fsync) the new
 * file is in place and the save is reported done but not durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "approvals_journal.h"
#include "file_replace.h"
#include "load_internal.h"

/* ---- saving --------------------------------------------------------- */

static int set_text(json_t *obj, const char *key, const char *value)
{
	return value ? json_object_set_new(obj, key, json_string(value)) : 0;
}

json_t *sg_approval_json(const struct sg_policy *p, const struct sg_trusted_entry *t)
{
	json_t *e = json_object(), *relays = json_array();
	char text[SG_PREFIX_STRLEN], when[40];
	int bad = !e || !relays;
	uint32_t cls = sg_entry_class(t);
	long long created;
	const char *by;

	sg_prefix_format(&t->prefix, text, sizeof(text));
	bad |= json_object_set_new(e, "addr", json_string(text));
	for (size_t g = 0; g < p->n_groups && g < 64; g++)
		if (t->groups & (1ull << g))
			bad |= json_array_append_new(relays, json_string(p->groups[g].name));
	bad |= json_object_set(e, "relays", relays);
	/* The class is written out even when it was the default, so the
	 * approval keeps the rate it was granted; null is "unlimited". */
	if (cls < p->n_classes)
		bad |= json_object_set_new(e, "rate", json_string(p->classes[cls].name));
	else
		bad |= json_object_set_new(e, "rate", json_null());
	bad |= set_text(e, "ticket", t->ticket);
	bad |= set_text(e, "owner", t->owner);
	bad |= set_text(e, "contact", sg_entry_contact(t));
	if (t->expires) {
		sg_format_rfc3339(t->expires, when, sizeof(when));
		bad |= json_object_set_new(e, "expires", json_string(when));
	}
	bad |= set_text(e, "note", sg_entry_note(t));
	created = sg_entry_created(t) ? sg_entry_created(t) : (long long)time(NULL);
	sg_format_rfc3339(created, when, sizeof(when));
	bad |= json_object_set_new(e, "created", json_string(when));
	by = sg_entry_created_by(t);
	bad |= set_text(e, "created_by", by ? by : "unknown");
	json_decref(relays);
	if (bad) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* The whole file's text, or NULL (ENOMEM). */
static char *approvals_text(const struct sg_policy *p)
{
	json_t *doc = json_object(), *arr = json_array();
	char *text = NULL;
	int bad = !doc || !arr;

	for (size_t i = 0; !bad && i < p->n_trusted; i++) {
		json_t *e;

		if (p->trusted[i].origin != SG_ORIGIN_APPROVAL)
			continue;
		e = sg_approval_json(p, &p->trusted[i]);
		bad |= !e || json_array_append_new(arr, e);
	}
	bad |= json_object_set_new(doc, "version", json_integer(SG_APPROVALS_VERSION));
	bad |= json_object_set(doc, "approvals", arr);
	if (!bad)
		text = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(arr);
	json_decref(doc);
	return text;
}

/* Test hooks, so a test can prove a failure or a crash between writing
 * the new content and the rename leaves the old file as it was. */
static int test_hook(void *ctx, struct sg_err *err)
{
	const char *crash = getenv("SG_TEST_CRASH_BEFORE_RENAME");
	const char *fail = getenv("SG_TEST_FAIL_BEFORE_RENAME");

	if (crash && !strcmp(crash, "1"))
		_exit(99);
	if (fail && !strcmp(fail, "1"))
		return sg_errf(err, -EIO, "%s: injected failure before rename "
			       "(SG_TEST_FAIL_BEFORE_RENAME)", (const char *)ctx);
	return 0;
}

int sg_approvals_save(const char *path, const struct sg_policy *p, struct sg_err *err)
{
	char *text = approvals_text(p);
	int rc;

	if (!text)
		return sg_errf(err, -ENOMEM, "%s: out of memory", path);
	rc = sg_file_replace_line(path, text, test_hook, (void *)path, err);
	free(text);
	return rc;
}
