// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The sha256 of a policy, as status and smtpgate_policy_info show it. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include "load_internal.h"

int sg_sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (!EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) || n != 32)
		return -EIO;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}
