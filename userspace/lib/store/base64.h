/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Base64 (RFC 4648, with padding), as etcd's JSON gateway carries keys
 * and values.  Decoding is strict: what a server sends is untrusted, and
 * anything but canonical base64 is refused rather than guessed at.
 */
#ifndef SG_BASE64_H
#define SG_BASE64_H

#include <stddef.h>

/* Bytes needed to encode len bytes, including the NUL. */
size_t sg_b64_encoded_size(size_t len);
/* Encodes into out (sg_b64_encoded_size(len) bytes). */
void sg_b64_encode(const void *in, size_t len, char *out);
/* Decodes text (n characters) into out, which has room for n / 4 * 3 + 1
 * bytes; a NUL is appended.  Returns the decoded length, or -1 if text is
 * not canonical base64. */
long sg_b64_decode(const char *text, size_t n, unsigned char *out);

#endif
