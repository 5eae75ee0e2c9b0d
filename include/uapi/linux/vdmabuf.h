/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vdmabuf: a virtual dma-buf exporter for testing dma-buf importers.
 *
 * Userspace opens /dev/vdmabuf and asks for buffers; each buffer is returned as a dma-buf file
 * descriptor that any importer can attach to, and that supports mmap, DMA_BUF_IOCTL_SYNC, poll
 * and the sync_file ioctls of <linux/dma-buf.h>.
 *
 * All structs have explicit padding; every padding field and every flag bit not defined here
 * must be zero, or the ioctl fails with EINVAL.
 */
#ifndef _UAPI_LINUX_VDMABUF_H
#define _UAPI_LINUX_VDMABUF_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VDMABUF_IOCTL_BASE 0xB9

/** VDMABUF_CREATE_CLOEXEC: set O_CLOEXEC on the returned dma-buf file descriptor. */
#define VDMABUF_CREATE_CLOEXEC (1u << 0)
/**
 * VDMABUF_CREATE_RDWR: open the dma-buf read-write. Without it the dma-buf file is read-only,
 * so a PROT_WRITE mapping of it fails with EACCES.
 */
#define VDMABUF_CREATE_RDWR (1u << 1)
/** VDMABUF_CREATE_FLAGS: all valid flags of &struct vdmabuf_create. */
#define VDMABUF_CREATE_FLAGS (VDMABUF_CREATE_CLOEXEC | VDMABUF_CREATE_RDWR)

/**
 * struct vdmabuf_create - argument of %VDMABUF_IOCTL_CREATE.
 * @size: in: buffer size in bytes; nonzero, a multiple of the page size and at most the
 *        module parameter ``max_size_mb`` mebibytes (EINVAL otherwise).
 * @flags: in: a combination of %VDMABUF_CREATE_FLAGS; other bits give EINVAL.
 * @fd: out: the new dma-buf file descriptor.
 * @pad: in: must be zero.
 *
 * The buffer's memory is zeroed. Allocating a large buffer can be interrupted by a fatal
 * signal (EINTR); too many live buffers or bytes give ENOSPC (module parameters
 * ``max_buffers`` and ``max_total_mb``).
 */
struct vdmabuf_create {
	__u64 size;
	__u32 flags;
	__s32 fd;
	__u64 pad;
};

/**
 * struct vdmabuf_migrate - argument of %VDMABUF_IOCTL_MIGRATE.
 * @fd: in: a dma-buf file descriptor exported by vdmabuf (EINVAL for any other file, EBADF for
 *      a closed one).
 * @flags: in: must be zero.
 *
 * Moves the buffer's contents to newly allocated pages, as a device evicting VRAM would:
 * dynamic importers are told through their invalidate_mappings callback, static mappings and
 * userspace mappings are torn down and refault onto the new pages. Fails with EBUSY while the
 * buffer is pinned (a static importer has it mapped, or a dynamic importer pinned it).
 */
struct vdmabuf_migrate {
	__s32 fd;
	__u32 flags;
};

/* Create a buffer. */
#define VDMABUF_IOCTL_CREATE _IOWR(VDMABUF_IOCTL_BASE, 0x00, struct vdmabuf_create)
/* Migrate a buffer's backing pages. */
#define VDMABUF_IOCTL_MIGRATE _IOW(VDMABUF_IOCTL_BASE, 0x01, struct vdmabuf_migrate)

#endif /* _UAPI_LINUX_VDMABUF_H */
