// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for /dev/vdmabuf-importer, the sample dma-buf importer: the interop matrix with
 * vdmabuf, udmabuf, the system dma-heap and vgem (each direction checked on the data), dynamic
 * imports across migrations, lifetimes, a fenced copy pipeline, and every bad input.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <drm/vgem_drm.h>

#include "kselftest_harness.h"
#include "vdmabuf_util.h"
#include <linux/vdmabuf_importer.h>

#define PAGE 4096UL

static int imp_import(int imp, int fd, __u32 flags)
{
	struct vdmabuf_importer_import args = { .fd = fd, .flags = flags };
	int ret = vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_IMPORT, &args);

	return ret < 0 ? ret : (int)args.handle;
}

static int imp_handle_op(int imp, unsigned long cmd, __u32 handle)
{
	struct vdmabuf_importer_handle args = { .handle = handle };

	return vdmabuf_ioctl(imp, cmd, &args);
}

static int imp_map(int imp, __u32 handle, __u32 dir)
{
	struct vdmabuf_importer_map args = { .handle = handle, .direction = dir };

	return vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_MAP, &args);
}

static int imp_info(int imp, __u32 handle, struct vdmabuf_importer_info *info)
{
	memset(info, 0, sizeof(*info));
	info->handle = handle;
	return vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_INFO, info);
}

static int imp_read(int imp, __u32 handle, __u64 offset, __u64 len, uint64_t *sum)
{
	struct vdmabuf_importer_read args = { .handle = handle, .offset = offset, .length = len };
	int ret = vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_READ, &args);

	*sum = args.checksum;
	return ret;
}

static int imp_fill(int imp, __u32 handle, __u32 seed, __u64 offset, __u64 len)
{
	struct vdmabuf_importer_fill args = {
		.handle = handle, .seed = seed, .offset = offset, .length = len,
	};

	return vdmabuf_ioctl(imp, VDMABUF_IMPORTER_IOCTL_FILL, &args);
}

/* Queues a copy; returns the out-fence's sync_file or -errno. */
static int imp_copy(int imp, __u32 src, __u32 dst, __u64 so, __u64 dso, __u64 len)
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
static size_t test_size(enum exporter kind, size_t size)
{
	return kind == UDMABUF && size > 16 * PAGE ? 16 * PAGE : size;
}

/* Creates a buffer of @kind, or returns -errno; -ENODEV if the exporter is absent. */
static int make_buffer(enum exporter kind, size_t size, int vdmabuf_dev, struct buffer *b)
{
	int dev, ret = -ENODEV;

	b->fd = -1;
	b->aux = -1;
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

static void free_buffer(struct buffer *b)
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
static void cpu_fill(struct buffer *b, unsigned int seed)
{
	dmabuf_sync(b->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	fill_pattern(b->map, b->size, seed);
	dmabuf_sync(b->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
}

static long cpu_check(struct buffer *b, unsigned int seed)
{
	long bad;

	dmabuf_sync(b->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	bad = check_pattern(b->map, b->size, seed, 0);
	dmabuf_sync(b->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	return bad;
}

static uint64_t pattern_fnv(unsigned int seed, size_t len)
{
	uint8_t *p = malloc(len);
	uint64_t h;

	fill_pattern(p, len, seed);
	h = fnv1a(p, len);
	free(p);
	return h;
}

/* A vdmabuf buffer imported into the importer. */
struct imported {
	struct buffer b;
	int h;
};

static void import_vdmabuf(struct __test_metadata *_metadata, int imp, int vdmabuf, size_t size,
			   struct imported *x)
{
	ASSERT_EQ(0, make_buffer(VDMABUF, size, vdmabuf, &x->b));
	x->h = imp_import(imp, x->b.fd, 0);
	ASSERT_LE(0, x->h);
}

static void release_imported(struct __test_metadata *_metadata, int imp, struct imported *x)
{
	EXPECT_EQ(0, imp_handle_op(imp, VDMABUF_IMPORTER_IOCTL_RELEASE, x->h));
	free_buffer(&x->b);
}

FIXTURE(importer) {
	int dev;
	int vdmabuf;
};

FIXTURE_SETUP(importer)
{
	self->vdmabuf = -1;
	self->dev = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	if (self->dev < 0 && errno == ENOENT)
		SKIP(return, VDMABUF_IMPORTER_DEV " is absent: vdmabuf_importer.ko is not loaded");
	ASSERT_LE(0, self->dev) TH_LOG("open " VDMABUF_IMPORTER_DEV ": %s", strerror(errno));
	self->vdmabuf = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
}

FIXTURE_TEARDOWN(importer)
{
	if (self->dev >= 0)
		EXPECT_EQ(0, close(self->dev));
	if (self->vdmabuf >= 0)
		EXPECT_EQ(0, close(self->vdmabuf));
}

TEST_F(importer, open_close_many)
{
	int fds[64];
	int i;

	for (i = 0; i < 64; i++) {
		fds[i] = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 63; i >= 0; i--) {
		EXPECT_EQ(0, close(fds[i]));
	}
}

TEST_F(importer, unknown_ioctl_is_enotty)
{
	__u64 arg = 0;

	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, VDMABUF_TEST_BAD_IOCTL, &arg));
	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, _IO(0xB9, 0x40), NULL));
	/* /dev/vdmabuf's ioctls are not the importer's. */
	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_CREATE, &arg));
}

/* Imports a buffer of every exporter, maps it, and moves data both ways through it. */
TEST_F(importer, interop_matrix_reads_and_writes_every_exporter)
{
	int kind, done = 0;

	for (kind = 0; kind < EXPORTERS; kind++) {
		size_t size = test_size(kind, 64 * PAGE);
		struct vdmabuf_importer_info info;
		struct buffer b;
		uint64_t sum;
		int h, ret;

		ret = make_buffer(kind, size, self->vdmabuf, &b);
		if (ret == -ENODEV) {
			TH_LOG("%s: absent, not tested", exporter_names[kind]);
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("%s: %s", exporter_names[kind], strerror(-ret));
		h = imp_import(self->dev, b.fd, 0);
		ASSERT_LE(0, h) TH_LOG("%s: import: %s", exporter_names[kind], strerror(-h));

		/* What the device sees after mapping. */
		ASSERT_EQ(0, imp_map(self->dev, h, VDMABUF_IMPORTER_BIDIRECTIONAL));
		ASSERT_EQ(0, imp_info(self->dev, h, &info));
		EXPECT_EQ(size, info.size);
		EXPECT_EQ(VDMABUF_INFO_MAPPED, info.flags);
		EXPECT_LE(1, info.sg_entries);
		EXPECT_EQ(size, info.dma_length) TH_LOG("%s", exporter_names[kind]);
		EXPECT_EQ(0, info.first_dma_address % PAGE);
		EXPECT_NE(0, info.exporter[0]);
		TH_LOG("%s: exporter \"%s\", %u sg entries", exporter_names[kind], info.exporter,
		       info.sg_entries);

		/* Userspace writes, the importer reads. */
		cpu_fill(&b, 40 + kind);
		ASSERT_EQ(0, imp_read(self->dev, h, 0, size, &sum));
		EXPECT_EQ(pattern_fnv(40 + kind, size), sum) TH_LOG("%s", exporter_names[kind]);
		/* The importer writes, userspace reads. */
		ASSERT_EQ(0, imp_fill(self->dev, h, 50 + kind, 0, size));
		EXPECT_EQ(-1, cpu_check(&b, 50 + kind)) TH_LOG("%s", exporter_names[kind]);
		/* A part of the buffer only. */
		ASSERT_EQ(0, imp_read(self->dev, h, PAGE + 3, 100, &sum));
		EXPECT_EQ(fnv1a(b.map + PAGE + 3, 100), sum);

		EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_UNMAP, h));
		ASSERT_EQ(0, imp_info(self->dev, h, &info));
		EXPECT_EQ(0, info.flags);
		EXPECT_EQ(0, info.sg_entries);
		EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, h));
		free_buffer(&b);
		done++;
	}
	/* vdmabuf and vgem are always in the test kernel. */
	EXPECT_LE(2, done);
}

/* Copies from each exporter into vdmabuf and back out, as DMA jobs, checked on the data. */
TEST_F(importer, interop_matrix_copies_every_direction)
{
	int kind;

	for (kind = 0; kind < EXPORTERS; kind++) {
		size_t size = test_size(kind, 32 * PAGE);
		struct buffer b, mine;
		int h, hm, fence, ret;

		ret = make_buffer(kind, size, self->vdmabuf, &b);
		if (ret == -ENODEV)
			continue;
		ASSERT_EQ(0, ret);
		ASSERT_EQ(0, make_buffer(VDMABUF, size, self->vdmabuf, &mine));
		h = imp_import(self->dev, b.fd, 0);
		hm = imp_import(self->dev, mine.fd, 0);
		ASSERT_LE(0, h);
		ASSERT_LE(0, hm);

		/* Theirs to ours. */
		cpu_fill(&b, 60 + kind);
		fence = imp_copy(self->dev, h, hm, 0, 0, size);
		ASSERT_LE(0, fence) TH_LOG("%s: %s", exporter_names[kind], strerror(-fence));
		EXPECT_EQ(POLLIN, poll_events(fence, POLLIN, 10000));
		EXPECT_EQ(1, sync_file_status(fence));
		EXPECT_EQ(0, close(fence));
		EXPECT_EQ(-1, cpu_check(&mine, 60 + kind)) TH_LOG("%s -> vdmabuf", exporter_names[kind]);

		/* Ours to theirs. */
		cpu_fill(&mine, 70 + kind);
		fence = imp_copy(self->dev, hm, h, 0, 0, size);
		ASSERT_LE(0, fence);
		EXPECT_EQ(POLLIN, poll_events(fence, POLLIN, 10000));
		EXPECT_EQ(1, sync_file_status(fence));
		EXPECT_EQ(0, close(fence));
		EXPECT_EQ(-1, cpu_check(&b, 70 + kind)) TH_LOG("vdmabuf -> %s", exporter_names[kind]);

		EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, h));
		EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, hm));
		free_buffer(&b);
		free_buffer(&mine);
	}
}

TEST_F(importer, zero_copy_dma_addresses_are_the_exporters_pages)
{
	struct vdmabuf_importer_info info;
	unsigned long long phys;
	struct buffer b;
	int h;

	ASSERT_EQ(0, make_buffer(VDMABUF, 16 * PAGE, self->vdmabuf, &b));
	phys = vdmabuf_first_phys(b.fd);
	ASSERT_NE(0, phys) TH_LOG("buffer not in /sys/kernel/debug/vdmabuf/buffers/list");
	h = imp_import(self->dev, b.fd, 0);
	ASSERT_LE(0, h);
	ASSERT_EQ(0, imp_map(self->dev, h, VDMABUF_IMPORTER_TO_DEVICE));
	ASSERT_EQ(0, imp_info(self->dev, h, &info));
	/* Without an IOMMU, the device's DMA address is the physical address of the exporter's page. */
	EXPECT_EQ(phys, info.first_dma_address);
	/* A migration moves the pages; the listing and a new mapping follow. */
	EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_UNMAP, h));
	ASSERT_EQ(0, vdmabuf_migrate(self->vdmabuf, b.fd));
	EXPECT_NE(phys, vdmabuf_first_phys(b.fd));
	ASSERT_EQ(0, imp_map(self->dev, h, VDMABUF_IMPORTER_TO_DEVICE));
	ASSERT_EQ(0, imp_info(self->dev, h, &info));
	EXPECT_EQ(vdmabuf_first_phys(b.fd), info.first_dma_address);
	EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, h));
	free_buffer(&b);
}

TEST_F(importer, dynamic_import_follows_migrations)
{
	struct vdmabuf_importer_info info;
	size_t size = 300 * PAGE;
	struct buffer b;
	uint64_t sum;
	int h;

	ASSERT_EQ(0, make_buffer(VDMABUF, size, self->vdmabuf, &b));
	cpu_fill(&b, 81);
	h = imp_import(self->dev, b.fd, VDMABUF_IMPORT_DYNAMIC);
	ASSERT_LE(0, h);
	ASSERT_EQ(0, imp_map(self->dev, h, VDMABUF_IMPORTER_BIDIRECTIONAL));
	ASSERT_EQ(0, imp_info(self->dev, h, &info));
	EXPECT_EQ(VDMABUF_INFO_MAPPED | VDMABUF_INFO_DYNAMIC, info.flags);
	EXPECT_EQ(0, info.invalidations);

	/* A dynamic importer does not pin: the exporter may move the buffer under it. */
	ASSERT_EQ(0, vdmabuf_migrate(self->vdmabuf, b.fd));
	ASSERT_EQ(0, imp_info(self->dev, h, &info));
	EXPECT_EQ(1, info.invalidations);
	EXPECT_EQ(VDMABUF_INFO_DYNAMIC, info.flags) TH_LOG("still mapped after invalidation");
	/* Mapping again works, and the data moved with the buffer. */
	ASSERT_EQ(0, imp_map(self->dev, h, VDMABUF_IMPORTER_BIDIRECTIONAL));
	ASSERT_EQ(0, imp_info(self->dev, h, &info));
	EXPECT_EQ(size, info.dma_length);
	ASSERT_EQ(0, imp_read(self->dev, h, 0, size, &sum));
	EXPECT_EQ(pattern_fnv(81, size), sum);
	/* Writes through the importer after the move reach userspace's (refaulted) mapping. */
	ASSERT_EQ(0, imp_fill(self->dev, h, 82, 0, size));
	EXPECT_EQ(-1, cpu_check(&b, 82));
	EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, h));
	free_buffer(&b);
}

TEST_F(importer, static_mapping_pins_against_migration)
{
	struct buffer b;
	int h;

	ASSERT_EQ(0, make_buffer(VDMABUF, 8 * PAGE, self->vdmabuf, &b));
	h = imp_import(self->dev, b.fd, 0);
	ASSERT_LE(0, h);
	/* Attached but not mapped: nothing pins it yet. */
	EXPECT_EQ(0, vdmabuf_migrate(self->vdmabuf, b.fd));
	ASSERT_EQ(0, imp_map(self->dev, h, VDMABUF_IMPORTER_FROM_DEVICE));
	EXPECT_EQ(-EBUSY, vdmabuf_migrate(self->vdmabuf, b.fd));
	EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_UNMAP, h));
	EXPECT_EQ(0, vdmabuf_migrate(self->vdmabuf, b.fd));
	EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, h));
	free_buffer(&b);
}

TEST_F(importer, imports_keep_buffers_alive)
{
	long buffers = vdmabuf_count("buffers");
	struct buffer b;
	uint64_t sum;
	int h;

	ASSERT_EQ(0, make_buffer(VDMABUF, 4 * PAGE, self->vdmabuf, &b));
	cpu_fill(&b, 91);
	h = imp_import(self->dev, b.fd, 0);
	ASSERT_LE(0, h);
	free_buffer(&b);
	/* Every fd and mapping is gone; the import still holds the buffer and its data. */
	EXPECT_EQ(buffers + 1, vdmabuf_count("buffers"));
	ASSERT_EQ(0, imp_read(self->dev, h, 0, 4 * PAGE, &sum));
	EXPECT_EQ(pattern_fnv(91, 4 * PAGE), sum);
	EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, h));
	EXPECT_EQ(buffers, vdmabuf_count("buffers"));
}

TEST_F(importer, process_exit_releases_everything)
{
	long attachments = vdmabuf_count("attachments"), maps = vdmabuf_count("maps");
	struct buffer b;
	int status;
	pid_t pid;

	ASSERT_EQ(0, make_buffer(VDMABUF, 4 * PAGE, self->vdmabuf, &b));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int imp = open(VDMABUF_IMPORTER_DEV, O_RDWR);
		int h = imp_import(imp, b.fd, 0);

		if (h < 0 || imp_map(imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL) ||
		    vdmabuf_count("attachments") != attachments + 1 || vdmabuf_count("maps") != maps + 1)
			_exit(1);
		_exit(0);	/* without releasing or closing anything */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(attachments, vdmabuf_count("attachments"));
	EXPECT_EQ(maps, vdmabuf_count("maps"));
	free_buffer(&b);
}

TEST_F(importer, bad_input_gets_clear_errnos)
{
	struct vdmabuf_importer_import imp = { 0 };
	struct vdmabuf_importer_copy copy = { 0 };
	struct vdmabuf_importer_handle hp = { 0 };
	struct vdmabuf_importer_read rp = { 0 };
	struct vdmabuf_importer_info info;
	struct buffer a, b;
	int h, hb, other, null;
	uint64_t sum;

	ASSERT_EQ(0, make_buffer(VDMABUF, 4 * PAGE, self->vdmabuf, &a));
	ASSERT_EQ(0, make_buffer(VDMABUF, 2 * PAGE, self->vdmabuf, &b));
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, null);

	/* Not a dma-buf, a closed fd, bad flags and padding. */
	EXPECT_EQ(-EINVAL, imp_import(self->dev, null, 0));
	EXPECT_EQ(-EINVAL, imp_import(self->dev, self->dev, 0));
	EXPECT_EQ(-EBADF, imp_import(self->dev, 1000, 0));
	EXPECT_EQ(-EBADF, imp_import(self->dev, -1, 0));
	EXPECT_EQ(-EINVAL, imp_import(self->dev, a.fd, 2));
	imp.fd = a.fd;
	imp.pad = 1;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IMPORTER_IOCTL_IMPORT, &imp));
	EXPECT_EQ(-EFAULT, vdmabuf_ioctl(self->dev, VDMABUF_IMPORTER_IOCTL_IMPORT, NULL));

	h = imp_import(self->dev, a.fd, 0);
	hb = imp_import(self->dev, b.fd, 0);
	ASSERT_LE(0, h);
	ASSERT_LE(0, hb);
	/* Handles belong to the file that made them. */
	other = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	EXPECT_EQ(-ENOENT, imp_info(other, h, &info));
	EXPECT_EQ(-ENOENT, imp_handle_op(other, VDMABUF_IMPORTER_IOCTL_RELEASE, h));
	EXPECT_EQ(0, close(other));
	EXPECT_EQ(-ENOENT, imp_info(self->dev, 9999, &info));

	/* Bad directions, ranges and copies. */
	EXPECT_EQ(-EINVAL, imp_map(self->dev, h, 3));
	EXPECT_EQ(-EINVAL, imp_read(self->dev, h, 4 * PAGE - 1, 2, &sum));
	EXPECT_EQ(-EINVAL, imp_read(self->dev, h, ~0ull, 2, &sum));
	EXPECT_EQ(-EINVAL, imp_fill(self->dev, h, 1, 0, 4 * PAGE + 1));
	EXPECT_EQ(-EINVAL, imp_copy(self->dev, h, hb, 0, 0, 3 * PAGE));	/* too big for b */
	EXPECT_EQ(-EINVAL, imp_copy(self->dev, hb, h, PAGE, 0, 2 * PAGE));	/* past b's end */
	EXPECT_EQ(-EINVAL, imp_copy(self->dev, h, hb, 0, 0, 0));
	EXPECT_EQ(-ENOENT, imp_copy(self->dev, h, 9999, 0, 0, PAGE));
	copy.src = h;
	copy.dst = hb;
	copy.length = PAGE;
	copy.flags = 1;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IMPORTER_IOCTL_COPY, &copy));
	/* The rejected copies published no fence. */
	EXPECT_EQ(POLLIN | POLLOUT, poll_events(b.fd, POLLIN | POLLOUT, 0));

	/* Nonzero padding anywhere. */
	hp.handle = h;
	hp.pad = 1;
	rp.handle = h;
	rp.pad = 1;
	rp.length = 1;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, &hp));
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IMPORTER_IOCTL_UNMAP, &hp));
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IMPORTER_IOCTL_READ, &rp));
	memset(&info, 0, sizeof(info));
	info.handle = h;
	info.pad = 1;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IMPORTER_IOCTL_INFO, &info));

	/* Double release. */
	EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, h));
	EXPECT_EQ(-ENOENT, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, h));
	EXPECT_EQ(-ENOENT, imp_map(self->dev, h, 0));
	EXPECT_EQ(0, imp_handle_op(self->dev, VDMABUF_IMPORTER_IOCTL_RELEASE, hb));
	EXPECT_EQ(0, close(null));
	free_buffer(&a);
	free_buffer(&b);
}

/*
 * The pipeline: userspace writes A through mmap; a foreign fence (sw_sync) holds A's readers
 * back; the importer's copy A -> B waits for it; B is read through mmap only after the copy's
 * out-fence signals.
 */
TEST_F(importer, fenced_copy_pipeline_with_sw_sync)
{
	struct sw_sync_create_fence_data create = { .value = 1, .name = "pipeline" };
	struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE };
	size_t size = 16 * PAGE;
	struct imported a, b;
	int fence, timeline;
	__u32 one = 1;

	timeline = open("/sys/kernel/debug/sync/sw_sync", O_RDWR | O_CLOEXEC);
	if (timeline < 0)
		SKIP(return, "no sw_sync");
	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &a);
	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &b);
	cpu_fill(&a.b, 101);

	ASSERT_EQ(0, ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &create));
	imp.fd = create.fence;
	ASSERT_EQ(0, ioctl(a.b.fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp));

	fence = imp_copy(self->dev, a.h, b.h, 0, 0, size);
	ASSERT_LE(0, fence);
	/* Held back: the copy's fence is pending and B's readers wait for it. */
	EXPECT_EQ(0, poll_events(fence, POLLIN, 100));
	EXPECT_EQ(0, sync_file_status(fence));
	EXPECT_EQ(0, poll_events(b.b.fd, POLLIN, 0));
	/* And the job's READ fence on A holds A's writers back. */
	EXPECT_EQ(0, poll_events(a.b.fd, POLLOUT, 0));

	ASSERT_EQ(0, ioctl(timeline, SW_SYNC_IOC_INC, &one));
	EXPECT_EQ(POLLIN, poll_events(fence, POLLIN, 10000));
	EXPECT_EQ(1, sync_file_status(fence));
	EXPECT_EQ(-1, cpu_check(&b.b, 101));
	EXPECT_EQ(0, close(fence));
	EXPECT_EQ(0, close(create.fence));
	EXPECT_EQ(0, close(timeline));
	release_imported(_metadata, self->dev, &a);
	release_imported(_metadata, self->dev, &b);
}

TEST_F(importer, fenced_copy_pipeline_with_vgem)
{
	struct drm_vgem_fence_attach attach = { .flags = VGEM_FENCE_WRITE };
	struct drm_vgem_fence_signal sig = { 0 };
	size_t size = 8 * PAGE;
	struct imported a, b;
	int fence, vgem, handle;

	vgem = vgem_open();
	if (vgem < 0)
		SKIP(return, "no vgem device");
	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &a);
	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &b);
	cpu_fill(&a.b, 111);
	handle = vgem_import(vgem, a.b.fd);
	ASSERT_LE(0, handle);
	attach.handle = handle;
	ASSERT_EQ(0, ioctl(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach));

	fence = imp_copy(self->dev, a.h, b.h, 0, 0, size);
	ASSERT_LE(0, fence);
	EXPECT_EQ(0, poll_events(fence, POLLIN, 100));
	sig.fence = attach.out_fence;
	ASSERT_EQ(0, ioctl(vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig));
	EXPECT_EQ(POLLIN, poll_events(fence, POLLIN, 10000));
	EXPECT_EQ(1, sync_file_status(fence));
	EXPECT_EQ(-1, cpu_check(&b.b, 111));
	EXPECT_EQ(0, close(fence));
	EXPECT_EQ(0, vgem_close_handle(vgem, handle));
	EXPECT_EQ(0, close(vgem));
	release_imported(_metadata, self->dev, &a);
	release_imported(_metadata, self->dev, &b);
}

TEST_F(importer, failed_dependencies_fail_the_copy)
{
	size_t size = 4 * PAGE;
	struct imported a, b;
	int fence, w;

	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &a);
	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &b);
	cpu_fill(&a.b, 121);
	w = vdmabuf_fence(self->vdmabuf, a.b.fd, VDMABUF_USAGE_WRITE, NULL);
	ASSERT_LE(0, w);
	fence = imp_copy(self->dev, a.h, b.h, 0, 0, size);
	ASSERT_LE(0, fence);
	/* The writer of A fails: the copy must not run, and says why. */
	ASSERT_EQ(0, vdmabuf_signal(self->vdmabuf, w, -EIO));
	EXPECT_EQ(POLLIN, poll_events(fence, POLLIN, 10000));
	EXPECT_EQ(-EIO, sync_file_status(fence));
	dmabuf_sync(b.b.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	EXPECT_EQ(-1, first_nonzero(b.b.map, size));
	dmabuf_sync(b.b.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	EXPECT_EQ(0, close(fence));
	release_imported(_metadata, self->dev, &a);
	release_imported(_metadata, self->dev, &b);
}

TEST_F(importer, copies_run_in_order)
{
	size_t size = 4 * PAGE;
	struct imported a, b, c;
	int f1, f2;

	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &a);
	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &b);
	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &c);
	cpu_fill(&a.b, 131);
	/* B = A, then C = B: the second job depends on the first through B's fences. */
	f1 = imp_copy(self->dev, a.h, b.h, 0, 0, size);
	f2 = imp_copy(self->dev, b.h, c.h, 0, 0, size);
	ASSERT_LE(0, f1);
	ASSERT_LE(0, f2);
	EXPECT_EQ(POLLIN, poll_events(f2, POLLIN, 10000));
	EXPECT_EQ(1, sync_file_status(f1));
	EXPECT_EQ(-1, cpu_check(&c.b, 131));
	EXPECT_EQ(0, close(f1));
	EXPECT_EQ(0, close(f2));
	release_imported(_metadata, self->dev, &a);
	release_imported(_metadata, self->dev, &b);
	release_imported(_metadata, self->dev, &c);
}

TEST_F(importer, unload_refused_while_open)
{
	EXPECT_EQ(-1, syscall(__NR_delete_module, "vdmabuf_importer", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
}

TEST_HARNESS_MAIN
