// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report --format html: one self-contained page for an
 * auditor: inline CSS, inline SVG bar charts of the monthly volume and
 * drops, the tables of report_sections.c.  No script, no external
 * resource of any kind (fonts, images, styles), so it opens anywhere,
 * offline, and can be archived as it is.
 */
#include <string.h>
#include "report.h"
#include "report_sections.h"

#define CELL_MAX 4096
#define CHART_W 720
#define CHART_H 220
#define CHART_PAD 40

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char *str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "-";
}

/* Monthly bars of the sum of keys of each month. */
static void chart(FILE *f, json_t *months, const char *title, const char *const *keys,
		  const char *color)
{
	size_t n = json_array_size(months), i;
	double max = 0, bw;
	json_t *m;

	fprintf(f, "<figure><figcaption>");
	esc(f, title);
	fprintf(f, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
		"viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">\n", CHART_W, CHART_H, CHART_W,
		CHART_H);
	json_array_foreach(months, i, m) {
		double v = 0;

		for (const char *const *k = keys; *k; k++)
			v += (double)json_integer_value(json_object_get(m, *k));
		if (v > max)
			max = v;
	}
	bw = n ? (double)(CHART_W - 2 * CHART_PAD) / (double)n : 0;
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n", CHART_PAD,
		CHART_H - CHART_PAD, CHART_W - CHART_PAD, CHART_H - CHART_PAD);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">max %.0f</text>\n", 4, 14, max);
	json_array_foreach(months, i, m) {
		double v = 0, h;
		const char *mo = str(m, "month");

		for (const char *const *k = keys; *k; k++)
			v += (double)json_integer_value(json_object_get(m, *k));
		h = max > 0 ? v / max * (CHART_H - 2 * CHART_PAD) : 0;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
			"<title>", CHART_PAD + bw * (double)i + 2, CHART_H - CHART_PAD - h,
			bw > 4 ? bw - 4 : bw, h, color);
		esc(f, mo);
		fprintf(f, ": %.0f</title></rect>\n", v);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">",
			CHART_PAD + bw * ((double)i + 0.5), CHART_H - CHART_PAD + 14);
		esc(f, strlen(mo) > 5 ? mo + 5 : mo);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</svg></figure>\n");
}

static void table(FILE *f, json_t *doc, const struct rpt_table *t)
{
	json_t *rows = rpt_table_rows(doc, t), *row;
	int ncols = rpt_table_ncols(t);
	size_t i;

	fprintf(f, "<section id=\"%s\"><h2>", t->id);
	esc(f, t->title);
	fprintf(f, " <span class=\"n\">(%zu)</span></h2>\n", json_array_size(rows));
	if (!json_array_size(rows)) {
		fprintf(f, "<p class=\"none\">(none)</p></section>\n");
		return;
	}
	fprintf(f, "<table><thead><tr>");
	for (int c = 0; c < ncols; c++) {
		fprintf(f, "<th>");
		esc(f, t->cols[c].header);
		fprintf(f, "</th>");
	}
	fprintf(f, "</tr></thead><tbody>\n");
	json_array_foreach(rows, i, row) {
		fprintf(f, "<tr>");
		for (int c = 0; c < ncols; c++) {
			static char cell[CELL_MAX];

			rpt_cell(row, &t->cols[c], cell, sizeof(cell));
			fprintf(f, "<td>");
			esc(f, cell);
			fprintf(f, "</td>");
		}
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</tbody></table></section>\n");
}

static const char css[] =
	"body{font-family:sans-serif;margin:2em;color:#222;background:#fff}"
	"h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.6em}"
	"table{border-collapse:collapse;font-size:.85em}"
	"th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}"
	"th{background:#eee}.n{color:#777;font-weight:normal}.none{color:#777}"
	".bad{color:#a00;font-weight:bold}.good{color:#070}"
	"dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}"
	"dt{font-weight:bold}figure{display:inline-block;margin:0 1em 1em 0}";

void rpt_print_html(json_t *doc, FILE *f)
{
	static const char *const volume[] = { "connections_passed", NULL };
	static const char *const drops[] = { "packets_dropped", "packets_rejected", NULL };
	json_t *period = json_object_get(doc, "period");
	json_t *months = json_object_get(json_object_get(doc, "usage"), "months");
	size_t nf = json_array_size(json_object_get(doc, "findings"));
	bool complete = json_is_true(json_object_get(doc, "complete"));

	/* The policy forbids every load but the inline style: a resource that
	 * crept in would be refused (and said on the browser's console). */
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		"style-src 'unsafe-inline'\">\n<title>smtpgate compliance report ");
	esc(f, str(period, "since"));
	fprintf(f, " to ");
	esc(f, str(period, "until"));
	fprintf(f, "</title>\n<style>%s</style></head><body>\n", css);
	fprintf(f, "<h1>smtpgate compliance report</h1>\n<dl><dt>Period</dt><dd>");
	esc(f, str(period, "since"));
	fprintf(f, " to ");
	esc(f, str(period, "until"));
	fprintf(f, "</dd><dt>Gateway</dt><dd>");
	esc(f, str(period, "gateway"));
	fprintf(f, "</dd><dt>Generated</dt><dd>");
	esc(f, str(period, "generated"));
	fprintf(f, "</dd><dt>Input</dt><dd class=\"%s\">%s</dd>", complete ? "good" : "bad",
		complete ? "complete" : "PARTIAL: some input could not be read (see below)");
	fprintf(f, "<dt>Findings</dt><dd class=\"%s\">%zu</dd>", nf ? "bad" : "good", nf);
	fprintf(f, "<dt>Mode at end</dt><dd>");
	esc(f, str(json_object_get(doc, "enforcement"), "mode_at_end"));
	fprintf(f, "</dd></dl>\n<h2>Monthly volume and drops</h2>\n");
	chart(f, months, "Connections passed per month", volume, "#3a6ea5");
	chart(f, months, "Packets dropped or rejected per month", drops, "#b5472f");
	for (size_t i = 0; i < rpt_n_tables; i++)
		table(f, doc, &rpt_tables[i]);
	fprintf(f, "</body></html>\n");
}
