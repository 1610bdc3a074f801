// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl trust list: the filters and paging go to smtpgated (it
 * filters; this prints), and the reply is printed as it arrives.
 *
 * smtpgated streams the listing (docs/control-protocol.md, trust.list):
 *     {"ok":true,"result":[ENTRY,ENTRY,...],"more":false}
 * with "more": true and "next": PREFIX when --limit cut it.  Each ENTRY
 * is cut out of the stream as soon as its closing brace arrives, parsed
 * alone and printed, so neither side ever holds the whole listing: the
 * text table in parts of PART rows (columns as wide as the widest cell
 * so far), --json as one JSON array with an entry per line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ctl.h"
#include "load.h"

/* The head of a streamed listing: anything else is read whole. */
#define HEAD "{\"ok\":true,\"result\":["
/* Text rows printed together. */
#define PART 1000

/* ---- printing --------------------------------------------------------- */

struct printer {
	struct ctl *c;
	struct ctl_table *t;
	size_t n;               /* entries printed */
};

static const char *entry_state(json_t *e)
{
	if (json_is_true(json_object_get(e, "expired")))
		return "expired";
	if (json_is_true(json_object_get(e, "shadowed")))
		return "shadowed";
	return "active";
}

static void print_entry(struct printer *pr, json_t *e)
{
	static const char *const headers[] = {
		"PREFIX", "RELAYS", "RATE", "TICKET", "OWNER", "EXPIRES", "SOURCE", "STATE"
	};

	if (pr->c->json) {
		char *text = json_dumps(e, JSON_COMPACT);

		printf("%s%s", pr->n ? ",\n" : "[\n", text ? text : "null");
		free(text);
	} else {
		char relays[256];
		const char *row[8] = {
			ctl_str(json_object_get(e, "prefix"), "?"),
			ctl_join(json_object_get(e, "relays"), relays, sizeof(relays)),
			ctl_str(json_object_get(e, "rate"), "unlimited"),
			ctl_str(json_object_get(e, "ticket"), "-"),
			ctl_str(json_object_get(e, "owner"), "-"),
			ctl_str(json_object_get(e, "expires"), "never"),
			ctl_str(json_object_get(e, "source"), "?"),
			entry_state(e),
		};

		if (!pr->t)
			pr->t = ctl_table_new(8, headers);
		ctl_table_row(pr->t, row);
		if ((pr->n + 1) % PART == 0)
			ctl_table_print(pr->t, stdout);
	}
	pr->n++;
}

/* After the last entry: the rest of the table, or the end of the array. */
static void print_end(struct printer *pr, const char *window, bool filtered)
{
	if (pr->c->json) {
		fputs(pr->n ? "\n]\n" : "[]\n", stdout);
	} else if (pr->t) {
		ctl_table_print(pr->t, stdout);
	} else if (window) {
		printf("no trusted entry expires within %s\n", window);
	} else {
		printf(filtered ? "no trusted entry matches\n" : "no trusted entries\n");
	}
	ctl_table_free(pr->t);
	pr->t = NULL;
	fflush(stdout);
}

/* ---- reading the stream ------------------------------------------------ */

struct reader {
	int fd;
	char *buf;
	size_t off, len, cap;   /* unread: buf[off..len) */
	bool eof;
};

/* Reads what comes next.  0 (data or EOF, r->eof), or -errno. */
static int fill(struct reader *r)
{
	ssize_t n;

	if (r->off && r->off >= r->len / 2) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->cap - r->len < 65536) {
		size_t cap = r->cap ? r->cap * 2 : 256 * 1024;
		char *b = realloc(r->buf, cap + 1);

		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	do
		n = recv(r->fd, r->buf + r->len, r->cap - r->len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET && r->len ? (r->eof = true, 0) : -errno;
	r->eof = n == 0;
	r->len += (size_t)n;
	r->buf[r->len] = '\0';
	return 0;
}

/* The end of the JSON object starting at s[0] == '{' (one past its
 * closing brace), or 0 if it is not all in s[0..n) yet. */
static size_t object_end(const char *s, size_t n)
{
	int depth = 0;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (ch == '\\')
				escaped = true;
			else if (ch == '"')
				in_string = false;
		} else if (ch == '"') {
			in_string = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if ((ch == '}' || ch == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

/* A reply that is not a streamed listing (an error, or an older daemon's
 * whole array): read to the end and handled whole. */
static int whole_reply(struct ctl *c, struct reader *r, struct printer *pr, bool *more,
		       char **next)
{
	json_t *result, *e;
	size_t i;
	int rc, e2;

	while (!r->eof)
		if ((e2 = fill(r)))
			return ctl_read_error(c, e2);
	rc = ctl_reply_parse(c, r->buf + r->off, r->len - r->off, &result);
	if (rc)
		return rc;
	json_array_foreach(result, i, e)
		print_entry(pr, e);
	json_decref(result);
	*more = false;
	*next = NULL;
	return CTL_OK;
}

/* The end of a streamed listing, after its ']': ,"more":B[,"next":P]} */
static int trailer(struct ctl *c, struct reader *r, bool *more, char **next)
{
	json_t *o;
	char *text;
	int e;

	while (!r->eof)
		if ((e = fill(r)))
			return ctl_read_error(c, e);
	/* buf[off] is the ','; a '{' in its place makes an object of it. */
	if (r->off >= r->len || r->buf[r->off] != ',')
		return ctl_fail(c, CTL_FAILED, "smtpgated sent a garbled listing");
	text = strndup(r->buf + r->off, r->len - r->off);
	if (!text)
		return ctl_fail(c, CTL_FAILED, "out of memory");
	text[0] = '{';
	o = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(o)) {
		json_decref(o);
		return ctl_fail(c, CTL_FAILED, "smtpgated sent a garbled listing");
	}
	*more = json_is_true(json_object_get(o, "more"));
	*next = json_string_value(json_object_get(o, "next")) ?
		strdup(json_string_value(json_object_get(o, "next"))) : NULL;
	json_decref(o);
	return CTL_OK;
}

static int read_listing(struct ctl *c, int fd, struct printer *pr, bool *more, char **next)
{
	struct reader r = { .fd = fd };
	int rc = CTL_OK, e;

	while (!r.eof && r.len < strlen(HEAD))
		if ((e = fill(&r))) {
			free(r.buf);
			return ctl_read_error(c, e);
		}
	if (r.len < strlen(HEAD) || memcmp(r.buf, HEAD, strlen(HEAD))) {
		rc = whole_reply(c, &r, pr, more, next);
		free(r.buf);
		return rc;
	}
	r.off = strlen(HEAD);
	for (;;) {
		size_t end;

		while (r.off < r.len && (r.buf[r.off] == ',' || r.buf[r.off] == ' ' ||
					 r.buf[r.off] == '\n'))
			r.off++;
		if (r.off < r.len && r.buf[r.off] == ']') {
			r.off++;
			rc = trailer(c, &r, more, next);
			break;
		}
		end = r.off < r.len && r.buf[r.off] == '{' ? object_end(r.buf + r.off,
									 r.len - r.off) : 0;
		if (end) {
			json_t *entry = json_loadb(r.buf + r.off, end, 0, NULL);

			if (!entry) {
				rc = ctl_fail(c, CTL_FAILED, "smtpgated sent a garbled entry after "
					      "%zu entries", pr->n);
				break;
			}
			print_entry(pr, entry);
			json_decref(entry);
			r.off += end;
			continue;
		}
		if (r.off < r.len && r.buf[r.off] != '{') {
			rc = ctl_fail(c, CTL_FAILED, "smtpgated sent a garbled listing");
			break;
		}
		if (r.eof) {
			rc = ctl_fail(c, CTL_FAILED, "the listing was cut short after %zu entries "
				      "(did smtpgated stop?)", pr->n);
			break;
		}
		if ((e = fill(&r))) {
			rc = ctl_read_error(c, e);
			break;
		}
	}
	free(r.buf);
	return rc;
}

/* ---- the command ------------------------------------------------------ */

int ctl_trust_list(struct ctl *c)
{
	struct printer pr = { .c = c };
	const char *window, *limit;
	char *next = NULL;
	bool more = false;
	long long secs, n;
	json_t *args;
	int rc, fd;

	if (!ctl_parse(c, &rc))
		return rc;
	window = ctl_arg(c, "expiring");
	limit = ctl_arg(c, "limit");
	/* The filters as given; the two that need converting after them. */
	args = json_object();
	for (size_t i = 0; i < c->args.n; i++) {
		const struct ctl_given *g = &c->args.given[i];

		if (!ctl_is(g, "expiring") && !ctl_is(g, "limit"))
			json_object_set_new(args, g->opt->key, json_string(g->value));
	}
	if (window) {
		if (sg_parse_duration(window, &secs)) {
			json_decref(args);
			return ctl_usage(c, "--expiring: \"%s\" is not a duration (like 30d, 12h, "
					 "90m, 2w)", window);
		}
		json_object_set_new(args, "expiring_within_sec", json_integer(secs));
	}
	if (limit) {
		if (ctl_parse_count(limit, 1, 1000000000, &n)) {
			json_decref(args);
			return ctl_usage(c, "--limit: \"%s\" is not a number of entries", limit);
		}
		json_object_set_new(args, "limit", json_integer(n));
	}
	bool filtered = json_object_size(args) > 0;

	rc = ctl_request_open(c, SG_CTL_TRUST_LIST, args, &fd);
	if (rc)
		return rc;
	rc = read_listing(c, fd, &pr, &more, &next);
	close(fd);
	if (!rc) {
		print_end(&pr, window, filtered);
		if (more)
			fprintf(stderr, "smtpgatectl: trust list: more entries follow; the next page: "
				"--after %s\n", next ? next : "?");
	} else {
		/* What was printed stays; the exit code says it is not all. */
		if (c->json && pr.n)
			fputs("\n", stdout);
		ctl_table_free(pr.t);
	}
	free(next);
	return rc;
}
