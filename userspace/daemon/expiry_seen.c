// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Which policy.json expiries have been audited already.  An expired
 * entry of policy.json stays (the kernel blocks it as "expired") until
 * someone edits the file, so without a memory its expiry would be
 * audited again after every reload and restart.  The memory is
 * <state_dir>/expiries_reported.json: the (prefix, expires) pairs of the
 * policy's entries whose expiry is recorded, replaced atomically (temp
 * file, fsync, rename, fsync of the directory) each time one is added.
 * A renewed entry (another expires) is a new expiry, reported again.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "daemon.h"
#include "file_replace.h"
#include "log.h"

/* More than every key of a full policy could take: anything larger is
 * not ours. */
#define SEEN_FILE_MAX (64u << 20)

static void seen_path(const struct sgd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/expiries_reported.json", d->cfg.state_dir);
}

static void entry_key(const struct sg_trusted_entry *t, char *buf, size_t len)
{
	char text[SG_PREFIX_STRLEN];

	sg_prefix_format(&t->prefix, text, sizeof(text));
	snprintf(buf, len, "%s@%lld", text, (long long)t->expires);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void sgd_expiry_seen_apply(struct sgd *d)
{
	char path[PATH_MAX], key[SG_PREFIX_STRLEN + 32], *k = key;
	json_error_t jerr;
	struct stat st;
	json_t *doc, *arr, *v;
	char **keys;
	size_t n = 0, i;

	seen_path(d, path, sizeof(path));
	if (stat(path, &st))
		return; /* none reported yet */
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > SEEN_FILE_MAX) {
		sgd_warn("%s: not a regular file of at most %u MiB: ignored (expired policy "
			 "entries may be audited again)", path, SEEN_FILE_MAX >> 20);
		return;
	}
	doc = json_load_file(path, 0, &jerr);
	arr = json_object_get(doc, "reported");
	if (!json_is_array(arr)) {
		sgd_warn("%s: unreadable (%s): ignored (expired policy entries may be audited "
			 "again)", path, doc ? "no \"reported\" array" : jerr.text);
		json_decref(doc);
		return;
	}
	keys = calloc(json_array_size(arr) + 1, sizeof(*keys));
	json_array_foreach(arr, i, v)
		if (keys && json_is_string(v))
			keys[n++] = (char *)json_string_value(v);
	if (keys)
		qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; keys && i < d->policy.n_trusted; i++) {
		struct sg_trusted_entry *t = &d->policy.trusted[i];

		if (t->origin != SG_ORIGIN_POLICY || !t->expires)
			continue;
		entry_key(t, key, sizeof(key));
		if (bsearch(&k, keys, n, sizeof(*keys), key_cmp))
			t->expiry_reported = 1;
	}
	free(keys);
	json_decref(doc);
}

int sgd_expiry_seen_save(struct sgd *d, struct sg_err *err)
{
	char path[PATH_MAX], key[SG_PREFIX_STRLEN + 32];
	json_t *arr = json_array(), *doc = json_pack("{s:i, s:o}", "version", 1, "reported", arr);
	char *text = NULL;
	int rc;

	for (size_t i = 0; doc && i < d->policy.n_trusted; i++) {
		const struct sg_trusted_entry *t = &d->policy.trusted[i];

		if (t->origin != SG_ORIGIN_POLICY || !t->expiry_reported)
			continue;
		entry_key(t, key, sizeof(key));
		json_array_append_new(arr, json_string(key));
	}
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return sg_errf(err, -ENOMEM, "out of memory");
	seen_path(d, path, sizeof(path));
	rc = sg_file_replace(path, text, strlen(text), NULL, NULL, err);
	free(text);
	/* Not durable: the new file is in place all the same, and reporting
	 * a failure would take back an audit record the file says was
	 * written (and so never write it again); at worst a crash now
	 * records the expiry twice. */
	if (rc == SG_SAVED_NOT_DURABLE) {
		sgd_warn("%s (a crash now may audit an expiry again)", err->msg);
		rc = 0;
	}
	return rc;
}
