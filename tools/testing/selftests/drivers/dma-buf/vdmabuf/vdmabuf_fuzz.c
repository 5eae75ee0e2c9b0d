// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded fuzzer for vdmabuf and the sample importer: several processes issue random but
 * structured calls against /dev/vdmabuf, /dev/vdmabuf-importer, their dma-buf fds, vgem and
 * sw_sync: every ioctl with random and boundary values, mmap/munmap at random offsets, fork,
 * closes in random order, fds passed to the other device. Each call must succeed or fail with an
 * errno its documentation allows; data written through one path must read back through another.
 *
 * VDMABUF_FUZZ_SEED picks the seed (printed either way: the same seed replays the same calls),
 * VDMABUF_FUZZ_CALLS the calls per process, VDMABUF_FUZZ_SECONDS a time limit. On a failure the
 * process prints its last calls.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vdmabuf_format_util.h"
#include "vdmabuf_importer_util.h"

#define PROCS 3
#define SLOTS 8
#define HISTORY 32

struct slot {
	int fd;			/* a vdmabuf buffer, or -1 */
	size_t size;
	int handle;		/* its import, or -1 */
	void *map;		/* a mapping of it, or NULL */
};

struct fuzzer {
	uint64_t rng;
	int dev, imp, vgem, timeline;
	unsigned int sw_value;
	struct slot slots[SLOTS];
	int fences[SLOTS];	/* vdmabuf fence handles, or -1 */
	char history[HISTORY][96];
	unsigned long calls;
	int failed;
};

static uint64_t next(struct fuzzer *f)
{
	/* xorshift64*: deterministic per seed. */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dull;
}

static unsigned int pick(struct fuzzer *f, unsigned int n)
{
	return next(f) % n;
}

/* A size: mostly valid, sometimes a boundary that must be refused. */
static uint64_t fuzz_size(struct fuzzer *f)
{
	static const uint64_t odd[] = { 0, 1, PAGE - 1, PAGE + 1, ~0ull, 1ull << 40, 1ull << 63 };

	if (pick(f, 8) == 0)
		return odd[pick(f, sizeof(odd) / sizeof(odd[0]))];
	return (1 + pick(f, 16)) * PAGE;
}

static __u32 fuzz_flags(struct fuzzer *f, __u32 valid)
{
	return pick(f, 6) == 0 ? (__u32)next(f) : (__u32)next(f) & valid;
}

static void note(struct fuzzer *f, const char *fmt, long a, long b, int ret)
{
	char *h = f->history[f->calls % HISTORY];

	snprintf(h, sizeof(f->history[0]), "%lu: ", f->calls);
	snprintf(h + strlen(h), sizeof(f->history[0]) - strlen(h), fmt, a, b);
	snprintf(h + strlen(h), sizeof(f->history[0]) - strlen(h), " = %d", ret);
	f->calls++;
}

/* Checks that @ret is a success or one of the errnos in @allowed (0-terminated). */
static void expect(struct fuzzer *f, const char *what, int ret, const int *allowed)
{
	unsigned long i;

	if (ret >= 0)
		return;
	for (i = 0; allowed[i]; i++)
		if (ret == -allowed[i])
			return;
	if (!f->failed) {
		printf("# %s: unexpected %s; last calls:\n", what, strerror(-ret));
		for (i = 0; i < HISTORY; i++)
			if (f->history[(f->calls + i) % HISTORY][0])
				printf("#   %s\n", f->history[(f->calls + i) % HISTORY]);
	}
	f->failed = 1;
}

static const int E_ARGS[] = { EINVAL, EBADF, ENOENT, ENOTTY, EFAULT, 0 };
static const int E_CREATE[] = { EINVAL, ENOSPC, EFAULT, 0 };
static const int E_FENCE[] = { EINVAL, EBADF, EBUSY, ENOENT, ETIMEDOUT, 0 };
static const int E_MIGRATE[] = { EINVAL, EBADF, EBUSY, ENOSPC, ETIMEDOUT, 0 };
static const int E_IMPORTER[] = { EINVAL, EBADF, ENOENT, ETIMEDOUT, EIO, ECANCELED, 0 };
/* The importer's map: also at its limit of mappings of one buffer. */
static const int E_MAP[] = { EINVAL, EBADF, ENOENT, ETIMEDOUT, EIO, ECANCELED, EBUSY, 0 };
/* The importer's device accesses: also unmapped, or mapped the other way. */
static const int E_DEVICE[] = { EINVAL, ENOENT, ENODATA, EPERM, 0 };

/* A file descriptor to pass: mostly one of ours, sometimes a wrong one. */
static int fuzz_fd(struct fuzzer *f)
{
	static const int wrong[] = { -1, 0, 999 };

	switch (pick(f, 8)) {
	case 0:
		return wrong[pick(f, 3)];
	case 1:
		return f->dev;
	default:
		return f->slots[pick(f, SLOTS)].fd;
	}
}

static void drop_slot(struct fuzzer *f, struct slot *s)
{
	if (s->handle >= 0)
		imp_handle_op(f->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, s->handle);
	if (s->map)
		munmap(s->map, s->size);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = s->handle = -1;
	s->map = NULL;
}

/*
 * The modes of a new buffer: mostly none, else a table layout, a map delay or self-signalling
 * fences, now and then invalid or at a bad address. No injected failures: their errnos are the
 * caller's choice, which the other operations' checks would not expect.
 */
static __u64 fuzz_modes(struct fuzzer *f, struct vdmabuf_modes *m)
{
	memset(m, 0, sizeof(*m));
	switch (pick(f, 12)) {
	case 0:
		m->sg_layout = pick(f, 6);
		m->sg_max_entry = m->sg_layout == VDMABUF_SG_CAPPED ? (1 + pick(f, 4)) * PAGE : 0;
		break;
	case 1:
		m->map_delay_ms = pick(f, 3);
		m->fence_delay_ms = pick(f, 4) * 5;
		m->fence_error = m->fence_delay_ms && pick(f, 2) ? -EIO : 0;
		break;
	case 2:
		return pick(f, 2) ? 8 : next(f);
	case 3:
		m->flags = pick(f, 8) ? VDMABUF_MODE_NONCOHERENT : (__u32)next(f);
		break;
	default:
		return 0;
	}
	if (!pick(f, 8))
		m->pad = 1;
	return (uintptr_t)m;
}

static void op_create(struct fuzzer *f)
{
	struct vdmabuf_modes m;
	struct vdmabuf_create c = {
		.size = fuzz_size(f),
		.flags = fuzz_flags(f, VDMABUF_CREATE_FLAGS),
		.modes = fuzz_modes(f, &m),
	};
	struct slot *s = &f->slots[pick(f, SLOTS)];
	int ret = vdmabuf_ioctl(f->dev, VDMABUF_IOCTL_CREATE, &c);

	note(f, "create size %#lx flags %#lx", c.size, c.flags, ret);
	expect(f, "create", ret, E_CREATE);
	if (ret < 0)
		return;
	drop_slot(f, s);
	s->fd = c.fd;
	s->size = c.size;
	/* A read-only buffer cannot be mapped writable: keep only read-write ones mapped. */
	if (c.flags & VDMABUF_CREATE_RDWR)
		s->map = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->map == MAP_FAILED)
		s->map = NULL;
}

static const int E_CREATE_FORMAT[] = { EINVAL, ENOSPC, EOPNOTSUPP, EFAULT, 0 };
static const int E_NONE[] = { 0 };

/*
 * A format-aware buffer of a random format, size and layout, mostly valid; on success its layout
 * must read back through VDMABUF_IOCTL_GET_FORMAT, and its first dma-buf joins the slots.
 */
static void op_create_format(struct fuzzer *f)
{
	static const __u32 aligns[] = { 0, 1, 64, 256, 4096, 3, 8192 };
	struct vdmabuf_create_format c = {
		.width = pick(f, 8) ? 2 * (1 + pick(f, 128)) : (__u32)next(f),
		.height = pick(f, 8) ? 2 * (1 + pick(f, 128)) : 1 + pick(f, 3),
		.fourcc = pick(f, 8) ? fmts[pick(f, NFMTS)].fourcc : (__u32)next(f),
		.modifier = pick(f, 8) ? DRM_FORMAT_MOD_LINEAR : (__u64)next(f) << 32 | next(f),
		.stride_align = aligns[pick(f, 7)],
		.flags = fuzz_flags(f, VDMABUF_CREATE_FORMAT_FLAGS),
	};
	struct vdmabuf_modes m;
	struct vdmabuf_format_info info = { 0 };
	struct slot *s = &f->slots[pick(f, SLOTS)];
	int ret;

	c.modes = fuzz_modes(f, &m);
	ret = vdmabuf_ioctl(f->dev, VDMABUF_IOCTL_CREATE_FORMAT, &c);
	__u32 p;

	note(f, "create_format fourcc %#lx flags %#lx", c.fourcc, c.flags, ret);
	expect(f, "create_format", ret, E_CREATE_FORMAT);
	if (ret < 0)
		return;
	info.fd = c.planes[c.num_planes - 1].fd;
	ret = vdmabuf_ioctl(f->dev, VDMABUF_IOCTL_GET_FORMAT, &info);
	note(f, "get_format fd %ld planes %ld", info.fd, c.num_planes, ret);
	if (ret || info.fourcc != c.fourcc || info.num_planes != c.num_planes)
		expect(f, "get_format", ret ? ret : -EPROTO, E_NONE);
	for (p = 0; p < c.num_planes; p++)
		if (info.planes[p].offset != c.planes[p].offset ||
		    info.planes[p].stride != c.planes[p].stride)
			expect(f, "get_format layout", -EPROTO, E_NONE);
	drop_slot(f, s);
	s->fd = c.planes[0].fd;
	s->size = lseek(s->fd, 0, SEEK_END);
	for (p = 1; p < c.num_planes; p++)
		if (c.planes[p].fd != c.planes[0].fd && (p == 1 || c.planes[p].fd != c.planes[p - 1].fd))
			close(c.planes[p].fd);
	if (c.flags & VDMABUF_CREATE_RDWR)
		s->map = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->map == MAP_FAILED)
		s->map = NULL;
}

/* Writes through the CPU mapping, reads through the importer (or the other way round). */
static void op_roundtrip(struct fuzzer *f)
{
	struct slot *s = &f->slots[pick(f, SLOTS)];
	unsigned int seed = next(f);
	uint64_t sum;
	int ret;

	if (s->fd < 0 || !s->map)
		return;
	if (s->handle < 0) {
		s->handle = imp_import(f->imp, s->fd, pick(f, 2) ? VDMABUF_IMPORT_DYNAMIC : 0);
		note(f, "import %ld dynamic %ld", s->fd, 0, s->handle);
		expect(f, "import", s->handle, E_IMPORTER);
		if (s->handle < 0)
			return;
	}
	if (pick(f, 2)) {
		dmabuf_sync(s->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
		fill_pattern(s->map, PAGE, seed);
		dmabuf_sync(s->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
		ret = imp_read(f->imp, s->handle, 0, PAGE, &sum);
		note(f, "read back %ld seed %ld", s->handle, seed, ret);
		/* A fence of this process's may still hold the buffer: then it times out. */
		expect(f, "importer read", ret, E_IMPORTER);
		if (!ret && sum != pattern_fnv(seed, PAGE))
			expect(f, "importer read of an mmap write", -EBADMSG, E_ARGS);
	} else {
		ret = imp_fill(f->imp, s->handle, seed, 0, PAGE);
		note(f, "fill %ld seed %ld", s->handle, seed, ret);
		expect(f, "importer fill", ret, E_IMPORTER);
		dmabuf_sync(s->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		if (!ret && check_pattern(s->map, PAGE, seed, 0) != -1)
			expect(f, "mmap read of an importer fill", -EBADMSG, E_ARGS);
		dmabuf_sync(s->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	}
}

static void op_mmap(struct fuzzer *f)
{
	struct slot *s = &f->slots[pick(f, SLOTS)];
	size_t off = pick(f, 4) ? 0 : pick(f, 32) * PAGE, len = (1 + pick(f, 16)) * PAGE;
	int shared = pick(f, 8) ? MAP_SHARED : MAP_PRIVATE;
	uint8_t *p;

	if (s->fd < 0)
		return;
	p = mmap(NULL, len, PROT_READ, shared, s->fd, off);
	note(f, "mmap off %#lx len %#lx", off, len, p == MAP_FAILED ? -errno : 0);
	if (p == MAP_FAILED) {
		expect(f, "mmap", -errno, (const int[]){ EINVAL, EACCES, ENOMEM, 0 });
		return;
	}
	if (shared == MAP_PRIVATE || off + len > s->size)
		expect(f, "mmap out of range or private succeeded", -EPROTO, E_ARGS);
	(void)*(volatile uint8_t *)p;
	munmap(p, len);
}

static void op_ioctl(struct fuzzer *f)
{
	int fd = fuzz_fd(f), ret, which = pick(f, 10);
	struct slot *s = &f->slots[pick(f, SLOTS)];

	switch (which) {
	case 0: {
		struct dma_buf_sync sync = { .flags = next(f) & (pick(f, 4) ? 7 : ~0ull) };

		ret = vdmabuf_ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
		note(f, "SYNC fd %ld flags %#lx", fd, sync.flags, ret);
		expect(f, "DMA_BUF_IOCTL_SYNC", ret,
		       (const int[]){ EINVAL, EBADF, ENOTTY, EFAULT, 0 });
		break;
	}
	case 1: {
		char name[48];

		memset(name, 'a' + pick(f, 26), sizeof(name));
		name[pick(f, sizeof(name))] = 0;
		ret = vdmabuf_ioctl(fd, DMA_BUF_SET_NAME_B, name);
		note(f, "SET_NAME fd %ld len %ld", fd, strlen(name), ret);
		expect(f, "DMA_BUF_SET_NAME", ret, E_ARGS);
		break;
	}
	case 2: {
		struct dma_buf_export_sync_file e = { .flags = fuzz_flags(f, DMA_BUF_SYNC_RW) };

		ret = vdmabuf_ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e);
		note(f, "EXPORT_SYNC_FILE fd %ld flags %#lx", fd, e.flags, ret);
		expect(f, "EXPORT_SYNC_FILE", ret, E_ARGS);
		if (!ret)
			close(e.fd);
		break;
	}
	case 3:
		ret = vdmabuf_migrate(f->dev, fd);
		note(f, "MIGRATE fd %ld %ld", fd, 0, ret);
		expect(f, "MIGRATE", ret, E_MIGRATE);
		if (!ret && s->map)
			(void)*(volatile uint8_t *)s->map;
		break;
	case 4: {
		struct vdmabuf_fence_attach a = {
			.fd = fd, .usage = pick(f, 5), .flags = fuzz_flags(f, VDMABUF_FENCE_SYNC_FILE),
			.pad = pick(f, 16) ? 0 : 1,
		};
		int slot = pick(f, SLOTS);

		ret = vdmabuf_ioctl(f->dev, VDMABUF_IOCTL_FENCE_ATTACH, &a);
		note(f, "FENCE_ATTACH fd %ld usage %ld", fd, a.usage, ret);
		expect(f, "FENCE_ATTACH", ret, E_FENCE);
		if (!ret) {
			if (a.flags & VDMABUF_FENCE_SYNC_FILE)
				close(a.sync_file);
			if (f->fences[slot] >= 0)
				vdmabuf_signal(f->dev, f->fences[slot], 0);
			f->fences[slot] = a.handle;
		}
		break;
	}
	case 5: {
		int slot = pick(f, SLOTS);
		int h = pick(f, 8) ? f->fences[slot] : (int)next(f);
		int err = pick(f, 4) ? 0 : -(int)pick(f, 5000);

		ret = vdmabuf_signal(f->dev, h, err);
		note(f, "FENCE_SIGNAL %ld error %ld", h, err, ret);
		expect(f, "FENCE_SIGNAL", ret, E_FENCE);
		if (h == f->fences[slot] && ret != -EINVAL)
			f->fences[slot] = -1;
		break;
	}
	case 6: {
		struct vdmabuf_importer_map m = {
			.handle = pick(f, 8) ? s->handle : (int)next(f), .direction = pick(f, 4),
		};

		ret = vdmabuf_ioctl(f->imp, pick(f, 3) ? VDMABUF_IMPORTER_IOCTL_MAP :
			VDMABUF_IMPORTER_IOCTL_UNMAP, &m);
		note(f, "importer MAP/UNMAP %ld dir %ld", m.handle, m.direction, ret);
		expect(f, "importer MAP/UNMAP", ret, E_MAP);
		break;
	}
	case 7: {
		struct slot *d = &f->slots[pick(f, SLOTS)];
		int out;

		if (s->handle < 0 || d->handle < 0)
			return;
		out = imp_copy(f->imp, s->handle, d->handle, pick(f, 4) * PAGE, pick(f, 4) * PAGE,
			       pick(f, 8) ? PAGE : next(f));
		note(f, "COPY %ld -> %ld", s->handle, d->handle, out);
		expect(f, "importer COPY", out, E_IMPORTER);
		if (out >= 0) {
			if (pick(f, 2) && poll_events(out, POLLIN, 20000) != POLLIN)
				expect(f, "copy fence never signalled", -ETIME, E_ARGS);
			close(out);
		}
		break;
	}
	case 8: {
		/* The importer's other ioctls with random fields. */
		__u32 h = pick(f, 4) ? s->handle : (__u32)next(f);
		__u64 off = pick(f, 4) ? 0 : next(f) % (1ull << pick(f, 64)), len = fuzz_size(f);
		const int *allowed = E_IMPORTER;
		uint64_t sum;

		switch (pick(f, 6)) {
		case 0: {
			struct vdmabuf_importer_import imp = {
				.fd = fd, .flags = fuzz_flags(f, VDMABUF_IMPORT_FLAGS),
				.pad = pick(f, 16) ? 0 : 1,
			};

			ret = vdmabuf_ioctl(f->imp, VDMABUF_IMPORTER_IOCTL_IMPORT, &imp);
			note(f, "importer IMPORT fd %ld flags %#lx", fd, imp.flags, ret);
			if (!ret)
				imp_handle_op(f->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, imp.handle);
			break;
		}
		case 1:
			ret = imp_read(f->imp, h, off, len, &sum);
			note(f, "importer READ %ld off %#lx", h, off, ret);
			break;
		case 2:
			ret = imp_fill(f->imp, h, next(f), off, len);
			note(f, "importer FILL %ld off %#lx", h, off, ret);
			break;
		case 3:
			ret = imp_dma_read(f->imp, h, off, len, &sum);
			note(f, "importer DMA_READ %ld off %#lx", h, off, ret);
			allowed = E_DEVICE;
			break;
		case 4:
			ret = imp_dma_fill(f->imp, h, next(f), off, len);
			note(f, "importer DMA_FILL %ld off %#lx", h, off, ret);
			allowed = E_DEVICE;
			break;
		default:
			ret = imp_handle_op(f->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, (__u32)next(f));
			note(f, "importer RELEASE random %ld %ld", 0, 0, ret);
			break;
		}
		expect(f, "importer ioctl", ret, allowed);
		break;
	}
	default: {
		/* Unknown ioctls on every file of ours. */
		unsigned long cmd = _IOC(_IOC_READ | _IOC_WRITE, pick(f, 2) ? 0xB9 : 'b',
					 pick(f, 64), 8 * (1 + pick(f, 8)));
		__u64 arg[8] = { 0 };
		int on = pick(f, 3) == 0 ? f->dev : pick(f, 2) ? f->imp : fd;

		ret = vdmabuf_ioctl(on, cmd, arg);
		note(f, "ioctl %#lx on %ld", cmd, on, ret);
		if (ret > 0)
			close(ret); /* a new fd, from a defined ioctl that took these values */
		expect(f, "random ioctl", ret < 0 ? ret : 0,
		       (const int[]){ EINVAL, EBADF, ENOTTY, EFAULT, ENOENT, ENOSPC, EBUSY, EIO,
				      ETIMEDOUT, EINTR, EPERM, ECANCELED, 0 });
		break;
	}
	}
}

static void op_other(struct fuzzer *f)
{
	struct slot *s = &f->slots[pick(f, SLOTS)];
	int ret;

	switch (pick(f, 20)) {
	case 0 ... 3:
		/* Close in any order: the import and the mapping keep the buffer. */
		if (s->fd >= 0) {
			note(f, "close fd %ld %ld", s->fd, 0, 0);
			close(s->fd);
			s->fd = -1;
			drop_slot(f, s);
		}
		break;
	case 4 ... 7:
		if (f->vgem >= 0 && s->fd >= 0) {
			ret = vgem_import(f->vgem, s->fd);
			note(f, "vgem import %ld %ld", s->fd, 0, ret);
			expect(f, "vgem import", ret, E_ARGS);
			if (ret >= 0)
				vgem_close_handle(f->vgem, ret);
		}
		break;
	case 8 ... 11:
		/* A sw_sync gate on a buffer, signalled a little later. */
		if (f->timeline >= 0 && s->fd >= 0) {
			struct sw_sync_create_fence_data c = { .value = f->sw_value + 1 };
			struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE };
			__u32 one = 1;

			if (ioctl(f->timeline, SW_SYNC_IOC_CREATE_FENCE, &c))
				break;
			imp.fd = c.fence;
			ret = vdmabuf_ioctl(s->fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp);
			note(f, "IMPORT_SYNC_FILE sw_sync %ld %ld", c.value, 0, ret);
			expect(f, "IMPORT_SYNC_FILE", ret, E_ARGS);
			close(c.fence);
			usleep(pick(f, 2000));
			ioctl(f->timeline, SW_SYNC_IOC_INC, &one);
			f->sw_value++;
		}
		break;
	case 12: {
		/* A child that does a little and exits or is killed, with our fds. */
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			f->rng ^= getpid();
			for (int i = 0; i < 8; i++)
				op_ioctl(f);
			_exit(f->failed ? 1 : 0);
		}
		if (pick(f, 2))
			kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		note(f, "fork %ld %ld", pid, 0, WIFEXITED(status) ? WEXITSTATUS(status) : 0);
		if (WIFEXITED(status) && WEXITSTATUS(status))
			expect(f, "child", -EPROTO, E_ARGS);
		break;
	}
	default: {
		struct vdmabuf_importer_info info;

		if (s->handle >= 0) {
			ret = imp_info(f->imp, s->handle, &info);
			note(f, "importer INFO %ld %ld", s->handle, 0, ret);
			expect(f, "importer INFO", ret, E_IMPORTER);
		}
		break;
	}
	}
}

static int fuzz_process(uint64_t seed, unsigned long calls, double seconds)
{
	struct fuzzer f = { .rng = seed ? seed : 1 };
	struct timespec t0, t;
	unsigned long i;

	f.dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	f.imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	f.vgem = vgem_open();
	f.timeline = open("/sys/kernel/debug/sync/sw_sync", O_RDWR | O_CLOEXEC);
	if (f.dev < 0 || f.imp < 0)
		return 2;
	for (i = 0; i < SLOTS; i++) {
		f.slots[i].fd = f.slots[i].handle = -1;
		f.fences[i] = -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; f.calls < calls && !f.failed; i++) {
		switch (pick(&f, 10)) {
		case 0 ... 1:
			if (pick(&f, 4))
				op_create(&f);
			else
				op_create_format(&f);
			break;
		case 2 ... 3:
			op_roundtrip(&f);
			break;
		case 4:
			op_mmap(&f);
			break;
		case 5 ... 7:
			op_ioctl(&f);
			break;
		default:
			op_other(&f);
			break;
		}
		/* Fences signal soon, as a device's would: waits on them stay short. */
		if (i % 8 == 7) {
			/* Now and then one is left to its timeout instead. */
			for (int j = 0; j < SLOTS; j++) {
				if (f.fences[j] >= 0 && pick(&f, 8))
					vdmabuf_signal(f.dev, f.fences[j], 0);
				f.fences[j] = -1;
			}
		}
		if (i % 64 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
				break;
		}
	}
	printf("# process seed %llu: %lu calls%s\n", (unsigned long long)seed, f.calls,
	       f.failed ? ", FAILED" : "");
	for (i = 0; i < SLOTS; i++) {
		if (f.fences[i] >= 0)
			vdmabuf_signal(f.dev, f.fences[i], 0);
		drop_slot(&f, &f.slots[i]);
	}
	return f.failed;
}

FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

/* A million calls take about 25 minutes under TCG (make stress); the harness default is 30 s. */
TEST_F_TIMEOUT(fuzz, calls, 3600)
{
	uint64_t seed = env_long("VDMABUF_FUZZ_SEED", 0);
	unsigned long calls = env_long("VDMABUF_FUZZ_CALLS", 20000);
	double seconds = env_long("VDMABUF_FUZZ_SECONDS", 20);
	pid_t pids[PROCS];
	int i, status, wait;

	if (access(VDMABUF_DEV, F_OK) || access(VDMABUF_IMPORTER_DEV, F_OK))
		SKIP(return, "vdmabuf or vdmabuf_importer not loaded");
	if (!seed)
		seed = (uint64_t)time(NULL) * 2654435761u;
	ksft_print_msg("seed %llu (VDMABUF_FUZZ_SEED=%llu replays it), %lu calls per process\n",
		       (unsigned long long)seed, (unsigned long long)seed, calls);
	fflush(stdout);
	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(fuzz_process(seed + i, calls, seconds));
	}
	for (i = 0; i < PROCS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("process %d (seed %llu)", i,
							 (unsigned long long)(seed + i));
	}
	/* Everything the processes made is gone once their last jobs have been freed. */
	for (wait = 0; wait < 3000 && (vdmabuf_count("buffers") || vdmabuf_count("attachments") ||
				       vdmabuf_count("maps") || vdmabuf_count("bytes")); wait++)
		usleep(1000);
	EXPECT_EQ(0, vdmabuf_count("buffers"));
	EXPECT_EQ(0, vdmabuf_count("bytes"));
	EXPECT_EQ(0, vdmabuf_count("attachments"));
	EXPECT_EQ(0, vdmabuf_count("maps"));
}

TEST_HARNESS_MAIN
