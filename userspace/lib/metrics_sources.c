// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The per-source series of /metrics: the top sources of the snapshot
 * (most packets, and most non-pass packets; metrics.top_sources each),
 * so their number, and the scrape's size, stay bounded whatever a
 * spoofed flood put in the per-source table.
 */
#include "metrics_text.h"

void sg_mt_render_sources(const struct sg_mt_snapshot *s, FILE *out)
{
	const struct sg_stats_source *src = s->kernel.sources;
	size_t n = s->kernel.n_sources;

	sg_mt_family(out, "smtpgate_source_packets_total", "counter",
		     "Governed packets per source address and verdict, for the top sources only "
		     "(most packets, and most non-pass packets; metrics.top_sources each).");
	for (size_t i = 0; i < n; i++)
		for (int v = 0; v < SG_V_COUNT; v++)
			fprintf(out, "smtpgate_source_packets_total{source=\"%s\",verdict=\"%s\"} %llu\n",
				src[i].text, sg_verdict_names[v],
				(unsigned long long)src[i].packets[v]);
	sg_mt_family(out, "smtpgate_source_connections_total", "counter",
		     "New connections passed per source address, top sources only.");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "smtpgate_source_connections_total{source=\"%s\"} %llu\n", src[i].text,
			(unsigned long long)src[i].conns);
	sg_mt_family(out, "smtpgate_source_bytes_total", "counter",
		     "IP bytes passed per source address, top sources only.");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "smtpgate_source_bytes_total{source=\"%s\"} %llu\n", src[i].text,
			(unsigned long long)src[i].bytes);
	sg_mt_family(out, "smtpgate_source_blocked_packets_total", "counter",
		     "Dropped or rejected packets per source address and reason, top sources "
		     "only; reasons the source never had are left out.");
	for (size_t i = 0; i < n; i++)
		for (int r = 0; r < SG_SRC_BLOCK_REASONS; r++)
			if (src[i].blocked[r])
				fprintf(out, "smtpgate_source_blocked_packets_total{source=\"%s\","
					"reason=\"%s\"} %llu\n", src[i].text,
					sg_reason_names[SG_SRC_FIRST_BLOCK + r],
					(unsigned long long)src[i].blocked[r]);
	sg_mt_family(out, "smtpgate_sources_tracked", "gauge",
		     "Source addresses in the per-source statistics table (LRU, bounded).");
	fprintf(out, "smtpgate_sources_tracked %llu\n",
		(unsigned long long)s->kernel.sources_tracked);
}
