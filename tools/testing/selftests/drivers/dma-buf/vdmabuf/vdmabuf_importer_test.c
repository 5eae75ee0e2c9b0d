// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for /dev/vdmabuf-importer, the sample dma-buf importer: the interop matrix with
 * vdmabuf, udmabuf, the system dma-heap and vgem (each direction checked on the data), dynamic
 * imports across migrations, lifetimes, a fenced copy pipeline, and every bad input.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vdmabuf_importer_util.h"

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

/*
 * One device holds at most 7 mappings of a buffer at once, of any exporter and from any file:
 * the DMA-API debug code WARNs at more overlapping mappings of a cache line, and userspace must
 * not be able to make the kernel warn. The 8th gets EBUSY until one of the 7 is unmapped.
 */
TEST_F(importer, one_device_maps_a_buffer_at_most_seven_times)
{
	enum exporter kinds[] = { VDMABUF, HEAP };
	unsigned int k;

	for (k = 0; k < 2; k++) {
		int other = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC), h[8], i;
		struct buffer b;

		ASSERT_LE(0, other);
		if (make_buffer(kinds[k], PAGE, self->vdmabuf, &b)) {
			close(other);
			continue;
		}
		for (i = 0; i < 8; i++) {
			/* Both files, static and dynamic imports. */
			h[i] = imp_import(i % 2 ? other : self->dev, b.fd,
					  i % 3 ? 0 : VDMABUF_IMPORT_DYNAMIC);
			ASSERT_LE(0, h[i]);
		}
		for (i = 0; i < 7; i++)
			EXPECT_EQ(0, imp_map(i % 2 ? other : self->dev, h[i],
					     VDMABUF_IMPORTER_BIDIRECTIONAL)) TH_LOG("%s map %d",
										exporter_names[kinds[k]], i);
		EXPECT_EQ(-EBUSY, imp_map(other, h[7], VDMABUF_IMPORTER_TO_DEVICE));
		/* Mapping again in the same direction keeps the mapping it has. */
		EXPECT_EQ(0, imp_map(self->dev, h[0], VDMABUF_IMPORTER_BIDIRECTIONAL));
		EXPECT_EQ(0, imp_handle_op(other, VDMABUF_IMPORTER_IOCTL_UNMAP, h[1]));
		EXPECT_EQ(0, imp_map(other, h[7], VDMABUF_IMPORTER_TO_DEVICE));
		EXPECT_EQ(-EBUSY, imp_map(other, h[1], VDMABUF_IMPORTER_TO_DEVICE));
		for (i = 0; i < 8; i++)
			EXPECT_EQ(0, imp_handle_op(i % 2 ? other : self->dev,
						   VDMABUF_IMPORTER_IOCTL_RELEASE, h[i]));
		close(other);
		free_buffer(&b);
	}
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

/*
 * Job 2 fails (its dependency signals -EIO) while job 1 still waits for a gate: the failure
 * must reach job 2's fence, and only after job 1's: fences of one timeline signal in order.
 */
TEST_F(importer, failing_job_signals_its_error_after_the_job_before_it)
{
	size_t size = 4 * PAGE;
	struct imported a, b, c, d;
	int gate, bad, f1, f2;

	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &a);
	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &b);
	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &c);
	import_vdmabuf(_metadata, self->dev, self->vdmabuf, size, &d);
	cpu_fill(&a.b, 141);
	gate = vdmabuf_fence(self->vdmabuf, a.b.fd, VDMABUF_USAGE_WRITE, NULL);
	bad = vdmabuf_fence(self->vdmabuf, c.b.fd, VDMABUF_USAGE_WRITE, NULL);
	ASSERT_LE(0, gate);
	ASSERT_LE(0, bad);
	f1 = imp_copy(self->dev, a.h, b.h, 0, 0, size);
	f2 = imp_copy(self->dev, c.h, d.h, 0, 0, size);
	ASSERT_LE(0, f1);
	ASSERT_LE(0, f2);
	ASSERT_EQ(0, vdmabuf_signal(self->vdmabuf, bad, -EIO));
	/* Job 2 has failed, but job 1 is still held back: neither may signal yet. */
	EXPECT_EQ(0, poll_events(f2, POLLIN, 200));
	EXPECT_EQ(0, sync_file_status(f1));
	ASSERT_EQ(0, vdmabuf_signal(self->vdmabuf, gate, 0));
	EXPECT_EQ(POLLIN, poll_events(f2, POLLIN, 10000));
	EXPECT_EQ(1, sync_file_status(f1));
	EXPECT_EQ(-EIO, sync_file_status(f2));
	EXPECT_LE(signal_time(f1), signal_time(f2));
	EXPECT_NE(0, signal_time(f1));
	EXPECT_EQ(-1, cpu_check(&b.b, 141));
	EXPECT_EQ(0, close(f1));
	EXPECT_EQ(0, close(f2));
	release_imported(_metadata, self->dev, &a);
	release_imported(_metadata, self->dev, &b);
	release_imported(_metadata, self->dev, &c);
	release_imported(_metadata, self->dev, &d);
}

/*
 * A process queues many copies behind a gate and is killed. Its jobs outlive it: every fence it
 * published signals once the gate does, and the destination holds the copy.
 */
TEST_F(importer, killing_a_process_with_queued_jobs_loses_no_fence)
{
	struct dma_buf_export_sync_file exp = { .flags = DMA_BUF_SYNC_RW };
	size_t size = 4 * PAGE;
	struct buffer src, dst;
	int gate, ready[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, make_buffer(VDMABUF, size, self->vdmabuf, &src));
	ASSERT_EQ(0, make_buffer(VDMABUF, size, self->vdmabuf, &dst));
	cpu_fill(&src, 151);
	gate = vdmabuf_fence(self->vdmabuf, src.fd, VDMABUF_USAGE_WRITE, NULL);
	ASSERT_LE(0, gate);
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
		int hs = imp_import(imp, src.fd, 0), hd = imp_import(imp, dst.fd, 0), i;

		for (i = 0; i < 64; i++)
			if (imp_copy(imp, hs, hd, 0, 0, size) < 0)
				_exit(1);
		c = 'r';
		if (write(ready[1], &c, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	/* The killed process's jobs are still in the destination's reservation object. */
	ASSERT_EQ(0, ioctl(dst.fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp));
	EXPECT_EQ(0, sync_file_status(exp.fd));
	ASSERT_EQ(0, vdmabuf_signal(self->vdmabuf, gate, 0));
	EXPECT_EQ(POLLIN, poll_events(exp.fd, POLLIN, 20000));
	EXPECT_EQ(1, sync_file_status(exp.fd));
	EXPECT_EQ(-1, cpu_check(&dst, 151));
	EXPECT_EQ(0, close(exp.fd));
	close(ready[0]);
	close(ready[1]);
	free_buffer(&src);
	free_buffer(&dst);
}

TEST_F(importer, unload_refused_while_open)
{
	EXPECT_EQ(-1, syscall(__NR_delete_module, "vdmabuf_importer", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
}

TEST_HARNESS_MAIN
