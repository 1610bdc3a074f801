// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: metrics label escaping and the text exposition.
 *
 * The input, cut at NUL bytes, gives label values: the build versions,
 * two interface names, a trusted entry's prefix text and ticket.  Each
 * field goes through sg_mt_escape() alone, inside a sample line, and a
 * whole snapshot holding them is rendered with sg_mt_render_buffer().
 * A small parser of the Prometheus text format (written here from the
 * format's description: HELP/TYPE comments, name{label="value",...}
 * value) reads the output back.  Properties: every line parses; every
 * label value is valid UTF-8 with only the \\, \" and \n escapes; a
 * value read back is the field with each byte that does not start a
 * valid UTF-8 sequence replaced by '?'.
 *
 * With SG_FUZZ_METRICS_DUMP=DIR each rendered output is also written to
 * DIR (tests/fuzz/test_fuzz.sh hands a sample to `promtool check
 * metrics`).
 */
#include <stdbool.h>
#include "fuzz_common.h"
#include "metrics_text.h"

#define N_FIELDS 6
#define MAX_LABELS 16

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* ---- UTF-8, from the Unicode standard's table of well-formed
 * sequences (3-7) ---- */

static size_t wf_len(const unsigned char *p, size_t left)
{
	unsigned char b = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		n = 2;
	else if (b >= 0xe0 && b <= 0xef)
		n = 3;
	else if (b >= 0xf0 && b <= 0xf4)
		n = 4;
	else
		return 0;
	if (b == 0xe0)
		lo = 0xa0;
	else if (b == 0xed)
		hi = 0x9f;
	else if (b == 0xf0)
		lo = 0x90;
	else if (b == 0xf4)
		hi = 0x8f;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static bool valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = wf_len(p + i, len - i);

		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* What a label value must read back as: invalid bytes become '?'. */
static char *expected(const char *v)
{
	size_t len = strlen(v), o = 0;
	char *out = malloc(len + 1);

	if (!out)
		abort();
	for (size_t i = 0; i < len;) {
		size_t n = wf_len((const unsigned char *)v + i, len - i);

		if (n) {
			memcpy(out + o, v + i, n);
			o += n;
			i += n;
		} else {
			out[o++] = '?';
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- the text format ---- */

struct sample {
	char name[256];
	int n_labels;
	char label[MAX_LABELS][64];
	char *value[MAX_LABELS]; /* unescaped, malloc'd */
	double v;
};

static void sample_free(struct sample *s)
{
	for (int i = 0; i < s->n_labels; i++)
		free(s->value[i]);
	s->n_labels = 0;
}

static bool name_char(char c, bool first, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

/* Reads a name at *p into buf; false if there is none. */
static bool read_name(const char **p, const char *end, char *buf, size_t cap, bool colon)
{
	size_t n = 0;

	while (*p < end && name_char(**p, n == 0, colon)) {
		if (n + 1 >= cap)
			return false;
		buf[n++] = *(*p)++;
	}
	buf[n] = '\0';
	return n > 0;
}

/* A quoted label value at *p (after the opening quote), unescaped. */
static char *read_value(const char **p, const char *end)
{
	char *out = malloc((size_t)(end - *p) + 1);
	size_t o = 0;

	if (!out)
		abort();
	while (*p < end && **p != '"') {
		char c = *(*p)++;

		if (c == '\n')
			goto bad;
		if (c == '\\') {
			if (*p >= end)
				goto bad;
			c = *(*p)++;
			if (c == 'n')
				c = '\n';
			else if (c != '\\' && c != '"')
				goto bad;
		}
		out[o++] = c;
	}
	if (*p >= end)
		goto bad;
	(*p)++;
	out[o] = '\0';
	if (!valid_utf8(out, o))
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

static bool read_number(const char *s, const char *end, double *v)
{
	char buf[64], *e;
	size_t n = (size_t)(end - s);

	if (!n || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!strcmp(buf, "+Inf") || !strcmp(buf, "-Inf") || !strcmp(buf, "NaN"))
		return true;
	*v = strtod(buf, &e);
	return *e == '\0';
}

/* Parses one sample line [p, end). */
static bool parse_sample(const char *p, const char *end, struct sample *s)
{
	const char *sp;

	s->n_labels = 0;
	if (!read_name(&p, end, s->name, sizeof(s->name), true))
		return false;
	if (p < end && *p == '{') {
		p++;
		while (p < end && *p != '}') {
			if (s->n_labels == MAX_LABELS ||
			    !read_name(&p, end, s->label[s->n_labels], sizeof(s->label[0]), false))
				return false;
			if (p + 1 >= end || p[0] != '=' || p[1] != '"')
				return false;
			p += 2;
			if (!(s->value[s->n_labels] = read_value(&p, end)))
				return false;
			s->n_labels++;
			if (p < end && *p == ',')
				p++;
			else if (p < end && *p != '}')
				return false;
		}
		if (p >= end)
			return false;
		p++;
	}
	if (p >= end || *p != ' ')
		return false;
	p++;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!read_number(p, sp ? sp : end, &s->v))
		return false;
	if (sp) { /* a timestamp: an integer */
		double ts;

		return read_number(sp + 1, end, &ts);
	}
	return true;
}

/* Checks every line of text; returns the sample of `want` with label
 * `label` in *hit (its value malloc'd) if found. */
static void parse_all(const char *text, size_t len, const char *want, const char *label,
		      char **hit)
{
	const char *p = text, *end = text + len;
	struct sample s;
	int line = 0;

	fz_check(len == 0 || text[len - 1] == '\n', "output does not end with a newline");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		line++;
		if (le == p) {
			p = le + 1;
			continue;
		}
		if (*p == '#') {
			fz_check(valid_utf8(p, (size_t)(le - p)), "line %d: comment not UTF-8", line);
		} else {
			memset(&s, 0, sizeof(s));
			fz_check(parse_sample(p, le, &s), "line %d does not parse: %.*s", line,
				 (int)(le - p), p);
			for (int i = 0; hit && !*hit && i < s.n_labels; i++)
				if (!strcmp(s.name, want) && !strcmp(s.label[i], label)) {
					*hit = s.value[i];
					s.value[i] = strdup("");
				}
			sample_free(&s);
		}
		p = le + 1;
	}
}

/* ---- the target ---- */

static void escape_round_trip(const char *v)
{
	char *buf = NULL, *got = NULL, *want;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fz_check(f != NULL, "memstream");
	fputs("m{l=\"", f);
	sg_mt_escape(f, v);
	fputs("\"} 1\n", f);
	fz_check(!fclose(f), "memstream");
	parse_all(buf, len, "m", "l", &got);
	want = expected(v);
	fz_check(got && !strcmp(got, want), "label \"%s\" reads back as \"%s\"", want,
		 got ? got : "(nothing)");
	free(want);
	free(got);
	free(buf);
}

static void dump(const char *text, size_t len)
{
	static unsigned n;
	const char *dir = getenv("SG_FUZZ_METRICS_DUMP");
	char path[512];

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/metrics-%u.txt", dir, n++);
	fz_write_file(path, (const uint8_t *)text, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fz_str(data, size), *field[N_FIELDS];
	struct sg_stats_attachment att[2];
	struct sg_mt_expiry *exp = calloc(1, sizeof(*exp));
	struct sg_stats_source src[1];
	struct sg_mt_snapshot s;
	char *text = NULL, *got = NULL, *want;
	size_t len = 0, off = 0;

	fz_check(exp != NULL, "calloc");
	for (int i = 0; i < N_FIELDS; i++) {
		field[i] = in + off;
		off += strlen(in + off);
		if (off < size)
			off++;
	}
	for (int i = 0; i < N_FIELDS; i++)
		escape_round_trip(field[i]);

	memset(&s, 0, sizeof(s));
	memset(att, 0, sizeof(att));
	memset(src, 0, sizeof(src));
	snprintf(att[0].ifname, sizeof(att[0].ifname), "%s", field[2]);
	att[0].hook = SG_HOOK_XDP;
	att[0].mode = "native";
	att[0].attached = att[0].has_slot = true;
	att[0].c[SG_V_DROP][SG_R_UNTRUSTED_SOURCE].packets = size;
	snprintf(att[1].ifname, sizeof(att[1].ifname), "%s", field[3]);
	att[1].hook = SG_HOOK_TC_EGRESS;
	att[1].mode = "";
	/* A prefix is written by smtpgate itself; the ticket is the label
	 * text that comes from a user. */
	if (sg_prefix_parse(field[4], &exp->prefix, NULL))
		sg_prefix_parse("198.18.0.0/24", &exp->prefix, NULL);
	exp->ticket = field[5];
	exp->expires = 1900000000;
	memcpy(&src[0].addr, data, size < sizeof(src[0].addr) ? size : sizeof(src[0].addr));
	sg_addr_format(&src[0].addr, src[0].text, sizeof(src[0].text));
	src[0].packets[SG_V_PASS] = 7;
	s.kernel.attach = att;
	s.kernel.n_attach = 2;
	s.kernel.sources = src;
	s.kernel.n_sources = 1;
	s.kernel.mode = SG_MODE_ENFORCE;
	s.kernel.generation = 3;
	s.version = field[0];
	s.libbpf_version = field[1];
	s.expiries = exp;
	s.n_expiries = 1;
	s.start_time = 1700000000;
	fz_check(!sg_mt_render_buffer(&s, &text, &len), "render");
	dump(text, len);
	parse_all(text, len, "smtpgate_build_info", "version", &got);
	want = expected(field[0]);
	fz_check(got && !strcmp(got, want), "version \"%s\" reads back as \"%s\"", want,
		 got ? got : "(nothing)");
	free(want);
	free(got);
	free(text);
	free(exp);
	free(in);
	return 0;
}
