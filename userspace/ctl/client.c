// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Talking to smtpgated: find the socket, send one request, read one
 * reply, and turn the outcome into the exit codes smtpgatectl(8) promises.  The
 * daemon names the argument at fault in its protocol terms ("relays");
 * messages here use the option the operator typed ("--relay").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "config.h"
#include "ctl.h"
#include "load.h"

/* A reply larger than this is not one smtpgated sends. */
#define CTL_MAX_REPLY (512u << 20)

static void json_error_doc(const char *code, const char *msg, const char *arg)
{
	json_t *o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", msg, "code", code);

	if (o && arg)
		json_object_set_new(o, "arg", json_string(arg));
	if (o)
		ctl_print_json(o);
	json_decref(o);
}

static const char *exit_code_name(int code)
{
	switch (code) {
	case CTL_USAGE: return SG_CTL_E_INVALID;
	case CTL_UNREACHABLE: return "unreachable";
	default: return SG_CTL_E_FAILED;
	}
}

static int vfail(struct ctl *c, int code, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "smtpgatectl: %s%s%s\n", c->what, c->what[0] ? ": " : "", msg);
	if (c->json)
		json_error_doc(exit_code_name(code), msg, NULL);
	return code;
}

int ctl_fail(struct ctl *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = vfail(c, code, fmt, ap);
	va_end(ap);
	return code;
}

int ctl_usage(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, CTL_USAGE, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'smtpgatectl %s%s--help'.\n", c->what, c->what[0] ? " " : "");
	return CTL_USAGE;
}

/* ---- the socket -------------------------------------------------------- */

const char *ctl_socket_path(struct ctl *c)
{
	struct sg_load_opts o = { .allow_any_owner = true };
	const char *path = c->config_opt ? c->config_opt : SG_DEFAULT_CONFIG;
	struct sg_host_config cfg;
	struct sg_diag diag = { 0 };
	int rc;

	if (c->socket)
		return c->socket;
	if (c->socket_opt) {
		c->socket = strdup(c->socket_opt);
		return c->socket;
	}
	/* The config only says where the socket is: whoever owns it, it
	 * cannot make smtpgatectl do more than connect elsewhere. */
	sg_host_config_init(&cfg);
	rc = access(path, R_OK) && !c->config_opt ? -1 :
	     sg_config_load(path, &o, &cfg, &diag);
	if (rc && c->config_opt) {
		sg_diag_print(&diag, stderr);
		ctl_fail(c, CTL_USAGE, "--config %s: cannot take the control socket from it",
			 path);
	} else {
		c->socket = strdup(rc ? SG_DEFAULT_CONTROL_SOCKET : cfg.control_socket);
	}
	sg_diag_free(&diag);
	sg_host_config_free(&cfg);
	return c->socket;
}

/* ---- one request ---------------------------------------------------------- */

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Reads to the end of the stream.  0, or -errno. */
static int recv_all(int fd, char **out, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;

	*out = NULL;
	*len = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb = cap >= CTL_MAX_REPLY ? NULL : realloc(buf, cap * 2 + 1);

			if (!nb) {
				free(buf);
				return -EFBIG;
			}
			buf = nb;
			cap *= 2;
		}
		r = recv(fd, buf + n, cap - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			/* The daemon answered and closed with our request still
			 * unread: the answer is what counts. */
			if (e == ECONNRESET && n)
				break;
			free(buf);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int connect_daemon(struct ctl *c, const char *path, int *fdp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_REPLY_TIMEOUT_SEC };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return ctl_fail(c, CTL_USAGE, "--socket %s: longer than %zu bytes", path,
				sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ctl_fail(c, CTL_FAILED, "socket: %s", strerror(errno));
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		*fdp = fd;
		return CTL_OK;
	}
	e = errno;
	close(fd);
	if (e == EACCES || e == EPERM)
		return ctl_fail(c, CTL_FAILED, "cannot reach smtpgated at %s: %s (root and members "
				"of the control admin and read groups may use it)", path,
				strerror(e));
	return ctl_fail(c, CTL_UNREACHABLE, "cannot reach smtpgated at %s: %s (is it running?)",
			path, strerror(e));
}

/* The request line of {command, args} (args stolen), or NULL. */
static char *request_line(const char *command, json_t *args)
{
	json_t *req = json_pack("{s:s, s:o}", "command", command, "args",
				args ? args : json_object());
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL, *line = NULL;

	json_decref(req);
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

int ctl_request_open(struct ctl *c, const char *command, json_t *args, int *fdp)
{
	const char *path = ctl_socket_path(c);
	char *line = request_line(command, args);
	int fd = -1, rc, e;

	*fdp = -1;
	if (!path || !line) {
		free(line);
		return path ? ctl_fail(c, CTL_FAILED, "out of memory") : CTL_USAGE;
	}
	rc = connect_daemon(c, path, &fd);
	if (rc) {
		free(line);
		return rc;
	}
	e = send_all(fd, line, strlen(line));
	free(line);
	/* A refusal may come before the request is read (permission, size):
	 * a broken pipe still leaves the answer to read. */
	if (e && e != -EPIPE && e != -ECONNRESET) {
		close(fd);
		return ctl_fail(c, e == -EAGAIN ? CTL_UNREACHABLE : CTL_FAILED,
				"sending to smtpgated at %s: %s", path, strerror(-e));
	}
	shutdown(fd, SHUT_WR);
	*fdp = fd;
	return CTL_OK;
}

int ctl_read_error(struct ctl *c, int e)
{
	const char *path = ctl_socket_path(c);

	if (e == -EAGAIN || e == -EWOULDBLOCK)
		return ctl_fail(c, CTL_UNREACHABLE, "no reply from smtpgated at %s within %d "
				"seconds", path, CTL_REPLY_TIMEOUT_SEC);
	return ctl_fail(c, CTL_UNREACHABLE, "reading the reply of smtpgated at %s: %s", path,
			strerror(-e));
}

/* invalid_argument and conflict (a duplicate prefix): the request was
 * wrong and nothing changed, exit 2.  reload_in_progress: nothing
 * changed, try again later, exit 4.  The rest (permission_denied,
 * not_found, failed, changed_meanwhile): refused or failed, exit 1. */
static int code_exit(const char *code)
{
	if (code && !strcmp(code, SG_CTL_E_RELOADING))
		return CTL_RELOADING;
	if (code && (!strcmp(code, SG_CTL_E_INVALID) || !strcmp(code, SG_CTL_E_CONFLICT)))
		return CTL_USAGE;
	return CTL_FAILED;
}

/* A failure reply: the message with the option's name, the exit code. */
static int reply_failed(struct ctl *c, json_t *reply)
{
	const char *error = json_string_value(json_object_get(reply, "error"));
	const char *code = json_string_value(json_object_get(reply, "code"));
	const char *arg = json_string_value(json_object_get(reply, "arg"));
	size_t alen = arg ? strlen(arg) : 0;
	char option[64];

	if (!error)
		error = "smtpgated gave no reason";
	if (arg && !strncmp(error, arg, alen) && !strncmp(error + alen, ": ", 2))
		fprintf(stderr, "smtpgatectl: %s: %s%s\n", c->what,
			ctl_option_of_key(c, arg, option, sizeof(option)), error + alen);
	else
		fprintf(stderr, "smtpgatectl: %s: %s\n", c->what, error);
	if (c->json)
		ctl_print_json(reply);
	return code_exit(code);
}

int ctl_reply_parse(struct ctl *c, const char *text, size_t len, json_t **result)
{
	const char *path = ctl_socket_path(c);
	json_error_t jerr;
	json_t *reply, *w;
	size_t i;
	int rc;

	*result = NULL;
	if (!len)
		return ctl_fail(c, CTL_UNREACHABLE, "smtpgated at %s closed the connection "
				"without a reply (did it stop or crash?)", path);
	reply = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(reply)) {
		json_decref(reply);
		return ctl_fail(c, CTL_FAILED, "smtpgated at %s sent a garbled reply", path);
	}
	json_array_foreach(json_object_get(reply, "warnings"), i, w)
		fprintf(stderr, "smtpgatectl: %s: warning: %s\n", c->what, ctl_str(w, "?"));
	if (!json_is_true(json_object_get(reply, "ok"))) {
		rc = reply_failed(c, reply);
		json_decref(reply);
		return rc;
	}
	*result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	if (!*result)
		return ctl_fail(c, CTL_FAILED, "smtpgated at %s sent no result", path);
	return CTL_OK;
}

int ctl_call(struct ctl *c, const char *command, json_t *args, json_t **result)
{
	char *reply_text = NULL;
	size_t len = 0;
	int fd, rc, e;

	*result = NULL;
	rc = ctl_request_open(c, command, args, &fd);
	if (rc)
		return rc;
	e = recv_all(fd, &reply_text, &len);
	close(fd);
	if (e)
		return ctl_read_error(c, e);
	rc = ctl_reply_parse(c, reply_text, len, result);
	free(reply_text);
	return rc;
}
