// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The audit trail: one JSON object per line for every control-plane
 * change or refused change, appended and fsync'd before the change is
 * reported done.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "daemon.h"
#include "log.h"
#include "safe_path.h"

int sgd_audit(struct sgd *d, const struct sgd_audit *a)
{
	struct sg_err err = { 0 };
	char when[32];
	json_t *o;
	char *line;
	int fd, rc = 0;
	size_t len;

	sg_format_rfc3339((long long)time(NULL), when, sizeof(when));
	o = json_pack("{s:s, s:I, s:s, s:s, s:s}", "time", when, "uid", (json_int_t)a->uid,
		      "user", a->user ? a->user : "smtpgated", "command", a->command,
		      "result", a->result);
	if (!o) {
		json_decref((json_t *)a->args);
		return -ENOMEM;
	}
	if (a->args)
		json_object_set_new(o, "args", (json_t *)a->args);
	if (a->ticket)
		json_object_set_new(o, "ticket", json_string(a->ticket));
	if (a->error)
		json_object_set_new(o, "error", json_string(a->error));
	if (a->warnings && json_array_size(a->warnings))
		json_object_set(o, "warnings", (json_t *)a->warnings);
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!line)
		return -ENOMEM;
	len = strlen(line);
	line[len] = '\n'; /* json_dumps' NUL becomes the newline */
	fd = sg_open_own_file(d->audit_path, O_WRONLY | O_APPEND | O_CREAT, 0640, &err);
	if (fd < 0) {
		free(line);
		sgd_err("audit log %s", err.msg);
		return fd;
	}
	if (write(fd, line, len + 1) != (ssize_t)(len + 1) || fsync(fd))
		rc = -errno;
	close(fd);
	free(line);
	if (rc)
		sgd_err("audit log %s: %s", d->audit_path, strerror(-rc));
	return rc;
}
