// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for /dev/vdmabuf-importer, the sample dma-buf importer.
 */
#include <linux/types.h>
#include <linux/vdmabuf_importer.h>

#include "kselftest_harness.h"
#include "vdmabuf_util.h"

FIXTURE(importer) {
	int dev;
};

FIXTURE_SETUP(importer)
{
	self->dev = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	if (self->dev < 0 && errno == ENOENT)
		SKIP(return, VDMABUF_IMPORTER_DEV " is absent: vdmabuf_importer.ko is not loaded");
	ASSERT_LE(0, self->dev) TH_LOG("open " VDMABUF_IMPORTER_DEV ": %s", strerror(errno));
}

FIXTURE_TEARDOWN(importer)
{
	if (self->dev >= 0)
		EXPECT_EQ(0, close(self->dev));
}

TEST_F(importer, open_close_many)
{
	int fds[64];
	int i;

	for (i = 0; i < 64; i++) {
		fds[i] = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 63; i >= 0; i--)
		EXPECT_EQ(0, close(fds[i]));
}

TEST_F(importer, unknown_ioctl_is_enotty)
{
	__u64 arg = 0;

	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, VDMABUF_TEST_BAD_IOCTL, &arg));
	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, _IO(0xB9, 0x40), NULL));
}

TEST_HARNESS_MAIN
