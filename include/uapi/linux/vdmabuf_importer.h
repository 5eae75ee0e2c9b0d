/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vdmabuf_importer: a sample dma-buf importer. It imports any dma-buf, maps it for its own
 * DMA-capable device and reads, writes and copies it with fences, so an exporter can be tested
 * against a real kernel importer from userspace.
 *
 * All structs have explicit padding; every padding field and every flag bit not defined here
 * must be zero, or the ioctl fails with EINVAL.
 */
#ifndef _UAPI_LINUX_VDMABUF_IMPORTER_H
#define _UAPI_LINUX_VDMABUF_IMPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VDMABUF_IMPORTER_IOCTL_BASE 0xB9

/**
 * VDMABUF_IMPORT_DYNAMIC: attach as a dynamic importer (with an invalidate_mappings callback)
 * instead of a static one.
 */
#define VDMABUF_IMPORT_DYNAMIC (1u << 0)
/** VDMABUF_IMPORT_FLAGS: all valid flags of &struct vdmabuf_importer_import. */
#define VDMABUF_IMPORT_FLAGS VDMABUF_IMPORT_DYNAMIC

/**
 * struct vdmabuf_importer_import - argument of %VDMABUF_IMPORTER_IOCTL_IMPORT.
 * @fd: in: a dma-buf file descriptor from any exporter.
 * @flags: in: a combination of %VDMABUF_IMPORT_FLAGS.
 * @handle: out: the import's handle, valid for this open file of /dev/vdmabuf-importer.
 * @pad: in: must be zero.
 */
struct vdmabuf_importer_import {
	__s32 fd;
	__u32 flags;
	__u32 handle;
	__u32 pad;
};

/* Import a dma-buf. Numbers 0x40 and up, so they never collide with /dev/vdmabuf's. */
#define VDMABUF_IMPORTER_IOCTL_IMPORT \
	_IOWR(VDMABUF_IMPORTER_IOCTL_BASE, 0x40, struct vdmabuf_importer_import)

#endif /* _UAPI_LINUX_VDMABUF_IMPORTER_H */
