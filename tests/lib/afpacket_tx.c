// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include "afpacket_tx.h"

int afp_tx_open(struct afp_tx *t, int ifindex)
{
	/* Protocol 0: the socket only sends; it never queues received frames. */
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex };
	int one = 1;

	memset(t, 0, sizeof(*t));
	t->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return -errno;
	if (setsockopt(t->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
	    bind(t->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		int err = errno;

		close(t->fd);
		t->fd = -1;
		return -err;
	}
	return 0;
}

/* sendmmsg stops at the first frame the driver refuses and, when it had
 * sent some before it, keeps that frame's error in the socket (SO_ERROR)
 * instead of returning it.  Was the frame after a short batch refused? */
static int pending_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

int afp_tx_send(struct afp_tx *t, uint8_t *const *frames, size_t len, unsigned n)
{
	struct mmsghdr msgs[AFP_TX_BATCH_MAX];
	struct iovec iov[AFP_TX_BATCH_MAX];
	unsigned done = 0;

	if (n > AFP_TX_BATCH_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		iov[i] = (struct iovec){ .iov_base = frames[i], .iov_len = len };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	while (done < n) {
		int k = sendmmsg(t->fd, msgs + done, n - done, 0), err;

		if (k > 0) {
			t->sent += (unsigned)k;
			done += (unsigned)k;
			if (done == n)
				break;
			err = pending_error(t->fd);
			if (!err)
				continue;
		} else {
			err = errno;
		}
		if (err == ENOBUFS) {
			/* The driver dropped frame `done` (and counted it). */
			t->refused++;
			done++;
			continue;
		}
		if (err == EAGAIN)
			continue;
		return -err;
	}
	return 0;
}

void afp_tx_close(struct afp_tx *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
