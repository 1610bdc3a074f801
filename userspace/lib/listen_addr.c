// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * metrics.listen's HOST:PORT ([IPv6]:PORT), shared by the config loader,
 * which validates it, and the daemon, which binds it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "config.h"

/* "PORT" after the address: 1-65535, digits only. */
static int parse_port(const char *s, unsigned short *port)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (unsigned short)v;
	return 0;
}

int sg_parse_listen(const char *text, struct sockaddr_storage *ss, unsigned *len,
		    struct sg_err *err)
{
	struct sockaddr_storage tmp;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned short port;
	size_t hlen;

	memset(&tmp, 0, sizeof(tmp));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&tmp;

		if (!close || close[1] != ':')
			return sg_errf(err, -EINVAL,
				       "\"%s\" is not HOST:PORT ([IPv6]:PORT for IPv6)", text);
		hlen = (size_t)(close - text - 1);
		if (hlen >= sizeof(host))
			return sg_errf(err, -EINVAL, "\"%s\": not an IPv6 address in [ ]", text);
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return sg_errf(err, -EINVAL, "\"%s\": \"%s\" is not an IPv6 address",
				       text, host);
		if (parse_port(close + 2, &port))
			return sg_errf(err, -EINVAL, "\"%s\": the port must be 1-65535", text);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (len)
			*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&tmp;

		colon = strrchr(text, ':');
		if (!colon || colon == text)
			return sg_errf(err, -EINVAL,
				       "\"%s\" is not HOST:PORT (or \"off\")", text);
		hlen = (size_t)(colon - text);
		if (memchr(text, ':', hlen))
			return sg_errf(err, -EINVAL, "\"%s\": write an IPv6 address in brackets: "
				       "[ADDR]:PORT", text);
		if (hlen >= sizeof(host))
			return sg_errf(err, -EINVAL, "\"%s\": the host must be an IPv4 address "
				       "or an [IPv6] address", text);
		memcpy(host, text, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return sg_errf(err, -EINVAL, "\"%s\": the host must be an IPv4 address "
				       "or an [IPv6] address", text);
		if (parse_port(colon + 1, &port))
			return sg_errf(err, -EINVAL, "\"%s\": the port must be 1-65535", text);
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (len)
			*len = sizeof(*s4);
	}
	if (ss)
		*ss = tmp;
	return 0;
}
