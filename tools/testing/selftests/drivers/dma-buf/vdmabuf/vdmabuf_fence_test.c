// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for vdmabuf's fences and implicit sync through the dma-buf reservation object:
 * poll, DMA_BUF_IOCTL_SYNC, sync_file export and import, with vdmabuf's own fences, sw_sync
 * fences and vgem fences, in both directions.
 *
 * The timeout test reads the module parameter the VM loaded vdmabuf with from the environment
 * (VDMABUF_FENCE_TIMEOUT_MS) and skips without it.
 */
#include <pthread.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vdmabuf_importer_util.h"

FIXTURE(fence) {
	int dev;
	int buf;
};

FIXTURE_SETUP(fence)
{
	self->buf = -1;
	self->dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	if (self->dev < 0 && errno == ENOENT)
		SKIP(return, VDMABUF_DEV " is absent: vdmabuf.ko is not loaded");
	ASSERT_LE(0, self->dev);
	self->buf = vdmabuf_create(self->dev, 4 * PAGE, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	ASSERT_LE(0, self->buf);
}

FIXTURE_TEARDOWN(fence)
{
	if (self->buf >= 0)
		EXPECT_EQ(0, close(self->buf));
	if (self->dev >= 0)
		EXPECT_EQ(0, close(self->dev));
}

TEST_F(fence, attach_rejects_bad_input)
{
	struct vdmabuf_fence_attach args = { .fd = self->buf, .usage = VDMABUF_USAGE_WRITE };
	int null;

	args.flags = 2;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_FENCE_ATTACH, &args));
	args.flags = 0;
	args.pad = 1;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_FENCE_ATTACH, &args));
	args.pad = 0;
	args.usage = 4;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_FENCE_ATTACH, &args));
	/* KERNEL and BOOKKEEP are for the memory management of the buffer's own driver. */
	EXPECT_EQ(-EINVAL, vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_KERNEL, NULL));
	EXPECT_EQ(-EINVAL, vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_BOOKKEEP, NULL));
	EXPECT_EQ(-EBADF, vdmabuf_fence(self->dev, -1, VDMABUF_USAGE_WRITE, NULL));
	EXPECT_EQ(-EBADF, vdmabuf_fence(self->dev, 999, VDMABUF_USAGE_WRITE, NULL));
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, null);
	EXPECT_EQ(-EINVAL, vdmabuf_fence(self->dev, null, VDMABUF_USAGE_WRITE, NULL));
	EXPECT_EQ(-EINVAL, vdmabuf_fence(self->dev, self->dev, VDMABUF_USAGE_WRITE, NULL));
	EXPECT_EQ(0, close(null));
	EXPECT_EQ(-EFAULT, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_FENCE_ATTACH, NULL));
	/* Nothing was attached by any of these. */
	EXPECT_EQ(POLLIN | POLLOUT, poll_events(self->buf, POLLIN | POLLOUT, 0));
}

TEST_F(fence, signal_rejects_bad_input)
{
	struct vdmabuf_fence_signal args = { 0 };
	int h, other;

	h = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, NULL);
	ASSERT_LE(0, h);
	args.handle = h;
	args.error = 1;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_FENCE_SIGNAL, &args));
	args.error = -4096;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_FENCE_SIGNAL, &args));
	args.error = 0;
	args.flags = 1;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_FENCE_SIGNAL, &args));
	args.flags = 0;
	args.pad = 1;
	EXPECT_EQ(-EINVAL, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_FENCE_SIGNAL, &args));
	EXPECT_EQ(-ENOENT, vdmabuf_signal(self->dev, h + 1000, 0));
	/* A handle belongs to the file that made it. */
	other = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	EXPECT_EQ(-ENOENT, vdmabuf_signal(other, h, 0));
	EXPECT_EQ(0, close(other));
	/* The rejected calls left the fence pending. */
	EXPECT_EQ(0, poll_events(self->buf, POLLIN, 0));
	EXPECT_EQ(0, vdmabuf_signal(self->dev, h, 0));
	EXPECT_EQ(-ENOENT, vdmabuf_signal(self->dev, h, 0));
	EXPECT_EQ(POLLIN, poll_events(self->buf, POLLIN, 0));
	EXPECT_EQ(-EFAULT, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_FENCE_SIGNAL, NULL));
}

TEST_F(fence, conflicting_fences_are_ebusy)
{
	int w, r1, r2;

	w = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, NULL);
	ASSERT_LE(0, w);
	EXPECT_EQ(-EBUSY, vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, NULL));
	EXPECT_EQ(-EBUSY, vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_READ, NULL));
	ASSERT_EQ(0, vdmabuf_signal(self->dev, w, 0));

	/* Readers share; a writer waits for them. */
	r1 = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_READ, NULL);
	r2 = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_READ, NULL);
	ASSERT_LE(0, r1);
	ASSERT_LE(0, r2);
	EXPECT_NE(r1, r2);
	EXPECT_EQ(-EBUSY, vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, NULL));
	EXPECT_EQ(0, vdmabuf_signal(self->dev, r1, 0));
	EXPECT_EQ(-EBUSY, vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, NULL));
	EXPECT_EQ(0, vdmabuf_signal(self->dev, r2, 0));
	w = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, NULL);
	EXPECT_LE(0, w);
	EXPECT_EQ(0, vdmabuf_signal(self->dev, w, 0));
}

TEST_F(fence, poll_follows_usages)
{
	int h;

	EXPECT_EQ(POLLIN | POLLOUT, poll_events(self->buf, POLLIN | POLLOUT, 0));
	/* A writer blocks readers (POLLIN) and writers (POLLOUT). */
	h = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, NULL);
	ASSERT_LE(0, h);
	EXPECT_EQ(0, poll_events(self->buf, POLLIN, 20));
	EXPECT_EQ(0, poll_events(self->buf, POLLOUT, 20));
	EXPECT_EQ(0, vdmabuf_signal(self->dev, h, 0));
	EXPECT_EQ(POLLIN | POLLOUT, poll_events(self->buf, POLLIN | POLLOUT, 0));
	/* A reader blocks only writers. */
	h = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_READ, NULL);
	ASSERT_LE(0, h);
	EXPECT_EQ(POLLIN, poll_events(self->buf, POLLIN | POLLOUT, 20));
	EXPECT_EQ(0, vdmabuf_signal(self->dev, h, 0));
	EXPECT_EQ(POLLOUT, poll_events(self->buf, POLLOUT, 0));
}

/*
 * Userspace-controlled fences go only on vdmabuf's own buffers (dma-buf.rst: no userspace fences
 * on other drivers' buffers). A test that wants one on a foreign buffer exports it as a sync_file
 * and imports that with the standard DMA_BUF_IOCTL_IMPORT_SYNC_FILE.
 */
TEST_F(fence, foreign_buffers_get_fences_only_through_import_sync_file)
{
	enum exporter kinds[] = { UDMABUF, HEAP, VGEM };
	unsigned int i, tried = 0;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE };
		struct buffer b;
		int h, sf, ret;

		ret = make_buffer(kinds[i], 4 * PAGE, self->dev, &b);
		if (ret == -ENODEV)
			continue;
		ASSERT_EQ(0, ret) TH_LOG("%s", exporter_names[kinds[i]]);
		tried++;
		EXPECT_EQ(-EINVAL, vdmabuf_fence(self->dev, b.fd, VDMABUF_USAGE_READ, NULL));
		EXPECT_EQ(-EINVAL, vdmabuf_fence(self->dev, b.fd, VDMABUF_USAGE_WRITE, &sf));
		EXPECT_EQ(-1, sf);
		/* Nothing was attached. */
		EXPECT_EQ(POLLIN | POLLOUT, poll_events(b.fd, POLLIN | POLLOUT, 0));

		/* Our fence, on our buffer, goes into the foreign one through the core. */
		h = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, &sf);
		ASSERT_LE(0, h);
		imp.fd = sf;
		ASSERT_EQ(0, ioctl(b.fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp));
		EXPECT_EQ(0, poll_events(b.fd, POLLIN, 20)) TH_LOG("%s", exporter_names[kinds[i]]);
		EXPECT_EQ(0, vdmabuf_signal(self->dev, h, 0));
		EXPECT_EQ(POLLIN | POLLOUT, poll_events(b.fd, POLLIN | POLLOUT, 1000));
		EXPECT_EQ(0, close(sf));
		free_buffer(&b);
	}
	if (!tried)
		SKIP(return, "no foreign exporter");
}

struct delayed_signal {
	int dev;
	__u32 handle;
	int error;
	int ms;
};

static void *signal_later(void *arg)
{
	struct delayed_signal *d = arg;

	usleep(d->ms * 1000);
	vdmabuf_signal(d->dev, d->handle, d->error);
	return NULL;
}

TEST_F(fence, poll_and_sync_wait_for_the_signal)
{
	struct delayed_signal d = { .dev = self->dev, .ms = 200 };
	pthread_t thread;
	int h, sf;

	h = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, &sf);
	ASSERT_LE(0, h);
	ASSERT_LE(0, sf);
	d.handle = h;
	ASSERT_EQ(0, pthread_create(&thread, NULL, signal_later, &d));
	/* A blocking poll wakes when the fence signals, not before. */
	EXPECT_EQ(POLLIN, poll_events(self->buf, POLLIN, 10000));
	EXPECT_EQ(1, sync_file_status(sf));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, close(sf));

	/* DMA_BUF_IOCTL_SYNC START waits for the writer before CPU access. */
	h = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, &sf);
	ASSERT_LE(0, h);
	d.handle = h;
	ASSERT_EQ(0, pthread_create(&thread, NULL, signal_later, &d));
	EXPECT_EQ(0, dmabuf_sync(self->buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(1, sync_file_status(sf));
	EXPECT_EQ(0, dmabuf_sync(self->buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, close(sf));
}

TEST_F(fence, errors_show_in_sync_file_info)
{
	struct sync_fence_info fi = { 0 };
	struct sync_file_info info = { .num_fences = 1, .sync_fence_info = (uintptr_t)&fi };
	int h, sf;

	h = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, &sf);
	ASSERT_LE(0, h);
	ASSERT_LE(0, sf);
	EXPECT_EQ(FD_CLOEXEC, fcntl(sf, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, ioctl(sf, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(0, info.status);
	EXPECT_STREQ("vdmabuf", fi.driver_name);
	EXPECT_STREQ("vdmabuf-user", fi.obj_name);
	EXPECT_EQ(0, vdmabuf_signal(self->dev, h, -EIO));
	EXPECT_EQ(-EIO, sync_file_status(sf));
	EXPECT_EQ(0, close(sf));
}

TEST_F(fence, export_and_import_sync_file)
{
	struct dma_buf_export_sync_file exp = { .flags = DMA_BUF_SYNC_READ };
	struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE };
	int other, h;

	/* Our writer, exported from the buffer as a sync_file. */
	h = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, NULL);
	ASSERT_LE(0, h);
	ASSERT_EQ(0, ioctl(self->buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp));
	EXPECT_EQ(0, sync_file_status(exp.fd));

	/* Imported into another buffer, it holds that buffer's readers back too. */
	other = vdmabuf_create(self->dev, PAGE, VDMABUF_CREATE_RDWR);
	ASSERT_LE(0, other);
	imp.fd = exp.fd;
	ASSERT_EQ(0, ioctl(other, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp));
	EXPECT_EQ(0, poll_events(other, POLLIN, 20));
	EXPECT_EQ(-EBUSY, vdmabuf_fence(self->dev, other, VDMABUF_USAGE_READ, NULL));

	EXPECT_EQ(0, vdmabuf_signal(self->dev, h, -ENODATA));
	EXPECT_EQ(-ENODATA, sync_file_status(exp.fd));
	EXPECT_EQ(POLLIN, poll_events(other, POLLIN, 1000));
	EXPECT_EQ(0, close(exp.fd));
	EXPECT_EQ(0, close(other));

	/* With nothing pending, the export is a signalled stub. */
	ASSERT_EQ(0, ioctl(self->buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp));
	EXPECT_EQ(1, sync_file_status(exp.fd));
	EXPECT_EQ(0, close(exp.fd));
}

TEST_F(fence, sw_sync_fences_hold_back_vdmabuf)
{
	struct sw_sync_create_fence_data create = { .value = 1, .name = "selftest" };
	struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE };
	__u32 one = 1;
	int timeline;

	timeline = open("/sys/kernel/debug/sync/sw_sync", O_RDWR | O_CLOEXEC);
	if (timeline < 0)
		SKIP(return, "no sw_sync");
	ASSERT_EQ(0, ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &create));
	imp.fd = create.fence;
	ASSERT_EQ(0, ioctl(self->buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp));
	/* The foreign writer is seen by poll and by vdmabuf's own conflict check. */
	EXPECT_EQ(0, poll_events(self->buf, POLLIN, 20));
	EXPECT_EQ(-EBUSY, vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_READ, NULL));
	ASSERT_EQ(0, ioctl(timeline, SW_SYNC_IOC_INC, &one));
	EXPECT_EQ(POLLIN | POLLOUT, poll_events(self->buf, POLLIN | POLLOUT, 1000));
	EXPECT_LE(0, vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_READ, NULL));
	EXPECT_EQ(0, close(create.fence));
	EXPECT_EQ(0, close(timeline));
}

TEST_F(fence, vgem_and_vdmabuf_fences_see_each_other)
{
	struct drm_vgem_fence_attach attach = { .flags = VGEM_FENCE_WRITE };
	struct drm_vgem_fence_signal sig = { 0 };
	int vgem, handle, h;

	vgem = vgem_open();
	if (vgem < 0)
		SKIP(return, "no vgem device");
	handle = vgem_import(vgem, self->buf);
	ASSERT_LE(0, handle);
	attach.handle = handle;

	/* vgem's fence goes into our buffer's reservation object. */
	ASSERT_EQ(0, ioctl(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach));
	EXPECT_EQ(0, poll_events(self->buf, POLLIN, 20));
	EXPECT_EQ(-EBUSY, vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, NULL));
	sig.fence = attach.out_fence;
	ASSERT_EQ(0, ioctl(vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig));
	EXPECT_EQ(POLLIN | POLLOUT, poll_events(self->buf, POLLIN | POLLOUT, 1000));

	/* And vgem sees ours. */
	h = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, NULL);
	ASSERT_LE(0, h);
	EXPECT_EQ(-1, ioctl(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, vdmabuf_signal(self->dev, h, 0));
	EXPECT_EQ(0, ioctl(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach));
	sig.fence = attach.out_fence;
	EXPECT_EQ(0, ioctl(vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig));

	EXPECT_EQ(0, vgem_close_handle(vgem, handle));
	EXPECT_EQ(0, close(vgem));
}

TEST_F(fence, fences_time_out)
{
	long timeout = env_long("VDMABUF_FENCE_TIMEOUT_MS", -1);
	struct timespec a, b;
	int h, sf;
	long ms;

	if (timeout < 0)
		SKIP(return, "VDMABUF_FENCE_TIMEOUT_MS not set");
	clock_gettime(CLOCK_MONOTONIC, &a);
	h = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_WRITE, &sf);
	ASSERT_LE(0, h);
	EXPECT_EQ(POLLIN, poll_events(self->buf, POLLIN, timeout * 20));
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	/* Not before the timeout; the upper bound is the poll's. */
	EXPECT_LE(timeout - 10, ms);
	EXPECT_EQ(-ETIMEDOUT, sync_file_status(sf));
	/* The handle is released by a late signal, which reports the timeout. */
	EXPECT_EQ(-ETIMEDOUT, vdmabuf_signal(self->dev, h, 0));
	EXPECT_EQ(-ENOENT, vdmabuf_signal(self->dev, h, 0));
	EXPECT_EQ(0, close(sf));
}

TEST_F(fence, closing_the_file_signals_its_fences)
{
	int dev2, sf[3], i;

	dev2 = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev2);
	for (i = 0; i < 3; i++)
		ASSERT_LE(0, vdmabuf_fence(dev2, self->buf, VDMABUF_USAGE_READ, &sf[i]));
	EXPECT_EQ(0, poll_events(self->buf, POLLOUT, 20));
	EXPECT_EQ(0, close(dev2));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-ECANCELED, sync_file_status(sf[i]));
		EXPECT_EQ(0, close(sf[i]));
	}
	EXPECT_EQ(POLLIN | POLLOUT, poll_events(self->buf, POLLIN | POLLOUT, 0));
}

TEST_F(fence, many_fences)
{
	enum { N = 200 };
	int handles[N], i, j;

	for (i = 0; i < N; i++) {
		handles[i] = vdmabuf_fence(self->dev, self->buf, VDMABUF_USAGE_READ, NULL);
		ASSERT_LE(0, handles[i]) TH_LOG("fence %d: %s", i, strerror(-handles[i]));
	}
	/* Signal in a scattered order; the buffer is writable only after the last. */
	for (j = 0; j < 5; j++) {
		for (i = j; i < N; i += 5) {
			EXPECT_EQ(0, poll_events(self->buf, POLLOUT, 0));
			EXPECT_EQ(0, vdmabuf_signal(self->dev, handles[i], 0));
		}
	}
	EXPECT_EQ(POLLOUT, poll_events(self->buf, POLLOUT, 0));
}

TEST_HARNESS_MAIN
