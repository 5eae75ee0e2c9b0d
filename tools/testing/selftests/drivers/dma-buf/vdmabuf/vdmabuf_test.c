// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for /dev/vdmabuf, the virtual dma-buf exporter.
 */
#include <linux/types.h>
#include <linux/vdmabuf.h>

#include "kselftest_harness.h"
#include "vdmabuf_util.h"

FIXTURE(vdmabuf) {
	int dev;
};

FIXTURE_SETUP(vdmabuf)
{
	self->dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	if (self->dev < 0 && errno == ENOENT)
		SKIP(return, VDMABUF_DEV " is absent: vdmabuf.ko is not loaded");
	ASSERT_LE(0, self->dev) TH_LOG("open " VDMABUF_DEV ": %s", strerror(errno));
}

FIXTURE_TEARDOWN(vdmabuf)
{
	if (self->dev >= 0)
		EXPECT_EQ(0, close(self->dev));
}

TEST_F(vdmabuf, open_close_many)
{
	int fds[64];
	int i;

	/* Every open gets its own file; closing them in any order releases them. */
	for (i = 0; i < 64; i++) {
		fds[i] = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 64; i += 2)
		EXPECT_EQ(0, close(fds[i]));
	for (i = 63; i > 0; i -= 2)
		EXPECT_EQ(0, close(fds[i]));
}

TEST_F(vdmabuf, unknown_ioctl_is_enotty)
{
	__u64 arg = 0;

	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, VDMABUF_TEST_BAD_IOCTL, &arg));
	/* A foreign ioctl type with a valid-looking number is unknown too. */
	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, _IOWR('b', 0x00, __u64), &arg));
	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, _IO(0xB9, 0x00), NULL));
}

TEST_HARNESS_MAIN
