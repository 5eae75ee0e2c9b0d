// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: throughput of first-touch writes through mmap (vdmabuf maps whole buffers up
 * front, so the first write should run at memory speed), and buffer creation, for vdmabuf, the
 * system dma-heap and anonymous memory as the reference. Prints a table; it asserts nothing:
 * performance targets live here, not in timed tests.
 */
#include <time.h>
#include <linux/dma-heap.h>

#include "vdmabuf_util.h"

#define MIB (1UL << 20)
#define SIZE (64 * MIB)
#define ROUNDS 4

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int heap_alloc(size_t size)
{
	struct dma_heap_allocation_data a = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC), ret;

	if (heap < 0)
		return -1;
	ret = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a);
	close(heap);
	return ret ? -1 : (int)a.fd;
}

/* Creates a buffer of @kind (0 vdmabuf, 1 heap, 2 anonymous) and times create and first touch. */
static int run(int kind, int dev, double *create, double *touch)
{
	double t0, t1, t2;
	int fd = -1;
	void *p;

	t0 = now();
	if (kind == 0)
		fd = vdmabuf_create(dev, SIZE, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	else if (kind == 1)
		fd = heap_alloc(SIZE);
	if (kind < 2 && fd < 0)
		return -1;
	p = kind < 2 ? mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
		     : mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	t1 = now();
	memset(p, 0x5a, SIZE);
	t2 = now();
	*create += t1 - t0;
	*touch += t2 - t1;
	munmap(p, SIZE);
	if (fd >= 0)
		close(fd);
	return 0;
}

int main(void)
{
	static const char *const names[] = { "vdmabuf", "system heap", "anonymous" };
	int dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC), kind, i;

	printf("%-12s %14s %22s\n", "memory", "create+mmap", "first-touch write");
	for (kind = 0; kind < 3; kind++) {
		double create = 0, touch = 0;

		for (i = 0; i < ROUNDS; i++)
			if (run(kind, dev, &create, &touch))
				break;
		if (i < ROUNDS) {
			printf("%-12s %14s\n", names[kind], "unavailable");
			continue;
		}
		printf("%-12s %11.1f ms %17.0f MiB/s\n", names[kind], create * 1000 / ROUNDS,
		       SIZE / MIB * ROUNDS / touch);
	}
	return 0;
}
