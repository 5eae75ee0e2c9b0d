// SPDX-License-Identifier: GPL-2.0
/*
 * Fault-injection sweep: for each operation of /dev/vdmabuf, /dev/vdmabuf-importer and the
 * dma-buf uAPI on vdmabuf buffers, make the Nth fault-injection point of the calling task fail
 * (/proc/thread-self/fail-nth, with failslab and fail_page_alloc set to reach every allocation),
 * for N = 1, 2, ... until the call completes without reaching one. After each attempt the call
 * must have failed with ENOMEM or succeeded with its result intact, and every debugfs counter of
 * vdmabuf must be back where it was. Each test prints how many injection points its operation
 * has; lockdep, KASAN and kmemleak watch the kernel side.
 */
#include <poll.h>

#include "kselftest_harness.h"
#include "vdmabuf_importer_util.h"

#define MAX_POINTS 2000

/* Writes @val to debugfs knob @knob of @type ("failslab", "fail_page_alloc"). */
static int knob(const char *type, const char *name, const char *val)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s/%s", type, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -EIO;
}

struct counts {
	long buffers, bytes, attachments, maps;
};

static void read_counts(struct counts *c)
{
	c->buffers = vdmabuf_count("buffers");
	c->bytes = vdmabuf_count("bytes");
	c->attachments = vdmabuf_count("attachments");
	c->maps = vdmabuf_count("maps");
}

/* What one operation works on; set up before each attempt, outside injection. */
struct ctx {
	int dev, imp;
	int buf, other;		/* vdmabuf buffers */
	int fd;			/* what the operation made, or -1 */
	int handle, h2;		/* fence or import handles */
	void *map;
	int sync_file;
};

struct op {
	const char *name;
	void (*setup)(struct ctx *c);
	int (*run)(struct ctx *c);			/* 0 or -errno */
	int (*check)(struct ctx *c);			/* after success: is the result intact? */
	void (*teardown)(struct ctx *c, int ret);	/* undoes setup and a success */
};

#define SIZE (4 * PAGE)

static int pattern_ok(int fd, unsigned int seed)
{
	void *p = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
	long bad;

	if (p == MAP_FAILED)
		return 0;
	bad = check_pattern(p, SIZE, seed, 0);
	munmap(p, SIZE);
	return bad == -1;
}

static void fill_buf(int fd, unsigned int seed)
{
	void *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p != MAP_FAILED) {
		fill_pattern(p, SIZE, seed);
		munmap(p, SIZE);
	}
}

static void setup_buf(struct ctx *c)
{
	c->buf = vdmabuf_create(c->dev, SIZE, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	fill_buf(c->buf, 7);
}

static void setup_two(struct ctx *c)
{
	setup_buf(c);
	c->other = vdmabuf_create(c->dev, SIZE, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
}

static void close_all(struct ctx *c)
{
	if (c->map && c->map != MAP_FAILED)
		munmap(c->map, SIZE);
	if (c->sync_file >= 0)
		close(c->sync_file);
	if (c->fd >= 0)
		close(c->fd);
	if (c->other >= 0)
		close(c->other);
	if (c->buf >= 0)
		close(c->buf);
}

/* create */
static int run_create_4k(struct ctx *c)
{
	c->fd = vdmabuf_create(c->dev, PAGE, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	return c->fd < 0 ? c->fd : 0;
}

static int run_create_8m(struct ctx *c)
{
	c->fd = vdmabuf_create(c->dev, 8 << 20, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	return c->fd < 0 ? c->fd : 0;
}

static int check_created(struct ctx *c)
{
	uint8_t *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, c->fd, 0);
	int ok;

	if (p == MAP_FAILED)
		return 0;
	ok = first_nonzero(p, PAGE) == -1;
	munmap(p, PAGE);
	return ok;
}

static void teardown_close(struct ctx *c, int ret)
{
	(void)ret;
	close_all(c);
}

/* mmap */
static int run_mmap(struct ctx *c)
{
	c->map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->buf, 0);
	return c->map == MAP_FAILED ? -errno : 0;
}

static int check_mmap(struct ctx *c)
{
	return check_pattern(c->map, SIZE, 7, 0) == -1;
}

/* DMA_BUF_IOCTL_SYNC */
static int run_sync(struct ctx *c)
{
	return dmabuf_sync(c->buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
}

static void teardown_sync(struct ctx *c, int ret)
{
	if (!ret)
		dmabuf_sync(c->buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	close_all(c);
}

static int check_data(struct ctx *c)
{
	return pattern_ok(c->buf, 7);
}

/* DMA_BUF_SET_NAME */
static int run_set_name(struct ctx *c)
{
	return vdmabuf_ioctl(c->buf, DMA_BUF_SET_NAME_B, "faults");
}

/* EXPORT_SYNC_FILE, with a pending fence */
static void setup_fenced(struct ctx *c)
{
	setup_two(c);
	c->handle = vdmabuf_fence(c->dev, c->buf, VDMABUF_USAGE_WRITE, NULL);
}

static int run_export_sync_file(struct ctx *c)
{
	struct dma_buf_export_sync_file exp = { .flags = DMA_BUF_SYNC_RW };
	int ret = vdmabuf_ioctl(c->buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp);

	c->sync_file = ret < 0 ? -1 : exp.fd;
	return ret;
}

static int check_pending_sync_file(struct ctx *c)
{
	return sync_file_status(c->sync_file) == 0;
}

static void teardown_fenced(struct ctx *c, int ret)
{
	(void)ret;
	if (c->handle >= 0)
		vdmabuf_signal(c->dev, c->handle, 0);
	close_all(c);
}

/* IMPORT_SYNC_FILE: a fence of one buffer into the other */
static void setup_fence_file(struct ctx *c)
{
	setup_two(c);
	c->handle = vdmabuf_fence(c->dev, c->buf, VDMABUF_USAGE_WRITE, &c->sync_file);
}

static int run_import_sync_file(struct ctx *c)
{
	struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE, .fd = c->sync_file };

	return vdmabuf_ioctl(c->other, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp);
}

static int check_other_held(struct ctx *c)
{
	return poll_events(c->other, POLLIN, 0) == 0;
}

/* VDMABUF_IOCTL_MIGRATE */
static int run_migrate(struct ctx *c)
{
	return vdmabuf_migrate(c->dev, c->buf);
}

/* VDMABUF_IOCTL_FENCE_ATTACH with a sync_file */
static int run_fence_attach(struct ctx *c)
{
	c->handle = vdmabuf_fence(c->dev, c->buf, VDMABUF_USAGE_WRITE, &c->sync_file);
	return c->handle < 0 ? c->handle : 0;
}

static int check_fence(struct ctx *c)
{
	return sync_file_status(c->sync_file) == 0 && poll_events(c->buf, POLLIN, 0) == 0;
}

/* VDMABUF_IOCTL_FENCE_SIGNAL */
static int run_fence_signal(struct ctx *c)
{
	int ret = vdmabuf_signal(c->dev, c->handle, 0);

	if (!ret)
		c->handle = -1;
	return ret;
}

static int check_signalled(struct ctx *c)
{
	return poll_events(c->buf, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT);
}

/* importer: IMPORT (static and dynamic) */
static int run_import_static(struct ctx *c)
{
	c->h2 = imp_import(c->imp, c->buf, 0);
	return c->h2 < 0 ? c->h2 : 0;
}

static int run_import_dynamic(struct ctx *c)
{
	c->h2 = imp_import(c->imp, c->buf, VDMABUF_IMPORT_DYNAMIC);
	return c->h2 < 0 ? c->h2 : 0;
}

static int check_imported(struct ctx *c)
{
	uint64_t sum;

	return !imp_read(c->imp, c->h2, 0, SIZE, &sum) && sum == pattern_fnv(7, SIZE);
}

static void teardown_import(struct ctx *c, int ret)
{
	(void)ret;
	if (c->h2 >= 0)
		imp_handle_op(c->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, c->h2);
	if (c->handle >= 0 && c->handle != c->h2)
		imp_handle_op(c->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, c->handle);
	close_all(c);
}

/* importer: MAP, READ, FILL on an import made beforehand */
static void setup_imported(struct ctx *c)
{
	setup_buf(c);
	c->h2 = imp_import(c->imp, c->buf, 0);
}

static int run_map(struct ctx *c)
{
	return imp_map(c->imp, c->h2, VDMABUF_IMPORTER_BIDIRECTIONAL);
}

static int check_mapped(struct ctx *c)
{
	struct vdmabuf_importer_info info;

	return !imp_info(c->imp, c->h2, &info) && (info.flags & VDMABUF_INFO_MAPPED) &&
	       info.dma_length == SIZE;
}

static int run_read(struct ctx *c)
{
	uint64_t sum;
	int ret = imp_read(c->imp, c->h2, 0, SIZE, &sum);

	return ret ? ret : (sum == pattern_fnv(7, SIZE) ? 0 : -EBADMSG);
}

static int run_fill(struct ctx *c)
{
	return imp_fill(c->imp, c->h2, 9, 0, SIZE);
}

static int check_filled(struct ctx *c)
{
	return pattern_ok(c->buf, 9);
}

/* importer: COPY between two imports */
static void setup_copy(struct ctx *c)
{
	setup_two(c);
	c->handle = imp_import(c->imp, c->buf, 0);
	c->h2 = imp_import(c->imp, c->other, VDMABUF_IMPORT_DYNAMIC);
}

static int run_copy(struct ctx *c)
{
	c->sync_file = imp_copy(c->imp, c->handle, c->h2, 0, 0, SIZE);
	return c->sync_file < 0 ? c->sync_file : 0;
}

static int check_copied(struct ctx *c)
{
	return poll_events(c->sync_file, POLLIN, 10000) == POLLIN &&
	       sync_file_status(c->sync_file) == 1 && pattern_ok(c->other, 7);
}

static const struct op ops[] = {
	{ "create 4 KiB", NULL, run_create_4k, check_created, teardown_close },
	{ "create 8 MiB", NULL, run_create_8m, check_created, teardown_close },
	{ "mmap", setup_buf, run_mmap, check_mmap, teardown_close },
	{ "DMA_BUF_IOCTL_SYNC", setup_buf, run_sync, check_data, teardown_sync },
	{ "DMA_BUF_SET_NAME", setup_buf, run_set_name, check_data, teardown_close },
	{ "EXPORT_SYNC_FILE", setup_fenced, run_export_sync_file, check_pending_sync_file,
	  teardown_fenced },
	{ "IMPORT_SYNC_FILE", setup_fence_file, run_import_sync_file, check_other_held,
	  teardown_fenced },
	{ "MIGRATE", setup_buf, run_migrate, check_data, teardown_close },
	{ "FENCE_ATTACH", setup_buf, run_fence_attach, check_fence, teardown_fenced },
	{ "FENCE_SIGNAL", setup_fenced, run_fence_signal, check_signalled, teardown_fenced },
	{ "importer IMPORT", setup_buf, run_import_static, check_imported, teardown_import },
	{ "importer IMPORT dynamic", setup_buf, run_import_dynamic, check_imported,
	  teardown_import },
	{ "importer MAP", setup_imported, run_map, check_mapped, teardown_import },
	{ "importer READ", setup_imported, run_read, check_data, teardown_import },
	{ "importer FILL", setup_imported, run_fill, check_filled, teardown_import },
	{ "importer COPY", setup_copy, run_copy, check_copied, teardown_import },
};

FIXTURE(faults) {
	int dev, imp, nth;
};

FIXTURE_SETUP(faults)
{
	static const char *const types[] = { "failslab", "fail_page_alloc" };
	unsigned int i;

	self->nth = -1;
	self->dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	self->imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	if (self->dev < 0 || self->imp < 0)
		SKIP(return, "vdmabuf or vdmabuf_importer not loaded");
	if (access("/proc/thread-self/fail-nth", W_OK))
		SKIP(return, "no fail-nth");
	/* Reach every allocation: sleeping ones, order 0, highmem; no stack dumps. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, knob(types[i], "ignore-gfp-wait", "N"));
		ASSERT_EQ(0, knob(types[i], "verbose", "0"));
		ASSERT_EQ(0, knob(types[i], "probability", "0"));
	}
	ASSERT_EQ(0, knob("fail_page_alloc", "min-order", "0"));
	ASSERT_EQ(0, knob("fail_page_alloc", "ignore-gfp-highmem", "N"));
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nth);
}

FIXTURE_TEARDOWN(faults)
{
	if (self->nth >= 0)
		close(self->nth);
	if (self->imp >= 0)
		close(self->imp);
	if (self->dev >= 0)
		close(self->dev);
}

/* Arms fail-nth for @n, or disarms it with 0. */
static int arm(int nth, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(nth, buf, len, 0) == len ? 0 : -errno;
}

/* Returns how many checks remain before the armed failure; 0 once it was injected. */
static long remaining(int nth)
{
	char buf[16] = "";

	if (pread(nth, buf, sizeof(buf) - 1, 0) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

static void sweep(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self,
		  const struct op *op)
{
	long points = 0, failed = 0, survived = 0;
	struct counts before, after;
	unsigned int n;

	for (n = 1; n < MAX_POINTS; n++) {
		struct ctx c = {
			.dev = self->dev, .imp = self->imp, .buf = -1, .other = -1, .fd = -1,
			.handle = -1, .h2 = -1, .sync_file = -1,
		};
		int ret, hit, intact;

		read_counts(&before);
		if (op->setup)
			op->setup(&c);
		ASSERT_EQ(0, arm(self->nth, n));
		ret = op->run(&c);
		hit = remaining(self->nth) == 0;
		ASSERT_EQ(0, arm(self->nth, 0));
		intact = ret ? 1 : op->check(&c);
		op->teardown(&c, ret);
		/* A copy job lets go of its imports on a work item after it signalled. */
		for (int wait = 0; wait < 2000; wait++) {
			read_counts(&after);
			if (!memcmp(&before, &after, sizeof(before)))
				break;
			usleep(1000);
		}
		EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)))
			TH_LOG("%s, failure %u: counts %ld/%ld/%ld/%ld, were %ld/%ld/%ld/%ld",
			       op->name, n, after.buffers, after.bytes, after.attachments, after.maps,
			       before.buffers, before.bytes, before.attachments, before.maps);
		if (!hit) {
			/* Ran to the end without reaching failure n: the sweep is complete. */
			EXPECT_EQ(0, ret) TH_LOG("%s without injection: %s", op->name, strerror(-ret));
			EXPECT_TRUE(intact) TH_LOG("%s without injection: wrong result", op->name);
			break;
		}
		points++;
		if (ret) {
			EXPECT_EQ(-ENOMEM, ret) TH_LOG("%s, failure %u: %s", op->name, n, strerror(-ret));
			failed++;
		} else {
			/* Succeeded anyway (a fallback): then the result must be right. */
			EXPECT_TRUE(intact) TH_LOG("%s, failure %u: succeeded with a wrong result",
						   op->name, n);
			survived++;
		}
	}
	EXPECT_LT(n, MAX_POINTS) TH_LOG("%s: no end to the injection points", op->name);
	ksft_print_msg("%-24s %4ld injection points: %ld failed with ENOMEM, %ld recovered\n",
		       op->name, points, failed, survived);
}

#define SWEEP(test, i) TEST_F(faults, test) { sweep(_metadata, self, &ops[i]); }

SWEEP(create_4k, 0)
SWEEP(create_8m, 1)
SWEEP(mmap, 2)
SWEEP(dma_buf_sync, 3)
SWEEP(dma_buf_set_name, 4)
SWEEP(export_sync_file, 5)
SWEEP(import_sync_file, 6)
SWEEP(migrate, 7)
SWEEP(fence_attach, 8)
SWEEP(fence_signal, 9)
SWEEP(importer_import, 10)
SWEEP(importer_import_dynamic, 11)
SWEEP(importer_map, 12)
SWEEP(importer_read, 13)
SWEEP(importer_fill, 14)
SWEEP(importer_copy, 15)

TEST_HARNESS_MAIN
