// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The governed-port bitmap of a compiled config: indexed by the port as
 * it is on the wire (network byte order read as a __u16), which is what
 * the data plane tests without swapping.  Exactly the policy's ports are
 * set, whatever their byte patterns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "compile.h"
#include "policy.h"

static int bit_set(const struct sg_config *cfg, uint16_t index)
{
	return (cfg->ports[index >> 6] >> (index & 63)) & 1;
}

static void test_port_wire_is_network_order(void **state)
{
	(void)state;
	/* What a header's field holds, read on this host. */
	assert_int_equal(sg_port_wire(25), htons(25));
	assert_int_equal(sg_port_wire(0x1234), htons(0x1234));
	assert_int_equal(sg_port_wire(sg_port_wire(587)), 587);
}

static void test_bitmap_holds_exactly_the_ports(void **state)
{
	static const uint16_t ports[] = { 25, 465, 587, 256, 1, 65535 };
	struct sg_config *cfg = calloc(1, sizeof(*cfg));
	struct sg_policy p;
	unsigned set = 0;

	(void)state;
	assert_non_null(cfg);
	sg_policy_init(&p);
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		assert_int_equal(sg_policy_add_port(&p, ports[i]), 0);
	sg_compile_config(&p, 1, cfg);
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		assert_true(bit_set(cfg, htons(ports[i])));
	/* Not the host-order index: 25's bit stays clear (only port 6400,
	 * 0x1900, would set it on a little-endian host). */
	if (htons(25) != 25)
		assert_false(bit_set(cfg, 25));
	for (uint32_t w = 0; w < 65536; w++)
		set += (unsigned)bit_set(cfg, (uint16_t)w);
	assert_int_equal(set, sizeof(ports) / sizeof(ports[0]));
	sg_policy_free(&p);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_wire_is_network_order),
		cmocka_unit_test(test_bitmap_holds_exactly_the_ports),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
