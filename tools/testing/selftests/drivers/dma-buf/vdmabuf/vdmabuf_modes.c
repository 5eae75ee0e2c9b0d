// SPDX-License-Identifier: GPL-2.0
/*
 * Importer-testing modes (struct vdmabuf_modes): each mode, and the importer bug class it
 * exposes, shown with the sample importer, vgem and a deliberately wrong test program.
 *
 * - Table layouts: per page, scattered, contiguous, capped. A program that assumes a buffer is
 *   contiguous (DMA address of byte X = first DMA address + X) is right on the contiguous layout
 *   and visibly wrong on the scattered one, against the DMA segments the sample importer sees.
 * - Injected failures: the chosen call fails with the chosen errno, through the sample importer,
 *   vgem, DMA_BUF_IOCTL_SYNC and mmap; debugfs counts them.
 * - Map delays, and fences that signal by themselves, with an error if asked.
 */
#include <poll.h>
#include <time.h>

#include <drm/drm_mode.h>

#include "kselftest_harness.h"
#include "vdmabuf_importer_util.h"

#define MIB (1UL << 20)

FIXTURE(modes) {
	int dev, imp;
};

FIXTURE_SETUP(modes)
{
	self->dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	if (self->dev < 0)
		SKIP(return, "vdmabuf is not loaded");
	self->imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	if (self->imp < 0)
		SKIP(return, "vdmabuf_importer is not loaded");
}

FIXTURE_TEARDOWN(modes)
{
	if (self->imp >= 0)
		close(self->imp);
	if (self->dev >= 0)
		close(self->dev);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Creates a buffer of @size with @m (NULL for none); returns its fd or -errno. */
static int create_modes(int dev, __u64 size, const struct vdmabuf_modes *m)
{
	struct vdmabuf_create c = {
		.size = size, .flags = VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC,
		.modes = (uintptr_t)m,
	};
	int ret = vdmabuf_ioctl(dev, VDMABUF_IOCTL_CREATE, &c);

	return ret < 0 ? ret : c.fd;
}

/* Imports and maps @fd in the sample importer; fills @info. Returns the handle or -errno. */
static int import_map(int imp, int fd, struct vdmabuf_importer_info *info)
{
	int h = imp_import(imp, fd, 0), ret;

	if (h < 0)
		return h;
	ret = imp_map(imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL);
	if (!ret)
		ret = imp_info(imp, h, info);
	if (ret) {
		imp_handle_op(imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
		return ret;
	}
	return h;
}

/*
 * The bug class of an importer that assumes contiguity: it takes the DMA address of byte X to be
 * the first DMA address plus X. Returns how many of the buffer's pages it gets wrong, against
 * the mapping's real DMA segments (VDMABUF_IMPORTER_IOCTL_SEGMENTS), or -1.
 */
static int contiguity_assumption_errors(int imp, int handle, size_t size)
{
	struct vdmabuf_importer_segments q = { .handle = handle };
	struct vdmabuf_importer_segment *segs;
	size_t off = 0, i, k;
	int wrong = 0;

	if (ioctl(imp, VDMABUF_IMPORTER_IOCTL_SEGMENTS, &q) || !q.count)
		return -1;
	segs = calloc(q.count, sizeof(*segs));
	if (!segs)
		return -1;
	q.segments = (uintptr_t)segs;
	if (ioctl(imp, VDMABUF_IMPORTER_IOCTL_SEGMENTS, &q)) {
		free(segs);
		return -1;
	}
	for (i = 0; i < q.count; i++)
		for (k = 0; k < segs[i].length; k += PAGE, off += PAGE)
			wrong += segs[0].addr + off != segs[i].addr + k;
	free(segs);
	return off == size ? wrong : -1;
}

TEST_F(modes, table_layouts_as_an_importer_sees_them)
{
	static const struct { __u32 layout, max; const char *name; } layouts[] = {
		{ VDMABUF_SG_LARGEST, 0, "largest" },
		{ VDMABUF_SG_PER_PAGE, 0, "per page" },
		{ VDMABUF_SG_SCATTERED, 0, "scattered" },
		{ VDMABUF_SG_CONTIGUOUS, 0, "contiguous" },
		{ VDMABUF_SG_CAPPED, 16 * PAGE, "capped at 64 KiB" },
	};
	const size_t size = MIB, pages = size / PAGE;
	unsigned int i;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		struct vdmabuf_modes m = { .sg_layout = layouts[i].layout,
					   .sg_max_entry = layouts[i].max };
		struct vdmabuf_importer_info info = { 0 };
		int fd = create_modes(self->dev, size, &m), h, wrong;

		ASSERT_LE(0, fd) TH_LOG("%s", layouts[i].name);
		h = import_map(self->imp, fd, &info);
		ASSERT_LE(0, h) TH_LOG("%s", layouts[i].name);
		EXPECT_EQ(size, info.dma_length);
		switch (layouts[i].layout) {
		case VDMABUF_SG_PER_PAGE:
		case VDMABUF_SG_SCATTERED:
			EXPECT_EQ(pages, info.sg_entries) TH_LOG("%s", layouts[i].name);
			break;
		case VDMABUF_SG_CONTIGUOUS:
			EXPECT_EQ(1, info.sg_entries);
			break;
		case VDMABUF_SG_CAPPED:
			EXPECT_LE(size / (16 * PAGE), info.sg_entries);
			break;
		default:
			EXPECT_GE(pages, info.sg_entries);
		}
		wrong = contiguity_assumption_errors(self->imp, h, size);
		ksft_print_msg("%-17s %4u entries; assuming contiguity gets %d of %zu pages wrong\n",
			       layouts[i].name, info.sg_entries, wrong, pages);
		if (layouts[i].layout == VDMABUF_SG_CONTIGUOUS)
			EXPECT_EQ(0, wrong);
		/*
		 * No page follows its predecessor, so at least the second is wrong; a page may still
		 * land where the assumption puts it by chance, but hardly many.
		 */
		if (layouts[i].layout == VDMABUF_SG_SCATTERED)
			EXPECT_LE((int)pages / 2, wrong);
		imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
		close(fd);
	}
}

TEST_F(modes, layouts_survive_migration_with_their_data)
{
	struct vdmabuf_modes m = { .sg_layout = VDMABUF_SG_SCATTERED };
	struct vdmabuf_importer_info info = { 0 };
	uint8_t *p;
	int fd, h;

	fd = create_modes(self->dev, 64 * PAGE, &m);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, 64 * PAGE, 9);
	ASSERT_EQ(0, vdmabuf_migrate(self->dev, fd));
	EXPECT_EQ(-1, check_pattern(p, 64 * PAGE, 9, 0));
	h = import_map(self->imp, fd, &info);
	ASSERT_LE(0, h);
	EXPECT_EQ(64, info.sg_entries);
	EXPECT_LE(32, contiguity_assumption_errors(self->imp, h, 64 * PAGE));
	munmap(p, 64 * PAGE);
	imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
	close(fd);
}

TEST_F(modes, injected_failures_reach_userspace_as_chosen)
{
	struct vdmabuf_modes m = { .fail_nth = 2, .fail_errno = -ENXIO };
	long injected = vdmabuf_count("injected");
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ };
	int fd, h, h2;
	void *p;

	/* attach: the second import fails. */
	m.fail_op = VDMABUF_FAIL_ATTACH;
	fd = create_modes(self->dev, PAGE, &m);
	ASSERT_LE(0, fd);
	h = imp_import(self->imp, fd, 0);
	ASSERT_LE(0, h);
	EXPECT_EQ(-ENXIO, imp_import(self->imp, fd, 0));
	h2 = imp_import(self->imp, fd, 0);
	EXPECT_LE(0, h2);
	close(fd);

	/* map: the second map fails, the third works. */
	m.fail_op = VDMABUF_FAIL_MAP;
	m.fail_errno = -EIO;
	fd = create_modes(self->dev, PAGE, &m);
	ASSERT_LE(0, fd);
	h = imp_import(self->imp, fd, 0);
	ASSERT_LE(0, h);
	EXPECT_EQ(0, imp_map(self->imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL));
	EXPECT_EQ(0, imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_UNMAP, h));
	EXPECT_EQ(-EIO, imp_map(self->imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL));
	EXPECT_EQ(0, imp_map(self->imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL));
	close(fd);

	/* begin_cpu_access, every second time. */
	m.fail_op = VDMABUF_FAIL_BEGIN_CPU_ACCESS;
	m.fail_errno = -EAGAIN;
	m.fail_flags = VDMABUF_FAIL_EVERY;
	fd = create_modes(self->dev, PAGE, &m);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, vdmabuf_ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync));
	EXPECT_EQ(-EAGAIN, vdmabuf_ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync));
	EXPECT_EQ(0, vdmabuf_ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync));
	EXPECT_EQ(-EAGAIN, vdmabuf_ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync));
	close(fd);

	/* mmap: the first one fails. */
	m.fail_op = VDMABUF_FAIL_MMAP;
	m.fail_nth = 1;
	m.fail_errno = -ENOMEM;
	m.fail_flags = 0;
	fd = create_modes(self->dev, PAGE, &m);
	ASSERT_LE(0, fd);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(ENOMEM, errno);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_NE(MAP_FAILED, p);
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	close(fd);

	EXPECT_EQ(injected + 5, vdmabuf_count("injected"));
}

/*
 * Through vgem. vgem 7.2 imports with drm_gem_shmem_prime_import_no_map(): it attaches and never
 * maps the attachment, and drm_gem_dumb_map_offset() refuses imported objects, so neither an
 * injected map failure nor an mmap failure can reach it; an injected attach failure fails its
 * PRIME import with the chosen errno.
 */
TEST_F(modes, injected_attach_failure_reaches_vgem)
{
	struct vdmabuf_modes attach = {
		.fail_op = VDMABUF_FAIL_ATTACH, .fail_nth = 2, .fail_errno = -ENXIO,
		.fail_flags = VDMABUF_FAIL_EVERY,
	};
	int vgem = vgem_open(), vgem2 = vgem_open(), fd;

	if (vgem < 0 || vgem2 < 0)
		SKIP(return, "no vgem");
	fd = create_modes(self->dev, PAGE, &attach);
	ASSERT_LE(0, fd);
	EXPECT_LT(0, vgem_import(vgem, fd));
	/* vgem keeps one import per dma-buf and file; a second file imports it again. */
	EXPECT_EQ(-ENXIO, vgem_import(vgem2, fd));
	close(fd);
	close(vgem2);
	close(vgem);
}

/*
 * vgem's imports under move pressure: vgem attaches without mapping (see above), so what it can
 * do with an import is hand it back (PRIME_HANDLE_TO_FD gives the same dma-buf) and import it
 * again. Both keep working while a dynamic importer has the buffer moving, and the dma-buf it
 * hands back holds the data through every move.
 */
TEST_F(modes, vgem_imports_keep_working_under_move_pressure)
{
	struct vdmabuf_modes m = { .move_interval_ms = 20 };
	const size_t size = 16 * PAGE;
	int vgem = vgem_open(), fd, h, gem, rounds = 0;
	long moves0;
	struct stat a, b;
	double end;
	uint8_t *p;

	if (vgem < 0)
		SKIP(return, "no vgem");
	fd = create_modes(self->dev, size, &m);
	ASSERT_LE(0, fd);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, size, 31);
	munmap(p, size);
	ASSERT_EQ(0, fstat(fd, &a));
	gem = vgem_import(vgem, fd);
	ASSERT_LT(0, gem);
	moves0 = vdmabuf_count("migrations");
	h = imp_import(self->imp, fd, VDMABUF_IMPORT_DYNAMIC);
	ASSERT_LE(0, h);
	for (end = now() + 1.0; now() < end; rounds++) {
		struct drm_prime_handle back = { .handle = gem, .flags = DRM_CLOEXEC | DRM_RDWR };
		int vgem2 = vgem_open(), gem2;

		ASSERT_EQ(0, vdmabuf_ioctl(vgem, DRM_IOCTL_PRIME_HANDLE_TO_FD, &back));
		ASSERT_EQ(0, fstat(back.fd, &b));
		EXPECT_EQ(a.st_ino, b.st_ino);
		p = mmap(NULL, size, PROT_READ, MAP_SHARED, back.fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(-1, check_pattern(p, size, 31, 0)) TH_LOG("round %d", rounds);
		munmap(p, size);
		close(back.fd);
		ASSERT_LE(0, vgem2);
		gem2 = vgem_import(vgem2, fd);
		EXPECT_LT(0, gem2);
		close(vgem2);
		usleep(20000);
	}
	ksft_print_msg("%d rounds, %ld moves\n", rounds, vdmabuf_count("migrations") - moves0);
	EXPECT_LE(3, vdmabuf_count("migrations") - moves0);
	imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
	EXPECT_EQ(0, vgem_close_handle(vgem, gem));
	close(vgem);
	close(fd);
}

TEST_F(modes, map_delay_slows_every_map)
{
	struct vdmabuf_modes m = { .map_delay_ms = 200 };
	double t0, t1;
	int fd, h;

	fd = create_modes(self->dev, PAGE, &m);
	ASSERT_LE(0, fd);
	h = imp_import(self->imp, fd, 0);
	ASSERT_LE(0, h);
	t0 = now();
	ASSERT_EQ(0, imp_map(self->imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL));
	t1 = now();
	EXPECT_GE(t1 - t0, 0.19);
	close(fd);
}

TEST_F(modes, fences_signal_by_themselves_with_the_chosen_status)
{
	struct vdmabuf_modes ok = { .fence_delay_ms = 100 };
	struct vdmabuf_modes bad = { .fence_delay_ms = 100, .fence_error = -EPIPE };
	int fd, sf, h;
	double t0;

	fd = create_modes(self->dev, PAGE, &ok);
	ASSERT_LE(0, fd);
	t0 = now();
	h = vdmabuf_fence(self->dev, fd, VDMABUF_USAGE_WRITE, &sf);
	ASSERT_LE(0, h);
	EXPECT_EQ(0, poll_events(sf, POLLIN, 20));
	EXPECT_EQ(POLLIN, poll_events(sf, POLLIN, 5000));
	EXPECT_GE(now() - t0, 0.09);
	EXPECT_EQ(1, sync_file_status(sf));
	/* Signalled already: the handle is released with ETIMEDOUT, as after a timeout. */
	EXPECT_EQ(-ETIMEDOUT, vdmabuf_signal(self->dev, h, 0));
	close(sf);
	close(fd);

	/* With an error: implicit-sync readers see it. */
	fd = create_modes(self->dev, PAGE, &bad);
	ASSERT_LE(0, fd);
	h = vdmabuf_fence(self->dev, fd, VDMABUF_USAGE_WRITE, &sf);
	ASSERT_LE(0, h);
	EXPECT_EQ(POLLIN, poll_events(sf, POLLIN, 5000));
	EXPECT_EQ(-EPIPE, sync_file_status(sf));
	EXPECT_EQ(POLLIN, poll_events(fd, POLLIN, 0));
	close(sf);
	close(fd);
}

TEST_F(modes, bad_modes_are_refused)
{
	static const struct vdmabuf_modes bad[] = {
		{ .sg_layout = 5 },
		{ .sg_layout = VDMABUF_SG_CAPPED },
		{ .sg_layout = VDMABUF_SG_CAPPED, .sg_max_entry = 100 },
		{ .sg_max_entry = PAGE },
		{ .fail_op = 5, .fail_nth = 1, .fail_errno = -EIO },
		{ .fail_op = VDMABUF_FAIL_MAP, .fail_errno = -EIO },
		{ .fail_op = VDMABUF_FAIL_MAP, .fail_nth = 1 },
		{ .fail_op = VDMABUF_FAIL_MAP, .fail_nth = 1, .fail_errno = -4096 },
		{ .fail_op = VDMABUF_FAIL_MAP, .fail_nth = 1, .fail_errno = 5 },
		{ .fail_nth = 1 },
		{ .fail_flags = 2 },
		{ .map_delay_ms = 1001 },
		{ .fence_error = -EIO },
		{ .fence_delay_ms = 10001 },
		{ .fence_delay_ms = 10, .fence_error = 1 },
		{ .pad = 1 },
		{ .flags = 2 },
		{ .flags = ~VDMABUF_MODE_FLAGS },
		{ .move_interval_ms = 9 },
		{ .move_interval_ms = 10001 },
	};
	struct vdmabuf_modes contiguous = { .sg_layout = VDMABUF_SG_CONTIGUOUS };
	long before = vdmabuf_count("buffers");
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, create_modes(self->dev, PAGE, &bad[i])) TH_LOG("case %u", i);
	EXPECT_EQ(-EFAULT, create_modes(self->dev, PAGE, (void *)8));
	/* A contiguous layout has the contiguous limit. */
	EXPECT_EQ(-EINVAL, create_modes(self->dev, VDMABUF_MAX_CONTIGUOUS + PAGE, &contiguous));
	EXPECT_EQ(before, vdmabuf_count("buffers"));
}

TEST_F(modes, modes_show_in_debugfs)
{
	struct vdmabuf_modes m = {
		.sg_layout = VDMABUF_SG_CAPPED, .sg_max_entry = 65536, .fail_op = VDMABUF_FAIL_MAP,
		.fail_nth = 3, .fail_errno = -EIO, .map_delay_ms = 10, .fence_delay_ms = 50,
		.fence_error = -EIO,
	};
	char want[96], *list, *line;
	struct stat st;
	int fd;

	fd = create_modes(self->dev, PAGE, &m);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	list = read_file("/sys/kernel/debug/vdmabuf/buffers/list");
	ASSERT_NE(NULL, list);
	snprintf(want, sizeof(want), "%lu ", (unsigned long)st.st_ino);
	line = strstr(list, want);
	ASSERT_NE(NULL, line) TH_LOG("%s", list);
	EXPECT_NE(NULL, strstr(line, " - sg=capped:65536,fail=map@3:-5,map_delay=10,fence=50:-5\n"))
		TH_LOG("%s", list);
	free(list);
	/* fdinfo shows the dma-buf's name, which starts as the modes, cut at 31 bytes. */
	snprintf(want, sizeof(want), "/proc/self/fdinfo/%d", fd);
	list = read_file(want);
	ASSERT_NE(NULL, list);
	EXPECT_NE(NULL, strstr(list, "name:\tsg=capped:65536,fail=map@3:-5,m\n")) TH_LOG("%s", list);
	free(list);
	close(fd);
}

TEST_F(modes, importer_segments_bad_input)
{
	struct vdmabuf_importer_segments q = { .handle = 12345 };
	struct vdmabuf_importer_segment one;
	struct vdmabuf_modes m = { .sg_layout = VDMABUF_SG_PER_PAGE };
	int fd, h;

	EXPECT_EQ(-ENOENT, vdmabuf_ioctl(self->imp, VDMABUF_IMPORTER_IOCTL_SEGMENTS, &q));
	fd = create_modes(self->dev, 4 * PAGE, &m);
	ASSERT_LE(0, fd);
	h = imp_import(self->imp, fd, 0);
	ASSERT_LE(0, h);
	q.handle = h;
	EXPECT_EQ(-ENODATA, vdmabuf_ioctl(self->imp, VDMABUF_IMPORTER_IOCTL_SEGMENTS, &q));
	ASSERT_EQ(0, imp_map(self->imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL));
	/* Asking for the number; then less room than segments: one written, four reported. */
	EXPECT_EQ(0, vdmabuf_ioctl(self->imp, VDMABUF_IMPORTER_IOCTL_SEGMENTS, &q));
	EXPECT_EQ(4, q.count);
	q.count = 1;
	q.segments = (uintptr_t)&one;
	EXPECT_EQ(0, vdmabuf_ioctl(self->imp, VDMABUF_IMPORTER_IOCTL_SEGMENTS, &q));
	EXPECT_EQ(4, q.count);
	EXPECT_EQ(PAGE, one.length);
	q.count = 4;
	q.segments = 8;
	EXPECT_EQ(-EFAULT, vdmabuf_ioctl(self->imp, VDMABUF_IMPORTER_IOCTL_SEGMENTS, &q));
	close(fd);
}

/*
 * Move pressure: while a dynamic importer has the buffer, it migrates by itself every 20 ms.
 * The importer is told each time (invalidate_mappings), maps again, and always reads the data
 * the CPU wrote; when it lets go, the moves stop.
 */
TEST_F(modes, move_pressure_keeps_a_dynamic_importer_right)
{
	struct vdmabuf_modes m = { .move_interval_ms = 20 };
	struct vdmabuf_importer_info info = { 0 };
	const size_t size = 64 * PAGE;
	long moves0, moves1, reads = 0;
	uint64_t want, sum;
	uint8_t *p;
	double end;
	int fd, h;

	fd = create_modes(self->dev, size, &m);
	ASSERT_LE(0, fd);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, size, 77);
	want = fnv1a(p, size);
	/* A static import does not start the moves. */
	h = imp_import(self->imp, fd, 0);
	ASSERT_LE(0, h);
	moves0 = vdmabuf_count("migrations");
	usleep(200000);
	EXPECT_EQ(moves0, vdmabuf_count("migrations"));
	imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);

	h = imp_import(self->imp, fd, VDMABUF_IMPORT_DYNAMIC);
	ASSERT_LE(0, h);
	for (end = now() + 1.5; now() < end; reads++) {
		ASSERT_EQ(0, imp_map(self->imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL));
		ASSERT_EQ(0, imp_read(self->imp, h, 0, size, &sum));
		ASSERT_EQ(want, sum) TH_LOG("read %ld", reads);
		usleep(5000);
	}
	ASSERT_EQ(0, imp_info(self->imp, h, &info));
	moves1 = vdmabuf_count("migrations");
	ksft_print_msg("%ld moves in 1.5 s, %llu invalidations, %ld reads all right\n",
		       moves1 - moves0, (unsigned long long)info.invalidations, reads);
	/* Reads vmap the buffer, which blocks a move that time: how many get through varies. */
	EXPECT_LE(3, moves1 - moves0);
	EXPECT_LE(3, info.invalidations);
	/* The CPU's mapping follows the moves. */
	EXPECT_EQ(-1, check_pattern(p, size, 77, 0));
	/* Letting go stops them (one already queued may still run). */
	imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
	usleep(100000);
	moves1 = vdmabuf_count("migrations");
	usleep(300000);
	EXPECT_EQ(moves1, vdmabuf_count("migrations"));
	munmap(p, size);
	close(fd);
}

/* The hash of bytes [@from, @to) of pattern @seed (0: of zeros). */
static uint64_t range_fnv(unsigned int seed, size_t from, size_t to)
{
	uint8_t *b = calloc(1, to - from);
	uint64_t h;
	size_t i;

	for (i = from; seed && i < to; i++)
		b[i - from] = pattern_byte(seed, i);
	h = fnv1a(b, to - from);
	free(b);
	return h;
}

/* Expects the importer's device to read pattern @seed (0: zeros) over [@from, @to). */
#define EXPECT_DEVICE_SEES(h, seed, from, to) do {						\
	uint64_t sum_ = 0;									\
	EXPECT_EQ(0, imp_dma_read(self->imp, h, from, (to) - (from), &sum_));			\
	EXPECT_EQ(range_fnv(seed, from, to), sum_) TH_LOG("device view is not pattern %d", seed); \
} while (0)

/*
 * The non-coherent mode shows the most common dma-buf userspace bug: CPU access through mmap
 * without DMA_BUF_IOCTL_SYNC, or with the wrong direction. The importer's device reads and
 * writes through its mapping (DMA_READ, DMA_FILL), the program through mmap.
 */
TEST_F(modes, noncoherent_cpu_and_device_see_each_other_only_through_syncs)
{
	struct vdmabuf_modes m = { .flags = VDMABUF_MODE_NONCOHERENT };
	const size_t size = 16 * PAGE;
	struct vdmabuf_importer_info info;
	uint8_t *p;
	int fd, h, h2;

	fd = create_modes(self->dev, size, &m);
	ASSERT_LE(0, fd);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	h = import_map(self->imp, fd, &info);
	ASSERT_LE(0, h);

	/* A writer that forgets the sync: the device reads stale memory. */
	fill_pattern(p, size, 1);
	EXPECT_DEVICE_SEES(h, 0, 0, size);
	/* The same write, synced: the device sees it. */
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	fill_pattern(p, size, 1);
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	EXPECT_DEVICE_SEES(h, 1, 0, size);

	/* A writer that syncs for reading only: stale until a sync for writing. */
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	fill_pattern(p, size, 2);
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_DEVICE_SEES(h, 1, 0, size);
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	EXPECT_DEVICE_SEES(h, 2, 0, size);

	/* A reader that forgets the sync reads stale data; synced, the device's. */
	ASSERT_EQ(0, imp_dma_fill(self->imp, h, 3, 0, size));
	EXPECT_EQ(-1, check_pattern(p, size, 2, 0));
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, check_pattern(p, size, 3, 0));
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));

	/* A reader that syncs for writing only reads stale data, and its sync loses nothing. */
	ASSERT_EQ(0, imp_dma_fill(self->imp, h, 4, 0, size));
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(-1, check_pattern(p, size, 3, 0));
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	EXPECT_DEVICE_SEES(h, 4, 0, size);
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, check_pattern(p, size, 4, 0));
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));

	/*
	 * Whole cache lines: the device writes bytes 1-63 of the first line, the CPU (which did not
	 * sync for reading) byte 0 of it; writing back the CPU's line undoes the device's bytes.
	 */
	ASSERT_EQ(0, imp_dma_fill(self->imp, h, 5, 1, 63));
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	p[0] = pattern_byte(5, 0);
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	EXPECT_DEVICE_SEES(h, 4, 1, 64);
	EXPECT_DEVICE_SEES(h, 4, 64, size);

	/* A new mapping writes back what the CPU wrote without a sync... */
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	fill_pattern(p, size, 6);
	EXPECT_DEVICE_SEES(h, 4, 64, size);
	h2 = import_map(self->imp, fd, &info);
	ASSERT_LE(0, h2);
	EXPECT_DEVICE_SEES(h2, 6, 0, size);
	EXPECT_DEVICE_SEES(h, 6, 0, size);
	/* ...and unmapping one the device wrote through makes the CPU see the device's data. */
	ASSERT_EQ(0, imp_dma_fill(self->imp, h2, 7, 0, size));
	EXPECT_EQ(-1, check_pattern(p, size, 6, 0));
	ASSERT_EQ(0, imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h2));
	EXPECT_EQ(-1, check_pattern(p, size, 7, 0));

	/* Migration moves both views and what the CPU has not written back. */
	ASSERT_EQ(0, imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h));
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	fill_pattern(p, size, 8);
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	fill_pattern(p, size / 2, 9);
	ASSERT_EQ(0, vdmabuf_migrate(self->dev, fd));
	EXPECT_EQ(-1, check_pattern(p, size / 2, 9, 0));
	h = import_map(self->imp, fd, &info);
	ASSERT_LE(0, h);
	EXPECT_DEVICE_SEES(h, 9, 0, size / 2);
	EXPECT_DEVICE_SEES(h, 8, size / 2, size);

	munmap(p, size);
	imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
	close(fd);
}

/* The default stays coherent: the device sees unsynced CPU writes at once, and vice versa. */
TEST_F(modes, default_buffers_are_coherent_for_the_device)
{
	struct vdmabuf_importer_info info;
	const size_t size = 4 * PAGE;
	uint8_t *p;
	int fd, h;

	fd = create_modes(self->dev, size, NULL);
	ASSERT_LE(0, fd);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	h = import_map(self->imp, fd, &info);
	ASSERT_LE(0, h);
	fill_pattern(p, size, 1);
	EXPECT_DEVICE_SEES(h, 1, 0, size);
	ASSERT_EQ(0, imp_dma_fill(self->imp, h, 2, 0, size));
	EXPECT_EQ(-1, check_pattern(p, size, 2, 0));
	munmap(p, size);
	imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
	close(fd);
}

/* Device access needs a mapping in a direction that allows it, inside the buffer. */
TEST_F(modes, importer_device_access_bad_input)
{
	uint64_t sum;
	int fd, h;

	fd = create_modes(self->dev, 4 * PAGE, NULL);
	ASSERT_LE(0, fd);
	h = imp_import(self->imp, fd, 0);
	ASSERT_LE(0, h);
	EXPECT_EQ(-ENODATA, imp_dma_read(self->imp, h, 0, PAGE, &sum));
	EXPECT_EQ(-ENODATA, imp_dma_fill(self->imp, h, 1, 0, PAGE));
	ASSERT_EQ(0, imp_map(self->imp, h, VDMABUF_IMPORTER_TO_DEVICE));
	EXPECT_EQ(0, imp_dma_read(self->imp, h, 0, PAGE, &sum));
	EXPECT_EQ(-EPERM, imp_dma_fill(self->imp, h, 1, 0, PAGE));
	ASSERT_EQ(0, imp_map(self->imp, h, VDMABUF_IMPORTER_FROM_DEVICE));
	EXPECT_EQ(-EPERM, imp_dma_read(self->imp, h, 0, PAGE, &sum));
	EXPECT_EQ(0, imp_dma_fill(self->imp, h, 1, 0, PAGE));
	EXPECT_EQ(-EINVAL, imp_dma_fill(self->imp, h, 1, 4 * PAGE - 1, 2));
	EXPECT_EQ(-EINVAL, imp_dma_fill(self->imp, h, 1, 0, 0));
	EXPECT_EQ(-ENOENT, imp_dma_read(self->imp, h + 100, 0, PAGE, &sum));
	imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
	close(fd);
}

TEST_HARNESS_MAIN
