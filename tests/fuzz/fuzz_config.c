// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the host config loader (smtpgate.json).  The input is
 * the file; sg_config_load() reads it through the same safe-open path the
 * daemon uses.  Properties: a refusal leaves the defaults exactly as
 * they were; an accepted config has a usable metrics.listen and bounded
 * values.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include "fuzz_common.h"
#include "config.h"
#include "load.h"

static char path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	umask(077);
	fz_path(path, sizeof(path), "smtpgate.json");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_load_opts o = { .allow_any_owner = true, .now_unix = 1760000000 };
	struct sg_host_config c;
	struct sg_diag d = { 0 };
	int rc;

	fz_write_file(path, data, size);
	sg_host_config_init(&c);
	rc = sg_config_load(path, &o, &c, &d);
	fz_check((rc == 0) == (d.n_errors == 0), "rc %d with %zu errors", rc, d.n_errors);
	if (rc) {
		fz_check(!strcmp(c.policy_path, SG_DEFAULT_POLICY_PATH) && c.n_ifaces == 0 &&
			 c.top_sources == SG_DEFAULT_TOP_SOURCES &&
			 c.expiry_series == SG_DEFAULT_EXPIRY_SERIES,
			 "a refused config changed the defaults");
	} else {
		struct sockaddr_storage ss;
		struct sg_err err = { 0 };
		unsigned len = 0;

		fz_check(c.policy_path && c.control_socket && c.pin_dir && c.state_dir &&
			 c.log_dir && c.admin_group && c.read_group && c.metrics_listen,
			 "an accepted config lacks a path");
		fz_check(c.top_sources <= SG_MAX_TOP_SOURCES, "top_sources %u", c.top_sources);
		fz_check(c.expiry_series <= SG_MAX_EXPIRY_SERIES, "expiry_series %u",
			 c.expiry_series);
		fz_check(!strcmp(c.metrics_listen, "off") ||
			 !sg_parse_listen(c.metrics_listen, &ss, &len, &err),
			 "accepted metrics.listen \"%s\" does not parse", c.metrics_listen);
		for (size_t i = 0; i < c.n_ifaces; i++)
			fz_check(memchr(c.ifaces[i].name, 0, sizeof(c.ifaces[i].name)) != NULL,
				 "interface name not terminated");
	}
	sg_diag_free(&d);
	sg_host_config_free(&c);
	return 0;
}
