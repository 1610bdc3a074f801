// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * connrate: real TCP connections at a steady rate, for the load tests of
 * rate classes, throttling and relay caps; and a listener that completes
 * and counts them.
 *
 *   connrate --connect ADDR:PORT --rate R --duration S [--timeout MS] [--bind ADDR]
 *   connrate --listen ADDR:PORT [--duration S]
 *
 * The client starts attempt i at t0 + i/R (non-blocking, one epoll loop,
 * so a slow or dropped handshake never delays the next attempt), and
 * gives each attempt --timeout ms (default 500) to complete.  That is
 * shorter than Linux's first SYN retransmission (1 s), so every attempt
 * is exactly one SYN: the number of SYNs the gateway judged equals the
 * number of attempts, and "connected" equals the connections it passed.
 * It prints one line:
 *   connrate: attempted A connected C refused R timeout T error E in S s
 * and, on a second line, connections completed per second of the run.
 *
 * The listener accepts and closes at once with a deep backlog, so the
 * server is never the limit; on SIGTERM/SIGINT or after --duration it
 * prints "connrate: accepted N".
 *
 * Exit status: 0 done, 1 failed, 2 bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SECONDS 600
#define MAX_INFLIGHT 4096

struct attempt {
	int fd;
	unsigned long long deadline_ns;
};

struct result {
	unsigned long attempted, connected, refused, timedout, errors;
	unsigned long per_second[MAX_SECONDS + 1];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* "ADDR:PORT" or "[V6ADDR]:PORT" into a sockaddr. */
static int parse_endpoint(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char buf[128], *host = buf, *port;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	long p;

	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return -1;
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || close[1] != ':')
			return -1;
		*close = '\0';
		host = buf + 1;
		port = close + 2;
	} else {
		port = strrchr(buf, ':');
		if (!port)
			return -1;
		*port++ = '\0';
	}
	p = strtol(port, NULL, 10);
	if (p < 1 || p > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* ---- client ---- */

static void finish(int epfd, struct attempt *a, int err, struct result *r,
		   unsigned long long t0)
{
	unsigned long long sec;

	epoll_ctl(epfd, EPOLL_CTL_DEL, a->fd, NULL);
	close(a->fd);
	a->fd = -1;
	if (!err) {
		r->connected++;
		sec = (now_ns() - t0) / 1000000000ull;
		r->per_second[sec < MAX_SECONDS ? sec : MAX_SECONDS]++;
	} else if (err == ECONNREFUSED || err == ECONNRESET) {
		r->refused++;
	} else if (err == ETIMEDOUT) {
		r->timedout++;
	} else {
		r->errors++;
	}
}

/* The source address to bind to (--bind), if any: port 0, any port. */
static struct sockaddr_storage bind_addr;
static socklen_t bind_len;

static int start_attempt(int epfd, const struct sockaddr_storage *dst, socklen_t len,
			 struct attempt *a, unsigned long long timeout_ns, struct result *r)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	int fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	r->attempted++;
	if (fd < 0) {
		r->errors++;
		return -1;
	}
	if (bind_len && bind(fd, (const struct sockaddr *)&bind_addr, bind_len)) {
		close(fd);
		r->errors++;
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)dst, len) && errno != EINPROGRESS) {
		r->errors += errno == ECONNREFUSED ? 0 : 1;
		r->refused += errno == ECONNREFUSED ? 1 : 0;
		close(fd);
		return -1;
	}
	a->fd = fd;
	a->deadline_ns = now_ns() + timeout_ns;
	ev.data.ptr = a;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		a->fd = -1;
		r->errors++;
		return -1;
	}
	return 0;
}

static struct attempt *free_slot(struct attempt *slots)
{
	for (int i = 0; i < MAX_INFLIGHT; i++)
		if (slots[i].fd < 0)
			return &slots[i];
	return NULL;
}

static void expire(int epfd, struct attempt *slots, struct result *r, unsigned long long t0)
{
	unsigned long long now = now_ns();

	for (int i = 0; i < MAX_INFLIGHT; i++)
		if (slots[i].fd >= 0 && now >= slots[i].deadline_ns)
			finish(epfd, &slots[i], ETIMEDOUT, r, t0);
}

static int inflight(const struct attempt *slots)
{
	int n = 0;

	for (int i = 0; i < MAX_INFLIGHT; i++)
		n += slots[i].fd >= 0;
	return n;
}

static int run_client(const struct sockaddr_storage *dst, socklen_t len, double rate,
		      double duration, unsigned timeout_ms)
{
	static struct attempt slots[MAX_INFLIGHT];
	static struct result r;
	/* Exactly round(rate x duration) attempts, attempt i at t0 + i/rate
	 * (computed, not accumulated, so no rounding drift). */
	unsigned long total = (unsigned long)(rate * duration + 0.5), i = 0;
	unsigned long long t0 = now_ns(), next = t0;
	unsigned long long timeout_ns = timeout_ms * 1000000ull;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	double secs;

	if (epfd < 0)
		return 1;
	for (int i = 0; i < MAX_INFLIGHT; i++)
		slots[i].fd = -1;
	while (!stop_requested) {
		struct epoll_event evs[64];
		unsigned long long now = now_ns(), wake;
		int n, wait_ms;

		while (i < total && now >= next) {
			struct attempt *a = free_slot(slots);

			if (a)
				start_attempt(epfd, dst, len, a, timeout_ns, &r);
			else
				r.attempted++, r.errors++;
			i++;
			next = t0 + (unsigned long long)(i * 1e9 / rate);
		}
		if (i >= total && !inflight(slots))
			break;
		wake = i < total ? next : now + 10000000ull;
		wait_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		n = epoll_wait(epfd, evs, 64, wait_ms > 10 ? 10 : wait_ms);
		for (int i = 0; i < n; i++) {
			struct attempt *a = evs[i].data.ptr;
			int err = 0;
			socklen_t elen = sizeof(err);

			if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &elen))
				err = errno;
			finish(epfd, a, err, &r, t0);
		}
		expire(epfd, slots, &r, t0);
	}
	for (int i = 0; i < MAX_INFLIGHT; i++)
		if (slots[i].fd >= 0)
			finish(epfd, &slots[i], ETIMEDOUT, &r, t0);
	close(epfd);
	secs = (now_ns() - t0) / 1e9;
	printf("connrate: attempted %lu connected %lu refused %lu timeout %lu error %lu in %.3f s\n",
	       r.attempted, r.connected, r.refused, r.timedout, r.errors, secs);
	printf("connrate: per second:");
	for (int s = 0; s <= (int)secs && s < MAX_SECONDS; s++)
		printf(" %lu", r.per_second[s]);
	printf("\n");
	return 0;
}

/* ---- listener ---- */

static int run_listener(const struct sockaddr_storage *addr, socklen_t len, double duration)
{
	unsigned long long end = duration > 0 ? now_ns() + (unsigned long long)(duration * 1e9) : 0;
	unsigned long accepted = 0;
	int one = 1, fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tick = { .tv_sec = 0, .tv_usec = 200000 };

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)addr, len) || listen(fd, 4096) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick))) {
		perror("connrate: listen");
		return 1;
	}
	/* Unbuffered: a test reads the ready line while we run. */
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("connrate: listening\n");
	while (!stop_requested && (!end || now_ns() < end)) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c >= 0) {
			accepted++;
			close(c);
		}
	}
	close(fd);
	printf("connrate: accepted %lu\n", accepted);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "bind", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	const char *connect_to = NULL, *listen_on = NULL, *bind_to = NULL;
	double rate = 0, duration = 0;
	long timeout_ms = 500;
	struct sockaddr_storage ss;
	socklen_t len;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': connect_to = optarg; break;
		case 'l': listen_on = optarg; break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'd': duration = strtod(optarg, NULL); break;
		case 't': timeout_ms = strtol(optarg, NULL, 10); break;
		case 'b': bind_to = optarg; break;
		case 'h':
			printf("usage: connrate --connect ADDR:PORT --rate R --duration S "
			       "[--timeout MS] [--bind ADDR]\n       connrate --listen ADDR:PORT [--duration S]\n");
			return 0;
		default: return 2;
		}
	}
	if (optind < argc || !!connect_to == !!listen_on) {
		fprintf(stderr, "connrate: give one of --connect and --listen (--help)\n");
		return 2;
	}
	if (parse_endpoint(connect_to ? connect_to : listen_on, &ss, &len)) {
		fprintf(stderr, "connrate: want ADDR:PORT or [ADDR]:PORT\n");
		return 2;
	}
	if (bind_to) {
		char ep[80];

		snprintf(ep, sizeof(ep), strchr(bind_to, ':') ? "[%s]:1" : "%s:1", bind_to);
		if (!connect_to || parse_endpoint(ep, &bind_addr, &bind_len)) {
			fprintf(stderr, "connrate: --bind wants an address, with --connect\n");
			return 2;
		}
		/* Port 0: the kernel picks one (parse_endpoint wants 1-65535). */
		((struct sockaddr_in *)&bind_addr)->sin_port = 0;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (listen_on)
		return run_listener(&ss, len, duration);
	if (!(rate > 0 && rate <= 100000) || !(duration > 0 && duration <= MAX_SECONDS) ||
	    timeout_ms < 1 || timeout_ms > 60000) {
		fprintf(stderr, "connrate: want 0 < --rate <= 100000, 0 < --duration <= %d, "
			"1 <= --timeout <= 60000\n", MAX_SECONDS);
		return 2;
	}
	return run_client(&ss, len, rate, duration, (unsigned)timeout_ms);
}
