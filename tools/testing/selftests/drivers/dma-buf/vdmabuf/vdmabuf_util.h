/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the vdmabuf kselftests. */
#ifndef VDMABUF_SELFTEST_UTIL_H
#define VDMABUF_SELFTEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/types.h>
#include <linux/vdmabuf.h>

#define VDMABUF_DEV "/dev/vdmabuf"
#define VDMABUF_IMPORTER_DEV "/dev/vdmabuf-importer"
#define VDMABUF_DEBUGFS "/sys/kernel/debug/vdmabuf/counts/"

/* An ioctl number no driver of this project defines: type 0xB9, number 0x3f. */
#define VDMABUF_TEST_BAD_IOCTL _IOWR(0xB9, 0x3f, __u64)

/* sw_sync's ioctls are not uAPI (drivers/dma-buf/sw_sync.c). */
struct sw_sync_create_fence_data {
	__u32 value;
	char name[32];
	__s32 fence;
};
#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW('W', 1, __u32)

/* Returns -errno of a failed call, or its result. */
static inline int vdmabuf_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

/* Creates a buffer; returns its fd or -errno. */
static inline int vdmabuf_create(int dev, __u64 size, __u32 flags)
{
	struct vdmabuf_create args = { .size = size, .flags = flags, .fd = -1 };
	int ret = vdmabuf_ioctl(dev, VDMABUF_IOCTL_CREATE, &args);

	return ret < 0 ? ret : args.fd;
}

static inline int vdmabuf_migrate(int dev, int fd)
{
	struct vdmabuf_migrate args = { .fd = fd };

	return vdmabuf_ioctl(dev, VDMABUF_IOCTL_MIGRATE, &args);
}

static inline int dmabuf_sync(int fd, __u64 flags)
{
	struct dma_buf_sync sync = { .flags = flags };

	return vdmabuf_ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
}

/* The byte at offset @i of a buffer filled with pattern @seed. */
static inline uint8_t pattern_byte(unsigned int seed, size_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13) ^ (uint8_t)seed;
}

static inline void fill_pattern(void *p, size_t len, unsigned int seed)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = pattern_byte(seed, i);
}

/* Returns the first offset that does not hold the pattern, or -1. */
static inline long check_pattern(const void *p, size_t len, unsigned int seed, size_t base)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != pattern_byte(seed, base + i))
			return i;
	return -1;
}

/* The 64-bit FNV-1a hash, as the importer's READ ioctl computes it. */
static inline uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static inline long first_nonzero(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return i;
	return -1;
}

/* Reads a debugfs counter of vdmabuf; -1 if unreadable. */
static inline long vdmabuf_count(const char *name)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), VDMABUF_DEBUGFS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/* Reads a whole file into a malloc'd string; NULL on error. */
static inline char *read_file(const char *path);

/*
 * Returns the physical address of the first byte of vdmabuf buffer @fd, from vdmabuf's debugfs
 * listing of live buffers, or 0 if it is not listed.
 */
static inline unsigned long long vdmabuf_first_phys(int fd)
{
	unsigned long long ino, size, blocks, phys, found = 0;
	struct stat st;
	char *list, *line;

	if (fstat(fd, &st))
		return 0;
	list = read_file("/sys/kernel/debug/vdmabuf/buffers/list");
	if (!list)
		return 0;
	for (line = strtok(list, "\n"); line; line = strtok(NULL, "\n"))
		if (sscanf(line, "%llu %llu %llu %llx", &ino, &size, &blocks, &phys) == 4 &&
		    ino == (unsigned long long)st.st_ino)
			found = phys;
	free(list);
	return found;
}

static inline char *read_file(const char *path)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (len + 1 == cap) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/* An integer from the environment, or @def. */
static inline long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v ? strtol(v, NULL, 0) : def;
}


#include <drm/drm.h>

/* Opens the DRM card of @driver; returns its fd and, if @minor, its minor, or -1 if none. */
static inline int drm_open_driver(const char *driver, int *minor)
{
	char path[32], name[16];
	int i, fd;

	for (i = 0; i < 16; i++) {
		struct drm_version v = { .name = name, .name_len = sizeof(name) - 1 };

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, driver)) {
			if (minor)
				*minor = i;
			return fd;
		}
		close(fd);
	}
	return -1;
}

/* Opens the vgem device, or returns -1 if there is none. */
static inline int vgem_open(void)
{
	return drm_open_driver("vgem", NULL);
}

/* Imports dma-buf @fd into vgem; returns the GEM handle or -errno. */
static inline int vgem_import(int vgem, int fd)
{
	struct drm_prime_handle args = { .fd = fd };
	int ret = vdmabuf_ioctl(vgem, DRM_IOCTL_PRIME_FD_TO_HANDLE, &args);

	return ret < 0 ? ret : (int)args.handle;
}

static inline int vgem_close_handle(int vgem, __u32 handle)
{
	struct drm_gem_close args = { .handle = handle };

	return vdmabuf_ioctl(vgem, DRM_IOCTL_GEM_CLOSE, &args);
}

#include <poll.h>
#include <linux/sync_file.h>

/* Attaches a fence; returns its handle or -errno, and the sync_file in *sync_file (or -1). */
static inline int vdmabuf_fence(int dev, int fd, __u32 usage, int *sync_file)
{
	struct vdmabuf_fence_attach args = {
		.fd = fd,
		.usage = usage,
		.flags = sync_file ? VDMABUF_FENCE_SYNC_FILE : 0,
	};
	int ret = vdmabuf_ioctl(dev, VDMABUF_IOCTL_FENCE_ATTACH, &args);

	if (sync_file)
		*sync_file = ret < 0 ? -1 : args.sync_file;
	return ret < 0 ? ret : (int)args.handle;
}

static inline int vdmabuf_signal(int dev, __u32 handle, int error)
{
	struct vdmabuf_fence_signal args = { .handle = handle, .error = error };

	return vdmabuf_ioctl(dev, VDMABUF_IOCTL_FENCE_SIGNAL, &args);
}

/* The status of a sync_file: 1 signalled, 0 pending, <0 the error it signalled with. */
static inline int sync_file_status(int fd)
{
	struct sync_file_info info = { 0 };

	if (ioctl(fd, SYNC_IOC_FILE_INFO, &info))
		return -1000 - errno;
	return info.status;
}

/* Polls @fd for @events for up to @ms; returns the events that are ready. */
static inline short poll_events(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) > 0 ? p.revents : 0;
}

#endif
