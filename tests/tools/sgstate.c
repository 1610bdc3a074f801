// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sgstate: prints the kernel state behind a pin dir that the load tests
 * judge: the rate bucket of one trusted entry (to show a flood leaves it
 * untouched), the data-plane statistics (events lost or suppressed), and
 * how full and how big every map is (to show memory does not grow).
 * Read-only: it never creates, pins or changes anything.
 *
 *   sgstate --pin-dir DIR --bucket PFX    "slot S conn_tat T byte_tat B violations V window_start W"
 *   sgstate --pin-dir DIR --stats         "NAME VALUE" per statistic
 *   sgstate --pin-dir DIR --maps          "MAP entries N max M bytes B" per map, then "total bytes B"
 *   sgstate --pin-dir DIR --bans          "ADDR since_ns S expires_ns E flags F" per manual
 *                                         ban, then "ENTRY since_ns S expires_ns E flags 1
 *                                         source SRC" per automatic ban (of a trusted entry)
 *   sgstate --pin-dir DIR --cpu-split IF:HOOK
 *                                         "VERDICT REASON cpu0 N cpu1 M ..." packets per CPU
 *                                         (shows which CPUs judged an attachment's traffic)
 *
 * Map sizes are the kernel's own accounting (fdinfo "memlock", which on
 * 6.x is the map's actual memory use), for every map pinned in the pin
 * dir and every inner map of its map-in-map tables.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane.h"

enum command { CMD_NONE, CMD_BUCKET, CMD_STATS, CMD_MAPS, CMD_BANS, CMD_CPU_SPLIT };

static int bad_usage(const char *what)
{
	fprintf(stderr, "sgstate: %s\n(sgstate --help for usage)\n", what);
	return 2;
}

static int cmd_bucket(struct sg_dp *dp, const char *text)
{
	struct sg_prefix prefix;
	struct sg_trusted t;
	struct sg_bucket b;
	struct sg_err err = {};
	int fd = sg_dp_map_fd(dp, "sg_buckets"), rc;

	if (sg_prefix_parse(text, &prefix, &err)) {
		fprintf(stderr, "sgstate: --bucket: %s\n", err.msg);
		return 2;
	}
	rc = sg_dp_trust_get(dp, &prefix, &t);
	if (rc) {
		fprintf(stderr, "sgstate: %s is not a trusted entry: %s\n", text, strerror(-rc));
		return 1;
	}
	if (fd < 0 || bpf_map_lookup_elem(fd, &t.slot, &b)) {
		fprintf(stderr, "sgstate: sg_buckets[%u]: %s\n", t.slot, strerror(errno));
		return 1;
	}
	printf("slot %u conn_tat %llu byte_tat %llu violations %u window_start %llu\n", t.slot,
	       (unsigned long long)b.conn_tat, (unsigned long long)b.byte_tat, b.violations,
	       (unsigned long long)b.window_start_ns);
	return 0;
}

static int cmd_stats(struct sg_dp *dp)
{
	uint64_t stats[SG_STAT_COUNT];
	int rc = sg_dp_read_stats(dp, stats);

	if (rc) {
		fprintf(stderr, "sgstate: read stats: %s\n", strerror(-rc));
		return 1;
	}
	for (int i = 0; i < SG_STAT_COUNT; i++)
		printf("%s %llu\n", sg_stat_names[i], (unsigned long long)stats[i]);
	return 0;
}

/* A number from fd's /proc fdinfo ("KEY: N"), or -1 if it has none. */
static long long fdinfo_number(int fd, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%lld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* The kernel's accounting of a map's memory. */
static long long map_bytes(int fd)
{
	return fdinfo_number(fd, "memlock");
}

/* Keys in a hash map (0 for arrays, which are always full). */
static long count_keys(int fd, const struct bpf_map_info *info)
{
	char key[256], next[256];
	void *prev = NULL;
	long n = 0;

	if (info->type == BPF_MAP_TYPE_ARRAY || info->type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    info->type == BPF_MAP_TYPE_ARRAY_OF_MAPS || info->type == BPF_MAP_TYPE_RINGBUF ||
	    info->key_size > sizeof(key))
		return info->type == BPF_MAP_TYPE_RINGBUF ? 0 : (long)info->max_entries;
	while (!bpf_map_get_next_key(fd, prev, next) && n <= (long)info->max_entries) {
		memcpy(key, next, info->key_size);
		prev = key;
		n++;
	}
	return n;
}

static long long print_map(const char *label, int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	long long bytes;

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
		printf("%s missing\n", label);
		return 0;
	}
	bytes = map_bytes(fd);
	printf("%s entries %ld max %u bytes %lld\n", label, count_keys(fd, &info),
	       info.max_entries, bytes);
	return bytes > 0 ? bytes : 0;
}

/* The type of the BPF object behind fd, from its fdinfo ("map_type:"
 * only exists for maps), or -1 if it is not a map. */
static int fd_map_type(int fd)
{
	return (int)fdinfo_number(fd, "map_type");
}

/* Every map of an array- or hash-of-maps, as "NAME[KEY]". */
static long long print_inner_maps(const char *name, int outer)
{
	__u32 key, next, *prev = NULL, id;
	long long total = 0;

	while (!bpf_map_get_next_key(outer, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(outer, &key, &id) && id) {
			char label[300];
			int fd = bpf_map_get_fd_by_id(id);

			snprintf(label, sizeof(label), "%s[%u]", name, key);
			total += print_map(label, fd);
			if (fd >= 0)
				close(fd);
		}
	}
	return total;
}

/* Every map pinned in the pin dir (whatever the data plane's layout),
 * with the inner maps of map-in-map tables. */
static int cmd_maps(const char *pin_dir)
{
	struct dirent **names;
	long long total = 0;
	int n = scandir(pin_dir, &names, NULL, alphasort);

	if (n < 0) {
		fprintf(stderr, "sgstate: %s: %s\n", pin_dir, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		int fd, type;

		snprintf(path, sizeof(path), "%s/%s", pin_dir, names[i]->d_name);
		fd = names[i]->d_name[0] == '.' ? -1 : bpf_obj_get(path);
		type = fd >= 0 ? fd_map_type(fd) : -1;
		if (type >= 0) {
			total += print_map(names[i]->d_name, fd);
			if (type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS)
				total += print_inner_maps(names[i]->d_name, fd);
		}
		if (fd >= 0)
			close(fd);
		free(names[i]);
	}
	free(names);
	printf("total bytes %lld\n", total);
	return 0;
}

static int hook_of(const char *name)
{
	if (!strcmp(name, "xdp"))
		return SG_HOOK_XDP;
	if (!strcmp(name, "tc-ingress"))
		return SG_HOOK_TC_INGRESS;
	if (!strcmp(name, "tc-egress"))
		return SG_HOOK_TC_EGRESS;
	return -1;
}

/* The counter slot of the attachment "IF:HOOK", or -1. */
static long find_slot(struct sg_dp *dp, const char *text)
{
	struct sg_attachment att[SG_MAX_ATTACH];
	const char *colon = strchr(text, ':');
	int n = sg_dp_attachments(dp, att, SG_MAX_ATTACH), hook;

	if (!colon)
		return -1;
	hook = hook_of(colon + 1);
	for (int i = 0; i < n && i < SG_MAX_ATTACH; i++)
		if (att[i].hook == hook && strlen(att[i].ifname) == (size_t)(colon - text) &&
		    !strncmp(att[i].ifname, text, (size_t)(colon - text)))
			return att[i].slot;
	return -1;
}

static int cmd_cpu_split(struct sg_dp *dp, const char *text)
{
	int ncpu = libbpf_num_possible_cpus(), fd = sg_dp_map_fd(dp, "sg_counters");
	long slot = find_slot(dp, text);
	struct sg_counter *per_cpu;

	if (slot < 0 || fd < 0 || ncpu <= 0) {
		fprintf(stderr, "sgstate: %s is not attached (or no counters)\n", text);
		return 1;
	}
	per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu));
	if (!per_cpu)
		return 1;
	for (int v = 0; v < SG_V_COUNT; v++) {
		for (int r = 0; r < SG_R_COUNT; r++) {
			__u32 idx = sg_counter_index((__u32)slot, v, r);
			__u64 sum = 0;

			if (bpf_map_lookup_elem(fd, &idx, per_cpu))
				continue;
			for (int c = 0; c < ncpu; c++)
				sum += per_cpu[c].packets;
			if (!sum)
				continue;
			printf("%s %s", sg_verdict_names[v], sg_reason_names[r]);
			for (int c = 0; c < ncpu; c++)
				printf(" cpu%d %llu", c, (unsigned long long)per_cpu[c].packets);
			printf("\n");
		}
	}
	free(per_cpu);
	return 0;
}

static int print_ban(const struct sg_addr *a, const struct sg_ban *b, void *ctx)
{
	char text[SG_PREFIX_STRLEN];

	(void)ctx;
	sg_addr_format(a, text, sizeof(text));
	printf("%s since_ns %llu expires_ns %llu flags %u\n", text,
	       (unsigned long long)b->since_ns, (unsigned long long)b->expires_ns, b->flags);
	return 0;
}

static int print_auto_ban(const struct sg_entry_ban *b, void *ctx)
{
	char entry[SG_PREFIX_STRLEN], src[SG_PREFIX_STRLEN];

	(void)ctx;
	if (b->known)
		sg_prefix_format(&b->entry, entry, sizeof(entry));
	else
		snprintf(entry, sizeof(entry), "slot-%u", b->rec.slot);
	sg_addr_format(&b->rec.src, src, sizeof(src));
	printf("%s since_ns %llu expires_ns %llu flags %u source %s\n", entry,
	       (unsigned long long)b->rec.since_ns, (unsigned long long)b->rec.expires_ns,
	       SG_BAN_AUTO, src);
	return 0;
}

static int cmd_bans(struct sg_dp *dp)
{
	if (sg_dp_ban_foreach(dp, print_ban, NULL) || sg_dp_auto_ban_foreach(dp, print_auto_ban, NULL))
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "bucket", required_argument, NULL, 'b' },
		{ "stats", no_argument, NULL, 's' },
		{ "maps", no_argument, NULL, 'm' },
		{ "bans", no_argument, NULL, 'B' },
		{ "cpu-split", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum command cmd = CMD_NONE;
	const char *pin_dir = NULL, *prefix = NULL;
	struct sg_err err = {};
	struct sg_dp *dp;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		enum command next = CMD_NONE;

		switch (c) {
		case 'd': pin_dir = optarg; continue;
		case 'b': next = CMD_BUCKET; prefix = optarg; break;
		case 's': next = CMD_STATS; break;
		case 'm': next = CMD_MAPS; break;
		case 'B': next = CMD_BANS; break;
		case 'c': next = CMD_CPU_SPLIT; prefix = optarg; break;
		case 'h':
			printf("usage: sgstate --pin-dir DIR --bucket PFX | --stats | --maps | --bans |"
			       " --cpu-split IF:HOOK\n");
			return 0;
		default: return 2;
		}
		if (cmd != CMD_NONE)
			return bad_usage("give only one command");
		cmd = next;
	}
	if (optind < argc || !pin_dir || cmd == CMD_NONE)
		return bad_usage("want --pin-dir DIR and one command");
	if (sg_dp_open_pinned(&dp, pin_dir, &err)) {
		fprintf(stderr, "sgstate: %s\n", err.msg);
		return 1;
	}
	switch (cmd) {
	case CMD_BUCKET: rc = cmd_bucket(dp, prefix); break;
	case CMD_STATS: rc = cmd_stats(dp); break;
	case CMD_MAPS: rc = cmd_maps(pin_dir); break;
	case CMD_CPU_SPLIT: rc = cmd_cpu_split(dp, prefix); break;
	default: rc = cmd_bans(dp); break;
	}
	sg_dp_close(dp);
	return rc;
}
