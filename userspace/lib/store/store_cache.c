// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The local cache of the fleet store: the last approvals and bans a
 * gateway saw and their revision, so that it enforces them when it
 * (re)starts while etcd is unreachable, and resumes its watch from that
 * revision when etcd is back.
 *
 *     {"version": 1, "prefix": "/smtpgate/site/", "revision": 42,
 *      "records": [{"key": "approvals/10.1.2.9", "mod_revision": 40,
 *                   "value": {...}}, ...]}
 *
 * Written like approvals.json: a temporary file in the same directory,
 * fsync, rename over the old one, fsync of the directory; a crash leaves
 * the old cache or the new, never a mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "load.h"
#include "file_replace.h"
#include "store.h"

#define CACHE_VERSION 1

static char *cache_text(const char *prefix, const struct sg_store_state *st)
{
	json_t *doc = json_pack("{s:i, s:s, s:I, s:[]}", "version", CACHE_VERSION, "prefix",
				prefix, "revision", (json_int_t)st->revision, "records");
	json_t *arr = json_object_get(doc, "records");
	char key[SG_STORE_NAME_MAX + 16], *text = NULL;
	int bad = !doc;

	for (size_t i = 0; !bad && i < st->n; i++) {
		const struct sg_store_rec *r = &st->recs[i];
		json_t *v = json_loadb(r->value, r->len, JSON_REJECT_DUPLICATES, NULL);

		bad |= !v || sg_store_key_suffix(r->kind, r->name, key, sizeof(key));
		bad |= json_array_append_new(arr, json_pack("{s:s, s:I, s:o}", "key", key,
							     "mod_revision",
							     (json_int_t)r->mod_revision,
							     "value", v));
	}
	if (!bad)
		text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(doc);
	return text;
}

int sg_store_cache_save(const char *path, const char *prefix, const struct sg_store_state *st,
			struct sg_err *err)
{
	char *text = cache_text(prefix, st);
	int rc;

	if (!text)
		return sg_errf(err, -ENOMEM, "%s: out of memory", path);
	if (path[0] != '/') {
		free(text);
		return sg_errf(err, -EINVAL, "%s: the cache needs an absolute path", path);
	}
	/* Not durable is as good as failed for a cache: the caller retries. */
	rc = sg_file_replace_line(path, text, NULL, NULL, err);
	free(text);
	return rc == SG_SAVED_NOT_DURABLE ? -EIO : rc;
}

static int load_records(json_t *arr, struct sg_store_state *st, struct sg_err *err)
{
	struct sg_err one = { 0 };
	size_t i;
	json_t *r;

	if (json_array_size(arr) > SG_STORE_MAX_RECORDS)
		return sg_errf(err, -E2BIG, "more than %d records", SG_STORE_MAX_RECORDS);
	json_array_foreach(arr, i, r) {
		const char *key = json_string_value(json_object_get(r, "key"));
		json_t *rev = json_object_get(r, "mod_revision");
		char name[SG_STORE_NAME_MAX];
		char *value;
		int kind, rc;

		if (!key || !json_is_integer(rev) || json_integer_value(rev) <= 0 ||
		    !json_is_object(json_object_get(r, "value"))) {
			sg_store_state_refuse(st, key ? key : "?", "not {\"key\", \"mod_revision\", \"value\"}");
			continue;
		}
		if (sg_store_key_parse(key, strlen(key), &kind, name, sizeof(name), &one) ||
		    kind == SG_STORE_AUDIT) {
			sg_store_state_refuse(st, key, kind == SG_STORE_AUDIT ? "audit records are not cached"
				   : one.msg);
			continue;
		}
		value = json_dumps(json_object_get(r, "value"), JSON_COMPACT | JSON_ENSURE_ASCII);
		if (!value)
			return sg_errf(err, -ENOMEM, "out of memory");
		if (sg_store_value_check(kind, name, value, strlen(value), &one)) {
			sg_store_state_refuse(st, key, one.msg);
			free(value);
			continue;
		}
		rc = sg_store_state_set(st, kind, name, value, json_integer_value(rev));
		free(value);
		if (rc)
			return sg_errf(err, rc, "out of memory");
	}
	return 0;
}

int sg_store_cache_load(const char *path, const char *prefix, struct sg_store_state *out,
			struct sg_err *err)
{
	struct sg_load_opts o = { .allow_any_owner = true };
	struct sg_store_state st = { 0 };
	struct sg_diag d = { 0 };
	const char *p;
	json_error_t je;
	json_t *doc = NULL, *v;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	/* The daemon wrote it (mode 0600 in its state directory): owner
	 * checks would only refuse a cache copied by hand. */
	rc = sg_read_trusted_file(path, &o, &buf, &len, &d);
	if (rc) {
		if (rc == -ENOENT)
			sg_errf(err, rc, "%s: no cache yet", path);
		else
			sg_errf(err, rc, "%s", d.n && d.lines[0] ? d.lines[0] : strerror(-rc));
		goto out;
	}
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(doc)) {
		rc = sg_errf(err, -EINVAL, "%s: not a cache: %s", path, doc ? "not an object"
			     : je.text);
		goto out;
	}
	v = json_object_get(doc, "version");
	if (json_integer_value(v) != CACHE_VERSION) {
		rc = sg_errf(err, -EINVAL, "%s: version %lld is not supported (this smtpgate reads "
			     "%d)", path, (long long)json_integer_value(v), CACHE_VERSION);
		goto out;
	}
	p = json_string_value(json_object_get(doc, "prefix"));
	if (!p || strcmp(p, prefix)) {
		rc = sg_errf(err, -ESTALE, "%s: the cache holds %s, not %s (store.etcd.prefix "
			     "changed?): ignored", path, p ? p : "no prefix", prefix);
		goto out;
	}
	v = json_object_get(doc, "revision");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		rc = sg_errf(err, -EINVAL, "%s: revision: not a revision", path);
		goto out;
	}
	st.revision = json_integer_value(v);
	rc = load_records(json_object_get(doc, "records"), &st, err);
	if (rc) {
		sg_err_prefix(err, "%s", path);
		goto out;
	}
	sg_store_state_free(out);
	*out = st;
	memset(&st, 0, sizeof(st));
out:
	sg_store_state_free(&st);
	json_decref(doc);
	free(buf);
	sg_diag_free(&d);
	return rc;
}
