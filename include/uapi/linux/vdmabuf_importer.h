/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vdmabuf_importer: a sample dma-buf importer. It imports any dma-buf, maps it for its own
 * DMA-capable device, reads and writes it through the CPU-access path of the dma-buf API, and
 * copies between buffers as a virtual DMA job with fences, so an exporter can be tested against
 * a real kernel importer from userspace.
 *
 * Handles are per open file of /dev/vdmabuf-importer. All structs have explicit padding; every
 * padding field and every flag bit not defined here must be zero, or the ioctl fails with
 * EINVAL. Unknown handles fail with ENOENT, bad argument pointers with EFAULT, unknown ioctls
 * with ENOTTY.
 */
#ifndef _UAPI_LINUX_VDMABUF_IMPORTER_H
#define _UAPI_LINUX_VDMABUF_IMPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VDMABUF_IMPORTER_IOCTL_BASE 0xB9

/**
 * VDMABUF_IMPORT_DYNAMIC: attach as a dynamic importer: when the exporter moves the buffer, the
 * importer drops its mapping (invalidate_mappings) and maps again on next use.
 */
#define VDMABUF_IMPORT_DYNAMIC (1u << 0)
/** VDMABUF_IMPORT_FLAGS: all valid flags of &struct vdmabuf_importer_import. */
#define VDMABUF_IMPORT_FLAGS VDMABUF_IMPORT_DYNAMIC

/**
 * struct vdmabuf_importer_import - argument of %VDMABUF_IMPORTER_IOCTL_IMPORT.
 * @fd: in: a dma-buf file descriptor from any exporter (EBADF if not open, EINVAL if not a
 *      dma-buf). The import keeps the buffer alive after the descriptor is closed.
 * @flags: in: a combination of %VDMABUF_IMPORT_FLAGS.
 * @handle: out: the import's handle.
 * @pad: in: must be zero.
 */
struct vdmabuf_importer_import {
	__s32 fd;
	__u32 flags;
	__u32 handle;
	__u32 pad;
};

/**
 * struct vdmabuf_importer_handle - argument of %VDMABUF_IMPORTER_IOCTL_RELEASE and
 * %VDMABUF_IMPORTER_IOCTL_UNMAP.
 * @handle: in: an import's handle.
 * @pad: in: must be zero.
 */
struct vdmabuf_importer_handle {
	__u32 handle;
	__u32 pad;
};

/* DMA directions of %VDMABUF_IMPORTER_IOCTL_MAP, the values of enum dma_data_direction. */
#define VDMABUF_IMPORTER_BIDIRECTIONAL 0
#define VDMABUF_IMPORTER_TO_DEVICE 1
#define VDMABUF_IMPORTER_FROM_DEVICE 2

/**
 * struct vdmabuf_importer_map - argument of %VDMABUF_IMPORTER_IOCTL_MAP.
 * @handle: in: an import's handle.
 * @direction: in: one of the VDMABUF_IMPORTER_* directions.
 *
 * Maps the buffer for the importer's device (dma_buf_map_attachment) and keeps it mapped until
 * %VDMABUF_IMPORTER_IOCTL_UNMAP, release, or (dynamic imports) the exporter's invalidation.
 * Mapping an already mapped import in the same direction does nothing.
 */
struct vdmabuf_importer_map {
	__u32 handle;
	__u32 direction;
};

/** VDMABUF_INFO_MAPPED: the import is mapped for DMA right now. */
#define VDMABUF_INFO_MAPPED (1u << 0)
/** VDMABUF_INFO_DYNAMIC: the import is dynamic. */
#define VDMABUF_INFO_DYNAMIC (1u << 1)

/**
 * struct vdmabuf_importer_info - argument of %VDMABUF_IMPORTER_IOCTL_INFO.
 * @handle: in: an import's handle.
 * @flags: out: VDMABUF_INFO_* bits.
 * @size: out: the buffer's size in bytes.
 * @sg_entries: out: entries of the mapping's DMA scatter list (0 when unmapped).
 * @pad: must be zero.
 * @dma_length: out: total length of those entries; equals @size when mapped.
 * @first_dma_address: out: the DMA address of the first entry, as the device sees it.
 * @invalidations: out: how often the exporter invalidated this import's mapping.
 * @exporter: out: the exporter's name (exp_name), NUL-terminated.
 */
struct vdmabuf_importer_info {
	__u32 handle;
	__u32 flags;
	__u64 size;
	__u32 sg_entries;
	__u32 pad;
	__u64 dma_length;
	__u64 first_dma_address;
	__u64 invalidations;
	char exporter[32];
};

/**
 * struct vdmabuf_importer_read - argument of %VDMABUF_IMPORTER_IOCTL_READ.
 * @handle: in: an import's handle.
 * @pad: in: must be zero.
 * @offset: in: first byte to read.
 * @length: in: bytes to read; @offset + @length must be within the buffer (EINVAL).
 * @checksum: out: the 64-bit FNV-1a hash of the bytes read.
 *
 * Reads through the CPU-access path: waits (interruptibly) for the buffer's writers, then
 * dma_buf_begin_cpu_access(), a kernel mapping (vmap) and dma_buf_end_cpu_access().
 */
struct vdmabuf_importer_read {
	__u32 handle;
	__u32 pad;
	__u64 offset;
	__u64 length;
	__u64 checksum;
};

/**
 * struct vdmabuf_importer_fill - argument of %VDMABUF_IMPORTER_IOCTL_FILL.
 * @handle: in: an import's handle.
 * @seed: in: the pattern: byte i of the buffer becomes (u8)((i * 2654435761) >> 13) ^ seed.
 * @offset: in: first byte to write.
 * @length: in: bytes to write; @offset + @length must be within the buffer (EINVAL).
 *
 * Writes through the CPU-access path, after waiting for the buffer's readers and writers.
 */
struct vdmabuf_importer_fill {
	__u32 handle;
	__u32 seed;
	__u64 offset;
	__u64 length;
};

/**
 * struct vdmabuf_importer_copy - argument of %VDMABUF_IMPORTER_IOCTL_COPY.
 * @src: in: the source import's handle.
 * @dst: in: the destination import's handle (may be @src).
 * @src_offset: in: first byte to copy from.
 * @dst_offset: in: first byte to copy to.
 * @length: in: bytes to copy, nonzero; both ranges must be within their buffers (EINVAL).
 * @flags: in: must be zero.
 * @out_fence: out: a sync_file descriptor (O_CLOEXEC) of the job's fence.
 *
 * Queues a virtual DMA job and returns at once. The job waits for the fences that implicit sync
 * orders it after (the source's writers, the destination's readers and writers), copies, and
 * signals its own fence, which is in the source's reservation object as a READ fence and in the
 * destination's as a WRITE fence from the moment the ioctl returns. If a dependency fails, the
 * job does not copy and its fence carries that error; if a dependency takes longer than 10 s,
 * the job gives up with -ETIMEDOUT. Jobs run one at a time, in order.
 */
struct vdmabuf_importer_copy {
	__u32 src;
	__u32 dst;
	__u64 src_offset;
	__u64 dst_offset;
	__u64 length;
	__u32 flags;
	__s32 out_fence;
};

/**
 * struct vdmabuf_importer_segment - one DMA segment of a mapping, as the device sees it.
 * @addr: DMA address of the segment's first byte.
 * @length: bytes.
 */
struct vdmabuf_importer_segment {
	__u64 addr;
	__u64 length;
};

/**
 * struct vdmabuf_importer_segments - argument of %VDMABUF_IMPORTER_IOCTL_SEGMENTS.
 * @handle: in: an import's handle (ENOENT if unknown); it must be mapped (ENODATA otherwise).
 * @count: in: room at @segments, in entries; out: the number of segments of the mapping, which
 *         may be more than the room: then only the first @count were written.
 * @segments: in: a pointer to an array of &struct vdmabuf_importer_segment (may be 0 with a
 *            @count of 0, to ask for the number).
 *
 * The DMA scatter list of the mapping, in buffer order: what a correct importer walks, rather
 * than assuming the buffer is contiguous.
 */
struct vdmabuf_importer_segments {
	__u32 handle;
	__u32 count;
	__u64 segments;
};

/*
 * %VDMABUF_IMPORTER_IOCTL_DMA_READ and %VDMABUF_IMPORTER_IOCTL_DMA_FILL take the arguments of
 * %VDMABUF_IMPORTER_IOCTL_READ and %VDMABUF_IMPORTER_IOCTL_FILL but access the buffer as the
 * device does: at the DMA addresses of the import's current mapping (made with
 * %VDMABUF_IMPORTER_IOCTL_MAP; ENODATA without one), now, without the CPU-access calls and
 * without waiting for fences. So they see what the exporter put behind the mapping, which on a
 * non-coherent system (or vdmabuf's %VDMABUF_MODE_NONCOHERENT) is not what the CPU sees until
 * the two are synchronised. The mapping's direction must allow the access (EPERM): a read needs
 * %DMA_TO_DEVICE or %DMA_BIDIRECTIONAL, a fill %DMA_FROM_DEVICE or %DMA_BIDIRECTIONAL.
 * A zero @length gives EINVAL; EOPNOTSUPP if the importer's device does not map directly (an
 * IOMMU).
 */

/* Import a dma-buf. Numbers 0x40 and up, so they never collide with /dev/vdmabuf's. */
#define VDMABUF_IMPORTER_IOCTL_IMPORT \
	_IOWR(VDMABUF_IMPORTER_IOCTL_BASE, 0x40, struct vdmabuf_importer_import)
/* Release an import: unmap and detach. */
#define VDMABUF_IMPORTER_IOCTL_RELEASE \
	_IOW(VDMABUF_IMPORTER_IOCTL_BASE, 0x41, struct vdmabuf_importer_handle)
/* Map an import for the importer's device. */
#define VDMABUF_IMPORTER_IOCTL_MAP \
	_IOW(VDMABUF_IMPORTER_IOCTL_BASE, 0x42, struct vdmabuf_importer_map)
/* Unmap an import. */
#define VDMABUF_IMPORTER_IOCTL_UNMAP \
	_IOW(VDMABUF_IMPORTER_IOCTL_BASE, 0x43, struct vdmabuf_importer_handle)
/* Report what the importer sees of an import. */
#define VDMABUF_IMPORTER_IOCTL_INFO \
	_IOWR(VDMABUF_IMPORTER_IOCTL_BASE, 0x44, struct vdmabuf_importer_info)
/* Checksum a range of an import. */
#define VDMABUF_IMPORTER_IOCTL_READ \
	_IOWR(VDMABUF_IMPORTER_IOCTL_BASE, 0x45, struct vdmabuf_importer_read)
/* Fill a range of an import with a pattern. */
#define VDMABUF_IMPORTER_IOCTL_FILL \
	_IOW(VDMABUF_IMPORTER_IOCTL_BASE, 0x46, struct vdmabuf_importer_fill)
/* Copy between imports as a virtual DMA job with fences. */
#define VDMABUF_IMPORTER_IOCTL_COPY \
	_IOWR(VDMABUF_IMPORTER_IOCTL_BASE, 0x47, struct vdmabuf_importer_copy)
/* Return the DMA segments of a mapped import. */
#define VDMABUF_IMPORTER_IOCTL_SEGMENTS \
	_IOWR(VDMABUF_IMPORTER_IOCTL_BASE, 0x48, struct vdmabuf_importer_segments)
/* Checksum a range of an import as the device reads it, through its mapping. */
#define VDMABUF_IMPORTER_IOCTL_DMA_READ \
	_IOWR(VDMABUF_IMPORTER_IOCTL_BASE, 0x49, struct vdmabuf_importer_read)
/* Fill a range of an import with a pattern as the device writes it, through its mapping. */
#define VDMABUF_IMPORTER_IOCTL_DMA_FILL \
	_IOW(VDMABUF_IMPORTER_IOCTL_BASE, 0x4a, struct vdmabuf_importer_fill)

#endif /* _UAPI_LINUX_VDMABUF_IMPORTER_H */
