/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * smtpgatectl report: the tables every renderer shows (report_sections.c).
 */
#ifndef SGCTL_REPORT_SECTIONS_H
#define SGCTL_REPORT_SECTIONS_H

#include <jansson.h>
#include <stddef.h>

#define RPT_PATH_MAX 3
#define RPT_COLS_MAX 10

struct rpt_col {
	const char *header;
	const char *key;        /* "": the row itself (an array of strings) */
};

struct rpt_table {
	const char *id;         /* the csv's section name */
	const char *title;
	const char *path[RPT_PATH_MAX]; /* keys from the document to the rows */
	struct rpt_col cols[RPT_COLS_MAX];
};

extern const struct rpt_table rpt_tables[];
extern const size_t rpt_n_tables;

/* The rows of t in doc (NULL if the document has none). */
json_t *rpt_table_rows(json_t *doc, const struct rpt_table *t);
int rpt_table_ncols(const struct rpt_table *t);
/* A cell as text ("-" for none). */
void rpt_cell(json_t *row, const struct rpt_col *col, char *buf, size_t len);

#endif
