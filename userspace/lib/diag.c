// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The list of problems a loader found (struct sg_diag): every one is
 * reported, errors and warnings, each with where it is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "load_internal.h"

void sg_diag_add(struct sg_diag *d, bool is_error, const char *fmt, ...)
{
	char **lines;
	bool *flags;
	char *line;
	va_list ap;
	int n;

	if (!d)
		return;
	/* Count first: losing a message to ENOMEM must not lose the error. */
	if (is_error)
		d->n_errors++;
	else
		d->n_warnings++;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	lines = realloc(d->lines, (d->n + 1) * sizeof(*lines));
	if (!lines) {
		free(line);
		return;
	}
	d->lines = lines;
	flags = realloc(d->is_error, (d->n + 1) * sizeof(*flags));
	if (!flags) {
		free(line);
		return;
	}
	d->is_error = flags;
	d->lines[d->n] = line;
	d->is_error[d->n] = is_error;
	d->n++;
}

void sg_diag_free(struct sg_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	free(d->is_error);
	memset(d, 0, sizeof(*d));
}

void sg_diag_print(const struct sg_diag *d, void *file)
{
	FILE *f = file;

	for (size_t i = 0; i < d->n; i++)
		fprintf(f, "%s: %s\n", d->is_error[i] ? "error" : "warning", d->lines[i]);
}

/* ---- small shared helpers ------------------------------------------- */

