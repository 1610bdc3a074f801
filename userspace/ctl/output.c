// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Output: aligned tables for people, JSON for scripts.  Table cells are
 * made safe for a terminal (control characters become '?': an audit
 * record may hold whatever a refused request carried) and are aligned by
 * characters, not bytes, so UTF-8 names line up.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctl.h"
#include "load.h"

struct ctl_table {
	int ncols;
	char **cells;           /* row-major, the header first */
	size_t nrows, cap;
	bool right[16];
	bool header;            /* row 0 is a header (not yet printed) */
	size_t *w;              /* column widths printed so far */
};

static char *safe_copy(const char *s)
{
	char *out = strdup(s ? s : "-");

	for (unsigned char *p = (unsigned char *)out; out && *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		/* C1 controls (U+0080..U+009F) are 0xC2 0x80..0x9F in UTF-8. */
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?';
	}
	return out;
}

static size_t width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

struct ctl_table *ctl_table_new(int ncols, const char *const *headers)
{
	struct ctl_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->header = headers != NULL;
	if (headers)
		ctl_table_row(t, headers);
	return t;
}

void ctl_table_right(struct ctl_table *t, int col)
{
	if (t && col >= 0 && col < (int)(sizeof(t->right) / sizeof(t->right[0])))
		t->right[col] = true;
}

void ctl_table_row(struct ctl_table *t, const char *const *cells)
{
	if (!t)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*c));

		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	for (int i = 0; i < t->ncols; i++)
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = safe_copy(cells[i]);
	t->nrows++;
}

void ctl_table_print(struct ctl_table *t, FILE *f)
{
	size_t *w;

	if (!t)
		return;
	if (!t->w)
		t->w = calloc((size_t)t->ncols, sizeof(*t->w));
	w = t->w;
	for (size_t r = 0; w && r < t->nrows; r++)
		for (int i = 0; i < t->ncols; i++) {
			const char *cell = t->cells[r * (size_t)t->ncols + (size_t)i];

			if (cell && width(cell) > w[i])
				w[i] = width(cell);
		}
	for (size_t r = 0; w && r < t->nrows; r++) {
		for (int i = 0; i < t->ncols; i++) {
			const char *cell = t->cells[r * (size_t)t->ncols + (size_t)i];
			size_t pad;

			if (!cell)
				cell = "?";
			pad = w[i] - width(cell);
			if (t->right[i] && (r || !t->header))
				fprintf(f, "%*s%s", (int)pad, "", cell);
			else if (i == t->ncols - 1)
				fputs(cell, f);
			else
				fprintf(f, "%s%*s", cell, (int)pad, "");
			fputs(i == t->ncols - 1 ? "\n" : "  ", f);
		}
	}
	/* Printed rows go; the widths stay for the next rows (a table
	 * printed in parts as a stream arrives keeps its columns, widening
	 * only when a later cell is wider). */
	for (size_t k = 0; k < t->nrows * (size_t)t->ncols; k++)
		free(t->cells[k]);
	t->nrows = 0;
	t->header = false;
}

void ctl_table_free(struct ctl_table *t)
{
	if (!t)
		return;
	for (size_t k = 0; k < t->nrows * (size_t)t->ncols; k++)
		free(t->cells[k]);
	free(t->cells);
	free(t->w);
	free(t);
}

void ctl_print_json(json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (text) {
		fputs(text, stdout);
		fputc('\n', stdout);
	}
	free(text);
}

const char *ctl_str(json_t *v, const char *dflt)
{
	return json_is_string(v) ? json_string_value(v) : dflt;
}

const char *ctl_int(json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else
		snprintf(buf, len, "-");
	return buf;
}

const char *ctl_join(json_t *arr, char *buf, size_t len)
{
	size_t off = 0, i;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		char num[32];
		const char *s = json_is_string(v) ? json_string_value(v) : ctl_int(v, num, sizeof(num));

		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "", s);
	}
	return buf;
}

const char *ctl_duration_text(long long sec, char *buf, size_t len)
{
	static const struct { long long n; char unit; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t off = 0;
	int parts = 0;

	if (sec <= 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	for (size_t i = 0; i < 4 && parts < 2; i++) {
		if (sec < units[i].n)
			continue;
		off += (size_t)snprintf(buf + off, len > off ? len - off : 0, "%s%lld%c",
					parts ? " " : "", sec / units[i].n, units[i].unit);
		sec %= units[i].n;
		parts++;
		if (!sec)
			break;
	}
	return buf;
}

int ctl_parse_count(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;
	const char *p = s;

	if (!p || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (*p - '0')) / 10)
			return -1; /* over max, and never overflowing */
		v = v * 10 + (*p - '0');
	}
	if (*p || v < min)
		return -1;
	*out = v;
	return 0;
}

int ctl_parse_when(const char *s, int sign, long long *unix_sec)
{
	long long d;

	if (!sg_parse_rfc3339(s, unix_sec))
		return 0;
	if ((*s == '-' && sign < 0) || (*s == '+' && sign > 0))
		s++;
	if (*s == '+' || *s == '-' || sg_parse_duration(s, &d))
		return -1;
	*unix_sec = (long long)time(NULL) + sign * d;
	return 0;
}
