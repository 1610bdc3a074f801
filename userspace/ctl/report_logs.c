// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * smtpgatectl report: reading audit.jsonl and events.jsonl with their
 * rotations (logrotate's name.1, name.2.gz, name-YYYYMMDD[.gz]), plain
 * or gzip'd (zlib reads both).  A line that is not a record (not a JSON
 * object with an RFC 3339 "time") is counted and said in the report,
 * never silently dropped; a file that cannot be opened is said too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "load.h"
#include "report.h"

#define LINE_MAX_BYTES (1 << 20)

long long rpt_time(json_t *rec)
{
	return json_integer_value(json_object_get(rec, "_t"));
}

const char *rpt_when(long long t, char *buf, size_t len)
{
	sg_format_rfc3339(t, buf, len);
	return buf;
}

const char *rpt_gateway(struct rpt *r, json_t *rec)
{
	const char *g = json_string_value(json_object_get(rec, "gateway"));

	return g && g[0] ? g : r->hostname;
}

void rpt_finding(struct rpt *r, const char *section, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(r->findings, json_pack("{s:s, s:s}", "section", section,
						     "finding", buf));
}

void rpt_skipped(struct rpt *r, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(r->skipped, json_string(buf));
}

/* Order of a file among a log's files, oldest first: dated rotations
 * (name-YYYYMMDD, by date), numbered ones (name.N, highest first), the
 * live file last. */
struct logfile {
	char name[256];
	int rank;           /* 0 dated, 1 numbered, 2 live */
	long num;
};

static int logfile_cmp(const void *a, const void *b)
{
	const struct logfile *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank - y->rank;
	if (x->rank == 1)
		return (x->num < y->num) - (x->num > y->num);
	return strcmp(x->name, y->name);
}

/* Is file a rotation of base?  Fills rank and num. */
static bool is_rotation(const char *base, const char *file, struct logfile *lf)
{
	size_t n = strlen(base);
	const char *s = file + n;
	char *end;

	if (strncmp(file, base, n))
		return false;
	if (!*s) {
		lf->rank = 2;
		return true;
	}
	if (*s == '.' && s[1] >= '0' && s[1] <= '9') {
		lf->num = strtol(s + 1, &end, 10);
		if (!*end || !strcmp(end, ".gz")) {
			lf->rank = 1;
			return true;
		}
	}
	if (*s == '-' && s[1] >= '0' && s[1] <= '9') {
		lf->rank = 0;
		return true;
	}
	return false;
}

static void add_time(struct rpt_log *log, long long t)
{
	if (log->n_times == log->cap_times) {
		size_t cap = log->cap_times ? log->cap_times * 2 : 1024;
		long long *nt = realloc(log->times, cap * sizeof(*nt));

		if (!nt)
			return;
		log->times = nt;
		log->cap_times = cap;
	}
	log->times[log->n_times++] = t;
}

/* One line: a record, or counted as skipped. */
static bool take_line(struct rpt *r, struct rpt_log *log, const char *line, size_t len)
{
	json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	const char *when = json_string_value(json_object_get(rec, "time"));
	long long t;

	if (!json_is_object(rec) || !when || sg_parse_rfc3339(when, &t)) {
		json_decref(rec);
		return false;
	}
	json_object_set_new(rec, "_t", json_integer(t));
	/* n_records, not a sign, says "none yet": a record may predate 1970. */
	if (!log->n_records || t < log->earliest)
		log->earliest = t;
	if (!log->n_records || t > log->latest)
		log->latest = t;
	log->n_records++;
	add_time(log, t);
	if (log->on_record)
		log->on_record(r, log, rec, t);
	else
		json_array_append(log->records, rec);
	json_decref(rec);
	return true;
}

static void read_file(struct rpt *r, struct rpt_log *log, const char *file)
{
	char path[4096], *line = malloc(LINE_MAX_BYTES + 2);
	size_t records = 0, skipped = 0, len = 0;
	bool too_long = false;
	gzFile gz;
	int fd, errnum = 0;

	snprintf(path, sizeof(path), "%s/%s", r->log_dir, file);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	gz = fd >= 0 ? gzdopen(fd, "r") : NULL;
	if (!gz || !line) {
		rpt_skipped(r, "%s: cannot be read (%s): its records are missing from this report",
			    path, strerror(fd < 0 ? errno : ENOMEM));
		if (fd >= 0 && !gz)
			close(fd);
		free(line);
		return;
	}
	for (;;) {
		int c = gzgetc(gz);

		if (c == -1 || c == '\n') {
			if (too_long)
				skipped++;
			else if (len)
				take_line(r, log, line, len) ? records++ : skipped++;
			len = 0;
			too_long = false;
			if (c == -1)
				break;
			continue;
		}
		if (len < LINE_MAX_BYTES)
			line[len++] = (char)c;
		else
			too_long = true;
	}
	/* A cut or damaged gzip stream ends like a whole one (gzgetc -1):
	 * only the error state tells them apart. */
	gzerror(gz, &errnum);
	if (errnum != Z_OK && errnum != Z_STREAM_END)
		rpt_skipped(r, "%s: a read error (%s) cut the file short: the records after it "
			    "are missing from this report", path,
			    errnum == Z_ERRNO ? strerror(errno) : "damaged or truncated compressed data");
	gzclose(gz);
	free(line);
	if (skipped)
		rpt_skipped(r, "%s: %zu line(s) are not records (torn or damaged) and were skipped",
			    path, skipped);
	log->skipped += skipped;
	json_array_append_new(log->files, json_pack("{s:s, s:I, s:I}", "file", path,
		"records", (json_int_t)records, "skipped", (json_int_t)skipped));
}

static int time_cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

struct keyed {
	json_t *rec;
	long long t;
	size_t i;
};

/* By time, then by the order read: records of the same second keep the
 * order of their file. */
static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->t != y->t)
		return (x->t > y->t) - (x->t < y->t);
	return (x->i > y->i) - (x->i < y->i);
}

static void sort_records(json_t *arr)
{
	size_t n = json_array_size(arr);
	struct keyed *v = calloc(n + 1, sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		v[i].rec = json_incref(json_array_get(arr, i));
		v[i].t = rpt_time(v[i].rec);
		v[i].i = i;
	}
	qsort(v, n, sizeof(*v), keyed_cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i].rec);
	free(v);
}

void rpt_read_log(struct rpt *r, struct rpt_log *log, const char *name)
{
	struct logfile *files = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dh;

	log->name = name;
	log->earliest = log->latest = 0;
	log->records = json_array();
	log->files = json_array();
	log->blocked = json_object();
	dh = opendir(r->log_dir);
	if (!dh) {
		rpt_skipped(r, "%s: %s: no %s was read", r->log_dir, strerror(errno), name);
		return;
	}
	while ((de = readdir(dh))) {
		struct logfile lf = { 0 };

		if (strlen(de->d_name) >= sizeof(lf.name) || !is_rotation(name, de->d_name, &lf))
			continue;
		snprintf(lf.name, sizeof(lf.name), "%s", de->d_name);
		if (n == cap) {
			struct logfile *nf = realloc(files, (cap = cap ? cap * 2 : 16) * sizeof(*nf));

			if (!nf)
				break;
			files = nf;
		}
		files[n++] = lf;
	}
	closedir(dh);
	if (n) /* qsort(NULL, 0) is undefined */
		qsort(files, n, sizeof(*files), logfile_cmp);
	for (size_t i = 0; i < n; i++)
		read_file(r, log, files[i].name);
	free(files);
	if (!n)
		rpt_skipped(r, "%s/%s: no such file (nor rotations of it)", r->log_dir, name);
	if (log->n_times)
		qsort(log->times, log->n_times, sizeof(*log->times), time_cmp);
	sort_records(log->records);
}

void rpt_log_free(struct rpt_log *log)
{
	json_decref(log->records);
	json_decref(log->files);
	json_decref(log->blocked);
	free(log->times);
	memset(log, 0, sizeof(*log));
}
