/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the kselftests that use /dev/vdmabuf-importer: its ioctls, and buffers of the
 * exporters the tests import (vdmabuf, udmabuf, the system heap, vgem).
 */
#ifndef VDMABUF_IMPORTER_SELFTEST_UTIL_H
#define VDMABUF_IMPORTER_SELFTEST_UTIL_H

#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <drm/vgem_drm.h>
#include <linux/vdmabuf_importer.h>

#include "vdmabuf_util.h"

#define PAGE 4096UL

static inline int imp_import(int imp, int fd, __u32 flags)
{
	struct vdmabuf_importer_import args = { .fd = fd, .flags = flags };
	int ret = vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_IMPORT, &args);

	return ret < 0 ? ret : (int)args.handle;
}

static inline int imp_handle_op(int imp, unsigned long cmd, __u32 handle)
{
	struct vdmabuf_importer_handle args = { .handle = handle };

	return vdmabuf_ioctl(imp, cmd, &args);
}

static inline int imp_map(int imp, __u32 handle, __u32 dir)
{
	struct vdmabuf_importer_map args = { .handle = handle, .direction = dir };

	return vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_MAP, &args);
}

static inline int imp_info(int imp, __u32 handle, struct vdmabuf_importer_info *info)
{
	memset(info, 0, sizeof(*info));
	info->handle = handle;
	return vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_INFO, info);
}

static inline int imp_read(int imp, __u32 handle, __u64 offset, __u64 len, uint64_t *sum)
{
	struct vdmabuf_importer_read args = { .handle = handle, .offset = offset, .length = len };
	int ret = vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_READ, &args);

	*sum = args.checksum;
	return ret;
}

static inline int imp_fill(int imp, __u32 handle, __u32 seed, __u64 offset, __u64 len)
{
	struct vdmabuf_importer_fill args = {
		.handle = handle, .seed = seed, .offset = offset, .length = len,
	};

	return vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_FILL, &args);
}

/* Checksums a range as the importer's device reads it, through its mapping. */
static inline int imp_dma_read(int imp, __u32 handle, __u64 offset, __u64 len, uint64_t *sum)
{
	struct vdmabuf_importer_read args = { .handle = handle, .offset = offset, .length = len };
	int ret = vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_DMA_READ, &args);

	*sum = args.checksum;
	return ret;
}

/* Fills a range with a pattern as the importer's device writes it, through its mapping. */
static inline int imp_dma_fill(int imp, __u32 handle, __u32 seed, __u64 offset, __u64 len)
{
	struct vdmabuf_importer_fill args = {
		.handle = handle, .seed = seed, .offset = offset, .length = len,
	};

	return vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_DMA_FILL, &args);
}

/* Queues a copy; returns the out-fence's sync_file or -errno. */
static inline int imp_copy(int imp, __u32 src, __u32 dst, __u64 so, __u64 dso, __u64 len)
{
	struct vdmabuf_importer_copy args = {
		.src = src, .dst = dst, .src_offset = so, .dst_offset = dso, .length = len,
		.out_fence = -1,
	};
	int ret = vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_COPY, &args);

	return ret < 0 ? ret : args.out_fence;
}

/* The exporters of the interop matrix. */
enum exporter { VDMABUF, UDMABUF, HEAP, VGEM, EXPORTERS };
static const char *const exporter_names[] = { "vdmabuf", "udmabuf", "system heap", "vgem" };

/* A buffer of some exporter: its dma-buf, a CPU mapping of it, and what keeps it. */
struct buffer {
	int fd;
	uint8_t *map;
	size_t size;
	int aux;	/* memfd (udmabuf), -1 otherwise */
};

/*
 * The size to test @kind with. udmabuf (7.2) maps its CPU-access table for its misc device,
 * whose DMA segment limit is 64 KiB, without splitting physically contiguous memfd pages into
 * segments that fit: DMA-API debugging then reports "mapping sg segment longer than device
 * claims to support". Buffers of at most 64 KiB cannot have such a segment.
 */
static inline size_t test_size(enum exporter kind, size_t size)
{
	return kind == UDMABUF && size > 16 * PAGE ? 16 * PAGE : size;
}

/* Creates a buffer of @kind, or returns -errno; -ENODEV if the exporter is absent. */
static inline int make_buffer(enum exporter kind, size_t size, int vdmabuf_dev, struct buffer *b)
{
	int dev, ret = -ENODEV;

	b->fd = -1;
	b->aux = -1;
	b->map = NULL;
	b->size = size;
	switch (kind) {
	case VDMABUF:
		ret = vdmabuf_create(vdmabuf_dev, size, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
		break;
	case UDMABUF: {
		struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };

		dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
		if (dev < 0)
			return -ENODEV;
		b->aux = memfd_create("importer-test", MFD_ALLOW_SEALING);
		if (b->aux < 0 || ftruncate(b->aux, size) ||
		    fcntl(b->aux, F_ADD_SEALS, F_SEAL_SHRINK)) {
			close(dev);
			return -errno;
		}
		c.memfd = b->aux;
		ret = vdmabuf_ioctl(dev, UDMABUF_CREATE, &c);
		close(dev);
		break;
	}
	case HEAP: {
		struct dma_heap_allocation_data a = {
			.len = size, .fd_flags = O_RDWR | O_CLOEXEC,
		};

		dev = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
		if (dev < 0)
			return -ENODEV;
		ret = vdmabuf_ioctl(dev, DMA_HEAP_IOCTL_ALLOC, &a);
		close(dev);
		if (!ret)
			ret = a.fd;
		break;
	}
	case VGEM: {
		struct drm_mode_create_dumb dumb = { .width = size / 4, .height = 1, .bpp = 32 };
		struct drm_prime_handle prime = { .flags = DRM_CLOEXEC | DRM_RDWR };

		dev = vgem_open();
		if (dev < 0)
			return -ENODEV;
		ret = vdmabuf_ioctl(dev, DRM_IOCTL_MODE_CREATE_DUMB, &dumb);
		if (!ret) {
			prime.handle = dumb.handle;
			ret = vdmabuf_ioctl(dev, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime);
			/* The dma-buf keeps the object; the handle is not needed. */
			vgem_close_handle(dev, dumb.handle);
		}
		close(dev);
		if (!ret)
			ret = prime.fd;
		break;
	}
	default:
		break;
	}
	if (ret < 0)
		return ret;
	b->fd = ret;
	b->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (b->map == MAP_FAILED)
		return -errno;
	/*
	 * udmabuf (7.2) maps its CPU-access table in the direction of the first
	 * begin_cpu_access and syncs later ones in theirs, which DMA-API debugging reports as
	 * "syncs DMA memory with different direction" as soon as reads and writes mix. A first
	 * bidirectional access makes every later direction legal.
	 */
	if (kind == UDMABUF &&
	    (dmabuf_sync(b->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) ||
	     dmabuf_sync(b->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW)))
		return -EIO;
	return 0;
}

static inline void free_buffer(struct buffer *b)
{
	if (b->map && b->map != MAP_FAILED)
		munmap(b->map, b->size);
	if (b->fd >= 0)
		close(b->fd);
	if (b->aux >= 0)
		close(b->aux);
	b->fd = b->aux = -1;
	b->map = NULL;
}

/* Fills or checks a buffer through its CPU mapping, with DMA_BUF_IOCTL_SYNC brackets. */
static inline void cpu_fill(struct buffer *b, unsigned int seed)
{
	dmabuf_sync(b->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	fill_pattern(b->map, b->size, seed);
	dmabuf_sync(b->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
}

static inline long cpu_check(struct buffer *b, unsigned int seed)
{
	long bad;

	dmabuf_sync(b->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	bad = check_pattern(b->map, b->size, seed, 0);
	dmabuf_sync(b->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	return bad;
}

static inline uint64_t pattern_fnv(unsigned int seed, size_t len)
{
	uint8_t *p = malloc(len);
	uint64_t h;

	fill_pattern(p, len, seed);
	h = fnv1a(p, len);
	free(p);
	return h;
}

/* The time a sync_file's (single) fence signalled, from SYNC_IOC_FILE_INFO; 0 if pending. */
static inline __u64 signal_time(int sync_file)
{
	struct sync_fence_info fi = { 0 };
	struct sync_file_info info = { .num_fences = 1, .sync_fence_info = (uintptr_t)&fi };

	if (ioctl(sync_file, SYNC_IOC_FILE_INFO, &info))
		return 0;
	return fi.timestamp_ns;
}

#endif
