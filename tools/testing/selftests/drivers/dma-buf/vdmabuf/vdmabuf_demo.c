// SPDX-License-Identifier: GPL-2.0
/*
 * make demo: walks through vdmabuf's main flow and prints what happens at each step.
 * Exits nonzero if any step does not do what it says.
 */
#include "vdmabuf_util.h"
#include "vdmabuf_vkms_util.h"
#include <linux/vdmabuf_importer.h>

#define SIZE (4UL << 20)
#define NC_SIZE (16UL << 10)

static int failures;

#define step(fmt, ...) printf("\n== " fmt "\n", ##__VA_ARGS__)
#define check(cond, fmt, ...)                                                        \
	do {                                                                         \
		bool ok_ = (cond);                                                   \
		printf("   %s " fmt "\n", ok_ ? "ok  " : "FAIL", ##__VA_ARGS__);       \
		failures += !ok_;                                                    \
	} while (0)

static void show_counts(void)
{
	printf("   debugfs counts: buffers=%ld bytes=%ld attachments=%ld maps=%ld migrations=%ld\n",
	       vdmabuf_count("buffers"), vdmabuf_count("bytes"), vdmabuf_count("attachments"),
	       vdmabuf_count("maps"), vdmabuf_count("migrations"));
}

/*
 * The non-coherent mode: a program that writes through mmap and forgets DMA_BUF_IOCTL_SYNC
 * leaves the device reading stale memory, as on a non-coherent ARM system; with the sync it
 * reads the right data.
 */
static void noncoherent_demo(int dev)
{
	struct vdmabuf_modes m = { .flags = VDMABUF_MODE_NONCOHERENT };
	struct vdmabuf_create c = {
		.size = NC_SIZE, .flags = VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC,
		.modes = (uintptr_t)&m,
	};
	struct vdmabuf_importer_import in = { 0 };
	struct vdmabuf_importer_map map = { .direction = VDMABUF_IMPORTER_BIDIRECTIONAL };
	struct vdmabuf_importer_read rd = { .length = NC_SIZE };
	struct vdmabuf_importer_handle rel = { 0 };
	uint64_t want;
	uint8_t *p;
	int imp;

	step("a non-coherent buffer: the CPU's and the device's views meet only at DMA_BUF_IOCTL_SYNC");
	imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	if (imp < 0 || vdmabuf_ioctl(dev, VDMABUF_IOCTL_CREATE, &c)) {
		check(false, "create a VDMABUF_MODE_NONCOHERENT buffer and open the importer");
		return;
	}
	in.fd = c.fd;
	check(!ioctl(imp, VDMABUF_IMPORTER_IOCTL_IMPORT, &in), "the importer's device imports it");
	map.handle = rd.handle = rel.handle = in.handle;
	check(!ioctl(imp, VDMABUF_IMPORTER_IOCTL_MAP, &map), "and maps it for DMA both ways");
	p = mmap(NULL, NC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
	if (p == MAP_FAILED) {
		check(false, "mmap");
		close(imp);
		close(c.fd);
		return;
	}
	fill_pattern(p, NC_SIZE, 7);
	want = fnv1a(p, NC_SIZE);
	check(!ioctl(imp, VDMABUF_IMPORTER_IOCTL_DMA_READ, &rd) && rd.checksum != want,
	      "the program wrote a frame through mmap without a sync: the device reads 0x%016llx, "
	      "stale (the frame is 0x%016llx)",
	      (unsigned long long)rd.checksum, (unsigned long long)want);
	check(!dmabuf_sync(c.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE), "SYNC_START | WRITE");
	fill_pattern(p, NC_SIZE, 7);
	check(!dmabuf_sync(c.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE), "write again, SYNC_END | WRITE");
	check(!ioctl(imp, VDMABUF_IMPORTER_IOCTL_DMA_READ, &rd) && rd.checksum == want,
	      "now the device reads the frame: 0x%016llx", (unsigned long long)rd.checksum);
	munmap(p, NC_SIZE);
	ioctl(imp, VDMABUF_IMPORTER_IOCTL_RELEASE, &rel);
	close(imp);
	close(c.fd);
}

/*
 * An NV12 frame made in vdmabuf, scanned out by vkms and written back into another vdmabuf
 * buffer; prints the frame as letters, one per 8x8 pixels.
 */
static void vkms_demo(void)
{
	static const char names[] = "KBGCRMYW"; /* black blue green cyan red magenta yellow white */
	const struct fmt *nv12 = &fmts[10];
	const char *why = NULL;
	struct source src;
	struct vkms v;
	int x, y, wx = 0, wy = 0, diff;

	step("an NV12 frame: vdmabuf -> vkms scanout -> writeback into vdmabuf");
	if (vkms_init(&v, &why)) {
		printf("   skipped: %s\n", why);
		return;
	}
	check(!make_source(&v, nv12, 0, 0, &src),
	      "VDMABUF_IOCTL_CREATE_FORMAT NV12 %dx%d: Y at %u (stride %u), UV at %u (stride %u)", W, H,
	      src.args.planes[0].offset, src.args.planes[0].stride, src.args.planes[1].offset,
	      src.args.planes[1].stride);
	printf("   imported into vkms (PRIME_FD_TO_HANDLE), framebuffer %u (ADDFB2, LINEAR)\n", src.fb);
	check(!show_and_wait(&v, src.fb), "atomic commit: primary plane shows it, the writeback "
	      "connector writes the frame into an XRGB8888 vdmabuf buffer");
	diff = wb_diff(&v, &wx, &wy);
	check(diff <= 6, "written-back pixels match the picture within %d of 255 (BT.601 round trip)",
	      diff);
	dmabuf_sync(v.wb_buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	for (y = 4; y < H; y += 8) {
		printf("   ");
		for (x = 4; x < W; x += 8) {
			const uint8_t *px = v.wb_map + (size_t)y * v.wb_pitch + x * 4;

			putchar(names[(px[2] > 127) << 2 | (px[1] > 127) << 1 | (px[0] > 127)]);
			putchar(' ');
		}
		putchar('\n');
	}
	dmabuf_sync(v.wb_buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	free_source(&v, &src, nv12->planes);
	vkms_fini(&v);
}

static void show_fdinfo(int fd)
{
	char path[64], *info, *line;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	info = read_file(path);
	if (!info)
		return;
	for (line = strtok(info, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, "size", 4) || !strncmp(line, "exp_name", 8) ||
		    !strncmp(line, "name", 4))
			printf("   fdinfo: %s\n", line);
	free(info);
}

int main(void)
{
	int dev, fd, vgem, handle;
	uint8_t *p;

	step("open /dev/vdmabuf and create a %lu MiB buffer", SIZE >> 20);
	dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	check(dev >= 0, "open: %s", dev >= 0 ? "fine" : strerror(errno));
	if (dev < 0)
		return 1;
	fd = vdmabuf_create(dev, SIZE, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	check(fd >= 0, "VDMABUF_IOCTL_CREATE returned dma-buf fd %d", fd);
	if (fd < 0)
		return 1;
	check(!vdmabuf_ioctl(fd, DMA_BUF_SET_NAME, "demo-buffer"), "named it demo-buffer");
	show_fdinfo(fd);
	show_counts();

	step("fill it through mmap, bracketed by DMA_BUF_IOCTL_SYNC");
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(p != MAP_FAILED, "mmap of the whole buffer");
	if (p == MAP_FAILED)
		return 1;
	check(first_nonzero(p, SIZE) < 0, "new buffer reads as zeroes");
	check(!dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE), "SYNC_START|WRITE");
	fill_pattern(p, SIZE, 42);
	check(!dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE), "SYNC_END|WRITE");

	step("import it into vgem, an importer nobody here wrote");
	vgem = vgem_open();
	if (vgem >= 0) {
		handle = vgem_import(vgem, fd);
		check(handle >= 0, "DRM_IOCTL_PRIME_FD_TO_HANDLE gave GEM handle %d", handle);
		show_counts();
	} else {
		printf("   (no vgem device)\n");
	}

	step("migrate the buffer to new pages, as a device evicting VRAM would");
	check(!vdmabuf_migrate(dev, fd), "VDMABUF_IOCTL_MIGRATE");
	check(check_pattern(p, SIZE, 42, 0) < 0,
	      "the old mapping refaulted onto the new pages and reads the same data");
	show_counts();

	step("a fence timeline: a writer fence holds readers back until it signals");
	{
		int h, sf;

		h = vdmabuf_fence(dev, fd, VDMABUF_USAGE_WRITE, &sf);
		check(h >= 0 && sf >= 0, "VDMABUF_IOCTL_FENCE_ATTACH: WRITE fence, handle %d, sync_file fd %d",
		      h, sf);
		check(poll_events(fd, POLLIN, 50) == 0, "poll(POLLIN) on the buffer: not ready (a writer is pending)");
		check(sync_file_status(sf) == 0, "SYNC_IOC_FILE_INFO: status 0 (active)");
		check(vdmabuf_fence(dev, fd, VDMABUF_USAGE_READ, NULL) == -EBUSY,
		      "a second fence conflicting with it: EBUSY");
		check(!vdmabuf_signal(dev, h, 0), "VDMABUF_IOCTL_FENCE_SIGNAL");
		check(poll_events(fd, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT), "poll: readable and writable again");
		check(sync_file_status(sf) == 1, "SYNC_IOC_FILE_INFO: status 1 (signalled)");
		close(sf);
		h = vdmabuf_fence(dev, fd, VDMABUF_USAGE_READ, &sf);
		check(!vdmabuf_signal(dev, h, -EIO), "a READ fence signalled with -EIO");
		check(sync_file_status(sf) == -EIO, "its sync_file reports status %d", sync_file_status(sf));
		close(sf);
	}

	step("the sample importer: import, map, copy with fences, verify");
	{
		struct vdmabuf_importer_import ia = { .fd = fd }, ib = { 0 };
		struct vdmabuf_importer_map map = { .direction = VDMABUF_IMPORTER_TO_DEVICE };
		struct vdmabuf_importer_info info = { 0 };
		struct vdmabuf_importer_copy copy = { .length = SIZE };
		struct vdmabuf_importer_read rd = { .length = SIZE };
		unsigned long long phys;
		int imp, fd2, w;
		uint8_t *q;

		imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
		check(imp >= 0, "open /dev/vdmabuf-importer");
		fd2 = vdmabuf_create(dev, SIZE, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
		ib.fd = fd2;
		check(!ioctl(imp, VDMABUF_IMPORTER_IOCTL_IMPORT, &ia) &&
		      !ioctl(imp, VDMABUF_IMPORTER_IOCTL_IMPORT, &ib),
		      "imported the filled buffer (handle %u) and an empty one (handle %u)", ia.handle,
		      ib.handle);
		map.handle = info.handle = ia.handle;
		check(!ioctl(imp, VDMABUF_IMPORTER_IOCTL_MAP, &map) &&
		      !ioctl(imp, VDMABUF_IMPORTER_IOCTL_INFO, &info),
		      "mapped for the importer's device: exporter \"%s\", %u sg entries, %llu bytes",
		      info.exporter, info.sg_entries, (unsigned long long)info.dma_length);
		phys = vdmabuf_first_phys(fd);
		check(phys && phys == info.first_dma_address,
		      "zero-copy: the device's first DMA address 0x%llx is the physical address "
		      "0x%llx of vdmabuf's first page (debugfs vdmabuf/buffers/list)",
		      (unsigned long long)info.first_dma_address, phys);

		w = vdmabuf_fence(dev, fd, VDMABUF_USAGE_WRITE, NULL);
		check(w >= 0, "a WRITE fence on the source, standing for a device still writing it");
		copy.src = ia.handle;
		copy.dst = ib.handle;
		check(!ioctl(imp, VDMABUF_IMPORTER_IOCTL_COPY, &copy),
		      "VDMABUF_IMPORTER_IOCTL_COPY queued a DMA job; out-fence sync_file %d",
		      copy.out_fence);
		check(poll_events(copy.out_fence, POLLIN, 100) == 0 && sync_file_status(copy.out_fence) == 0,
		      "the job waits for the source's writer: out-fence pending");
		check(poll_events(fd2, POLLIN, 0) == 0,
		      "and its WRITE fence holds the destination's readers back");
		check(!vdmabuf_signal(dev, w, 0), "signal the writer");
		check(poll_events(copy.out_fence, POLLIN, 10000) == POLLIN &&
		      sync_file_status(copy.out_fence) == 1, "the job ran: out-fence signalled");
		close(copy.out_fence);
		q = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd2, 0);
		check(q != MAP_FAILED && check_pattern(q, SIZE, 42, 0) < 0,
		      "the destination, read through mmap, holds the source's data");
		rd.handle = ib.handle;
		check(!ioctl(imp, VDMABUF_IMPORTER_IOCTL_READ, &rd) && rd.checksum == fnv1a(p, SIZE),
		      "the importer's checksum of it matches: 0x%016llx",
		      (unsigned long long)rd.checksum);
		if (q != MAP_FAILED)
			munmap(q, SIZE);
		close(imp);
		close(fd2);
		check(vdmabuf_count("attachments") == (vgem >= 0 ? 1 : 0),
		      "closing the importer released its attachments");
	}

	noncoherent_demo(dev);
	vkms_demo();

	step("release everything");
	if (vgem >= 0) {
		check(!vgem_close_handle(vgem, handle), "vgem let go of its import");
		close(vgem);
	}
	munmap(p, SIZE);
	close(fd);
	close(dev);
	check(vdmabuf_count("buffers") == 0, "no buffer left");
	show_counts();

	printf("\n%s\n", failures ? "demo FAILED" : "demo done");
	return failures ? 1 : 0;
}
