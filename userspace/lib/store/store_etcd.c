// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fleet store on etcd: load, apply (a compare-and-swap transaction
 * with its audit record), watch.  Keys are <prefix>approvals/<prefix>,
 * <prefix>bans/<addr> and <prefix>audit/<unix ns>-<gateway>
 * (docs/fleet.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "etcd.h"
#include "load.h"
#include "store.h"

/* A load's reply: every approval and ban, base64 and JSON around them. */
#define LOAD_REPLY_MAX (512u << 20)
#define APPLY_REPLY_MAX (1u << 20)
/* A watch message holds the events of one revision, or a batch of them:
 * etcd splits batches larger than its own limit (1.5 MiB by default). */
#define WATCH_MSG_MAX (32u << 20)
#define KEY_MAX 512

struct sg_store {
	struct sg_etcd *etcd;
	char prefix[KEY_MAX];
	char gateway[SG_STORE_GATEWAY_MAX];
	volatile int cancel;
};

int sg_store_open(const struct sg_store_config *cfg, const char *gateway,
		  struct sg_store **out, struct sg_err *err)
{
	struct sg_store *s;
	int rc;

	if (!gateway || !*gateway || strlen(gateway) >= SG_STORE_GATEWAY_MAX ||
	    !sg_name_chars_ok(gateway))
		return sg_errf(err, -EINVAL, "the gateway name \"%.64s\" is not 1 to %d of "
			       "A-Z a-z 0-9 _ . -", gateway ? gateway : "", SG_STORE_GATEWAY_MAX - 1);
	if (!cfg->prefix || strlen(cfg->prefix) + SG_STORE_NAME_MAX + 16 >= KEY_MAX)
		return sg_errf(err, -EINVAL, "store.etcd.prefix: missing or too long");
	s = calloc(1, sizeof(*s));
	if (!s)
		return sg_errf(err, -ENOMEM, "out of memory");
	snprintf(s->prefix, sizeof(s->prefix), "%s", cfg->prefix);
	snprintf(s->gateway, sizeof(s->gateway), "%s", gateway);
	rc = sg_etcd_open(cfg, &s->etcd, err);
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void sg_store_close(struct sg_store *s)
{
	if (!s)
		return;
	sg_etcd_close(s->etcd);
	free(s);
}

uint64_t sg_store_failovers(struct sg_store *s)
{
	return sg_etcd_failovers(s->etcd);
}

void sg_store_watch_cancel(struct sg_store *s)
{
	__atomic_store_n(&s->cancel, 1, __ATOMIC_RELEASE);
}

/* <prefix><suffix> as base64 JSON. */
static json_t *key_json(const struct sg_store *s, const char *suffix)
{
	char key[KEY_MAX];

	if (snprintf(key, sizeof(key), "%s%s", s->prefix, suffix) >= (int)sizeof(key))
		return NULL;
	return sg_etcd_b64(key, strlen(key));
}

static json_t *range_op(const struct sg_store *s, const char *dir)
{
	char key[KEY_MAX];

	snprintf(key, sizeof(key), "%s%s", s->prefix, dir);
	return json_pack("{s:{s:o, s:o, s:s}}", "request_range", "key",
			 sg_etcd_b64(key, strlen(key)), "range_end", sg_etcd_prefix_end(key),
			 "limit", "300001");
}

/* One key-value of a reply, validated: 1 if it is a record to keep (rec
 * filled, value owned by rec), 0 if refused (counted in *refused and, if
 * st, kept there with its reason), <0 on ENOMEM.  value_wanted: puts. */
static int parse_kv(const struct sg_store *s, json_t *kv, bool value_wanted,
		    struct sg_store_rec *rec, struct sg_store_state *st, uint64_t *refused)
{
	size_t plen = strlen(s->prefix), klen, vlen;
	char *key = NULL, *value = NULL, why[SG_ERR_MAX];
	struct sg_err err = { 0 };
	int rc;

	memset(rec, 0, sizeof(*rec));
	rc = sg_etcd_get_bytes(kv, "key", KEY_MAX, &key, &klen);
	if (rc == -ENOMEM)
		return rc;
	if (rc || klen <= plen || memcmp(key, s->prefix, plen)) {
		snprintf(why, sizeof(why), "a key outside %s, or not base64", s->prefix);
		goto refused;
	}
	if (sg_store_key_parse(key + plen, klen - plen, &rec->kind, rec->name,
			       sizeof(rec->name), &err)) {
		snprintf(why, sizeof(why), "%s", err.msg);
		goto refused;
	}
	if (sg_etcd_get_i64(kv, "mod_revision", &rec->mod_revision) || rec->mod_revision <= 0) {
		snprintf(why, sizeof(why), "%.200s: no valid mod_revision", key + plen);
		goto refused;
	}
	if (value_wanted) {
		rc = sg_etcd_get_bytes(kv, "value", SG_STORE_VALUE_MAX, &value, &vlen);
		if (rc == -ENOMEM) {
			free(key);
			return rc;
		}
		if (rc) {
			snprintf(why, sizeof(why), "%.200s: the value is %s", key + plen,
				 rc == -EMSGSIZE ? "too large" : "not base64");
			goto refused;
		}
		if (sg_store_value_check(rec->kind, rec->name, value, vlen, &err)) {
			snprintf(why, sizeof(why), "%s", err.msg);
			goto refused;
		}
		rec->value = value;
		rec->len = vlen;
	}
	free(key);
	return 1;
refused:
	if (st)
		sg_store_state_refuse(st, key && klen < KEY_MAX ? key + (klen > plen ? plen : 0) : "?", why);
	if (refused)
		(*refused)++;
	free(key);
	free(value);
	return 0;
}

static int bad_reply(struct sg_store *s, struct sg_err *err, const char *what)
{
	return sg_errf(err, -EPROTO, "%s: etcd's reply %s", sg_etcd_endpoint(s->etcd), what);
}

/* The end of a read: on success *st replaces *out (so a failed read
 * leaves the caller's state as it was); then st and the reply go. */
static int hand_over(int rc, struct sg_store_state *st, struct sg_store_state *out,
		     json_t *reply)
{
	if (!rc) {
		sg_store_state_free(out);
		*out = *st;
		memset(st, 0, sizeof(*st));
	}
	sg_store_state_free(st);
	json_decref(reply);
	return rc;
}

int sg_store_load(struct sg_store *s, struct sg_store_state *out, struct sg_err *err)
{
	json_t *req, *reply = NULL, *responses, *r;
	struct sg_store_state st = { 0 };
	size_t i;
	int rc;

	/* Both ranges in one transaction: one revision for both. */
	req = json_pack("{s:[o, o]}", "success", range_op(s, "approvals/"), range_op(s, "bans/"));
	if (!req)
		return sg_errf(err, -ENOMEM, "out of memory");
	rc = sg_etcd_call(s->etcd, "/v3/kv/txn", req, LOAD_REPLY_MAX, &reply, err);
	json_decref(req);
	if (rc)
		return rc;
	responses = json_object_get(reply, "responses");
	if (sg_etcd_get_i64(json_object_get(reply, "header"), "revision", &st.revision) ||
	    st.revision <= 0 || json_array_size(responses) != 2) {
		rc = bad_reply(s, err, "to the load has no revision or not two ranges");
		goto out;
	}
	json_array_foreach(responses, i, r) {
		json_t *range = json_object_get(r, "response_range"), *kvs, *kv;
		size_t k;

		kvs = json_object_get(range, "kvs");
		if (!json_is_object(range) || (kvs && !json_is_array(kvs))) {
			rc = bad_reply(s, err, "to the load is not two ranges");
			goto out;
		}
		if (json_is_true(json_object_get(range, "more"))) {
			rc = sg_errf(err, -E2BIG, "%s: more than %d records under %s%s: refused",
				     sg_etcd_endpoint(s->etcd), SG_STORE_MAX_RECORDS, s->prefix,
				     i ? "bans/" : "approvals/");
			goto out;
		}
		json_array_foreach(kvs, k, kv) {
			struct sg_store_rec rec;

			rc = parse_kv(s, kv, true, &rec, &st, NULL);
			if (rc < 0) {
				sg_errf(err, rc, "out of memory");
				goto out;
			}
			/* An audit key below approvals/ would be odd; a record
			 * must be of the directory it is in. */
			if (rc && rec.kind != (i ? SG_STORE_BAN : SG_STORE_APPROVAL)) {
				sg_store_state_refuse(&st, rec.name, "a record of the wrong directory");
				free(rec.value);
				continue;
			}
			if (rc && sg_store_state_set(&st, rec.kind, rec.name, rec.value,
						     rec.mod_revision)) {
				free(rec.value);
				rc = sg_errf(err, -ENOMEM, "out of memory");
				goto out;
			}
			free(rec.value);
		}
	}
	rc = 0;
out:
	return hand_over(rc, &st, out, reply);
}

/* ---- apply ------------------------------------------------------------- */

/* The value as JSON for the audit record (null if absent or not JSON). */
static json_t *as_json(const char *text)
{
	json_t *j = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;

	return j ? j : json_null();
}

static char *audit_text(const struct sg_store *s, const struct sg_store_change *c,
			const char *suffix, long long ns)
{
	const struct sg_store_actor *a = &c->actor;
	char when[40], ms[48];
	json_t *o;
	char *text;

	sg_format_rfc3339(ns / 1000000000, when, sizeof(when));
	/* "2026-12-06T11:39:37Z" -> "2026-12-06T11:39:37.123Z" */
	snprintf(ms, sizeof(ms), "%.*s.%03lldZ", (int)strlen(when) - 1, when,
		 ns / 1000000 % 1000);
	o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:s, s:o, s:o, s:I}", "time", ms,
		      "gateway", s->gateway, "uid", (json_int_t)a->uid,
		      "user", a->user ? a->user : "smtpgated", "command",
		      a->command ? a->command : "?", "ticket",
		      a->ticket ? json_string(a->ticket) : json_null(), "key", suffix,
		      "before", as_json(c->before), "after", as_json(c->value),
		      "expect_revision", (json_int_t)c->expect_mod_revision);
	text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(o);
	return text;
}

/* What a conflict looks like to the operator. */
static int conflict(struct sg_store *s, const char *suffix, const struct sg_store_change *c,
		    json_t *range, struct sg_err *err)
{
	json_t *kv = json_array_get(json_object_get(range, "kvs"), 0);
	int64_t now_rev = 0;

	if (kv)
		sg_etcd_get_i64(kv, "mod_revision", &now_rev);
	if (!kv)
		return sg_errf(err, SG_STORE_ECONFLICT, "%s%s was removed by another gateway "
			       "meanwhile (this one saw it at revision %lld): nothing was changed",
			       s->prefix, suffix, (long long)c->expect_mod_revision);
	if (!c->expect_mod_revision)
		return sg_errf(err, SG_STORE_ECONFLICT, "%s%s already exists in the fleet store "
			       "(written at revision %lld, possibly by another gateway just now): "
			       "nothing was changed", s->prefix, suffix, (long long)now_rev);
	return sg_errf(err, SG_STORE_ECONFLICT, "%s%s was changed by another gateway meanwhile "
		       "(now at revision %lld, this one saw %lld): nothing was changed; look "
		       "again and retry", s->prefix, suffix, (long long)now_rev,
		       (long long)c->expect_mod_revision);
}

int sg_store_apply(struct sg_store *s, const struct sg_store_change *c, int64_t *revision,
		   struct sg_err *err)
{
	char suffix[SG_STORE_NAME_MAX + 16], audit_suffix[SG_STORE_NAME_MAX + 16];
	json_t *req = NULL, *reply = NULL, *op, *responses;
	struct timespec ts;
	char rev[24], *audit = NULL;
	long long ns;
	int64_t r = 0;
	int rc;

	char canon[SG_STORE_NAME_MAX];
	int kind;

	/* The key this gateway writes passes the checks every reader makes:
	 * a kind, a canonical name. */
	if ((c->kind != SG_STORE_APPROVAL && c->kind != SG_STORE_BAN) ||
	    sg_store_key_suffix(c->kind, c->name, suffix, sizeof(suffix)))
		return sg_errf(err, -EINVAL, "not an approval or a ban: \"%.64s\"", c->name);
	if (sg_store_key_parse(suffix, strlen(suffix), &kind, canon, sizeof(canon), err))
		return -EINVAL;
	if (c->expect_mod_revision < 0)
		return sg_errf(err, -EINVAL, "%s: expect_mod_revision %lld is not a revision",
			       suffix, (long long)c->expect_mod_revision);
	/* What this gateway writes passes the checks every reader makes. */
	if (c->value && sg_store_value_check(c->kind, c->name, c->value, strlen(c->value), err))
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &ts);
	ns = (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
	snprintf(audit_suffix, sizeof(audit_suffix), "audit/%019lld-%s", ns, s->gateway);
	audit = audit_text(s, c, suffix, ns);
	snprintf(rev, sizeof(rev), "%lld", (long long)c->expect_mod_revision);
	if (c->value)
		op = json_pack("{s:{s:o, s:o}}", "request_put", "key", key_json(s, suffix), "value",
			       sg_etcd_b64(c->value, strlen(c->value)));
	else
		op = json_pack("{s:{s:o}}", "request_delete_range", "key", key_json(s, suffix));
	/* The audit key is new for every change: if it exists, this very
	 * change was already made (a retry after an answer was lost), which
	 * the failure branch's second range shows. */
	if (audit && op)
		req = json_pack("{s:[{s:s, s:o, s:s, s:s}, {s:s, s:o, s:s, s:s}], "
				"s:[o, {s:{s:o, s:o}}], s:[{s:{s:o}}, {s:{s:o}}]}",
				"compare",
				"target", "MOD", "key", key_json(s, suffix), "result", "EQUAL",
				"mod_revision", rev,
				"target", "CREATE", "key", key_json(s, audit_suffix), "result",
				"EQUAL", "create_revision", "0",
				"success", op, "request_put", "key", key_json(s, audit_suffix),
				"value", sg_etcd_b64(audit, strlen(audit)),
				"failure", "request_range", "key", key_json(s, suffix),
				"request_range", "key", key_json(s, audit_suffix));
	else
		json_decref(op);
	free(audit);
	if (!req)
		return sg_errf(err, -ENOMEM, "out of memory");
	rc = sg_etcd_call(s->etcd, "/v3/kv/txn", req, APPLY_REPLY_MAX, &reply, err);
	json_decref(req);
	if (rc)
		goto out;
	responses = json_object_get(reply, "responses");
	if (json_is_true(json_object_get(reply, "succeeded"))) {
		if (sg_etcd_get_i64(json_object_get(reply, "header"), "revision", &r) || r <= 0)
			rc = bad_reply(s, err, "to a change has no revision");
		goto out;
	}
	if (json_array_size(responses) != 2) {
		rc = bad_reply(s, err, "to a refused change is not two ranges");
		goto out;
	}
	op = json_array_get(json_object_get(json_object_get(json_array_get(responses, 1),
							    "response_range"), "kvs"), 0);
	if (op) {
		/* Made by an earlier try of this call. */
		if (sg_etcd_get_i64(op, "mod_revision", &r) || r <= 0)
			rc = bad_reply(s, err, "holds an audit record without a revision");
		goto out;
	}
	rc = conflict(s, suffix, c,
		      json_object_get(json_array_get(responses, 0), "response_range"), err);
out:
	if (!rc && revision)
		*revision = r;
	json_decref(reply);
	return rc;
}

/* ---- watch -------------------------------------------------------------- */

struct watch_ctx {
	struct sg_store *s;
	sg_store_watch_cb cb;
	void *ctx;
	uint64_t *refused;
	int64_t *next;          /* the revision to resume from */
};

static int on_result(void *ctx, json_t *result)
{
	struct watch_ctx *w = ctx;
	json_t *events = json_object_get(result, "events"), *ev;
	size_t i;

	if (events && !json_is_array(events))
		return -EPROTO;
	if (!json_array_size(events)) {
		/* "created": the watch is established (revision 0: the events
		 * of older revisions may still follow).  Progress: every event
		 * up to header.revision has been sent. */
		struct sg_store_event e = { .rec.kind = SG_STORE_SYNC };

		if (!json_is_true(json_object_get(result, "created"))) {
			if (sg_etcd_get_i64(json_object_get(result, "header"), "revision",
					    &e.revision) || e.revision <= 0)
				return 0;
			if (e.revision >= *w->next)
				*w->next = e.revision + 1;
		}
		return w->cb(w->ctx, &e);
	}
	json_array_foreach(events, i, ev) {
		const char *type = json_string_value(json_object_get(ev, "type"));
		bool del = type && !strcmp(type, "DELETE");
		struct sg_store_event e = { 0 };
		int rc;

		if (type && !del && strcmp(type, "PUT")) {
			(*w->refused)++;
			continue;
		}
		rc = parse_kv(w->s, json_object_get(ev, "kv"), !del, &e.rec, NULL, w->refused);
		if (rc < 0)
			return rc;
		if (!rc)
			continue;
		e.revision = e.rec.mod_revision;
		if (e.revision >= *w->next)
			*w->next = e.revision + 1;
		rc = w->cb(w->ctx, &e);
		free(e.rec.value);
		if (rc)
			return rc;
	}
	return 0;
}

int sg_store_watch(struct sg_store *s, int64_t from_rev, unsigned timeout_ms,
		   sg_store_watch_cb cb, void *ctx, uint64_t *n_refused, struct sg_err *err)
{
	uint64_t refused = 0;
	int64_t next = from_rev > 0 ? from_rev : 1;
	struct watch_ctx w = { .s = s, .cb = cb, .ctx = ctx, .refused = &refused, .next = &next };
	char rev[24];
	json_t *create;
	int rc;

	snprintf(rev, sizeof(rev), "%lld", (long long)next);
	create = json_pack("{s:o, s:o, s:s, s:b}", "key", sg_etcd_b64(s->prefix, strlen(s->prefix)),
			   "range_end", sg_etcd_prefix_end(s->prefix), "start_revision", rev,
			   "progress_notify", 1);
	if (!create)
		return sg_errf(err, -ENOMEM, "out of memory");
	rc = sg_etcd_watch(s->etcd, create, timeout_ms, WATCH_MSG_MAX, on_result, &w,
			   &s->cancel, err);
	json_decref(create);
	/* A cancel ends the watch running, or the next one: never lost. */
	if (rc == -EINTR)
		__atomic_store_n(&s->cancel, 0, __ATOMIC_RELEASE);
	if (n_refused)
		*n_refused += refused;
	return rc;
}

/* ---- the fleet's audit trail ------------------------------------------ */

int sg_store_audit_list(struct sg_store *s, long long since_ns, size_t limit,
			struct sg_store_state *out, struct sg_err *err)
{
	char from[64], dir[KEY_MAX + 8];
	json_t *req, *reply = NULL, *kvs, *kv;
	struct sg_store_state st = { 0 };
	size_t k;
	int rc;

	/* Audit keys sort by time: the newest `limit` from since_ns on,
	 * newest first from etcd, kept oldest first. */
	snprintf(from, sizeof(from), "audit/%019lld", since_ns > 0 ? since_ns : 0);
	snprintf(dir, sizeof(dir), "%saudit/", s->prefix);
	req = json_pack("{s:o, s:o, s:I, s:s, s:s}", "key", key_json(s, from),
			"range_end", sg_etcd_prefix_end(dir), "limit", (json_int_t)limit,
			"sort_order", "DESCEND", "sort_target", "KEY");
	if (!req)
		return sg_errf(err, -ENOMEM, "out of memory");
	rc = sg_etcd_call(s->etcd, "/v3/kv/range", req, LOAD_REPLY_MAX, &reply, err);
	json_decref(req);
	if (rc)
		return rc;
	if (sg_etcd_get_i64(json_object_get(reply, "header"), "revision", &st.revision)) {
		rc = bad_reply(s, err, "to the audit range has no revision");
		goto out;
	}
	kvs = json_object_get(reply, "kvs");
	st.recs = calloc(json_array_size(kvs) + 1, sizeof(*st.recs));
	if (!st.recs) {
		rc = sg_errf(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (k = json_array_size(kvs); k-- > 0;) {
		kv = json_array_get(kvs, k);
		rc = parse_kv(s, kv, true, &st.recs[st.n], &st, NULL);
		if (rc < 0) {
			sg_errf(err, rc, "out of memory");
			goto out;
		}
		if (rc && st.recs[st.n].kind == SG_STORE_AUDIT)
			st.n++;
		else if (rc)
			free(st.recs[st.n].value);
	}
	rc = 0;
out:
	return hand_over(rc, &st, out, reply);
}
