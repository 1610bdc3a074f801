// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-packet cost of sg_xdp next to a floor and two peers, measured with
 * BPF_PROG_TEST_RUN on one pinned CPU.
 *
 * Every variant is one (program, frame) pair.  A round runs every variant
 * once, in a fixed order, each with `repeat` runs of the same frame and
 * each right after a run of the floor (an empty program); the table
 * reports the median over rounds.  Interleaving means a slow spell of
 * this noisy VM hits all variants alike, and pairing each run with the
 * floor run just before it (a few tens of milliseconds apart) removes
 * the drift of the VM within a round: the targets are judged on the
 * median over rounds of each pair's difference and ratio.
 *
 * Time per packet is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID)
 * across the test-run syscall, less a fixed cost, divided by `repeat`.
 * The kernel's own `duration` is truncated to whole nanoseconds, too
 * coarse next to a 5 ns floor; wall time counts whatever else runs on
 * the CPU meanwhile (on this shared VM it doubled under parallel builds,
 * while CPU time barely moved).  The fixed cost: with repeat > 1 a test
 * run swaps the program into the kernel's XDP dispatcher and out again,
 * about 1-1.3 ms of CPU per call here (1-1.3 ns per packet at a million
 * runs).  It is measured every round (the floor with repeat = 2) and its
 * median subtracted.  The kernel's figure, which times only its loop, is
 * printed next to ours as a cross-check.
 *
 * Before timing, every variant runs once and must return the verdict it
 * is meant to measure; afterwards, smtpgate's counters must account for
 * every governed run with the expected verdict and reason (so the rate
 * limiter really passed every trusted packet).  A mismatch exits 1.
 *
 *   bench_prog [--rounds N] [--repeat N] [--cpu N] [--entries N]
 *              [--xdp-filter OBJ] [--verbose]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dataplane.h"
#include "pkt.h"

#define MAX_ROUNDS   101
#define MAX_VARIANTS 32
#define N_CONFIGS    3

/* ---- options ---- */

static struct {
	int rounds;
	unsigned repeat;
	int cpu;
	int entries;
	const char *xdp_filter;
	const char *only;
	int verbose;
} opt = {
	.rounds = 11,
	.repeat = 1000000,
	.cpu = -1,
	.entries = 100000,
	/* Debian's object names give xdp-filter's default policy: "alw" =
	 * allow by default, listed ports are dropped (xdp-filter load --policy allow). */
	.xdp_filter = "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_tcp.o",
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_prog [--rounds N] [--repeat N] [--cpu N] [--entries N]\n"
		"                  [--xdp-filter OBJ] [--only TEXT] [--verbose]\n"
		"  --rounds N      rounds; each runs every variant once (default 11, 5..%d)\n"
		"  --repeat N      test runs per variant per round (default 1000000)\n"
		"  --cpu N         CPU to pin to (default: the last one allowed)\n"
		"  --entries N     trusted entries in the large configurations (default 100000)\n"
		"  --xdp-filter F  xdp-filter object dropping by TCP port (default %s)\n"
		"  --only TEXT     only the variants whose name contains TEXT (the floor\n"
		"                  always runs: ratios need it); e.g. for perf on one path\n"
		"  --verbose       also print every round's numbers\n",
		MAX_ROUNDS, opt.xdp_filter);
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "entries", required_argument, NULL, 'e' },
		{ "xdp-filter", required_argument, NULL, 'x' },
		{ "only", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "r:n:c:e:x:o:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': opt.rounds = atoi(optarg); break;
		case 'n': opt.repeat = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'c': opt.cpu = atoi(optarg); break;
		case 'e': opt.entries = atoi(optarg); break;
		case 'x': opt.xdp_filter = optarg; break;
		case 'o': opt.only = optarg; break;
		case 'v': opt.verbose = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (opt.rounds < 5 || opt.rounds > MAX_ROUNDS || opt.repeat < 1000 || opt.entries < 2 ||
	    opt.entries > 120000) {
		/* 120000: the random hosts must fit in 198.18.0.0/15 with room
		 * left for the addresses the frames use. */
		fprintf(stderr, "bench_prog: rounds 5..%d, repeat >= 1000, entries 2..120000\n",
			MAX_ROUNDS);
		exit(2);
	}
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench_prog: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double clock_sec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_sec(void)
{
	return clock_sec(CLOCK_MONOTONIC);
}

/* ---- frames: the same few for every program ---- */

#define TRUSTED_SRC   "198.18.0.10"
#define UNTRUSTED_SRC "198.19.255.1"
#define RELAY         "198.19.0.25"

enum frame_id { F_TRUSTED_SYN, F_TRUSTED_ACK, F_UNTRUSTED_SYN, F_HTTPS_SYN, F_COUNT };

struct frame {
	uint8_t data[PKT_MAX];
	size_t len;
};

static struct frame frames[F_COUNT];

static void build_frames(void)
{
	struct pkt_spec s = { .src = TRUSTED_SRC, .dst = RELAY, .sport = 40000, .dport = 25,
			      .flags = TCPF_SYN, .seq = 1000 };
	struct pkt_spec ack = s, untrusted = s, https = s;

	ack.flags = TCPF_ACK;
	ack.ack = 2000;
	untrusted.src = UNTRUSTED_SRC;
	https.src = UNTRUSTED_SRC;
	https.dport = 443;
	frames[F_TRUSTED_SYN].len = pkt_build(&s, frames[F_TRUSTED_SYN].data, PKT_MAX);
	frames[F_TRUSTED_ACK].len = pkt_build(&ack, frames[F_TRUSTED_ACK].data, PKT_MAX);
	frames[F_UNTRUSTED_SYN].len = pkt_build(&untrusted, frames[F_UNTRUSTED_SYN].data, PKT_MAX);
	frames[F_HTTPS_SYN].len = pkt_build(&https, frames[F_HTTPS_SYN].data, PKT_MAX);
}

/* ---- variants ---- */

enum target { T_NONE, T_A, T_B, T_C };
/* The counter cell a governed frame lands in. */
enum cell { CELL_NONE, CELL_DROP_UNTRUSTED, CELL_PASS_TRUSTED };

struct variant {
	char name[64];
	int prog_fd;
	int frame;              /* enum frame_id */
	int expect;             /* XDP_* the frame must get */
	int target;             /* enum target: which goal of the issue applies */
	int config;             /* smtpgate configuration, or -1 */
	int cell;               /* enum cell: where smtpgate counts this frame */
	double cpu[MAX_ROUNDS]; /* CPU ns of the whole test-run call, per round */
	double ns[MAX_ROUNDS];  /* CPU ns per packet, fixed cost removed, per round */
	unsigned kns[MAX_ROUNDS]; /* the kernel's duration (whole ns), per round */
	double floor_cpu[MAX_ROUNDS]; /* CPU ns of the floor's call just before, per round */
	double median, min, max;
	double paired_delta, paired_ratio; /* medians over rounds of ns - floor_ns, ns / floor_ns */
	unsigned kmedian;
};

static struct variant variants[MAX_VARIANTS];
static int n_variants;

static struct variant *add_variant(const char *name, int fd, int frame, int expect,
				   int target, int config, int cell)
{
	struct variant *v;

	if (n_variants == MAX_VARIANTS)
		die("too many variants");
	/* Variant 0 is the floor, which every ratio needs. */
	if (n_variants > 0 && opt.only && !strstr(name, opt.only))
		return NULL;
	v = &variants[n_variants++];
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->prog_fd = fd;
	v->frame = frame;
	v->expect = expect;
	v->target = target;
	v->config = config;
	v->cell = cell;
	return v;
}

/* One test run of `repeat` packets.  Returns the CPU ns the call took. */
static double run_variant(const struct variant *v, unsigned repeat, unsigned *kernel_ns,
			  unsigned *retval)
{
	const struct frame *f = &frames[v->frame];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->data, .data_size_in = (__u32)f->len,
		    .repeat = repeat);
	double t0, t1;

	t0 = clock_sec(CLOCK_THREAD_CPUTIME_ID);
	if (bpf_prog_test_run_opts(v->prog_fd, &o))
		die("test run of %s: %s", v->name, strerror(errno));
	t1 = clock_sec(CLOCK_THREAD_CPUTIME_ID);
	if (kernel_ns)
		*kernel_ns = o.duration;
	if (retval)
		*retval = o.retval;
	return (t1 - t0) * 1e9;
}

static const char *xdp_name(unsigned r)
{
	static const char *const names[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					     "XDP_REDIRECT" };

	return r < 5 ? names[r] : "?";
}

/* ---- the floor and the minimal peer, from raw instructions ---- */

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_IMM(d, i)       INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV_REG(d, s)       INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ALU_IMM(op, d, i)   INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define ADD_REG(d, s)       INSN(BPF_ALU64 | BPF_ADD | BPF_X, d, s, 0, 0)
#define LDX(sz, d, s, off)  INSN(BPF_LDX | BPF_MEM | (sz), d, s, off, 0)
#define JGT_REG(d, s, off)  INSN(BPF_JMP | BPF_JGT | BPF_X, d, s, off, 0)
#define JNE_IMM(d, i, off)  INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, off, i)
#define EXIT()              INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int load_raw(const char *name, const struct bpf_insn *insns, size_t n)
{
	static char log[65536];
	LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = log, .log_size = sizeof(log),
		    .log_level = 1);
	int fd;

	log[0] = 0;
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name, "Dual BSD/GPL", insns, n, &o);
	if (fd < 0)
		die("load %s: %s\n%s", name, strerror(errno), log);
	return fd;
}

static int load_floor(void)
{
	const struct bpf_insn insns[] = {
		MOV_IMM(BPF_REG_0, XDP_PASS),
		EXIT(),
	};

	return load_raw("sgb_floor", insns, sizeof(insns) / sizeof(insns[0]));
}

/* Ethernet (no VLAN) -> IPv4 -> TCP, drop destination port 25.  Nothing
 * else: no IPv6, no fragments, no counters.  The lower bound of any
 * program that drops by port.  Jump offsets count to the final exit. */
static int load_minimal(void)
{
	const struct bpf_insn insns[] = {
		/* 0 */ LDX(BPF_W, BPF_REG_2, BPF_REG_1, 0),       /* data */
		/* 1 */ LDX(BPF_W, BPF_REG_3, BPF_REG_1, 4),       /* data_end */
		/* 2 */ MOV_IMM(BPF_REG_0, XDP_PASS),
		/* 3 */ MOV_REG(BPF_REG_4, BPF_REG_2),
		/* 4 */ ALU_IMM(BPF_ADD, BPF_REG_4, 14 + 20),      /* eth + IPv4 */
		/* 5 */ JGT_REG(BPF_REG_4, BPF_REG_3, 14),
		/* 6 */ LDX(BPF_H, BPF_REG_4, BPF_REG_2, 12),      /* ethertype */
		/* 7 */ JNE_IMM(BPF_REG_4, htons(ETH_P_IP), 12),
		/* 8 */ LDX(BPF_B, BPF_REG_4, BPF_REG_2, 14 + 9),  /* protocol */
		/* 9 */ JNE_IMM(BPF_REG_4, 6, 10),
		/* 10 */ LDX(BPF_B, BPF_REG_4, BPF_REG_2, 14),     /* version/IHL */
		/* 11 */ ALU_IMM(BPF_AND, BPF_REG_4, 0x0f),
		/* 12 */ ALU_IMM(BPF_LSH, BPF_REG_4, 2),
		/* 13 */ MOV_REG(BPF_REG_5, BPF_REG_2),
		/* 14 */ ADD_REG(BPF_REG_5, BPF_REG_4),             /* data + IHL */
		/* 15 */ MOV_REG(BPF_REG_4, BPF_REG_5),
		/* 16 */ ALU_IMM(BPF_ADD, BPF_REG_4, 14 + 4),       /* + eth + ports */
		/* 17 */ JGT_REG(BPF_REG_4, BPF_REG_3, 3),
		/* 18 */ LDX(BPF_H, BPF_REG_4, BPF_REG_5, 14 + 2), /* dport */
		/* 19 */ JNE_IMM(BPF_REG_4, htons(25), 1),
		/* 20 */ MOV_IMM(BPF_REG_0, XDP_DROP),
		/* 21 */ EXIT(),
	};

	return load_raw("sgb_min_tcp25", insns, sizeof(insns) / sizeof(insns[0]));
}

/* ---- xdp-filter ---- */

/* xdp-filter's port map (a per-CPU array): key = port in network byte
 * order as a __u32, value = rule flags on every CPU; a TCP destination
 * rule is DST | TCP (its common_kern_user.h; the object's code tests
 * (value & 6) == 6 on the destination port). */
#define XDPFILT_FLAG_DST 2
#define XDPFILT_FLAG_TCP 4

static struct bpf_object *xdpfilt_obj;

static int load_xdp_filter(const char *path)
{
	struct bpf_program *prog;
	struct bpf_map *map, *ports;
	__u32 key = htons(25);
	__u64 *val;
	int rc, ncpu = libbpf_num_possible_cpus();

	if (access(path, R_OK))
		return -errno;
	xdpfilt_obj = bpf_object__open_file(path, NULL);
	if (!xdpfilt_obj)
		die("open %s: %s", path, strerror(errno));
	/* Its maps are pinned by name; private copies leave a real
	 * xdp-filter on this machine alone. */
	bpf_object__for_each_map(map, xdpfilt_obj)
		bpf_map__set_pin_path(map, NULL);
	rc = bpf_object__load(xdpfilt_obj);
	if (rc)
		die("load %s: %s", path, strerror(-rc));
	ports = bpf_object__find_map_by_name(xdpfilt_obj, "filter_ports");
	prog = bpf_object__next_program(xdpfilt_obj, NULL);
	if (!ports || !prog)
		die("%s has no filter_ports map or no program", path);
	if (ncpu < 1 || !(val = calloc(ncpu, sizeof(*val))))
		die("xdp-filter: cannot size its per-CPU map");
	for (int c = 0; c < ncpu; c++)
		val[c] = XDPFILT_FLAG_DST | XDPFILT_FLAG_TCP;
	if (bpf_map_update_elem(bpf_map__fd(ports), &key, val, 0))
		die("xdp-filter port 25: %s", strerror(errno));
	free(val);
	return bpf_program__fd(prog);
}

/* ---- smtpgate ---- */

struct sg_setup {
	const char *label;
	int hosts;              /* trusted host entries, the packet's source included */
	int nets;               /* trusted /24 entries, the packet's /24 included */
	struct sg_dp *dp;
	int prog_fd;
	double build_s, apply_s;
	unsigned long long runs_b, runs_c; /* governed runs, for the final check */
};

static struct sg_setup setups[N_CONFIGS];

/* xorshift64*: a fixed seed makes every run load the same tables. */
static uint64_t rng_state = 0x5347b3e7c0ffee11ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t ip4(const char *text)
{
	struct in_addr a;

	if (inet_pton(AF_INET, text, &a) != 1)
		die("bad address %s", text);
	return ntohl(a.s_addr);
}

static void trust(struct sg_policy *p, uint32_t addr, unsigned len, int class_idx)
{
	struct sg_trusted_entry t = { .groups = 1, .rate_class = SG_ENTRY_CLASS(class_idx),
				      .ticket = "BENCH-1", .owner = "bench" };

	sg_addr_from_v4(&t.prefix.addr, htonl(addr));
	t.prefix.len = 96 + len;
	if (sg_policy_add_trusted(p, &t))
		die("out of memory");
}

/* n - 1 distinct random hosts of 198.18.0.0/15 that are none of the
 * frames' addresses, plus the trusted source. */
static void add_random_hosts(struct sg_policy *p, int n, int class_idx)
{
	const uint32_t base = ip4("198.18.0.0"), size = 1u << 17;
	const uint32_t skip[] = { ip4(TRUSTED_SRC), ip4(UNTRUSTED_SRC), ip4(RELAY) };
	uint32_t *pool = malloc(size * sizeof(*pool));
	uint32_t m = 0;

	if (!pool)
		die("out of memory");
	for (uint32_t i = 0; i < size; i++) {
		uint32_t a = base + i;

		if (a != skip[0] && a != skip[1] && a != skip[2])
			pool[m++] = a;
	}
	/* Partial Fisher-Yates: the first n - 1 of a random permutation. */
	for (int i = 0; i < n - 1; i++) {
		uint32_t j = i + (uint32_t)(rng() % (m - i)), tmp = pool[i];

		pool[i] = pool[j];
		pool[j] = tmp;
		trust(p, pool[i], 32, class_idx);
	}
	trust(p, ip4(TRUSTED_SRC), 32, class_idx);
	free(pool);
}

/* n - 1 distinct random /24s of 1.0.0.0 - 223.255.255.0 outside
 * 198.18.0.0/15 (table contents only: no traffic goes there), plus
 * 198.18.0.0/24, which holds the trusted source and not the untrusted. */
static void add_random_nets(struct sg_policy *p, int n, int class_idx)
{
	const uint32_t bench_lo = ip4("198.18.0.0") >> 8, bench_hi = ip4("198.19.255.0") >> 8;
	const uint32_t lo = 1u << 16, hi = 224u << 16; /* /24 numbers: 1.0.0 .. 223.255.255 */
	uint8_t *seen = calloc(1u << 21, 1);             /* one bit per /24 */
	int added = 0;

	if (!seen)
		die("out of memory");
	while (added < n - 1) {
		uint32_t net = lo + (uint32_t)(rng() % (hi - lo));

		if ((net >= bench_lo && net <= bench_hi) || (seen[net >> 3] & (1u << (net & 7))))
			continue;
		seen[net >> 3] |= (uint8_t)(1u << (net & 7));
		trust(p, net << 8, 24, class_idx);
		added++;
	}
	trust(p, ip4(TRUSTED_SRC) & 0xffffff00u, 24, class_idx);
	free(seen);
}

/* Port 25 governed, one relay group with the relay, unregistered sources
 * dropped, and a class so generous it always passes: the trusted path
 * runs the whole rate limiter without ever limiting. */
static void build_policy(struct sg_policy *p, const struct sg_setup *s)
{
	struct sg_rate_class c = { .name = "bench", .conn_per_sec = 1e9, .conn_burst = 1e9,
				   .bytes_per_sec = 1e12, .bytes_burst = 1e12 };
	struct sg_addr relay;
	int g, cls;

	sg_policy_init(p);
	p->unreg_action = SG_UNREG_DROP;
	g = sg_policy_add_group(p, "relays");
	cls = sg_policy_add_class(p, &c);
	if (sg_policy_add_port(p, 25) || g < 0 || cls < 0 ||
	    sg_addr_parse(RELAY, &relay, NULL) || sg_policy_add_relay(p, g, &relay, NULL, 0))
		die("building the policy failed");
	if (s->hosts)
		add_random_hosts(p, s->hosts, cls);
	if (s->nets)
		add_random_nets(p, s->nets, cls);
}

static void setup_smtpgate(struct sg_setup *s)
{
	struct sg_err err = { 0 };
	struct sg_policy p;
	double t0 = now_sec();

	build_policy(&p, s);
	s->build_s = now_sec() - t0;
	if (sg_dp_open(&s->dp, NULL, &err))
		die("open data plane: %s", err.msg);
	t0 = now_sec();
	if (sg_dp_apply(s->dp, &p, &err))
		die("apply %s: %s", s->label, err.msg);
	s->apply_s = now_sec() - t0;
	if (sg_dp_trust_count(s->dp) != s->hosts + s->nets)
		die("%s: %ld trusted entries loaded, want %d", s->label,
		    sg_dp_trust_count(s->dp), s->hosts + s->nets);
	s->prog_fd = sg_dp_prog_fd(s->dp, SG_HOOK_XDP, 0, &err);
	if (s->prog_fd < 0)
		die("sg_xdp: %s", err.msg);
	sg_policy_free(&p);
}

/* Every governed run must be in its expected counter cell, and nothing
 * else may have been counted (no rate limiting, no other verdict). */
static int check_counters(const struct sg_setup *s)
{
	static struct sg_counter c[SG_V_COUNT][SG_R_COUNT];
	unsigned long long total = 0, drop, pass;

	if (sg_dp_read_counters(s->dp, 0, c))
		die("read counters of %s", s->label);
	for (int v = 0; v < SG_V_COUNT; v++)
		for (int r = 0; r < SG_R_COUNT; r++)
			total += c[v][r].packets;
	drop = c[SG_V_DROP][SG_R_UNTRUSTED_SOURCE].packets;
	pass = c[SG_V_PASS][SG_R_TRUSTED].packets;
	printf("check %-10s drop/untrusted_source %llu (want %llu), pass/trusted %llu "
	       "(want %llu), other %llu (want 0)\n", s->label, drop, s->runs_b, pass, s->runs_c,
	       total - drop - pass);
	return drop == s->runs_b && pass == s->runs_c && total == drop + pass;
}

/* ---- measuring ---- */

static void pin_cpu(void)
{
	cpu_set_t set;

	if (opt.cpu < 0) {
		if (sched_getaffinity(0, sizeof(set), &set))
			die("sched_getaffinity: %s", strerror(errno));
		for (int c = CPU_SETSIZE - 1; c >= 0; c--)
			if (CPU_ISSET(c, &set)) {
				opt.cpu = c;
				break;
			}
	}
	CPU_ZERO(&set);
	CPU_SET(opt.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("pin to CPU %d: %s", opt.cpu, strerror(errno));
}

static void account_run(const struct variant *v, unsigned long long runs)
{
	if (v->cell == CELL_DROP_UNTRUSTED)
		setups[v->config].runs_b += runs;
	else if (v->cell == CELL_PASS_TRUSTED)
		setups[v->config].runs_c += runs;
}

/* Each variant once, with one run: it must get its verdict. */
static void verify_verdicts(void)
{
	for (int i = 0; i < n_variants; i++) {
		struct variant *v = &variants[i];
		unsigned ret;

		run_variant(v, 1, NULL, &ret);
		account_run(v, 1);
		if (ret != (unsigned)v->expect)
			die("%s returned %s, want %s: not measuring what it says", v->name,
			    xdp_name(ret), xdp_name((unsigned)v->expect));
	}
}

#define OVERHEAD_SAMPLES 3

/* CPU ns of test-run calls with repeat = 2 of the floor: the fixed cost
 * of a call (dispatcher swap, frame set-up, syscall), plus 2 runs. */
static double overhead[MAX_ROUNDS * OVERHEAD_SAMPLES];
static double overhead_ns;

static void measure(void)
{
	/* One unrecorded round warms caches, branch predictors and the
	 * CPU's frequency. */
	for (int i = 0; i < n_variants; i++) {
		run_variant(&variants[i], opt.repeat, NULL, NULL);
		account_run(&variants[i], opt.repeat);
	}
	for (int r = 0; r < opt.rounds; r++) {
		for (int k = 0; k < OVERHEAD_SAMPLES; k++)
			overhead[r * OVERHEAD_SAMPLES + k] = run_variant(&variants[0], 2, NULL, NULL);
		for (int i = 0; i < n_variants; i++) {
			struct variant *v = &variants[i];

			/* The floor (variant 0) is its own pair. */
			if (i)
				v->floor_cpu[r] = run_variant(&variants[0], opt.repeat, NULL, NULL);
			v->cpu[r] = run_variant(v, opt.repeat, &v->kns[r], NULL);
			account_run(v, opt.repeat);
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static double median(double *x, int n)
{
	qsort(x, n, sizeof(double), cmp_double);
	/* An odd count has a middle; an even one averages the two. */
	return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

static void summarise(struct variant *v)
{
	double s[MAX_ROUNDS], d[MAX_ROUNDS], q[MAX_ROUNDS];
	unsigned k[MAX_ROUNDS];
	int n = opt.rounds;

	for (int r = 0; r < n; r++) {
		double floor_ns;

		v->ns[r] = (v->cpu[r] - overhead_ns) / opt.repeat;
		floor_ns = v == &variants[0] ? v->ns[r] : (v->floor_cpu[r] - overhead_ns) / opt.repeat;
		d[r] = v->ns[r] - floor_ns;
		q[r] = v->ns[r] / floor_ns;
	}
	v->paired_delta = median(d, n);
	v->paired_ratio = median(q, n);
	memcpy(s, v->ns, sizeof(double) * n);
	memcpy(k, v->kns, sizeof(unsigned) * n);
	v->median = median(s, n);
	qsort(k, n, sizeof(unsigned), cmp_unsigned);
	v->kmedian = k[n / 2];
	v->min = s[0];
	v->max = s[n - 1];
}

/* ---- reporting ---- */

static void print_header(void)
{
	struct utsname u;
	time_t t = time(NULL);
	char date[32], load[64] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (!fgets(load, sizeof(load), f))
			snprintf(load, sizeof(load), "?");
		load[strcspn(load, "\n")] = 0;
		fclose(f);
	}
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&t));
	printf("smtpgate per-packet cost, BPF_PROG_TEST_RUN (XDP)\n");
	printf("date %s, kernel %s, %ld CPUs online, pinned to CPU %d\n", date, u.release,
	       sysconf(_SC_NPROCESSORS_ONLN), opt.cpu);
	/* Other work on the machine shows up here first. */
	printf("load average at start: %s\n", load);
	printf("repeat %u per variant per round, each after a floor run, %d rounds "
	       "interleaved (+1 warm-up), median over rounds\n", opt.repeat, opt.rounds);
	printf("frames: IPv4 TCP %zu bytes; SYN %s -> %s:25 (trusted), SYN %s -> %s:25 "
	       "(untrusted), SYN %s -> %s:443\n\n", frames[F_TRUSTED_SYN].len, TRUSTED_SRC,
	       RELAY, UNTRUSTED_SRC, RELAY, UNTRUSTED_SRC, RELAY);
}

static void print_loads(void)
{
	for (int i = 0; i < N_CONFIGS; i++)
		printf("load %-10s %6d hosts %6d /24s: policy built in %.2f s, "
		       "sg_dp_apply %.2f s\n", setups[i].label, setups[i].hosts,
		       setups[i].nets, setups[i].build_s, setups[i].apply_s);
	printf("\n");
}

static void print_table(double floor)
{
	printf("%-44s %8s %7s %7s %8s %7s %8s %8s\n", "variant", "median", "min", "max",
	       "x floor", "kernel", "paired", "paired");
	printf("%-44s %8s %7s %7s %8s %7s %8s %8s\n", "", "ns/pkt", "ns", "ns", "", "ns",
	       "+ns", "x floor");
	for (int i = 0; i < n_variants; i++) {
		const struct variant *v = &variants[i];

		printf("%-44s %8.2f %7.2f %7.2f %8.2f %7u %8.2f %8.2f\n", v->name, v->median,
		       v->min, v->max, v->median / floor, v->kmedian, v->paired_delta,
		       v->paired_ratio);
	}
	printf("(ns/pkt: this thread's CPU time over the test run, less the fixed cost per call, "
	       "/ repeat;\n kernel: the test run's own timing of its loop, truncated to whole "
	       "ns;\n paired: median over rounds of the difference and ratio to the floor run "
	       "just before it)\n\n");
}

static void print_rounds(void)
{
	printf("per-round ns/pkt [kernel duration]:\n");
	for (int i = 0; i < n_variants; i++) {
		const struct variant *v = &variants[i];

		printf("%-44s", v->name);
		for (int r = 0; r < opt.rounds; r++)
			printf(" %.2f[%u]", v->ns[r], v->kns[r]);
		printf("\n");
	}
	printf("\n");
}

static void print_targets(double floor)
{
	static const char *const goal[] = {
		[T_A] = "(a) not governed   <= floor + 2 ns",
		[T_B] = "(b) untrusted drop <= 3 x floor   ",
		[T_C] = "(c) trusted pass   <= 6 x floor   ",
	};

	printf("targets of the issue (reported, not asserted), on the paired figures "
	       "(floor median %.2f ns):\n", floor);
	for (int i = 0; i < n_variants; i++) {
		const struct variant *v = &variants[i];
		int met;

		if (v->target == T_NONE)
			continue;
		if (v->target == T_A) {
			met = v->paired_delta <= 2;
			printf("  %-10s %s: floor + %.2f ns -> %s\n", setups[v->config].label,
			       goal[v->target], v->paired_delta, met ? "met" : "MISSED");
		} else {
			met = v->paired_ratio <= (v->target == T_B ? 3 : 6);
			printf("  %-10s %s: %.2f x floor -> %s\n", setups[v->config].label,
			       goal[v->target], v->paired_ratio, met ? "met" : "MISSED");
		}
	}
	printf("\n");
}

/* ---- main ---- */

/* libbpf's warnings (a verifier log, say) matter; its notes about
 * xdp-filter's private ELF sections do not. */
static int libbpf_warnings(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void add_smtpgate_variants(int c)
{
	const struct sg_setup *s = &setups[c];
	char name[64];

	snprintf(name, sizeof(name), "sg_xdp %s: (a) TCP/443 not governed", s->label);
	add_variant(name, s->prog_fd, F_HTTPS_SYN, XDP_PASS, T_A, c, CELL_NONE);
	snprintf(name, sizeof(name), "sg_xdp %s: (b) TCP/25 untrusted, drop", s->label);
	add_variant(name, s->prog_fd, F_UNTRUSTED_SYN, XDP_DROP, T_B, c, CELL_DROP_UNTRUSTED);
	snprintf(name, sizeof(name), "sg_xdp %s: (c) trusted SYN, pass", s->label);
	add_variant(name, s->prog_fd, F_TRUSTED_SYN, XDP_PASS, T_C, c, CELL_PASS_TRUSTED);
	/* Same path, no connection charge: reported, judged under (c)'s SYN. */
	snprintf(name, sizeof(name), "sg_xdp %s: (c) trusted ACK, pass", s->label);
	add_variant(name, s->prog_fd, F_TRUSTED_ACK, XDP_PASS, T_NONE, c, CELL_PASS_TRUSTED);
}

int main(int argc, char **argv)
{
	char label[3][32];
	int floor_fd, min_fd, filt_fd, ok = 1;
	double floor;

	parse_args(argc, argv);
	libbpf_set_print(libbpf_warnings);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pin_cpu();
	build_frames();

	snprintf(label[0], sizeof(label[0]), "1host");
	if (opt.entries % 1000) {
		snprintf(label[1], sizeof(label[1]), "%dhost", opt.entries);
		snprintf(label[2], sizeof(label[2]), "%d/24", opt.entries);
	} else {
		snprintf(label[1], sizeof(label[1]), "%dkhost", opt.entries / 1000);
		snprintf(label[2], sizeof(label[2]), "%dk/24", opt.entries / 1000);
	}
	setups[0] = (struct sg_setup){ .label = label[0], .hosts = 1 };
	setups[1] = (struct sg_setup){ .label = label[1], .hosts = opt.entries };
	setups[2] = (struct sg_setup){ .label = label[2], .nets = opt.entries };
	for (int i = 0; i < N_CONFIGS; i++)
		setup_smtpgate(&setups[i]);

	floor_fd = load_floor();
	min_fd = load_minimal();
	add_variant("floor: empty XDP program (XDP_PASS)", floor_fd, F_UNTRUSTED_SYN, XDP_PASS,
		    T_NONE, -1, CELL_NONE);
	add_variant("minimal raw TCP/25 drop: TCP/25, drop", min_fd, F_UNTRUSTED_SYN, XDP_DROP,
		    T_NONE, -1, CELL_NONE);
	add_variant("minimal raw TCP/25 drop: TCP/443, pass", min_fd, F_HTTPS_SYN, XDP_PASS,
		    T_NONE, -1, CELL_NONE);
	filt_fd = load_xdp_filter(opt.xdp_filter);
	if (filt_fd >= 0) {
		add_variant("xdp-filter tcp dport 25: TCP/25, drop", filt_fd, F_UNTRUSTED_SYN,
			    XDP_DROP, T_NONE, -1, CELL_NONE);
		add_variant("xdp-filter tcp dport 25: TCP/443, pass", filt_fd, F_HTTPS_SYN,
			    XDP_PASS, T_NONE, -1, CELL_NONE);
	} else {
		fprintf(stderr, "bench_prog: %s: %s; xdp-filter rows skipped "
			"(apt-get install xdp-tools)\n", opt.xdp_filter, strerror(-filt_fd));
	}
	for (int i = 0; i < N_CONFIGS; i++)
		add_smtpgate_variants(i);

	print_header();
	print_loads();
	verify_verdicts();
	measure();
	overhead_ns = median(overhead, opt.rounds * OVERHEAD_SAMPLES);
	printf("fixed cost per test-run call (XDP dispatcher swap, set-up), median of %d: "
	       "%.0f us = %.2f ns/pkt at repeat %u, subtracted\n\n", opt.rounds * OVERHEAD_SAMPLES,
	       overhead_ns / 1000, overhead_ns / opt.repeat, opt.repeat);
	for (int i = 0; i < n_variants; i++)
		summarise(&variants[i]);
	floor = variants[0].median;

	if (opt.verbose)
		print_rounds();
	print_table(floor);
	print_targets(floor);
	for (int i = 0; i < N_CONFIGS; i++)
		ok &= check_counters(&setups[i]);
	if (!ok)
		fprintf(stderr, "bench_prog: counters do not match the runs: some packets took "
			"another path than the one measured\n");

	for (int i = 0; i < N_CONFIGS; i++)
		sg_dp_close(setups[i].dp);
	bpf_object__close(xdpfilt_obj);
	close(floor_fd);
	close(min_fd);
	return ok ? 0 : 1;
}
