// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The sha256 of a policy, as status and smtpgate_policy_info show it.
 * Nettle's: the daemon maps it anyway (libmicrohttpd's TLS library,
 * GnuTLS, is built on it), where OpenSSL's libcrypto cost some 3 MiB of
 * resident memory for this one hash.
 */
#include <nettle/sha2.h>
#include "load_internal.h"

void sg_sha256_hex_digest(const uint8_t md[SHA256_DIGEST_SIZE], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

int sg_sha256_hex(const void *buf, size_t len, char out[65])
{
	uint8_t md[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, buf);
	sha256_digest(&ctx, sizeof(md), md);
	sg_sha256_hex_digest(md, out);
	return 0;
}
