// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The etcd client's handle (see etcd.h): the endpoints, the TLS files and
 * the password read once, and which endpoint answered last (failover).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "curl_dl.h"
#include "etcd_internal.h"

#define PASSWORD_MAX 1024

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The password: one line of a file only its owner may read. */
static int read_password(const char *path, char **out, struct sg_err *err)
{
	char buf[PASSWORD_MAX + 2];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return sg_errf(err, -errno, "store.etcd.password_file: %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return sg_errf(err, -EINVAL, "store.etcd.password_file: %s is not a regular file",
			       path);
	}
	if (st.st_mode & S_IRWXO) {
		close(fd);
		return sg_errf(err, -EPERM, "store.etcd.password_file: %s can be read by anyone "
			       "(mode %04o): chmod 0600 it", path, (unsigned)st.st_mode & 07777);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return sg_errf(err, -errno, "store.etcd.password_file: %s: %s", path,
			       strerror(errno));
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (!n || n > PASSWORD_MAX || strchr(buf, '\n'))
		return sg_errf(err, -EINVAL, "store.etcd.password_file: %s must hold the password "
			       "on one line of 1 to %d bytes", path, PASSWORD_MAX);
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : sg_errf(err, -ENOMEM, "out of memory");
}

int sg_etcd_open(const struct sg_store_config *cfg, struct sg_etcd **out, struct sg_err *err)
{
	struct sg_etcd *e;
	int rc;

	/* libcurl is loaded here, by the first store opened, and not linked:
	 * a daemon without a fleet store never maps it (curl_dl.h).  Not
	 * there, the store cannot be set up, like any other store error. */
	rc = sg_curl_load(err);
	if (rc)
		return rc;
	if (!cfg->n_endpoints)
		return sg_errf(err, -EINVAL, "store.etcd.endpoints: none configured");
	e = calloc(1, sizeof(*e));
	if (!e)
		return sg_errf(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&e->lock, NULL);
	e->endpoints = calloc(cfg->n_endpoints, sizeof(*e->endpoints));
	if (!e->endpoints)
		goto oom;
	for (; e->n < cfg->n_endpoints; e->n++) {
		/* "https://h:2379/" and "https://h:2379" are one endpoint */
		size_t l = strlen(cfg->endpoints[e->n]);

		e->endpoints[e->n] = strndup(cfg->endpoints[e->n],
					     l && cfg->endpoints[e->n][l - 1] == '/' ? l - 1 : l);
		if (!e->endpoints[e->n])
			goto oom;
	}
	e->ca = dup_or_null(cfg->ca);
	e->cert = dup_or_null(cfg->cert);
	e->key = dup_or_null(cfg->key);
	e->user = dup_or_null(cfg->username);
	e->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : SG_STORE_DEFAULT_TIMEOUT_MS;
	if ((cfg->ca && !e->ca) || (cfg->cert && !e->cert) || (cfg->key && !e->key) ||
	    (cfg->username && !e->user))
		goto oom;
	if (cfg->password_file) {
		rc = read_password(cfg->password_file, &e->password, err);
		if (rc) {
			sg_etcd_close(e);
			return rc;
		}
	}
	*out = e;
	return 0;
oom:
	sg_etcd_close(e);
	return sg_errf(err, -ENOMEM, "out of memory");
}

void sg_etcd_close(struct sg_etcd *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->endpoints[i]);
	free(e->endpoints);
	free(e->ca);
	free(e->cert);
	free(e->key);
	free(e->user);
	if (e->password) {
		explicit_bzero(e->password, strlen(e->password));
		free(e->password);
	}
	free(e->token);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

uint64_t sg_etcd_failovers(struct sg_etcd *e)
{
	uint64_t n;

	pthread_mutex_lock(&e->lock);
	n = e->failovers;
	pthread_mutex_unlock(&e->lock);
	return n;
}

size_t sg_etcd_n_endpoints(struct sg_etcd *e)
{
	return e->n;
}

unsigned sg_etcd_timeout_ms(struct sg_etcd *e)
{
	return e->timeout_ms;
}

const char *sg_etcd_endpoint_at(struct sg_etcd *e, size_t i)
{
	return e->endpoints[i % e->n];
}

size_t sg_etcd_current(struct sg_etcd *e)
{
	size_t i;

	pthread_mutex_lock(&e->lock);
	i = e->cur;
	pthread_mutex_unlock(&e->lock);
	return i;
}

void sg_etcd_set_current(struct sg_etcd *e, size_t i)
{
	pthread_mutex_lock(&e->lock);
	if (e->cur != i % e->n)
		e->failovers++;
	e->cur = i % e->n;
	pthread_mutex_unlock(&e->lock);
}

const char *sg_etcd_endpoint(struct sg_etcd *e)
{
	return e->endpoints[sg_etcd_current(e)];
}
