/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the vdmabuf kselftests. */
#ifndef VDMABUF_SELFTEST_UTIL_H
#define VDMABUF_SELFTEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VDMABUF_DEV "/dev/vdmabuf"
#define VDMABUF_IMPORTER_DEV "/dev/vdmabuf-importer"

/* An ioctl number no driver of this project defines: type 0xB9, number 0x3f. */
#define VDMABUF_TEST_BAD_IOCTL _IOWR(0xB9, 0x3f, __u64)

/* Returns -errno of a failed call, or its result. */
static inline int vdmabuf_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

#endif
