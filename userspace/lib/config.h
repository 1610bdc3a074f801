/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The host config (smtpgate.json) in memory: where the policy is, which
 * interfaces and hooks, the paths, metrics and control socket.
 */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stddef.h>
#include "err.h"

#define SG_IFNAME_MAX 16

struct sg_store_config;

struct sg_iface_cfg {
	char name[SG_IFNAME_MAX];
	int hook;       /* enum sg_hook */
	int xdp_mode;   /* enum sg_xdp_mode (XDP only) */
};

struct sg_host_config {
	char *path;             /* the file this came from */
	char *policy_path;      /* default /etc/smtpgate/policy.json */
	struct sg_iface_cfg *ifaces;
	size_t n_ifaces;
	char *metrics_listen;   /* "127.0.0.1:9725", "[::1]:9725" or "off" */
	unsigned top_sources;   /* default 20 */
	unsigned expiry_series; /* entries listed with their expiry, default 10,000 */
	char *metrics_textfile; /* NULL: none */
	char *control_socket;   /* default /run/smtpgate/control.sock */
	char *admin_group;      /* default smtpgate-admin */
	char *read_group;       /* default smtpgate-read */
	char *pin_dir;          /* default /sys/fs/bpf/smtpgate */
	char *state_dir;        /* default /var/lib/smtpgate */
	char *log_dir;          /* default /var/log/smtpgate */
	struct sg_store_config *store; /* "store": the fleet store; NULL: none */
	/* "history": the usage history under state_dir/usage (usage_file.h). */
	unsigned history_retention_days; /* default 400 */
	unsigned history_top_sources;    /* per day and ranking, default 100 */
};

#define SG_DEFAULT_CONFIG "/etc/smtpgate/smtpgate.json"

void sg_host_config_init(struct sg_host_config *c);  /* all defaults */
void sg_host_config_free(struct sg_host_config *c);

/* ---- the defaults, and parsing metrics.listen ------------------------ */

#define SG_DEFAULT_POLICY_PATH    "/etc/smtpgate/policy.json"
#define SG_DEFAULT_METRICS_LISTEN "127.0.0.1:9725"
#define SG_DEFAULT_TOP_SOURCES    20
#define SG_MAX_TOP_SOURCES        1000
/* smtpgate_approval_expiry_timestamp_seconds: one series per entry
 * listed, the soonest to expire (expiry_pick.h).  Prometheus is
 * comfortable up to about ten thousand series per metric and target;
 * the maximum lists every entry of the largest policy. */
#define SG_DEFAULT_EXPIRY_SERIES  10000
#define SG_MAX_EXPIRY_SERIES      1048576
#define SG_DEFAULT_CONTROL_SOCKET "/run/smtpgate/control.sock"
#define SG_DEFAULT_ADMIN_GROUP    "smtpgate-admin"
#define SG_DEFAULT_READ_GROUP     "smtpgate-read"
#define SG_DEFAULT_PIN_DIR        "/sys/fs/bpf/smtpgate"
#define SG_DEFAULT_STATE_DIR      "/var/lib/smtpgate"
#define SG_DEFAULT_LOG_DIR        "/var/log/smtpgate"

struct sockaddr_storage;

/* metrics.listen: "A.B.C.D:PORT" or "[IPV6]:PORT" (literal addresses
 * only: a daemon must not depend on DNS to start).  Fills *ss and *len
 * (either may be NULL to only validate).  "off" is not an address: the
 * caller checks for it first.  Returns 0 or -EINVAL with the problem in
 * err. */
int sg_parse_listen(const char *text, struct sockaddr_storage *ss, unsigned *len,
		    struct sg_err *err);

#endif
