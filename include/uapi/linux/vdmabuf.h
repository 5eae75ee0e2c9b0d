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
/**
 * VDMABUF_CREATE_CONTIGUOUS: back the buffer with physically contiguous memory, so that a device
 * without an IOMMU sees it as one DMA segment (for importers that cannot scatter, such as
 * videobuf2-dma-contig). At most %VDMABUF_MAX_CONTIGUOUS bytes per dma-buf (EINVAL beyond); ENOMEM
 * if no such run of free memory can be found. A migration keeps the buffer contiguous.
 */
#define VDMABUF_CREATE_CONTIGUOUS (1u << 2)
/** VDMABUF_CREATE_FLAGS: all valid flags of &struct vdmabuf_create. */
#define VDMABUF_CREATE_FLAGS (VDMABUF_CREATE_CLOEXEC | VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CONTIGUOUS)
/** VDMABUF_MAX_CONTIGUOUS: the largest contiguous dma-buf, 4 MiB (the page allocator's largest block on x86). */
#define VDMABUF_MAX_CONTIGUOUS (4u << 20)

/* Scatter-gather layouts of a buffer's DMA mappings (&struct vdmabuf_modes.sg_layout). */
/** VDMABUF_SG_LARGEST: the largest page blocks the allocator has; adjacent blocks share entries. */
#define VDMABUF_SG_LARGEST 0
/** VDMABUF_SG_PER_PAGE: one entry per page, whatever the memory. */
#define VDMABUF_SG_PER_PAGE 1
/**
 * VDMABUF_SG_SCATTERED: single pages in shuffled order, no page followed by its physical
 * successor: every entry is one page and no two are adjacent.
 */
#define VDMABUF_SG_SCATTERED 2
/** VDMABUF_SG_CONTIGUOUS: one physically contiguous run, as %VDMABUF_CREATE_CONTIGUOUS. */
#define VDMABUF_SG_CONTIGUOUS 3
/** VDMABUF_SG_CAPPED: as %VDMABUF_SG_LARGEST, no entry longer than @sg_max_entry bytes. */
#define VDMABUF_SG_CAPPED 4

/* Operations whose calls can be made to fail (&struct vdmabuf_modes.fail_op). */
#define VDMABUF_FAIL_NONE 0
#define VDMABUF_FAIL_ATTACH 1
#define VDMABUF_FAIL_MAP 2
#define VDMABUF_FAIL_BEGIN_CPU_ACCESS 3
#define VDMABUF_FAIL_MMAP 4
/** VDMABUF_FAIL_EVERY: every @fail_nth-th call fails, not only the @fail_nth-th. */
#define VDMABUF_FAIL_EVERY (1u << 0)

/**
 * VDMABUF_MODE_NONCOHERENT: emulate a system whose CPU caches are not coherent with DMA. The
 * CPU's view of the buffer (mmap, vmap) and the devices' view (the pages behind the tables
 * map_dma_buf returns) are separate copies, synchronised only where the DMA API would do cache
 * maintenance, per 64-byte line: lines the CPU wrote since its view was last synchronised go to
 * the devices' view on end_cpu_access (%DMA_BUF_SYNC_END with %DMA_BUF_SYNC_WRITE) and on
 * map_dma_buf, in directions that include %DMA_TO_DEVICE; the CPU's view is replaced by the
 * devices' on begin_cpu_access (%DMA_BUF_SYNC_START with %DMA_BUF_SYNC_READ), which discards
 * lines the CPU wrote and did not synchronise, and its clean lines are on unmap_dma_buf, in
 * directions that include %DMA_FROM_DEVICE. The buffer takes three times its size in memory (the
 * two views and a record of the CPU's), all counted against max_total_mb.
 */
#define VDMABUF_MODE_NONCOHERENT (1u << 0)
/** VDMABUF_MODE_FLAGS: all valid flags of &struct vdmabuf_modes. */
#define VDMABUF_MODE_FLAGS VDMABUF_MODE_NONCOHERENT

/**
 * struct vdmabuf_modes - how a buffer misbehaves on purpose, to test importers; all zero is the
 * default behaviour. Given by pointer in &struct vdmabuf_create.modes and
 * &struct vdmabuf_create_format.modes, and fixed for the buffer's life.
 * @sg_layout: a VDMABUF_SG_* layout for the tables that map_dma_buf returns (EINVAL for others).
 *             Every table also respects the importing device's maximum segment size.
 * @sg_max_entry: with %VDMABUF_SG_CAPPED, the longest entry in bytes: a nonzero multiple of the
 *                page size; must be zero otherwise.
 * @fail_op: a VDMABUF_FAIL_* operation whose calls on this buffer fail, or %VDMABUF_FAIL_NONE.
 *           Failing vmap is not offered: the 7.2 core WARNs when an exporter's vmap fails.
 * @fail_nth: with @fail_op, which call fails, counting from 1 (nonzero).
 * @fail_errno: with @fail_op, the error the call fails with: a negative errno, -4095 to -1.
 * @fail_flags: %VDMABUF_FAIL_EVERY or 0.
 * @map_delay_ms: every map_dma_buf of the buffer first sleeps this long (at most 1000).
 * @fence_delay_ms: fences attached to the buffer with %VDMABUF_IOCTL_FENCE_ATTACH signal by
 *                  themselves this long after they are attached (1 to ``fence_timeout_ms``), as
 *                  a device finishing its job would; 0 leaves them to
 *                  %VDMABUF_IOCTL_FENCE_SIGNAL or the timeout.
 * @fence_error: with @fence_delay_ms, the status they signal with: 0, or a negative errno.
 * @move_interval_ms: move pressure: while a dynamic importer is attached, the buffer migrates by
 *                    itself every this many milliseconds (10 to 10000; 0: never), as memory
 *                    management evicting it would, with %VDMABUF_IOCTL_MIGRATE's protocol: the
 *                    importers' invalidate_mappings runs each time; a pinned or vmapped buffer
 *                    is skipped that time.
 * @flags: a combination of %VDMABUF_MODE_FLAGS (EINVAL for others).
 * @pad: must be zero.
 *
 * Each injected failure counts in debugfs (``counts/injected``), and the buffer's modes show in
 * ``buffers/list``.
 */
struct vdmabuf_modes {
	__u32 sg_layout;
	__u32 sg_max_entry;
	__u32 fail_op;
	__u32 fail_nth;
	__s32 fail_errno;
	__u32 fail_flags;
	__u32 map_delay_ms;
	__u32 fence_delay_ms;
	__s32 fence_error;
	__u32 move_interval_ms;
	__u32 flags;
	__u32 pad;
};

/**
 * struct vdmabuf_create - argument of %VDMABUF_IOCTL_CREATE.
 * @size: in: buffer size in bytes; nonzero, a multiple of the page size and at most the
 *        module parameter ``max_size_mb`` mebibytes (EINVAL otherwise).
 * @flags: in: a combination of %VDMABUF_CREATE_FLAGS; other bits give EINVAL.
 * @fd: out: the new dma-buf file descriptor.
 * @modes: in: 0, or a pointer to a &struct vdmabuf_modes (EFAULT if unreadable, EINVAL if
 *         invalid).
 *
 * With %VDMABUF_CREATE_CONTIGUOUS the memory is physically contiguous. The buffer's memory is
 * zeroed. Allocating a large buffer can be interrupted by a fatal
 * signal (EINTR); too many live buffers or bytes give ENOSPC (module parameters
 * ``max_buffers`` and ``max_total_mb``).
 */
struct vdmabuf_create {
	__u64 size;
	__u32 flags;
	__s32 fd;
	__u64 modes;
};

/**
 * struct vdmabuf_migrate - argument of %VDMABUF_IOCTL_MIGRATE.
 * @fd: in: a dma-buf file descriptor exported by vdmabuf (EINVAL for any other file, EBADF for
 *      a closed one).
 * @flags: in: must be zero.
 *
 * Moves the buffer's contents to newly allocated pages, as a device evicting VRAM would, and
 * keeps every byte: what the CPU wrote through any mapping before the call returns, and what
 * devices wrote in jobs whose fences are in the buffer's reservation object. Under the
 * reservation lock, dynamic importers are told through their invalidate_mappings callback, the
 * call waits for every fence in the reservation object (of any usage), then userspace mappings
 * are torn down; they refault onto the new pages on next access.
 *
 * Fails with EBUSY while the buffer is pinned (a static importer has it mapped, or a dynamic
 * importer pinned it) or mapped into the kernel (vmap); with ETIMEDOUT if its fences do not all
 * signal within 12 seconds; with EINTR or ERESTARTSYS on a signal while waiting; with ENOSPC if
 * the second copy, which exists until the call returns, would exceed ``max_total_mb``; with
 * ENOMEM if it cannot be allocated. On any failure the buffer is unchanged.
 */
struct vdmabuf_migrate {
	__s32 fd;
	__u32 flags;
};

/** VDMABUF_FENCE_SYNC_FILE: also return the new fence as a sync_file descriptor (O_CLOEXEC). */
#define VDMABUF_FENCE_SYNC_FILE (1u << 0)
/** VDMABUF_FENCE_ATTACH_FLAGS: all valid flags of &struct vdmabuf_fence_attach. */
#define VDMABUF_FENCE_ATTACH_FLAGS VDMABUF_FENCE_SYNC_FILE

/*
 * Usages of a fence in a reservation object, the values of enum dma_resv_usage: implicit sync
 * readers wait for KERNEL and WRITE fences, writers for READ too; BOOKKEEP fences are ignored.
 * %VDMABUF_IOCTL_FENCE_ATTACH takes WRITE and READ only: KERNEL and BOOKKEEP are for the
 * memory management of the buffer's own driver (EINVAL).
 */
#define VDMABUF_USAGE_KERNEL 0
#define VDMABUF_USAGE_WRITE 1
#define VDMABUF_USAGE_READ 2
#define VDMABUF_USAGE_BOOKKEEP 3

/**
 * struct vdmabuf_fence_attach - argument of %VDMABUF_IOCTL_FENCE_ATTACH.
 * @fd: in: a dma-buf file descriptor exported by vdmabuf (EBADF if not open, EINVAL for any
 *      other file, including other exporters' dma-bufs).
 * @flags: in: a combination of %VDMABUF_FENCE_ATTACH_FLAGS.
 * @usage: in: %VDMABUF_USAGE_WRITE or %VDMABUF_USAGE_READ (EINVAL otherwise).
 * @handle: out: the fence's handle, valid for this open file of /dev/vdmabuf.
 * @sync_file: out: with %VDMABUF_FENCE_SYNC_FILE a sync_file descriptor of the fence, else -1.
 * @pad: in: must be zero.
 *
 * Adds a new, unsignalled fence to the buffer's reservation object, as a device starting a job
 * on it would. As in vgem, a fence that would conflict with unsignalled ones fails with EBUSY:
 * a WRITE fence while any KERNEL, WRITE or READ fence is pending, a READ fence while a KERNEL or
 * WRITE fence is. The fence signals on %VDMABUF_IOCTL_FENCE_SIGNAL; if that does not come within
 * the module parameter ``fence_timeout_ms`` (10 s by default and at most), it signals with
 * -ETIMEDOUT; when this file of /dev/vdmabuf is closed, its pending fences signal with
 * -ECANCELED.
 *
 * As with vgem, only the driver's own buffers take these fences: the dma-buf rules forbid
 * userspace-controlled fences on other drivers' buffers. To hold back another exporter's buffer,
 * attach a fence to a vdmabuf buffer with %VDMABUF_FENCE_SYNC_FILE and import the sync_file into
 * the other buffer with DMA_BUF_IOCTL_IMPORT_SYNC_FILE.
 */
struct vdmabuf_fence_attach {
	__s32 fd;
	__u32 flags;
	__u32 usage;
	__u32 handle;
	__s32 sync_file;
	__u32 pad;
};

/**
 * struct vdmabuf_fence_signal - argument of %VDMABUF_IOCTL_FENCE_SIGNAL.
 * @handle: in: a handle from %VDMABUF_IOCTL_FENCE_ATTACH on this file (ENOENT if unknown or
 *          already signalled by this ioctl).
 * @error: in: 0, or a negative errno (-4095 to -1) that the fence's consumers see as its status.
 * @flags: in: must be zero.
 * @pad: in: must be zero.
 *
 * Signals the fence and releases the handle. If the fence already signalled because it timed
 * out, the handle is released and the ioctl fails with ETIMEDOUT.
 */
struct vdmabuf_fence_signal {
	__u32 handle;
	__s32 error;
	__u32 flags;
	__u32 pad;
};

/**
 * VDMABUF_FORMAT_DISJOINT: give each plane its own dma-buf (at offset 0), instead of all planes
 * in one dma-buf at increasing offsets.
 */
#define VDMABUF_FORMAT_DISJOINT (1u << 3)
/** VDMABUF_CREATE_FORMAT_FLAGS: all valid flags of &struct vdmabuf_create_format. */
#define VDMABUF_CREATE_FORMAT_FLAGS (VDMABUF_CREATE_FLAGS | VDMABUF_FORMAT_DISJOINT)
/** VDMABUF_MAX_PLANES: the most planes a format has. */
#define VDMABUF_MAX_PLANES 4
/** VDMABUF_MAX_DIMENSION: the largest width and height of a format-aware buffer. */
#define VDMABUF_MAX_DIMENSION 16384

/**
 * struct vdmabuf_plane - where one plane of an image lies.
 * @fd: out: the dma-buf file descriptor that holds the plane: the same for every plane, or one
 *      per plane with %VDMABUF_FORMAT_DISJOINT; -1 in %VDMABUF_IOCTL_GET_FORMAT.
 * @offset: out: byte offset of the plane's first row in that dma-buf.
 * @stride: out: bytes from the start of one row to the next (the pitch; V4L2's bytesperline).
 * @pad: in: must be zero.
 * @size: out: bytes of the plane, @stride times its number of rows.
 */
struct vdmabuf_plane {
	__s32 fd;
	__u32 offset;
	__u32 stride;
	__u32 pad;
	__u64 size;
};

/**
 * struct vdmabuf_create_format - argument of %VDMABUF_IOCTL_CREATE_FORMAT.
 * @width: in: width in pixels, 1 to %VDMABUF_MAX_DIMENSION; a multiple of the format's
 *         horizontal chroma subsampling (even for NV12, YUYV, YUV420).
 * @height: in: height in pixels, 1 to %VDMABUF_MAX_DIMENSION; a multiple of the format's
 *          vertical chroma subsampling (even for NV12, YUV420).
 * @fourcc: in: a DRM format code (DRM_FORMAT_* of <drm/drm_fourcc.h>) that vdmabuf offers, see
 *          Documentation/vdmabuf.rst (EINVAL otherwise).
 * @flags: in: a combination of %VDMABUF_CREATE_FORMAT_FLAGS; other bits give EINVAL. The
 *         %VDMABUF_CREATE_FLAGS apply to every dma-buf made.
 * @modifier: in: DRM_FORMAT_MOD_LINEAR (0); any other modifier gives EOPNOTSUPP.
 * @stride_align: in: 0 for the default of 64 bytes, or a power of two up to 4096 (EINVAL
 *                otherwise). Every stride is the least pitch of its plane rounded up to it, and
 *                every plane offset is a multiple of it.
 * @num_planes: out: the number of planes of the format, 1 to %VDMABUF_MAX_PLANES.
 * @size: out: the total bytes of the dma-bufs made, each a multiple of the page size.
 * @planes: out: the first @num_planes entries describe the planes; the rest are zeroed (fd -1).
 *          In: each @pad must be zero.
 * @modes: in: 0, or a pointer to a &struct vdmabuf_modes for every dma-buf made.
 *
 * Creates a zeroed image buffer and returns its layout: the planes follow one another at
 * increasing offsets in one dma-buf, or with %VDMABUF_FORMAT_DISJOINT each plane is a dma-buf of
 * its own. Plane sizes come from the kernel's DRM format table (block sizes, bytes per block,
 * chroma subsampling), as DRM drivers check framebuffers. Every dma-buf counts against the
 * limits of %VDMABUF_IOCTL_CREATE (EINVAL if one is larger than ``max_size_mb``, ENOSPC when
 * the live totals are reached). The format travels with the buffer: %VDMABUF_IOCTL_GET_FORMAT
 * returns it, the dma-buf's name (fdinfo, DMA_BUF_SET_NAME) starts as e.g. ``NV12 640x480
 * LINEAR``, and debugfs lists it. Without CONFIG_DRM, which has the format table, the ioctl
 * fails with EOPNOTSUPP.
 */
struct vdmabuf_create_format {
	__u32 width;
	__u32 height;
	__u32 fourcc;
	__u32 flags;
	__u64 modifier;
	__u32 stride_align;
	__u32 num_planes;
	__u64 size;
	struct vdmabuf_plane planes[VDMABUF_MAX_PLANES];
	__u64 modes;
};

/**
 * struct vdmabuf_format_info - argument of %VDMABUF_IOCTL_GET_FORMAT.
 * @fd: in: a dma-buf file descriptor exported by vdmabuf (EBADF if not open, EINVAL for any
 *      other file); a buffer made without a format gives ENODATA.
 * @flags: in: must be zero.
 * @width: out: width in pixels.
 * @height: out: height in pixels.
 * @fourcc: out: the DRM format code.
 * @num_planes: out: the number of planes.
 * @modifier: out: the format modifier.
 * @plane_mask: out: bit N is set if this dma-buf holds plane N (all planes, unless disjoint).
 * @pad: in: must be zero.
 * @planes: out: every plane of the image, @fd -1, @offset within the dma-buf that holds it.
 *
 * Returns the layout the buffer was created with, so that a consumer handed only the fd can
 * check what it got.
 */
struct vdmabuf_format_info {
	__s32 fd;
	__u32 flags;
	__u32 width;
	__u32 height;
	__u32 fourcc;
	__u32 num_planes;
	__u64 modifier;
	__u32 plane_mask;
	__u32 pad;
	struct vdmabuf_plane planes[VDMABUF_MAX_PLANES];
};

/* Create a buffer. */
#define VDMABUF_IOCTL_CREATE _IOWR(VDMABUF_IOCTL_BASE, 0x00, struct vdmabuf_create)
/* Migrate a buffer's backing pages. */
#define VDMABUF_IOCTL_MIGRATE _IOW(VDMABUF_IOCTL_BASE, 0x01, struct vdmabuf_migrate)
/* Attach a new fence to a dma-buf's reservation object. */
#define VDMABUF_IOCTL_FENCE_ATTACH _IOWR(VDMABUF_IOCTL_BASE, 0x02, struct vdmabuf_fence_attach)
/* Signal a fence. */
#define VDMABUF_IOCTL_FENCE_SIGNAL _IOW(VDMABUF_IOCTL_BASE, 0x03, struct vdmabuf_fence_signal)
/* Create a buffer holding an image in a DRM format. */
#define VDMABUF_IOCTL_CREATE_FORMAT _IOWR(VDMABUF_IOCTL_BASE, 0x04, struct vdmabuf_create_format)
/* Return the format of a buffer. */
#define VDMABUF_IOCTL_GET_FORMAT _IOWR(VDMABUF_IOCTL_BASE, 0x05, struct vdmabuf_format_info)

#endif /* _UAPI_LINUX_VDMABUF_H */
