/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the three JSON loaders share and nothing else needs: a cursor that
 * knows the file name and the JSON path it is at, so every message reads
 *     policy.json: trusted[3].addr: "10.0.0.300" is not an IP prefix
 * and typed getters that report a wrong type, a missing key or an
 * out-of-range value at the right path and keep going, so one run lists
 * every problem of a file.
 */
#ifndef SG_LOAD_INTERNAL_H
#define SG_LOAD_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include "load.h"

struct sg_jsrc;

/* path opened by sg_open_trusted_file's rules and made a json_stream
 * source (sha256: hash what pass 1 reads), for a loader that reads it
 * through a window.  0; -ENOENT (no message: the caller says what a
 * missing file means); or -1 with why in d (refused, larger than
 * SG_MAX_FILE_BYTES, out of memory).  sg_close_trusted_stream frees the
 * source and closes the file. */
int sg_open_trusted_stream(const char *path, const struct sg_load_opts *o, bool sha256,
			   struct sg_jsrc *src, struct sg_diag *d);
void sg_close_trusted_stream(struct sg_jsrc *src);

#define SG_JPATH_MAX 256

struct sg_jctx {
	const char *file;       /* as shown in messages: the basename */
	struct sg_diag *d;
	char path[SG_JPATH_MAX];
	size_t len;
};

void sg_j_init(struct sg_jctx *c, const char *file, struct sg_diag *d);

/* Descend into a key or an index; each returns what sg_j_pop needs to
 * come back up. */
size_t sg_j_push_key(struct sg_jctx *c, const char *key);
size_t sg_j_push_index(struct sg_jctx *c, size_t i);
void sg_j_pop(struct sg_jctx *c, size_t saved);

/* "file: path: message" (or "file: message" at the top level). */
void sg_j_error(struct sg_jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "out of memory" at the current path. */
void sg_j_oom(struct sg_jctx *c);
/* A port number 1-65535 at the current path; 0 if invalid (reported). */
unsigned sg_j_port(struct sg_jctx *c, json_t *v);
void sg_j_warn(struct sg_jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same one level down, at key. */
void sg_j_error_at(struct sg_jctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Errors for every key of obj not in allowed (NULL-terminated), with a
 * "did you mean" for a near miss.  Returns true if there were none. */
bool sg_j_check_keys(struct sg_jctx *c, json_t *obj, const char *const *allowed);

/* The getters look up key in obj.  They return 1 when it is present and
 * valid (*out set), 0 when it is absent and optional, -1 when it is
 * invalid or required and absent (the error is reported). */
int sg_j_get(struct sg_jctx *c, json_t *obj, const char *key, json_type type, bool required,
	     json_t **out);
/* A string of 1..max characters without control characters. */
int sg_j_get_text(struct sg_jctx *c, json_t *obj, const char *key, bool required, size_t max,
		  const char **out);
/* One of the NULL-terminated names; *out is its index. */
int sg_j_get_enum(struct sg_jctx *c, json_t *obj, const char *key, bool required,
		  const char *const *names, int *out);
/* An integer in [min, max]. */
int sg_j_get_int(struct sg_jctx *c, json_t *obj, const char *key, bool required, long long min,
		 long long max, long long *out);
/* A number (integer or real) in [min, max]; min_exclusive makes the lower
 * bound strict ("must be greater than 0"). */
int sg_j_get_num(struct sg_jctx *c, json_t *obj, const char *key, bool required, double min,
		 bool min_exclusive, double max, double *out);
/* An absolute path (a string starting with '/', shorter than PATH_MAX). */
int sg_j_get_path(struct sg_jctx *c, json_t *obj, const char *key, bool required,
		  const char **out);
/* An RFC 3339 time. */
int sg_j_get_time(struct sg_jctx *c, json_t *obj, const char *key, bool required,
		  long long *out);

/* "a string", "an array", "true", "2.5": what a wrong value was. */
const char *sg_j_describe(json_t *v, char *buf, size_t len);

/* Parses text with jansson (duplicate keys rejected) and reports a syntax
 * error as "file: line L, column C: problem".  Returns NULL on error. */
json_t *sg_j_parse(const char *file, const char *text, size_t len, struct sg_diag *d);

/* "name" or "name, name, ..." of the groups/classes, for "did you mean"
 * style hints; empty when there are none. */
void sg_j_list_groups(const struct sg_policy *p, char *buf, size_t len);
void sg_j_list_classes(const struct sg_policy *p, char *buf, size_t len);

/* One trusted entry (policy.json trusted[i] or approvals.json
 * approvals[i]) at the current path, with names resolved against p.
 * Strings in *t point into obj (copy before obj is freed), and t->extra
 * to *x, filled in (sg_policy_add_trusted and the like copy both).
 * Returns true if valid; *addr_ok says whether t->prefix at least is
 * (for the duplicate check). */
bool sg_j_trusted(struct sg_jctx *c, json_t *obj, const struct sg_policy *p, bool approval,
		  long long now, struct sg_trusted_entry *t, struct sg_trusted_extra *x,
		  bool *addr_ok);
/* The approvals.json format this smtpgate reads and writes. */
#define SG_APPROVALS_VERSION 1

/* A prefix and the index of the array element it came from. */
struct sg_prefix_at {
	struct sg_prefix prefix;
	size_t index;
};
/* Errors for every prefix listed twice in v[0..n) (which gets sorted),
 * naming both indexes: "trusted[5].addr: 10.20.1.5 is listed twice
 * (trusted[2] and trusted[5])".  field: NULL for arrays of prefixes. */
void sg_j_prefix_duplicates(struct sg_jctx *c, const char *array, const char *field,
			    struct sg_prefix_at *v, size_t n);

/* policy.json parsing state, shared by load_policy.c and load_relays.c. */
struct sg_policy_parse {
	struct sg_jctx c;
	json_t *root;
	struct sg_policy *p;
	long long now;
	bool ports_ok;          /* relay ports are checked against them */
	bool one_thread;        /* sg_load_opts.one_thread */
};

/* Where trusted[]'s elements come from: the jansson tree of the whole
 * file, or read one at a time (json_stream.h). */
struct sg_trusted_source {
	struct sg_jsrc *src;            /* NULL: the tree's "trusted" */
	const struct sg_jsplit *split;
	int rc;                         /* of the stream: 0, SG_JS_FALLBACK, -errno */
};

/* load_policy_trusted.c: policy.json's trusted[] from ts, into pp->p. */
void sg_pp_trusted(struct sg_policy_parse *pp, struct sg_trusted_source *ts);
/* load_trusted_halves.c: the same elements read by two threads, into
 * the room reserved in pp->p.  true when done; false when it did not
 * apply or either half met anything to report (then nothing is added,
 * and reading them in one pass words every message). */
bool sg_pp_trusted_halves(struct sg_policy_parse *pp, struct sg_trusted_source *ts);
/* The same for any streamed array of entries (approvals.json's too):
 * split->count elements appended to p (room reserved), resolved against
 * resolve (which may be p), approvals or policy entries. */
struct sg_halves_job {
	struct sg_policy *p;
	const struct sg_policy *resolve;
	const char *file;               /* for messages (which send it back) */
	bool approval;
	long long now;
	struct sg_jsrc *src;
	const struct sg_jsplit *split;
};
bool sg_trusted_halves(const struct sg_halves_job *job);

/* load_relays.c, below load_policy.c (which calls them, never the
 * other way round). */
void sg_pp_classes(struct sg_policy_parse *pp);
void sg_pp_relays(struct sg_policy_parse *pp);
void sg_pp_relay_cap(struct sg_policy_parse *pp);

/* The base name of path, for messages ("policy.json"). */
const char *sg_basename(const char *path);
long long sg_now(const struct sg_load_opts *o);

#endif
