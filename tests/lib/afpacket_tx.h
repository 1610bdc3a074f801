/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Raw Ethernet frames out of one interface through an AF_PACKET socket:
 * sendmmsg() in batches, with PACKET_QDISC_BYPASS so each frame goes
 * straight to the driver (no qdisc, no socket-memory tuning, no global
 * sysctl touched).  The traffic generators' fallback where live frames
 * (BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES) are refused.
 *
 * Every frame handed over is accounted for: either the driver took it
 * (sent) or the driver refused it (refused: a full veth ring, counted by
 * the device as a drop).  A refused frame is not sent again, so that
 * "sent + refused = frames generated" holds exactly, as the load tests
 * check against the interfaces' own counters.
 */
#ifndef SG_TEST_AFPACKET_TX_H
#define SG_TEST_AFPACKET_TX_H

#include <stddef.h>
#include <stdint.h>

#define AFP_TX_BATCH_MAX 256

struct afp_tx {
	int fd;
	unsigned long long sent, refused;
};

/* Opens a sending socket on ifindex (in the caller's network namespace).
 * 0, or -errno. */
int afp_tx_open(struct afp_tx *t, int ifindex);

/* Sends n frames (n <= AFP_TX_BATCH_MAX) of len bytes each, frames[i]
 * pointing at frame i; adds to t->sent and t->refused.  0, -EINTR if a
 * signal cut the batch short, or another -errno. */
int afp_tx_send(struct afp_tx *t, uint8_t *const *frames, size_t len, unsigned n);

void afp_tx_close(struct afp_tx *t);

#endif
