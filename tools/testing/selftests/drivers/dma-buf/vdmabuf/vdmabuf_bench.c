// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: vdmabuf against the in-tree exporters (the system dma-heap, udmabuf) and against
 * plain memory where that is the limit, side by side, in one VM boot. Every figure is the median
 * of seven batches, each long enough (at least 0.2 s) for the guest's coarse clock. Prints a table
 * with the ratio to the best peer and the target, and the same as JSON between "@@json begin" and
 * "@@json end" (scripts/bench.sh writes it to build/bench.json). Performance targets live here,
 * not in timed tests.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <drm/drm_fourcc.h>
#include <linux/dma-heap.h>

#include "vdmabuf_importer_util.h"

#define KIB (1UL << 10)
#define MIB (1UL << 20)
#define BATCHES 7

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One operation to time; returns < 0 on failure. */
typedef int (*op_fn)(void *ctx);

/* Calls per batch for @op: doubled until a batch lasts at least 0.2 s; 0 on failure. */
static long calibrate(op_fn op, void *ctx)
{
	long n = 1, i;
	double t0;

	for (;;) {
		t0 = now();
		for (i = 0; i < n; i++)
			if (op(ctx) < 0)
				return 0;
		if (now() - t0 >= 0.2 || n >= (1L << 22))
			return n;
		n *= 2;
	}
}

/*
 * Seconds per call of each of the @count operations @ops (with @ctxs), in @out (-1 on failure):
 * the median of BATCHES batches of at least 0.2 s each. The operations take turns batch by
 * batch, so that drift in the guest (memory first touched, other work) falls on all of them
 * alike and their ratios stay steady.
 */
static void per_ops(int count, op_fn *ops, void **ctxs, double *out)
{
	double t[4][BATCHES], t0;
	long n[4];
	int b, k;

	for (k = 0; k < count; k++)
		n[k] = calibrate(ops[k], ctxs[k]);
	for (b = 0; b < BATCHES; b++) {
		for (k = 0; k < count; k++) {
			long i;

			if (!n[k])
				continue;
			t0 = now();
			for (i = 0; i < n[k]; i++)
				if (ops[k](ctxs[k]) < 0)
					break;
			if (i < n[k])
				n[k] = 0;
			t[k][b] = (now() - t0) / (n[k] ? n[k] : 1);
		}
	}
	for (k = 0; k < count; k++) {
		qsort(t[k], BATCHES, sizeof(double), cmp_double);
		out[k] = n[k] ? t[k][BATCHES / 2] : -1;
	}
}

/* Seconds per call of @op, as per_ops() measures; -1 on failure. */
static double per_op(op_fn op, void *ctx)
{
	double t;

	per_ops(1, &op, &ctx, &t);
	return t;
}

/* ---- exporters --------------------------------------------------------------------------- */

/*
 * The exporters: vdmabuf and its peers (KINDS of them), then the floor, which is no peer:
 * tools/.../vdmabuf/floor/vdmabuf_floor.c, the least a dynamic exporter does (one allocation, the
 * zeroed blocks, export, fd; a fresh table per map). It shows how close to the best peer any
 * exporter gets on this machine, and takes no part in the ratios.
 */
enum kind { B_VDMABUF, B_HEAP, B_UDMABUF, KINDS, B_FLOOR = KINDS };
static const char *const kind_names[] = { "vdmabuf", "system heap", "udmabuf" };
/*
 * Each exporter's device is opened once, as an application keeps it open: opening it per
 * buffer would count a path lookup and a file's life against one exporter only.
 */
static int vdmabuf_dev = -1, heap_dev = -1, udmabuf_dev = -1, floor_dev = -1;

/* vdmabuf_floor.c's one ioctl. */
struct vdmabuf_floor_create {
	__u64 size;
	__s32 fd;
	__u32 pad;
};

#define VDMABUF_FLOOR_IOCTL_CREATE _IOWR('F', 1, struct vdmabuf_floor_create)

/* Creates a read-write dma-buf of @size from @kind; returns the fd or -1. */
static int make(enum kind kind, size_t size)
{
	switch (kind) {
	case B_VDMABUF:
		return vdmabuf_create(vdmabuf_dev, size, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	case B_HEAP: {
		struct dma_heap_allocation_data a = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };

		if (heap_dev < 0 || ioctl(heap_dev, DMA_HEAP_IOCTL_ALLOC, &a))
			return -1;
		return (int)a.fd;
	}
	case B_FLOOR: {
		struct vdmabuf_floor_create c = { .size = size };

		if (floor_dev < 0 || ioctl(floor_dev, VDMABUF_FLOOR_IOCTL_CREATE, &c))
			return -1;
		return c.fd;
	}
	default: {
		struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };
		int memfd, ret = -1;

		/* The memfd is part of every udmabuf: its creation is counted. */
		memfd = memfd_create("bench", MFD_ALLOW_SEALING);
		if (udmabuf_dev >= 0 && memfd >= 0 && !ftruncate(memfd, size) &&
		    !fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
			c.memfd = memfd;
			ret = ioctl(udmabuf_dev, UDMABUF_CREATE, &c);
		}
		if (memfd >= 0)
			close(memfd);
		return ret < 0 ? -1 : ret;
	}
	}
}

/* ---- results ----------------------------------------------------------------------------- */

struct figure {
	char name[48];
	const char *unit;
	int lower_is_better;
	double value[KINDS + 1];	/* per exporter; the last slot: plain memory */
	long sg[KINDS];
	double floor;			/* the floor exporter's value; -1: not measured */
	long floor_sg;
	double target;			/* ratio to the best peer; 0: none */
};

static struct figure figs[64];
static int nfigs;

static struct figure *figure(const char *name, const char *unit, int lower, double target)
{
	struct figure *f = &figs[nfigs++];

	snprintf(f->name, sizeof(f->name), "%s", name);
	f->unit = unit;
	f->lower_is_better = lower;
	f->target = target;
	for (int k = 0; k <= KINDS; k++)
		f->value[k] = -1;
	f->floor = -1;
	return f;
}

/* The ratio of vdmabuf's value to the best peer's (or to plain memory), oriented so that a
 * target is an upper bound for "lower is better" figures and a lower bound otherwise. */
static double ratio(const struct figure *f, int *best)
{
	double peer = -1;
	int k;

	*best = -1;
	for (k = 1; k <= KINDS; k++) {
		if (f->value[k] < 0)
			continue;
		if (peer < 0 || (f->lower_is_better ? f->value[k] < peer : f->value[k] > peer)) {
			peer = f->value[k];
			*best = k;
		}
	}
	return peer > 0 && f->value[0] > 0 ? f->value[0] / peer : -1;
}

/*
 * The ratio of the floor exporter's value to the same best peer's, from what ratio() returned
 * (@r) and chose (@best); -1 where vdmabuf has no ratio or the floor no value.
 */
static double floor_ratio(const struct figure *f, double r, int best)
{
	return r > 0 && f->floor > 0 ? f->floor / f->value[best] : -1;
}

/* Whether ratio @r meets the target of @f; false without a ratio. */
static int meets(const struct figure *f, double r)
{
	return r > 0 && (f->lower_is_better ? r <= f->target : r >= f->target);
}

static void print_results(void)
{
	int i, best;

	printf("\n%-34s %12s %12s %12s %12s %12s %7s %-13s %s\n", "figure", "vdmabuf",
	       "system heap", "udmabuf", "reference", "floor", "ratio", "target", "floor ratio");
	for (i = 0; i < nfigs; i++) {
		const struct figure *f = &figs[i];
		double r = ratio(f, &best);
		double fr = floor_ratio(f, r, best);
		char target[16] = "";
		int k;

		printf("%-34s", f->name);
		for (k = 0; k <= KINDS + 1; k++) {
			double v = k <= KINDS ? f->value[k] : f->floor;

			if (v < 0)
				printf(" %12s", "-");
			else
				printf(" %9.4g %-2s", v, f->unit);
		}
		if (f->target > 0)
			snprintf(target, sizeof(target), "%s%.2f %s", f->lower_is_better ? "<=" : ">=",
				 f->target,
				 r < 0 ? "?" : meets(f, r) ? "met" : "MISSED");
		/* A figure that is only a reference for another (1k live buffers) has no ratio. */
		if (r < 0)
			printf(" %7s %-13s", "-", target);
		else
			printf(" %7.2f %-13s", r, target);
		/* A target the floor misses too is out of reach of any exporter here this run. */
		if (fr > 0)
			printf(" %.2f%s", fr, f->target > 0 && !meets(f, fr) ? " (misses too)" : "");
		printf("\n");
	}
	printf("@@json begin\n[\n");
	for (i = 0; i < nfigs; i++) {
		const struct figure *f = &figs[i];
		double r = ratio(f, &best);
		double fr = floor_ratio(f, r, best);
		int k;

		printf("  {\"figure\": \"%s\", \"unit\": \"%s\", \"lower_is_better\": %s", f->name,
		       f->unit, f->lower_is_better ? "true" : "false");
		for (k = 0; k <= KINDS; k++)
			if (f->value[k] >= 0)
				printf(", \"%s\": %.6g", k < KINDS ? kind_names[k] : "reference",
				       f->value[k]);
		if (f->floor >= 0)
			printf(", \"floor\": %.6g", f->floor);
		for (k = 0; k < KINDS; k++)
			if (f->sg[k] > 0)
				printf(", \"%s_sg_entries\": %ld", kind_names[k], f->sg[k]);
		if (f->floor_sg > 0)
			printf(", \"floor_sg_entries\": %ld", f->floor_sg);
		if (r > 0)
			printf(", \"ratio_to_best_peer\": %.4g", r);
		if (fr > 0)
			printf(", \"floor_ratio_to_best_peer\": %.4g", fr);
		if (f->target > 0)
			printf(", \"target\": %.2f, \"met\": %s", f->target,
			       meets(f, r) ? "true" : "false");
		if (f->target > 0 && fr > 0)
			printf(", \"floor_met\": %s", meets(f, fr) ? "true" : "false");
		printf("}%s\n", i + 1 < nfigs ? "," : "");
	}
	printf("]\n@@json end\n");
}

/* ---- the figures ------------------------------------------------------------------------- */

struct create_ctx {
	enum kind kind;
	size_t size;
	__u32 side;	/* with a format: a side x side XRGB8888 image */
};

static int op_create(void *arg)
{
	struct create_ctx *c = arg;
	int fd;

	if (c->side) {
		struct vdmabuf_create_format f = {
			.width = c->side, .height = c->side, .fourcc = DRM_FORMAT_XRGB8888,
			.flags = VDMABUF_CREATE_CLOEXEC,
		};

		if (ioctl(vdmabuf_dev, VDMABUF_IOCTL_CREATE_FORMAT, &f))
			return -1;
		fd = f.planes[0].fd;
	} else {
		fd = make(c->kind, c->size);
	}
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void bench_create(void)
{
	static const size_t sizes[] = { 4 * KIB, 64 * KIB, MIB, 64 * MIB, 256 * MIB };
	unsigned int s;
	int k;

	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		char name[48];
		struct figure *f;

		snprintf(name, sizeof(name), "create+close %lu KiB", sizes[s] / KIB);
		f = figure(name, "us", 1, 0.9);
		{
			struct create_ctx c[KINDS + 1];
			op_fn ops[KINDS + 1];
			void *ctxs[KINDS + 1];
			double t[KINDS + 1];
			int n = 0;

			/* The peers, then the floor. */
			for (k = 0; k <= B_FLOOR; k++) {
				c[n] = (struct create_ctx){ .kind = k, .size = sizes[s] };
				ops[n] = op_create;
				ctxs[n] = &c[n];
				n++;
			}
			per_ops(n, ops, ctxs, t);
			for (k = 0; k < KINDS; k++)
				f->value[c[k].kind] = t[k] < 0 ? -1 : t[k] * 1e6;
			f->floor = t[B_FLOOR] < 0 ? -1 : t[B_FLOOR] * 1e6;
		}
	}
	/* Format-aware XRGB8888 images against plain vdmabuf buffers of the same size. */
	for (s = 0; s < 3; s++) {
		static const __u32 sides[] = { 64, 256, 1024 };
		struct create_ctx plain = { .kind = B_VDMABUF, .size = sides[s] * sides[s] * 4 };
		struct create_ctx format = { .kind = B_VDMABUF, .side = sides[s] };
		op_fn ops[2] = { op_create, op_create };
		void *ctxs[2] = { &format, &plain };
		char name[48];
		struct figure *f;
		double t[2];

		snprintf(name, sizeof(name), "format-aware create %ux%u", sides[s], sides[s]);
		f = figure(name, "us", 1, 1.05);
		per_ops(2, ops, ctxs, t);
		f->value[0] = t[0] < 0 ? -1 : t[0] * 1e6;
		f->value[KINDS] = t[1] < 0 ? -1 : t[1] * 1e6;	/* reference: a plain vdmabuf buffer */
	}
}

struct map_ctx {
	int imp, fd;
};

static int op_map(void *arg)
{
	struct map_ctx *c = arg;
	int h = imp_import(c->imp, c->fd, 0);

	if (h < 0 || imp_map(c->imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL))
		return -1;
	imp_handle_op(c->imp, VDMABUF_IMPORTER_IOCTL_UNMAP, h);
	return imp_handle_op(c->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
}

static void bench_map(int imp)
{
	static const size_t sizes[] = { MIB, 64 * MIB };
	unsigned int s;
	int k;

	for (s = 0; s < 2; s++) {
		struct map_ctx c[KINDS + 1];
		op_fn ops[KINDS + 1];
		void *ctxs[KINDS + 1];
		double t[KINDS + 1];
		char name[48];
		struct figure *f;

		snprintf(name, sizeof(name), "import+map+unmap %lu MiB", sizes[s] / MIB);
		f = figure(name, "us", 1, 1.0);
		/* The peers, then the floor. */
		for (k = 0; k <= B_FLOOR; k++) {
			c[k] = (struct map_ctx){ .imp = imp, .fd = make(k, sizes[s]) };
			ops[k] = op_map;
			ctxs[k] = &c[k];
		}
		per_ops(KINDS + 1, ops, ctxs, t);
		for (k = 0; k <= B_FLOOR; k++) {
			struct vdmabuf_importer_info info = { 0 };
			int h;

			if (c[k].fd < 0)
				continue;
			if (k == B_FLOOR)
				f->floor = t[k] < 0 ? -1 : t[k] * 1e6;
			else
				f->value[k] = t[k] < 0 ? -1 : t[k] * 1e6;
			h = imp_import(imp, c[k].fd, 0);
			if (h >= 0 && !imp_map(imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL) &&
			    !imp_info(imp, h, &info))
				*(k == B_FLOOR ? &f->floor_sg : &f->sg[k]) = info.sg_entries;
			if (h >= 0)
				imp_handle_op(imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
			close(c[k].fd);
		}
	}
}

static int op_sync(void *arg)
{
	int fd = *(int *)arg;

	if (dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW))
		return -1;
	return dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
}

static void bench_sync(void)
{
	struct figure *f = figure("SYNC start+end 1 MiB", "us", 1, 0);
	int k;

	for (k = 0; k < KINDS; k++) {
		int fd = make(k, MIB);
		double t;

		if (fd < 0)
			continue;
		t = per_op(op_sync, &fd);
		f->value[k] = t < 0 ? -1 : t * 1e6;
		close(fd);
	}
}

/*
 * First touch and second write through mmap: TOUCH_BUFS buffers of 64 MiB per round, each
 * pass over all of them timed as one interval (about 0.1 s, so the guest's 4 ms clock costs a
 * few percent, not the quarter a single 64 MiB pass would).
 */
#define TOUCH_BUFS 8
#define TOUCH_ROUNDS 3

static void bench_touch(void)
{
	struct figure *first = figure("mmap first-touch write 64 MiB", "MB/s", 0, 0);
	struct figure *again = figure("mmap second write 64 MiB", "MB/s", 0, 0);
	struct figure *ratio_f = figure("first touch / second write", "x", 0, 0.9);
	const size_t size = 64 * MIB;
	int k, r, i;

	for (k = 0; k <= KINDS; k++) {
		double touch = 0, second = 0;
		int ok = 1;

		for (r = 0; r < TOUCH_ROUNDS && ok; r++) {
			void *p[TOUCH_BUFS];
			int fds[TOUCH_BUFS], n;
			double t0, t1, t2;

			for (n = 0; n < TOUCH_BUFS; n++) {
				fds[n] = k < KINDS ? make(k, size) : -1;
				if (k < KINDS && fds[n] < 0)
					break;
				p[n] = k < KINDS ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
							fds[n], 0)
						 : mmap(NULL, size, PROT_READ | PROT_WRITE,
							MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (p[n] == MAP_FAILED) {
					if (fds[n] >= 0)
						close(fds[n]);
					break;
				}
			}
			ok = n == TOUCH_BUFS;
			if (ok) {
				t0 = now();
				for (i = 0; i < n; i++)
					memset(p[i], 0x5a, size);
				t1 = now();
				for (i = 0; i < n; i++)
					memset(p[i], 0xa5, size);
				t2 = now();
				touch += t1 - t0;
				second += t2 - t1;
			}
			for (i = 0; i < n; i++) {
				munmap(p[i], size);
				if (fds[i] >= 0)
					close(fds[i]);
			}
		}
		if (!ok)
			continue;
		first->value[k] = 64.0 * TOUCH_BUFS * TOUCH_ROUNDS / touch;
		again->value[k] = 64.0 * TOUCH_BUFS * TOUCH_ROUNDS / second;
		ratio_f->value[k] = second / touch;
	}
	/* The target compares vdmabuf's first touch with its own second write. */
	ratio_f->value[1] = ratio_f->value[2] = -1;
	ratio_f->value[KINDS] = 1.0;
}

struct fence_ctx {
	int fd, timeline;	/* timeline < 0: vdmabuf's fences; else sw_sync's, one per context */
	unsigned int seq;	/* the timeline's value: each fence is the next one */
};

/*
 * Attaches a new fence to the buffer c->fd and returns a sync_file for it (-1 on failure), as
 * each exporter does it: vdmabuf's fence ioctl (@handle: the fence's handle), or an sw_sync
 * fence put into the buffer with the core's DMA_BUF_IOCTL_IMPORT_SYNC_FILE, the standard way to
 * attach a userspace fence to any dma-buf (c->fd < 0: into none).
 */
static int fence_attach(struct fence_ctx *c, int *handle)
{
	struct sw_sync_create_fence_data d = { .value = ++c->seq, .name = "bench" };
	struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE };
	int sf;

	if (c->timeline < 0) {
		*handle = vdmabuf_fence(vdmabuf_dev, c->fd, VDMABUF_USAGE_WRITE, &sf);
		return *handle < 0 ? -1 : sf;
	}
	if (ioctl(c->timeline, SW_SYNC_IOC_CREATE_FENCE, &d))
		return -1;
	imp.fd = d.fence;
	if (c->fd >= 0 && ioctl(c->fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp)) {
		close(d.fence);
		return -1;
	}
	return d.fence;
}

/* Signals the fence fence_attach() made. */
static int fence_signal(struct fence_ctx *c, int handle)
{
	__u32 one = 1;

	if (c->timeline < 0)
		return vdmabuf_signal(vdmabuf_dev, handle, 0);
	return ioctl(c->timeline, SW_SYNC_IOC_INC, &one);
}

/* The whole cycle: attach a fence, signal it, poll its sync_file (signalled by then), close. */
static int op_fence_cycle(void *arg)
{
	struct fence_ctx *c = arg;
	int h, sf = fence_attach(c, &h);

	if (sf < 0)
		return -1;
	if (fence_signal(c, h) || poll_events(sf, POLLIN, 1000) != POLLIN) {
		close(sf);
		return -1;
	}
	close(sf);
	return 0;
}

/* Time stamp counter ticks: fine-grained under TCG, where the guest's clock moves in 4 ms steps. */
static unsigned long long ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return now() * 1e9;
#endif
}

/* Ticks per microsecond, over half a second of the guest's clock (error under 1 %). */
static double ticks_per_us(void)
{
	double t0 = now(), t;
	unsigned long long k0 = ticks();

	while ((t = now()) - t0 < 0.5)
		;
	return (ticks() - k0) / ((t - t0) * 1e6);
}

/* A thread that polls the file it is handed; @state: 0 idle, 1 handed one, 2 woken, 3 exit. */
struct waiter {
	pthread_t thread;
	_Atomic pid_t tid;
	int fd;
	_Atomic int state;
};

static void *waiter_loop(void *arg)
{
	struct waiter *w = arg;
	int s;

	atomic_store(&w->tid, gettid());
	for (;;) {
		while ((s = atomic_load(&w->state)) != 1 && s != 3)
			;
		if (s == 3)
			return NULL;
		poll_events(w->fd, POLLIN, 1000);
		atomic_compare_exchange_strong(&w->state, &s, 2);
	}
}

/* Whether thread @tid is asleep (state S in /proc), i.e. blocked in its poll. */
static int asleep(pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/*
 * One wake-up, in ticks (< 0 on failure): the waiter blocks in poll() on a new fence's sync_file
 * (@implicit: on the buffer, for the fence in its reservation object, as implicit sync waits);
 * the time runs from just before the signalling ioctl until this thread sees the waiter back in
 * userspace. Making and closing the fence are not timed.
 */
static double wake_once(struct fence_ctx *c, struct waiter *w, int implicit)
{
	unsigned long long t0, t1;
	int h, ok, sf;

	sf = fence_attach(c, &h);
	if (sf < 0)
		return -1;
	w->fd = implicit ? c->fd : sf;
	atomic_store(&w->state, 1);
	while (atomic_load(&w->state) == 1 && !asleep(atomic_load(&w->tid)))
		;
	t0 = ticks();
	ok = !fence_signal(c, h);
	while (ok && atomic_load(&w->state) != 2)
		;
	t1 = ticks();
	close(sf);
	atomic_store(&w->state, 0);
	return ok ? (double)(t1 - t0) : -1;
}

#define WAKES 301

/* The median wake-up of each of @n exporters, in microseconds (-1 on failure), taking turns. */
static void wakes(int n, struct fence_ctx **c, int implicit, double *out)
{
	static double t[2][WAKES];
	struct waiter w = { .state = 0 };
	double tpu = ticks_per_us();
	int i, k;

	for (k = 0; k < n; k++)
		out[k] = -1;
	if (pthread_create(&w.thread, NULL, waiter_loop, &w))
		return;
	while (!atomic_load(&w.tid))
		;
	for (i = 0; i < WAKES; i++)
		for (k = 0; k < n; k++)
			if ((t[k][i] = wake_once(c[k], &w, implicit)) < 0)
				goto out;
	for (k = 0; k < n; k++) {
		qsort(t[k], WAKES, sizeof(double), cmp_double);
		out[k] = t[k][WAKES / 2] / tpu;
	}
out:
	atomic_store(&w.state, 3);
	pthread_join(w.thread, NULL);
}

/*
 * Fences: the wake-up, the target (a poller blocked on the fence's sync_file or on the buffer,
 * woken by the signal), and the whole cycle of attach, signal, poll and close, against sw_sync
 * fences put into a system-heap buffer; the bare sw_sync cycle, which skips the buffer, for
 * reference.
 */
static void bench_fence(void)
{
	struct figure *wake = figure("fence signal->poll wake-up", "us", 1, 1.2);
	struct figure *implicit = figure("fence signal->buffer poll wake-up", "us", 1, 1.2);
	struct figure *cycle = figure("fence attach+signal+poll+close", "us", 1, 0);
	struct figure *bare = figure("fence cycle, sw_sync bare", "us", 1, 0);
	struct fence_ctx v = { .fd = make(B_VDMABUF, 4 * KIB), .timeline = -1 };
	struct fence_ctx s = { .fd = make(B_HEAP, 4 * KIB) };
	struct fence_ctx b = { .fd = -1 };
	struct fence_ctx *both[2] = { &v, &s };
	op_fn ops[3] = { op_fence_cycle, op_fence_cycle, op_fence_cycle };
	void *ctxs[3] = { &v, &s, &b };
	double t[3];

	/* Each open of sw_sync is a timeline of its own, which @seq follows. */
	s.timeline = open("/sys/kernel/debug/sync/sw_sync", O_RDWR | O_CLOEXEC);
	b.timeline = open("/sys/kernel/debug/sync/sw_sync", O_RDWR | O_CLOEXEC);
	if (v.fd < 0 || s.fd < 0 || s.timeline < 0 || b.timeline < 0)
		goto out;
	wakes(2, both, 0, t);
	wake->value[0] = t[0];
	wake->value[KINDS] = t[1];	/* reference: sw_sync */
	wakes(2, both, 1, t);
	implicit->value[0] = t[0];
	implicit->value[KINDS] = t[1];
	per_ops(3, ops, ctxs, t);
	cycle->value[0] = bare->value[0] = t[0] < 0 ? -1 : t[0] * 1e6;
	cycle->value[KINDS] = t[1] < 0 ? -1 : t[1] * 1e6;	/* reference: sw_sync into a heap buffer */
	bare->value[KINDS] = t[2] < 0 ? -1 : t[2] * 1e6;	/* reference: sw_sync alone */
out:
	close(v.fd);
	close(s.fd);
	close(s.timeline);
	close(b.timeline);
}

struct copy_ctx {
	int imp, src, dst;
	uint8_t *a, *b;
};

static int op_copy(void *arg)
{
	struct copy_ctx *c = arg;
	struct vdmabuf_importer_copy cp = { .src = c->src, .dst = c->dst, .length = 16 * MIB };

	if (ioctl(c->imp, VDMABUF_IMPORTER_IOCTL_COPY, &cp) ||
	    poll_events(cp.out_fence, POLLIN, 10000) != POLLIN)
		return -1;
	close(cp.out_fence);
	return 0;
}

static int op_memcpy(void *arg)
{
	struct copy_ctx *c = arg;

	memcpy(c->b, c->a, 16 * MIB);
	return c->b[12345];
}

static void bench_copy(int imp)
{
	struct figure *f = figure("copy job 16 MiB", "MB/s", 0, 0.8);
	struct copy_ctx c = { .imp = imp };
	int a = make(B_VDMABUF, 16 * MIB), b = make(B_VDMABUF, 16 * MIB);
	double t;

	c.src = imp_import(imp, a, 0);
	c.dst = imp_import(imp, b, 0);
	if (c.src >= 0 && c.dst >= 0) {
		t = per_op(op_copy, &c);
		f->value[0] = t < 0 ? -1 : 16 / t;
	}
	c.a = malloc(16 * MIB);
	c.b = malloc(16 * MIB);
	if (c.a && c.b) {
		memset(c.a, 1, 16 * MIB);
		memset(c.b, 2, 16 * MIB);
		t = per_op(op_memcpy, &c);
		f->value[KINDS] = t < 0 ? -1 : 16 / t;	/* reference: memcpy */
	}
	free(c.a);
	free(c.b);
	close(a);
	close(b);
}

struct attach_ctx {
	int imp, fd;
};

/*
 * 64 imports (attachments) of one buffer, each mapped and unmapped in turn while all are
 * attached, then released. One device holds at most 7 mappings of a buffer at once (the
 * DMA-API debug limit), so they are not all mapped together.
 */
static int op_attach64(void *arg)
{
	struct attach_ctx *c = arg;
	int handles[64], k, ret = 0;

	for (k = 0; k < 64; k++) {
		handles[k] = imp_import(c->imp, c->fd, 0);
		if (handles[k] < 0 || imp_map(c->imp, handles[k], VDMABUF_IMPORTER_BIDIRECTIONAL) ||
		    imp_handle_op(c->imp, VDMABUF_IMPORTER_IOCTL_UNMAP, handles[k])) {
			ret = -1;
			k++;
			break;
		}
	}
	while (k-- > 0)
		if (handles[k] >= 0)
			imp_handle_op(c->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, handles[k]);
	return ret;
}

static int op_create_1g(void *arg)
{
	struct create_ctx *c = arg;
	int fd = make(c->kind, 1024 * MIB);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void bench_scale(int imp)
{
	static int live[10000];
	struct rlimit lim = { 11000, 11000 };
	struct create_ctx c = { .kind = B_VDMABUF, .size = 4 * KIB };
	struct figure *f1k = figure("create+close 4 KiB, 1k live", "us", 1, 0);
	struct figure *f10k = figure("create+close 4 KiB, 10k live", "us", 1, 1.2);
	struct figure *big = figure("create+close 1 GiB", "ms", 1, 0.9);
	struct figure *att = figure("64 attachments, each mapped", "us", 1, 0);
	int n = 0, i, k;
	double t;

	/* 10k live buffers are 10k descriptors. */
	setrlimit(RLIMIT_NOFILE, &lim);
	for (k = 0; k < 2; k++) {
		while (n < (k ? 10000 : 1000) && (live[n] = make(B_VDMABUF, 4 * KIB)) >= 0)
			n++;
		t = n == (k ? 10000 : 1000) ? per_op(op_create, &c) : -1;
		(k ? f10k : f1k)->value[0] = t < 0 ? -1 : t * 1e6;
	}
	for (i = 0; i < n; i++)
		close(live[i]);
	/* Per-buffer time at 10k live buffers against 1k: the reference slot holds the 1k time. */
	f10k->value[KINDS] = f1k->value[0];

	/*
	 * Medians of interleaved batches, so that neither exporter pays alone for the guest's
	 * first touch of RAM or for memory the other left fragmented.
	 */
	{
		struct create_ctx cc[3] = { { .kind = B_VDMABUF }, { .kind = B_HEAP },
					    { .kind = B_FLOOR } };
		op_fn ops[3] = { op_create_1g, op_create_1g, op_create_1g };
		void *ctxs[3] = { &cc[0], &cc[1], &cc[2] };
		double tt[3];

		per_ops(3, ops, ctxs, tt);
		for (k = 0; k < 2; k++)
			big->value[k] = tt[k] < 0 ? -1 : tt[k] * 1e3;
		big->floor = tt[2] < 0 ? -1 : tt[2] * 1e3;
	}

	{
		struct attach_ctx ac[2] = { { .imp = imp, .fd = make(B_VDMABUF, MIB) },
					    { .imp = imp, .fd = make(B_HEAP, MIB) } };
		op_fn ops[2] = { op_attach64, op_attach64 };
		void *ctxs[2] = { &ac[0], &ac[1] };
		double tt[2];

		if (ac[0].fd >= 0 && ac[1].fd >= 0) {
			per_ops(2, ops, ctxs, tt);
			for (k = 0; k < 2; k++)
				att->value[k] = tt[k] < 0 ? -1 : tt[k] * 1e6;
		}
		for (k = 0; k < 2; k++)
			if (ac[k].fd >= 0)
				close(ac[k].fd);
	}
}

/*
 * "loop EXPORTER WORK SECONDS" (make profile): one exporter's (vdmabuf, heap or floor) share of a
 * figure, over and over for SECONDS, so that a debugger stepping the guest finds it running. WORK
 * is "map", the 1 MiB import round trip of bench_map(), or "create", a create and close of
 * 4 KiB as in bench_create(). Prints the number of rounds; returns 1 if one failed.
 */
static int loop(int imp, const char *exporter, const char *work, const char *seconds)
{
	static const struct {
		const char *name;
		enum kind kind;
	} exporters[] = { { "vdmabuf", B_VDMABUF }, { "heap", B_HEAP }, { "floor", B_FLOOR } };
	int create = !strcmp(work, "create");
	struct create_ctx cc = { .size = 4 * KIB };
	struct map_ctx mc = { .imp = imp, .fd = -1 };
	op_fn op = create ? op_create : op_map;
	void *ctx = create ? (void *)&cc : (void *)&mc;
	double end = now() + atof(seconds);
	int kind = -1;
	unsigned int i;
	long n = 0;

	for (i = 0; i < sizeof(exporters) / sizeof(exporters[0]); i++)
		if (!strcmp(exporter, exporters[i].name))
			kind = exporters[i].kind;
	if (kind < 0 || (!create && strcmp(work, "map"))) {
		printf("loop: no \"%s\" through exporter \"%s\"\n", work, exporter);
		return 1;
	}
	cc.kind = kind;
	if (!create) {
		mc.fd = make(kind, MIB);
		if (mc.fd < 0) {
			printf("loop: no buffer from %s\n", exporter);
			return 1;
		}
	}
	while (now() < end) {
		if (op(ctx)) {
			printf("loop: %s %ld through %s failed\n", work, n, exporter);
			return 1;
		}
		n++;
	}
	printf("loop: %ld rounds of %s through %s\n", n, work, exporter);
	if (mc.fd >= 0)
		close(mc.fd);
	return 0;
}

/* Whether group @name runs: all of them without arguments, else those named. */
static int wanted(int argc, char **argv, const char *name)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return argc < 2;
}

/*
 * vdmabuf_bench [group...]: groups create, map, sync, touch, fence, copy, scale; all by default.
 * vdmabuf_bench loop EXPORTER WORK SECONDS: see loop().
 */
int main(int argc, char **argv)
{
	int imp;

	vdmabuf_dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	/* A peer that is missing gets no figures; vdmabuf's are still measured. */
	heap_dev = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	udmabuf_dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	floor_dev = open("/dev/vdmabuf-floor", O_RDWR | O_CLOEXEC);
	imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	if (vdmabuf_dev < 0 || imp < 0) {
		printf("vdmabuf and vdmabuf_importer must be loaded\n");
		return 2;
	}
	if (argc == 5 && !strcmp(argv[1], "loop"))
		return loop(imp, argv[2], argv[3], argv[4]);
	if (wanted(argc, argv, "create"))
		bench_create();
	if (wanted(argc, argv, "map"))
		bench_map(imp);
	if (wanted(argc, argv, "sync"))
		bench_sync();
	if (wanted(argc, argv, "touch"))
		bench_touch();
	if (wanted(argc, argv, "fence"))
		bench_fence();
	if (wanted(argc, argv, "copy"))
		bench_copy(imp);
	if (wanted(argc, argv, "scale"))
		bench_scale(imp);
	print_results();
	return 0;
}
