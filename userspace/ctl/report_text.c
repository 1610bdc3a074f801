// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report --format text (the default): a summary, then every
 * table of report_sections.c, "(none)" when empty so that an empty
 * section is visibly empty and not forgotten.
 */
#include <string.h>
#include "ctl.h"
#include "report.h"
#include "report_sections.h"

#define CELL_MAX 1024

static const char *s(json_t *doc, const char *a, const char *b)
{
	const char *v = json_string_value(json_object_get(json_object_get(doc, a), b));

	return v ? v : "-";
}

static long long n(json_t *doc, const char *a, const char *b)
{
	return (long long)json_integer_value(json_object_get(json_object_get(doc, a), b));
}

static const char *yes(json_t *v)
{
	return json_is_true(v) ? "yes" : "NO";
}

static void summary(json_t *doc, FILE *f)
{
	json_t *ret = json_object_get(doc, "retention");

	fprintf(f, "smtpgate compliance report\n");
	fprintf(f, "Period:        %s to %s\n", s(doc, "period", "since"), s(doc, "period", "until"));
	fprintf(f, "Gateway:       %s (generated %s)\n", s(doc, "period", "gateway"),
		s(doc, "period", "generated"));
	fprintf(f, "Input:         %s\n", json_is_true(json_object_get(doc, "complete")) ?
		"complete" : "PARTIAL: some input could not be read (see \"Input skipped\")");
	fprintf(f, "Findings:      %zu\n", json_array_size(json_object_get(doc, "findings")));
	fprintf(f, "Approvals:     %zu in force at the end, %zu change(s) in the period\n",
		json_array_size(json_object_get(json_object_get(doc, "approvals"), "in_force")),
		json_array_size(json_object_get(json_object_get(doc, "approvals"), "changes")));
	fprintf(f, "Bans:          %lld automatic, %lld manual, %lld lifted, %lld ended\n",
		n(doc, "bans", "automatic"), n(doc, "bans", "manual"), n(doc, "bans", "lifted"),
		n(doc, "bans", "ended"));
	fprintf(f, "Mode at end:   %s\n", s(doc, "enforcement", "mode_at_end"));
	fprintf(f, "Audit log:     %s to %s, covers the period: %s\n",
		s(ret, "audit", "earliest"), s(ret, "audit", "latest"),
		yes(json_object_get(json_object_get(ret, "audit"), "covers_period")));
	fprintf(f, "Events log:    %s to %s, covers the period: %s\n",
		s(ret, "events", "earliest"), s(ret, "events", "latest"),
		yes(json_object_get(json_object_get(ret, "events"), "covers_period")));
	fprintf(f, "Usage history: %lld day(s) read, %lld day(s) missing, %lld day(s) without "
		"per-source detail\n", n(doc, "usage", "days_read"),
		n(ret, "usage", "days_missing"), n(doc, "usage", "days_without_source_detail"));
}

static void table(json_t *doc, const struct rpt_table *t, FILE *f)
{
	json_t *rows = rpt_table_rows(doc, t), *row;
	int ncols = rpt_table_ncols(t);
	const char *headers[RPT_COLS_MAX];
	struct ctl_table *tab;
	size_t i;

	fprintf(f, "\n== %s (%zu)\n", t->title, json_array_size(rows));
	if (!json_array_size(rows)) {
		fprintf(f, "(none)\n");
		return;
	}
	for (int c = 0; c < ncols; c++)
		headers[c] = t->cols[c].header;
	tab = ctl_table_new(ncols, headers);
	json_array_foreach(rows, i, row) {
		static char cells[RPT_COLS_MAX][CELL_MAX];
		const char *cp[RPT_COLS_MAX];

		for (int c = 0; c < ncols; c++) {
			rpt_cell(row, &t->cols[c], cells[c], CELL_MAX);
			/* One line per row: a multi-line error's lines joined. */
			for (char *nl; (nl = strchr(cells[c], '\n'));)
				*nl = ' ';
			cp[c] = cells[c];
		}
		ctl_table_row(tab, cp);
	}
	ctl_table_print(tab, f);
	ctl_table_free(tab);
}

void rpt_print_text(json_t *doc, FILE *f)
{
	summary(doc, f);
	for (size_t i = 0; i < rpt_n_tables; i++)
		table(doc, &rpt_tables[i], f);
}
