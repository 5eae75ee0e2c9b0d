// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for /dev/vdmabuf, the virtual dma-buf exporter: buffer creation and its input
 * checks, CPU access through mmap and DMA_BUF_IOCTL_SYNC, lifetimes, migration, debugfs, fdinfo,
 * module unload, and import into vgem.
 *
 * The limit tests read the module parameters the VM loaded vdmabuf with from the environment
 * (VDMABUF_MAX_SIZE_MB, VDMABUF_MAX_TOTAL_MB, VDMABUF_MAX_BUFFERS) and skip without them.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vdmabuf_util.h"

#define PAGE 4096UL
#define MIB (1UL << 20)

FIXTURE(vdmabuf) {
	int dev;
};

FIXTURE_SETUP(vdmabuf)
{
	self->dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	if (self->dev < 0 && errno == ENOENT)
		SKIP(return, VDMABUF_DEV " is absent: vdmabuf.ko is not loaded");
	ASSERT_LE(0, self->dev) TH_LOG("open " VDMABUF_DEV ": %s", strerror(errno));
}

FIXTURE_TEARDOWN(vdmabuf)
{
	if (self->dev >= 0)
		EXPECT_EQ(0, close(self->dev));
}

/* Writes @val to the fault-injection knob @knob of @type ("failslab", "fail_page_alloc"). */
static int fault_knob(const char *type, const char *knob, const char *val)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s/%s", type, knob);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -EIO;
}

/*
 * Makes every allocation of this task fail once @space bytes have been allocated, runs one
 * create, and returns its result. @fail is an open /proc/self/make-it-fail: while failing, this
 * task could not open it to switch failing off.
 */
static int create_failing_after(int fail, const char *type, long space, __u64 size, int dev)
{
	char buf[32];
	int ret;

	snprintf(buf, sizeof(buf), "%ld", space);
	if (fault_knob(type, "space", buf) || pwrite(fail, "1", 1, 0) != 1)
		return -ENOSYS;
	ret = vdmabuf_create(dev, size, VDMABUF_CREATE_RDWR);
	if (pwrite(fail, "0", 1, 0) != 1)
		return -ENOSYS;
	return ret;
}

/* Fails every allocation point of the create path in turn: each failure must unwind cleanly. */
static void unwind_each_failure(struct __test_metadata *_metadata, int dev, const char *type,
				long step, __u64 size)
{
	const char *setup[][2] = {
		{ "probability", "100" }, { "interval", "1" }, { "times", "-1" },
		{ "verbose", "0" }, { "task-filter", "Y" }, { "ignore-gfp-wait", "N" },
	};
	long space, failures = 0;
	int i, fd = -ENOMEM, fail;

	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, fault_knob(type, setup[i][0], setup[i][1]));
	if (!strcmp(type, "fail_page_alloc")) {
		ASSERT_EQ(0, fault_knob(type, "ignore-gfp-highmem", "N"));
		ASSERT_EQ(0, fault_knob(type, "min-order", "0"));
	}
	fail = open("/proc/self/make-it-fail", O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fail);
	for (space = 0; space < 1000 * step && fd < 0; space += step) {
		fd = create_failing_after(fail, type, space, size, dev);
		if (fd < 0) {
			EXPECT_EQ(-ENOMEM, fd) TH_LOG("%s space %ld: %s", type, space, strerror(-fd));
			EXPECT_EQ(0, vdmabuf_count("buffers")) TH_LOG("%s space %ld", type, space);
			EXPECT_EQ(0, vdmabuf_count("bytes"));
			failures++;
		}
	}
	EXPECT_EQ(0, close(fail));
	ASSERT_LE(0, fd) TH_LOG("%s: create never succeeded", type);
	EXPECT_LT(0, failures) TH_LOG("%s: no allocation was failed", type);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, fault_knob(type, "probability", "0"));
	TH_LOG("%s: %ld allocation failures unwound", type, failures);
}

TEST_F(vdmabuf, create_unwinds_failed_allocations)
{
	if (access("/sys/kernel/debug/failslab", F_OK) ||
	    access("/sys/kernel/debug/fail_page_alloc", F_OK))
		SKIP(return, "no fault injection in debugfs");
	ASSERT_EQ(0, vdmabuf_count("buffers"));
	/* failslab counts "space" in bytes, fail_page_alloc in pages. */
	unwind_each_failure(_metadata, self->dev, "failslab", 64, 8 * PAGE);
	unwind_each_failure(_metadata, self->dev, "fail_page_alloc", 1, 8 * PAGE);
}

TEST_F(vdmabuf, fatal_signal_during_large_create_leaves_nothing)
{
	long max_mb = env_long("VDMABUF_MAX_SIZE_MB", 256);
	int status;
	pid_t pid;

	ASSERT_EQ(0, vdmabuf_count("buffers"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Create and drop the largest buffer until killed. */
		for (;;) {
			int fd = vdmabuf_create(self->dev, max_mb * MIB, 0);

			if (fd >= 0)
				close(fd);
		}
	}
	usleep(300 * 1000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Whatever the child was doing when it died, nothing of it stays. */
	EXPECT_EQ(0, vdmabuf_count("buffers"));
	EXPECT_EQ(0, vdmabuf_count("bytes"));
	EXPECT_EQ(0, vdmabuf_count("attachments"));
}

TEST_F(vdmabuf, open_close_many)
{
	int fds[64];
	int i;

	/* Every open gets its own file; closing them in any order releases them. */
	for (i = 0; i < 64; i++) {
		fds[i] = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 64; i += 2) {
		EXPECT_EQ(0, close(fds[i]));
	}
	for (i = 63; i > 0; i -= 2) {
		EXPECT_EQ(0, close(fds[i]));
	}
}

TEST_F(vdmabuf, unknown_ioctl_is_enotty)
{
	__u64 arg = 0;

	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, VDMABUF_TEST_BAD_IOCTL, &arg));
	/* A foreign ioctl type with a valid-looking number is unknown too. */
	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, _IOWR('b', 0x00, __u64), &arg));
	/* The right number with the wrong size or direction is a different ioctl. */
	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, _IO(0xB9, 0x00), NULL));
	EXPECT_EQ(-ENOTTY, vdmabuf_ioctl(self->dev, _IOWR(0xB9, 0x00, __u64), &arg));
}

TEST_F(vdmabuf, create_rejects_bad_sizes)
{
	EXPECT_EQ(-EINVAL, vdmabuf_create(self->dev, 0, VDMABUF_CREATE_RDWR));
	EXPECT_EQ(-EINVAL, vdmabuf_create(self->dev, 1, VDMABUF_CREATE_RDWR));
	EXPECT_EQ(-EINVAL, vdmabuf_create(self->dev, PAGE - 1, VDMABUF_CREATE_RDWR));
	EXPECT_EQ(-EINVAL, vdmabuf_create(self->dev, PAGE + 1, VDMABUF_CREATE_RDWR));
	EXPECT_EQ(-EINVAL, vdmabuf_create(self->dev, ~0ULL, VDMABUF_CREATE_RDWR));
	EXPECT_EQ(-EINVAL, vdmabuf_create(self->dev, ~0ULL & ~(PAGE - 1), VDMABUF_CREATE_RDWR));
	EXPECT_EQ(-EINVAL, vdmabuf_create(self->dev, 1ULL << 62, VDMABUF_CREATE_RDWR));
}

TEST_F(vdmabuf, create_rejects_unknown_flags_and_padding)
{
	struct vdmabuf_create args = { .size = PAGE, .fd = -1 };
	int bit;

	/* Bits 0-2 are CLOEXEC, RDWR and CONTIGUOUS; bit 3 (VDMABUF_FORMAT_DISJOINT) is for
	 * format-aware buffers only. */
	for (bit = 3; bit < 32; bit++) {
		args.flags = 1u << bit;
		EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_CREATE, &args));
	}
	args.flags = VDMABUF_CREATE_RDWR;
	/* modes is a pointer: a bad one is EFAULT. */
	args.modes = 1;
	EXPECT_EQ(-EFAULT, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_CREATE, &args));
	/* A rejected request returns no descriptor. */
	EXPECT_EQ(-1, args.fd);
	/* A bad argument pointer is EFAULT, and nothing is created. */
	EXPECT_EQ(-EFAULT, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_CREATE, NULL));
	EXPECT_EQ(-EFAULT, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_CREATE, (void *)8));
}

TEST_F(vdmabuf, create_size_limit)
{
	long max_mb = env_long("VDMABUF_MAX_SIZE_MB", -1);
	int fd;

	if (max_mb < 0)
		SKIP(return, "VDMABUF_MAX_SIZE_MB not set");
	fd = vdmabuf_create(self->dev, max_mb * MIB, VDMABUF_CREATE_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(-EINVAL, vdmabuf_create(self->dev, max_mb * MIB + PAGE, VDMABUF_CREATE_RDWR));
}

TEST_F(vdmabuf, create_total_and_count_limits)
{
	long total_mb = env_long("VDMABUF_MAX_TOTAL_MB", -1);
	long max_bufs = env_long("VDMABUF_MAX_BUFFERS", -1);
	long max_mb = env_long("VDMABUF_MAX_SIZE_MB", -1);
	int fds[512];
	long n = 0, i;

	if (total_mb < 0 || max_bufs < 0 || max_mb < 0 || max_bufs > 512)
		SKIP(return, "VDMABUF_MAX_{TOTAL_MB,BUFFERS,SIZE_MB} not set");
	ASSERT_EQ(0, vdmabuf_count("buffers"));

	/* Fill the byte budget with the largest buffers, then one page more fails. */
	while ((n + 1) * max_mb <= total_mb) {
		fds[n] = vdmabuf_create(self->dev, max_mb * MIB, 0);
		ASSERT_LE(0, fds[n]) TH_LOG("buffer %ld: %s", n, strerror(-fds[n]));
		n++;
	}
	if (n * max_mb == total_mb)
		EXPECT_EQ(-ENOSPC, vdmabuf_create(self->dev, PAGE, 0));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, close(fds[i]));
	}

	/* The count limit, with small buffers; a failure counts nothing. */
	for (n = 0; n < max_bufs; n++) {
		fds[n] = vdmabuf_create(self->dev, PAGE, 0);
		ASSERT_LE(0, fds[n]);
	}
	EXPECT_EQ(-ENOSPC, vdmabuf_create(self->dev, PAGE, 0));
	EXPECT_EQ(max_bufs, vdmabuf_count("buffers"));
	EXPECT_EQ(0, close(fds[0]));
	fds[0] = vdmabuf_create(self->dev, PAGE, 0);
	EXPECT_LE(0, fds[0]);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, close(fds[i]));
	}
	EXPECT_EQ(0, vdmabuf_count("buffers"));
	EXPECT_EQ(0, vdmabuf_count("bytes"));
}

TEST_F(vdmabuf, create_flags_set_cloexec_and_access_mode)
{
	int fd, fl;
	void *p;

	fd = vdmabuf_create(self->dev, PAGE, VDMABUF_CREATE_CLOEXEC | VDMABUF_CREATE_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	fl = fcntl(fd, F_GETFL);
	EXPECT_EQ(O_RDWR, fl & O_ACCMODE);
	EXPECT_EQ(0, close(fd));

	fd = vdmabuf_create(self->dev, PAGE, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	/* A read-only buffer maps for reading only. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	EXPECT_EQ(EACCES, errno);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, first_nonzero(p, PAGE));
	EXPECT_EQ(0, munmap(p, PAGE));
	EXPECT_EQ(0, close(fd));
}

/* Writes a pattern through one mapping and reads it back through another. */
static void write_read_back(struct __test_metadata *_metadata, int dev, size_t size)
{
	uint8_t *w, *r;
	int fd;

	fd = vdmabuf_create(dev, size, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("size %zu: %s", size, strerror(-fd));
	EXPECT_EQ(size, lseek(fd, 0, SEEK_END));
	w = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, w);
	EXPECT_EQ(-1, first_nonzero(w, size)) TH_LOG("size %zu not zeroed", size);
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	fill_pattern(w, size, size / PAGE);
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(0, munmap(w, size));

	r = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, r);
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, check_pattern(r, size, size / PAGE, 0)) TH_LOG("size %zu", size);
	ASSERT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, munmap(r, size));
	EXPECT_EQ(0, close(fd));
}

TEST_F(vdmabuf, mmap_write_read_back)
{
	size_t sizes[] = { PAGE, 2 * PAGE, 17 * PAGE, 64 * 1024 + PAGE, MIB, 4 * MIB + 3 * PAGE };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		write_read_back(_metadata, self->dev, sizes[i]);
}

TEST_F(vdmabuf, zeroed_on_create)
{
	int fds[16];
	void *p;
	int i;

	/* Dirty memory, free it, and check that new buffers never show it. */
	for (i = 0; i < 16; i++) {
		fds[i] = vdmabuf_create(self->dev, 256 * 1024, VDMABUF_CREATE_RDWR);
		ASSERT_LE(0, fds[i]);
		p = mmap(NULL, 256 * 1024, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		ASSERT_NE(MAP_FAILED, p);
		memset(p, 0xa5, 256 * 1024);
		EXPECT_EQ(0, munmap(p, 256 * 1024));
	}
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(0, close(fds[i]));
	}
	for (i = 0; i < 16; i++) {
		fds[i] = vdmabuf_create(self->dev, 256 * 1024, 0);
		ASSERT_LE(0, fds[i]);
		p = mmap(NULL, 256 * 1024, PROT_READ, MAP_SHARED, fds[i], 0);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(-1, first_nonzero(p, 256 * 1024)) TH_LOG("buffer %d", i);
		EXPECT_EQ(0, munmap(p, 256 * 1024));
	}
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(0, close(fds[i]));
	}
}

TEST_F(vdmabuf, sync_in_all_directions)
{
	__u64 dirs[] = { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW };
	int fd, i;

	fd = vdmabuf_create(self->dev, 16 * PAGE, VDMABUF_CREATE_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | dirs[i]));
		EXPECT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | dirs[i]));
	}
	/* Nested and unbalanced brackets are the caller's business; none of them fails. */
	EXPECT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	/* The core rejects no direction and unknown bits. */
	EXPECT_EQ(-EINVAL, dmabuf_sync(fd, DMA_BUF_SYNC_START));
	EXPECT_EQ(-EINVAL, dmabuf_sync(fd, DMA_BUF_SYNC_RW | 8));
	EXPECT_EQ(0, close(fd));
}

TEST_F(vdmabuf, mmap_offsets_and_bounds)
{
	size_t size = 40 * PAGE;
	uint8_t *all, *part;
	int fd;

	fd = vdmabuf_create(self->dev, size, VDMABUF_CREATE_RDWR);
	ASSERT_LE(0, fd);
	all = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, all);
	fill_pattern(all, size, 7);

	/* A mapping at a page offset sees the buffer from that offset on. */
	part = mmap(NULL, 5 * PAGE, PROT_READ, MAP_SHARED, fd, 33 * PAGE);
	ASSERT_NE(MAP_FAILED, part);
	EXPECT_EQ(-1, check_pattern(part, 5 * PAGE, 7, 33 * PAGE));
	EXPECT_EQ(0, munmap(part, 5 * PAGE));
	part = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, (40 - 1) * PAGE);
	ASSERT_NE(MAP_FAILED, part);
	EXPECT_EQ(-1, check_pattern(part, PAGE, 7, 39 * PAGE));
	EXPECT_EQ(0, munmap(part, PAGE));

	/* Beyond the end, partly or wholly. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 39 * PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 40 * PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, size + PAGE, PROT_READ, MAP_SHARED, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	/* Private mappings would copy on write: refused. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(0, munmap(all, size));
	EXPECT_EQ(0, close(fd));
}

TEST_F(vdmabuf, close_and_unmap_in_any_order)
{
	uint8_t *p, *q;
	int fd, fd2, dev;

	/* Closing the fd first: the mapping keeps the buffer alive. */
	fd = vdmabuf_create(self->dev, 8 * PAGE, VDMABUF_CREATE_RDWR);
	ASSERT_LE(0, fd);
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, 8 * PAGE, 3);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, vdmabuf_count("buffers"));
	EXPECT_EQ(-1, check_pattern(p, 8 * PAGE, 3, 0));
	EXPECT_EQ(0, munmap(p, 8 * PAGE));
	EXPECT_EQ(0, vdmabuf_count("buffers"));

	/* Two mappings and a dup, released in a mixed order. */
	fd = vdmabuf_create(self->dev, 8 * PAGE, VDMABUF_CREATE_RDWR);
	ASSERT_LE(0, fd);
	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	q = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, fd2, 4 * PAGE);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_NE(MAP_FAILED, q);
	fill_pattern(p, 8 * PAGE, 4);
	EXPECT_EQ(0, close(fd2));
	EXPECT_EQ(0, munmap(p, 8 * PAGE));
	EXPECT_EQ(-1, check_pattern(q, 4 * PAGE, 4, 4 * PAGE));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, munmap(q, 4 * PAGE));
	EXPECT_EQ(0, vdmabuf_count("buffers"));

	/* Double close: the second one is EBADF and harms nothing. */
	fd = vdmabuf_create(self->dev, PAGE, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(-1, close(fd));
	EXPECT_EQ(EBADF, errno);

	/* Buffers outlive the device file they came from. */
	dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	fd = vdmabuf_create(dev, PAGE, VDMABUF_CREATE_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(dev));
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	EXPECT_EQ(0, munmap(p, PAGE));
	EXPECT_EQ(0, close(fd));
}

TEST_F(vdmabuf, many_buffers_alive)
{
	enum { N = 200 };
	uint8_t *maps[N];
	int fds[N];
	int i, j;

	for (i = 0; i < N; i++) {
		size_t size = (1 + i % 7) * PAGE;

		fds[i] = vdmabuf_create(self->dev, size, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
		ASSERT_LE(0, fds[i]) TH_LOG("buffer %d: %s", i, strerror(-fds[i]));
		maps[i] = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		ASSERT_NE(MAP_FAILED, maps[i]);
		fill_pattern(maps[i], size, i);
	}
	EXPECT_EQ(N, vdmabuf_count("buffers"));
	/* Every buffer holds its own data: no two share pages. */
	for (i = 0; i < N; i++) {
		EXPECT_EQ(-1, check_pattern(maps[i], (1 + i % 7) * PAGE, i, 0)) TH_LOG("buffer %d", i);
	}
	/* Release in a scattered order. */
	for (j = 0; j < 7; j++) {
		for (i = j; i < N; i += 7) {
			EXPECT_EQ(0, munmap(maps[i], (1 + i % 7) * PAGE));
			EXPECT_EQ(0, close(fds[i]));
		}
	}
	EXPECT_EQ(0, vdmabuf_count("buffers"));
	EXPECT_EQ(0, vdmabuf_count("bytes"));
}

TEST_F(vdmabuf, debugfs_counts_follow_buffers)
{
	long buffers = vdmabuf_count("buffers"), bytes = vdmabuf_count("bytes");
	int a, b;

	ASSERT_LE(0, buffers);
	a = vdmabuf_create(self->dev, 3 * PAGE, 0);
	b = vdmabuf_create(self->dev, MIB, 0);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_EQ(buffers + 2, vdmabuf_count("buffers"));
	EXPECT_EQ(bytes + 3 * PAGE + MIB, vdmabuf_count("bytes"));
	EXPECT_EQ(0, close(a));
	EXPECT_EQ(buffers + 1, vdmabuf_count("buffers"));
	EXPECT_EQ(0, close(b));
	EXPECT_EQ(buffers, vdmabuf_count("buffers"));
	EXPECT_EQ(bytes, vdmabuf_count("bytes"));
}

/*
 * Finds the buffer with inode @ino in vdmabuf's debugfs listing: 1 and its size and first
 * physical address column if listed, 0 if not, -1 if the listing cannot be read.
 */
static int find_listed(unsigned long long want, unsigned long long *size, char phys[64])
{
	unsigned long long ino, blocks;
	char line[256], *list, *l;
	int found = 0;

	list = read_file("/sys/kernel/debug/vdmabuf/buffers/list");
	if (!list)
		return -1;
	for (l = strtok(list, "\n"); l; l = strtok(NULL, "\n")) {
		snprintf(line, sizeof(line), "%s", l);
		if (sscanf(line, "%llu %llu %llu %63s", &ino, size, &blocks, phys) == 4 &&
		    ino == want) {
			found = 1;
			break;
		}
	}
	free(list);
	return found;
}

/*
 * debugfs lists each buffer with its first physical address only when vdmabuf was loaded with
 * show_phys=1 (VDMABUF_SHOW_PHYS tells the test which); otherwise that column is "-".
 */
TEST_F(vdmabuf, debugfs_list_shows_addresses_only_when_asked)
{
	unsigned long long size = 0;
	char phys[64] = "";
	struct stat st;
	int fd;

	fd = vdmabuf_create(self->dev, 2 * PAGE, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(1, find_listed(st.st_ino, &size, phys));
	EXPECT_EQ(2 * PAGE, size);
	if (env_long("VDMABUF_SHOW_PHYS", 0)) {
		EXPECT_EQ(0, strncmp(phys, "0x", 2)) TH_LOG("%s", phys);
	} else {
		EXPECT_STREQ("-", phys);
	}
	EXPECT_EQ(0, close(fd));
}

/* A released buffer leaves the listing; the others stay, whatever order they go in. */
TEST_F(vdmabuf, debugfs_list_drops_released_buffers_only)
{
	unsigned long long size;
	struct stat st[3];
	char phys[64];
	int fd[3], i;

	for (i = 0; i < 3; i++) {
		fd[i] = vdmabuf_create(self->dev, (i + 1) * PAGE, 0);
		ASSERT_LE(0, fd[i]);
		ASSERT_EQ(0, fstat(fd[i], &st[i]));
		ASSERT_EQ(1, find_listed(st[i].st_ino, &size, phys));
	}
	/* The middle one first: closing the last descriptor releases it before close() returns. */
	EXPECT_EQ(0, close(fd[1]));
	EXPECT_EQ(0, find_listed(st[1].st_ino, &size, phys));
	EXPECT_EQ(1, find_listed(st[0].st_ino, &size, phys));
	EXPECT_EQ(PAGE, size);
	EXPECT_EQ(1, find_listed(st[2].st_ino, &size, phys));
	EXPECT_EQ(3 * PAGE, size);
	EXPECT_EQ(0, close(fd[0]));
	EXPECT_EQ(0, close(fd[2]));
	EXPECT_EQ(0, find_listed(st[0].st_ino, &size, phys));
	EXPECT_EQ(0, find_listed(st[2].st_ino, &size, phys));
}

TEST_F(vdmabuf, name_shows_in_fdinfo_and_bufinfo)
{
	char path[64], *info;
	int fd;

	fd = vdmabuf_create(self->dev, 2 * PAGE, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vdmabuf_ioctl(fd, DMA_BUF_SET_NAME, "vdmabuf-selftest"));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	info = read_file(path);
	ASSERT_NE(NULL, info);
	EXPECT_NE(NULL, strstr(info, "exp_name:\tvdmabuf\n")) TH_LOG("%s", info);
	EXPECT_NE(NULL, strstr(info, "name:\tvdmabuf-selftest\n")) TH_LOG("%s", info);
	EXPECT_NE(NULL, strstr(info, "size:\t8192\n")) TH_LOG("%s", info);
	free(info);
	info = read_file("/sys/kernel/debug/dma_buf/bufinfo");
	ASSERT_NE(NULL, info);
	EXPECT_NE(NULL, strstr(info, "vdmabuf-selftest"));
	free(info);
	/* Names longer than DMA_BUF_NAME_LEN are refused by the core. */
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(fd, DMA_BUF_SET_NAME,
					 "0123456789012345678901234567890123456789"));
	EXPECT_EQ(0, close(fd));
}

TEST_F(vdmabuf, migrate_keeps_data_and_refaults_mappings)
{
	size_t size = 300 * PAGE;
	long before = vdmabuf_count("migrations");
	uint8_t *p;
	int fd;

	fd = vdmabuf_create(self->dev, size, VDMABUF_CREATE_RDWR);
	ASSERT_LE(0, fd);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, size, 11);
	ASSERT_EQ(0, vdmabuf_migrate(self->dev, fd));
	EXPECT_EQ(before + 1, vdmabuf_count("migrations"));
	/* The same mapping refaults onto the new pages, which hold the old data. */
	EXPECT_EQ(-1, check_pattern(p, size, 11, 0));
	/* Writes after the migration land in the new pages: a new mapping sees them. */
	fill_pattern(p, size, 12);
	ASSERT_EQ(0, vdmabuf_migrate(self->dev, fd));
	EXPECT_EQ(0, munmap(p, size));
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, check_pattern(p, size, 12, 0));
	EXPECT_EQ(0, munmap(p, size));
	EXPECT_EQ(0, close(fd));
}

TEST_F(vdmabuf, migrate_rejects_bad_input)
{
	struct vdmabuf_migrate args = { .fd = -1 };
	int fd, other;

	fd = vdmabuf_create(self->dev, PAGE, 0);
	ASSERT_LE(0, fd);
	args.fd = fd;
	args.flags = 1;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_MIGRATE, &args));
	EXPECT_EQ(-EBADF, vdmabuf_migrate(self->dev, -1));
	EXPECT_EQ(-EBADF, vdmabuf_migrate(self->dev, 1000));
	/* Not a dma-buf. */
	EXPECT_EQ(-EINVAL, vdmabuf_migrate(self->dev, self->dev));
	other = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, other);
	EXPECT_EQ(-EINVAL, vdmabuf_migrate(self->dev, other));
	EXPECT_EQ(0, close(other));
	/* A dma-buf of another exporter. */
	other = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	if (other >= 0) {
		struct { __u64 len; __u32 fd, fd_flags; __u64 heap_flags; } alloc = {
			.len = PAGE, .fd_flags = O_RDWR | O_CLOEXEC,
		};

		ASSERT_EQ(0, ioctl(other, _IOWR('H', 0x0, alloc), &alloc));
		EXPECT_EQ(-EINVAL, vdmabuf_migrate(self->dev, alloc.fd));
		EXPECT_EQ(0, close(alloc.fd));
		EXPECT_EQ(0, close(other));
	}
	/* A closed fd. */
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(-EBADF, vdmabuf_migrate(self->dev, fd));
	EXPECT_EQ(-EFAULT, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_MIGRATE, NULL));
}

TEST_F(vdmabuf, import_into_vgem)
{
	long attachments = vdmabuf_count("attachments");
	int vgem, fd, handle, again;

	vgem = vgem_open();
	if (vgem < 0)
		SKIP(return, "no vgem device");
	fd = vdmabuf_create(self->dev, 64 * PAGE, VDMABUF_CREATE_RDWR);
	ASSERT_LE(0, fd);
	handle = vgem_import(vgem, fd);
	ASSERT_LE(0, handle) TH_LOG("PRIME_FD_TO_HANDLE: %s", strerror(-handle));
	/* vgem attaches (it never maps); importing again gives the same object. */
	EXPECT_EQ(attachments + 1, vdmabuf_count("attachments"));
	again = vgem_import(vgem, fd);
	EXPECT_EQ(handle, again);
	/* The import keeps the buffer alive after its last fd is closed. */
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, vdmabuf_count("buffers"));
	EXPECT_EQ(0, vgem_close_handle(vgem, handle));
	EXPECT_EQ(attachments, vdmabuf_count("attachments"));
	EXPECT_EQ(0, vdmabuf_count("buffers"));
	EXPECT_EQ(0, close(vgem));
}

TEST_F(vdmabuf, unload_refused_while_buffers_live)
{
	void *p;
	int fd;

	fd = vdmabuf_create(self->dev, PAGE, 0);
	ASSERT_LE(0, fd);
	/* The open device and the buffer each hold the module. */
	EXPECT_EQ(-1, syscall(__NR_delete_module, "vdmabuf", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(0, close(self->dev));
	self->dev = -1;
	EXPECT_EQ(-1, syscall(__NR_delete_module, "vdmabuf", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	/* The buffer still works. */
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, munmap(p, PAGE));
	EXPECT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
