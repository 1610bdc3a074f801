// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report --format csv: one table, "section,row,column,value"
 * (RFC 4180 quoting), so every section fits one file and a spreadsheet
 * can pivot it.  The period and the totals are section "summary", row 0;
 * the tables are those of report_sections.c, rows from 1.
 */
#include <string.h>
#include "report.h"
#include "report_sections.h"

#define CELL_MAX 4096

static void field(FILE *f, const char *v)
{
	if (!strpbrk(v, ",\"\r\n")) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '"')
			fputc('"', f);
		fputc(*v, f);
	}
	fputc('"', f);
}

static void line(FILE *f, const char *section, size_t row, const char *col, const char *v)
{
	field(f, section);
	fprintf(f, ",%zu,", row);
	field(f, col);
	fputc(',', f);
	field(f, v);
	fputs("\r\n", f);
}

static void scalars(FILE *f, const char *prefix, json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		char name[128], buf[64];

		snprintf(name, sizeof(name), "%s%s", prefix, k);
		if (json_is_string(v))
			line(f, "summary", 0, name, json_string_value(v));
		else if (json_is_integer(v)) {
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
			line(f, "summary", 0, name, buf);
		} else if (json_is_boolean(v))
			line(f, "summary", 0, name, json_is_true(v) ? "yes" : "no");
	}
}

void rpt_print_csv(json_t *doc, FILE *f)
{
	json_t *ret = json_object_get(doc, "retention");

	fputs("section,row,column,value\r\n", f);
	scalars(f, "", json_object_get(doc, "period"));
	scalars(f, "", doc);
	scalars(f, "bans.", json_object_get(doc, "bans"));
	scalars(f, "usage.", json_object_get(doc, "usage"));
	scalars(f, "enforcement.", json_object_get(doc, "enforcement"));
	scalars(f, "retention.audit.", json_object_get(ret, "audit"));
	scalars(f, "retention.events.", json_object_get(ret, "events"));
	scalars(f, "retention.usage.", json_object_get(ret, "usage"));
	for (size_t t = 0; t < rpt_n_tables; t++) {
		const struct rpt_table *tab = &rpt_tables[t];
		json_t *rows = rpt_table_rows(doc, tab), *row;
		int ncols = rpt_table_ncols(tab);
		size_t i;

		json_array_foreach(rows, i, row)
			for (int c = 0; c < ncols; c++) {
				static char cell[CELL_MAX];

				rpt_cell(row, &tab->cols[c], cell, sizeof(cell));
				line(f, tab->id, i + 1, tab->cols[c].header, cell);
			}
	}
}
