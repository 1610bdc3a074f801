// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * floodgen: the flood generator of the load tests and the live benchmark.
 * Two ways to put TCP segments on a veth, the same frames either way:
 *
 *   live       BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES runs
 *              xdpgen.bpf.c on `repeat` frames; the program writes each
 *              segment and returns XDP_TX, so the kernel sends it without
 *              a socket or an skb (~19 Mpps into a veth where allowed).
 *   af_packet  frames written in userspace (tests/lib/flood_frame.c) and
 *              sent in batches with sendmmsg on an AF_PACKET socket that
 *              bypasses the qdisc (tests/lib/afpacket_tx.c), about 1 M
 *              frames/s per CPU.  Some kernels refuse live frames (EPERM
 *              even for root); this is the fallback.
 *
 * --generator auto (the default) probes live frames once, with a program
 * that sends nothing, and takes af_packet if the kernel refuses them; the
 * output says which generator ran.  It prints what it handed to the
 * kernel; what arrives is another matter (a full veth ring, a peer veth
 * without NAPI drops silently), so always count at the receiver.  An
 * interface that is down, or has no carrier, is refused before anything
 * is sent, whichever the generator (a live frame's run would report
 * frames sent into it).
 *
 * Test tooling: one program, options on the command line, no state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "afpacket_tx.h"
#include "flood_frame.h"
#include "xdpgen.skel.h"

#define MAX_THREADS   64
#define FRAME_MAX     1500
/* Each test-run call is sized to take about this long, so a duration
 * bound or a signal is noticed promptly. */
#define CALL_TARGET_NS 50000000ull

static const char usage_text[] =
	"usage: floodgen --dev IF --dst-mac MAC --dst ADDR [options]\n"
	"  Sends TCP segments out of IF (in this network namespace) with\n"
	"  BPF_PROG_TEST_RUN live frames, or an AF_PACKET socket where the kernel\n"
	"  refuses live frames; prints what it sent.\n"
	"\n"
	"  --dev IF            interface to send from (the sender's end of a veth)\n"
	"  --dst-mac MAC       destination MAC (the receiver's)\n"
	"  --src-mac MAC       source MAC (default: IF's own)\n"
	"  --dst ADDR          destination IPv4 or IPv6 address\n"
	"  --src ADDR          fixed source address (same family as --dst)\n"
	"  --src-prefix PFX    random source per frame from PFX (spoofed flood)\n"
	"  --dport N           destination port (default 25)\n"
	"  --sport N           source port (default random per frame)\n"
	"  --flags F[,F]       TCP flags: syn ack rst fin psh (default syn)\n"
	"  --ttl N             TTL / hop limit (default 64)\n"
	"  --size N            frame length in bytes (default 64, or the headers' 74 for\n"
	"                      IPv6; the rest is padding)\n"
	"  --count N           frames to send in all (default: until --duration)\n"
	"  --duration SEC      stop after SEC seconds (default 5 if no --count)\n"
	"  --threads N         sending threads, one per CPU (default 1)\n"
	"  --cpus A,B,...      CPUs for the threads (default 0,1,...)\n"
	"  --batch N           frames per batch (default 64, max 256)\n"
	"  --generator G       auto (default: live if the kernel allows it, else\n"
	"                      af_packet), live or af_packet\n"
	"  --quiet             print only the result line\n"
	"\n"
	"  Output: \"floodgen: sent N frames in S s (R Mpps) from IF, T thread(s),\n"
	"  generator G[, the driver refused M]\": N counts every frame handed to the\n"
	"  kernel, M those the driver dropped at once (af_packet only: a full veth\n"
	"  ring; the device counts them as tx_dropped).\n"
	"  Exit status: 0 done, 1 failed (or sent nothing), 2 bad usage.\n";

struct opts {
	const char *dev;
	const char *dst, *src, *src_prefix;
	const char *dst_mac, *src_mac;
	unsigned dport, sport, ttl, size, batch, threads;
	bool sport_set;
	unsigned flags;
	unsigned long long count;
	double duration;
	int cpus[MAX_THREADS];
	int n_cpus;
	bool quiet;
	enum generator { GEN_AUTO, GEN_LIVE, GEN_AF_PACKET } generator;
};

/* What to send, parsed once: both generators write these frames. */
struct target {
	int v6;
	__u8 dst_mac[ETH_ALEN], src_mac[ETH_ALEN];
	__u8 dst[16], src[16], src_rand_mask[16]; /* network order */
};

struct worker {
	pthread_t tid;
	int cpu;
	int ifindex;
	int prog_fd;                 /* live */
	const struct target *target; /* af_packet */
	unsigned long long quota;    /* frames this thread sends; 0 = until deadline */
	unsigned long long sent;     /* handed to the kernel */
	unsigned long long refused;  /* of those, dropped by the driver at once (af_packet) */
	int error;
	struct opts *o;
};

static volatile sig_atomic_t stop_requested;
static unsigned long long deadline_ns;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "floodgen: %s%s%s\n(floodgen --help for usage)\n", what, arg ? ": " : "",
		arg ? arg : "");
	return 2;
}

/* ---- option parsing ---- */

static int parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end || *out > max ? -1 : 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long long v;

	if (parse_num(s, max, &v))
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_mac(const char *s, __u8 mac[ETH_ALEN])
{
	unsigned v[ETH_ALEN];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != ETH_ALEN)
		return -1;
	for (int i = 0; i < ETH_ALEN; i++) {
		if (v[i] > 0xff)
			return -1;
		mac[i] = (__u8)v[i];
	}
	return 0;
}

static int parse_flags(const char *s, unsigned *out)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "fin", 0x01 }, { "syn", 0x02 }, { "rst", 0x04 }, { "psh", 0x08 }, { "ack", 0x10 },
	};
	char buf[64], *save = NULL, *tok;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -1;
	*out = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -1;
		*out |= names[i].bit;
	}
	return *out ? 0 : -1;
}

static int parse_cpus(const char *s, struct opts *o)
{
	char buf[256], *save = NULL, *tok;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -1;
	o->n_cpus = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned cpu;

		if (o->n_cpus >= MAX_THREADS || parse_uint(tok, 4095, &cpu))
			return -1;
		o->cpus[o->n_cpus++] = (int)cpu;
	}
	return o->n_cpus ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'i' },
		{ "dst-mac", required_argument, NULL, 'M' },
		{ "src-mac", required_argument, NULL, 'm' },
		{ "dst", required_argument, NULL, 'd' },
		{ "src", required_argument, NULL, 's' },
		{ "src-prefix", required_argument, NULL, 'S' },
		{ "dport", required_argument, NULL, 'p' },
		{ "sport", required_argument, NULL, 'P' },
		{ "flags", required_argument, NULL, 'f' },
		{ "ttl", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 'z' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'D' },
		{ "threads", required_argument, NULL, 'T' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "generator", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ .dport = 25, .ttl = 64, .size = 0, .batch = 64, .threads = 1,
			    .flags = 0x02 };
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'i': o->dev = optarg; break;
		case 'M': o->dst_mac = optarg; break;
		case 'm': o->src_mac = optarg; break;
		case 'd': o->dst = optarg; break;
		case 's': o->src = optarg; break;
		case 'S': o->src_prefix = optarg; break;
		case 'p':
			if (parse_uint(optarg, 65535, &o->dport) || !o->dport)
				return bad_usage("--dport wants 1-65535", optarg);
			break;
		case 'P':
			if (parse_uint(optarg, 65535, &o->sport) || !o->sport)
				return bad_usage("--sport wants 1-65535", optarg);
			o->sport_set = true;
			break;
		case 'f':
			if (parse_flags(optarg, &o->flags))
				return bad_usage("--flags wants syn,ack,rst,fin,psh", optarg);
			break;
		case 't':
			if (parse_uint(optarg, 255, &o->ttl) || !o->ttl)
				return bad_usage("--ttl wants 1-255", optarg);
			break;
		case 'z':
			if (parse_uint(optarg, FRAME_MAX, &o->size))
				return bad_usage("--size wants at most 1500", optarg);
			break;
		case 'n':
			if (parse_num(optarg, ~0ull, &o->count) || !o->count)
				return bad_usage("--count wants a positive number", optarg);
			break;
		case 'D':
			o->duration = strtod(optarg, &end);
			if (*end || !(o->duration > 0) || o->duration > 3600)
				return bad_usage("--duration wants seconds, 0 < SEC <= 3600", optarg);
			break;
		case 'T':
			if (parse_uint(optarg, MAX_THREADS, &o->threads) || !o->threads)
				return bad_usage("--threads wants 1-64", optarg);
			break;
		case 'c':
			if (parse_cpus(optarg, o))
				return bad_usage("--cpus wants a list of CPU numbers", optarg);
			break;
		case 'b':
			if (parse_uint(optarg, 256, &o->batch) || !o->batch)
				return bad_usage("--batch wants 1-256", optarg);
			break;
		case 'q': o->quiet = true; break;
		case 'g':
			if (!strcmp(optarg, "auto"))
				o->generator = GEN_AUTO;
			else if (!strcmp(optarg, "live"))
				o->generator = GEN_LIVE;
			else if (!strcmp(optarg, "af_packet"))
				o->generator = GEN_AF_PACKET;
			else
				return bad_usage("--generator wants auto, live or af_packet", optarg);
			break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: return 2;
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument", argv[optind]);
	if (!o->dev || !o->dst || !o->dst_mac)
		return bad_usage("--dev, --dst-mac and --dst are required", NULL);
	if (!!o->src == !!o->src_prefix)
		return bad_usage("give exactly one of --src and --src-prefix", NULL);
	if (!o->count && !o->duration)
		o->duration = 5;
	if (o->n_cpus && (unsigned)o->n_cpus < o->threads)
		return bad_usage("--cpus names fewer CPUs than --threads", NULL);
	return 0;
}

/* ---- what to send ---- */

static int if_mac(const char *dev, __u8 mac[ETH_ALEN])
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (rc)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

/* An address of family fam into 16 bytes (IPv4: the first 4). */
static int parse_addr(const char *s, int fam, __u8 addr[16])
{
	memset(addr, 0, 16);
	return inet_pton(fam, s, addr) == 1 ? 0 : -1;
}

/* "ADDR/LEN" into the address and the mask of its host (random) bits. */
static int parse_prefix(const char *s, int fam, __u8 addr[16], __u8 rand_mask[16])
{
	unsigned max = fam == AF_INET ? 32 : 128, len;
	char buf[64], *slash;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -1;
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if (parse_uint(slash + 1, max, &len) || parse_addr(buf, fam, addr))
		return -1;
	memset(rand_mask, 0, 16);
	for (unsigned bit = len; bit < max; bit++)
		rand_mask[bit / 8] |= (__u8)(0x80 >> (bit % 8));
	return 0;
}

static int parse_target(const struct opts *o, struct target *t)
{
	int fam = strchr(o->dst, ':') ? AF_INET6 : AF_INET;

	memset(t, 0, sizeof(*t));
	t->v6 = fam == AF_INET6;
	if (parse_mac(o->dst_mac, t->dst_mac))
		return bad_usage("--dst-mac is not a MAC address", o->dst_mac);
	if (o->src_mac ? parse_mac(o->src_mac, t->src_mac) : if_mac(o->dev, t->src_mac))
		return bad_usage(o->src_mac ? "--src-mac is not a MAC address" :
				 "cannot read the MAC address of", o->src_mac ? o->src_mac : o->dev);
	if (parse_addr(o->dst, fam, t->dst))
		return bad_usage("--dst is not an IPv4 or IPv6 address", o->dst);
	if (o->src && parse_addr(o->src, fam, t->src))
		return bad_usage("--src is not an address of --dst's family", o->src);
	if (o->src_prefix && parse_prefix(o->src_prefix, fam, t->src, t->src_rand_mask))
		return bad_usage("--src-prefix is not a prefix of --dst's family", o->src_prefix);
	return 0;
}

/* ---- live frames ---- */

static void configure_live(struct xdpgen *skel, const struct opts *o, const struct target *t)
{
	struct xdpgen__rodata *ro = skel->rodata;

	memcpy((void *)ro->cfg_dst_mac, t->dst_mac, ETH_ALEN);
	memcpy((void *)ro->cfg_src_mac, t->src_mac, ETH_ALEN);
	memcpy((void *)ro->cfg_daddr, t->dst, 16);
	memcpy((void *)ro->cfg_saddr, t->src, 16);
	memcpy((void *)ro->cfg_saddr_rand_mask, t->src_rand_mask, 16);
	ro->cfg_ipv6 = (__u8)t->v6;
	ro->cfg_tcp_flags = (__u8)o->flags;
	ro->cfg_ttl = (__u8)o->ttl;
	ro->cfg_dport = htons((__u16)o->dport);
	ro->cfg_sport = htons((__u16)o->sport);
	ro->cfg_sport_random = !o->sport_set;
}

/* One test run of `repeat` live frames of prog_fd.  0 or -errno. */
static int run_live(int prog_fd, int ifindex, unsigned batch, unsigned len, __u32 repeat)
{
	static const __u8 zero_frame[FRAME_MAX];
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = (__u32)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = zero_frame,
		.data_size_in = len,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = repeat,
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		.batch_size = batch,
	);

	return bpf_prog_test_run_opts(prog_fd, &opts) ? -errno : 0;
}

/* Does the kernel run live frames?  The probe program drops its frame,
 * so the probe sends nothing.  0 or -errno. */
static int probe_live(struct xdpgen *skel, int ifindex)
{
	return run_live(bpf_program__fd(skel->progs.xdpgen_probe), ifindex, 1, 64, 1);
}

/* ---- sending ---- */

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Frames the worker may still send in one go, at most max; 0: done. */
static __u32 next_chunk(const struct worker *w, __u32 max)
{
	if (stop_requested || (deadline_ns && now_ns() >= deadline_ns))
		return 0;
	if (w->quota && w->quota - w->sent < max)
		return (__u32)(w->quota - w->sent);
	return max;
}

static void live_worker(struct worker *w)
{
	__u32 chunk = 65536, n;

	while ((n = next_chunk(w, chunk))) {
		unsigned long long t0 = now_ns(), took;
		int rc = run_live(w->prog_fd, w->ifindex, w->o->batch, w->o->size, n);

		if (rc == -EINTR)
			break;
		if (rc) {
			w->error = -rc;
			break;
		}
		w->sent += n;
		/* Size the next call to take about CALL_TARGET_NS. */
		took = now_ns() - t0;
		if (took < CALL_TARGET_NS / 2 && chunk < (1u << 24))
			chunk *= 2;
		else if (took > CALL_TARGET_NS * 2 && chunk > 1024)
			chunk /= 2;
	}
}

static void af_packet_worker(struct worker *w)
{
	static __thread __u8 frames[AFP_TX_BATCH_MAX][FLOOD_FRAME_MAX];
	const struct target *t = w->target;
	struct flood_frame_spec spec = {
		.dst_mac = t->dst_mac, .src_mac = t->src_mac, .v6 = t->v6,
		.dst = t->dst, .src = t->src, .src_rand_mask = t->src_rand_mask,
		.dport = (uint16_t)w->o->dport, .sport = (uint16_t)w->o->sport,
		.tcp_flags = (uint8_t)w->o->flags, .ttl = (uint8_t)w->o->ttl,
		.size = w->o->size,
		.seed = now_ns() ^ ((unsigned long long)w->cpu << 32),
	};
	__u8 *ptrs[AFP_TX_BATCH_MAX];
	struct flood_frame ff;
	struct afp_tx tx;
	__u32 n;
	int rc;

	if (flood_frame_init(&ff, &spec)) {
		w->error = EINVAL;
		return;
	}
	rc = afp_tx_open(&tx, w->ifindex);
	if (rc) {
		w->error = -rc;
		return;
	}
	for (unsigned i = 0; i < AFP_TX_BATCH_MAX; i++)
		ptrs[i] = frames[i];
	while ((n = next_chunk(w, w->o->batch))) {
		/* New frames every batch: new random sources, ports, sequences. */
		for (__u32 i = 0; i < n; i++)
			flood_frame_next(&ff, frames[i]);
		rc = afp_tx_send(&tx, ptrs, ff.len, n);
		w->sent = tx.sent + tx.refused;
		w->refused = tx.refused;
		if (rc == -EINTR)
			break;
		if (rc) {
			w->error = -rc;
			break;
		}
	}
	afp_tx_close(&tx);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->cpu >= 0 && pin_to(w->cpu)) {
		w->error = errno;
		return NULL;
	}
	if (w->o->generator == GEN_LIVE)
		live_worker(w);
	else
		af_packet_worker(w);
	return NULL;
}

static const char *generator_name(enum generator g)
{
	return g == GEN_LIVE ? "live" : "af_packet";
}

static int run(struct opts *o, int prog_fd, const struct target *t, int ifindex)
{
	struct worker w[MAX_THREADS] = {};
	unsigned long long t0, total = 0, refused = 0;
	double secs;
	int err = 0;

	t0 = now_ns();
	if (o->duration > 0)
		deadline_ns = t0 + (unsigned long long)(o->duration * 1e9);
	for (unsigned i = 0; i < o->threads; i++) {
		w[i].o = o;
		w[i].prog_fd = prog_fd;
		w[i].target = t;
		w[i].ifindex = ifindex;
		w[i].cpu = o->n_cpus ? o->cpus[i] : (int)i;
		if (o->count)
			w[i].quota = o->count / o->threads + (i < o->count % o->threads ? 1 : 0);
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i])) {
			fprintf(stderr, "floodgen: cannot start thread %u\n", i);
			stop_requested = 1;
			o->threads = i;
			err = 1;
			break;
		}
	}
	for (unsigned i = 0; i < o->threads; i++) {
		pthread_join(w[i].tid, NULL);
		total += w[i].sent;
		refused += w[i].refused;
		if (w[i].error) {
			fprintf(stderr, "floodgen: thread %u (cpu %d): %s\n", i, w[i].cpu,
				strerror(w[i].error));
			err = 1;
		}
	}
	secs = (now_ns() - t0) / 1e9;
	printf("floodgen: sent %llu frames in %.3f s (%.3f Mpps) from %s, %u thread(s), generator %s",
	       total, secs, secs > 0 ? total / secs / 1e6 : 0.0, o->dev, o->threads,
	       generator_name(o->generator));
	if (o->generator == GEN_AF_PACKET)
		printf(", the driver refused %llu", refused);
	printf("\n");
	if (!o->quiet)
		for (unsigned i = 0; o->threads > 1 && i < o->threads; i++)
			printf("floodgen:   thread %u on cpu %d: %llu frames\n", i, w[i].cpu,
			       w[i].sent);
	if (!total) {
		/* A flood of nothing proves nothing: never a success. */
		fprintf(stderr, "floodgen: no frame was sent\n");
		err = 1;
	}
	return err;
}

/* Is the interface up, with a carrier?  Not: nothing sent on it can
 * arrive.  An AF_PACKET send then fails, but a live frame's test run
 * "transmits" into a down device and reports it sent, so ask first, for
 * both generators alike.  1 up, 0 down, -errno. */
static int link_is_up(const char *dev)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr) ? -errno : 0;
	close(fd);
	if (rc)
		return rc;
	return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}

/* Chooses the generator (live is probed unless af_packet was asked for)
 * and, for live frames, loads the program.  0, or the exit status. */
static int choose_generator(struct opts *o, const struct target *t, int ifindex,
			    struct xdpgen **skel_out)
{
	struct xdpgen *skel;
	int rc;

	*skel_out = NULL;
	if (o->generator == GEN_AF_PACKET) {
		if (!o->quiet)
			printf("floodgen: generator af_packet (asked for)\n");
		return 0;
	}
	skel = xdpgen__open();
	if (!skel) {
		fprintf(stderr, "floodgen: open BPF object: %s\n", strerror(errno));
		return 1;
	}
	configure_live(skel, o, t);
	if (xdpgen__load(skel)) {
		fprintf(stderr, "floodgen: load BPF program: %s\n", strerror(errno));
		xdpgen__destroy(skel);
		return 1;
	}
	rc = probe_live(skel, ifindex);
	if (!rc) {
		if (!o->quiet)
			printf("floodgen: generator live (the kernel runs live frames)\n");
		o->generator = GEN_LIVE;
		*skel_out = skel;
		return 0;
	}
	xdpgen__destroy(skel);
	if (o->generator == GEN_LIVE) {
		fprintf(stderr, "floodgen: the kernel refuses live frames: %s\n", strerror(-rc));
		return 1;
	}
	/* Printed even with --quiet: which generator ran is part of the result. */
	printf("floodgen: generator af_packet (the kernel refuses live frames: %s)\n",
	       strerror(-rc));
	o->generator = GEN_AF_PACKET;
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct xdpgen *skel = NULL;
	struct target t;
	struct opts o;
	int rc, ifindex, min_size;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	ifindex = (int)if_nametoindex(o.dev);
	if (!ifindex) {
		fprintf(stderr, "floodgen: %s: no such interface in this network namespace\n", o.dev);
		return 1;
	}
	rc = link_is_up(o.dev);
	if (rc <= 0) {
		if (rc)
			fprintf(stderr, "floodgen: %s: cannot read its flags: %s\n", o.dev,
				strerror(-rc));
		else
			fprintf(stderr, "floodgen: %s is down (not up, or no carrier): no frame was "
				"sent\n", o.dev);
		return 1;
	}
	min_size = strchr(o.dst, ':') ? 14 + 40 + 20 : 14 + 20 + 20;
	if (!o.size)
		o.size = min_size > 64 ? (unsigned)min_size : 64;
	if ((int)o.size < min_size) {
		fprintf(stderr, "floodgen: --size %u is too small for the headers (%d bytes)\n",
			o.size, min_size);
		return 2;
	}
	rc = parse_target(&o, &t);
	if (!rc)
		rc = choose_generator(&o, &t, ifindex, &skel);
	if (!rc) {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		fflush(stdout);
		rc = run(&o, skel ? bpf_program__fd(skel->progs.xdpgen) : -1, &t, ifindex);
	}
	xdpgen__destroy(skel);
	return rc;
}
