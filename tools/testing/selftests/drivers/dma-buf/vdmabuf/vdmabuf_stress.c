// SPDX-License-Identifier: GPL-2.0
/*
 * Race tests for vdmabuf and the sample importer: real threads and processes race for a bounded
 * time (VDMABUF_STRESS_SECONDS each, 4 by default), and every test checks data afterwards, not
 * only return codes. lockdep, KASAN and kmemleak watch the kernel side meanwhile.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vdmabuf_format_util.h"
#include "vdmabuf_importer_util.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The harness kills a test after TEST_TIMEOUT_DEFAULT (30 s); make stress runs each test for
 * minutes. Each test ends on its own after VDMABUF_STRESS_SECONDS; this only bounds a hang, as
 * do the VM's step and VM timeouts.
 */
#define STRESS_TIMEOUT 1800

static double stress_seconds(void)
{
	return env_long("VDMABUF_STRESS_SECONDS", 4);
}

/* Lets the @n started @threads run for the stress time, then tells them to stop and joins them. */
static void run_then_stop(pthread_t *threads, int n, atomic_bool *stop)
{
	double end = now() + stress_seconds();

	while (now() < end)
		usleep(10000);
	atomic_store(stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
}

/* A loop of migrations of up to two buffers, until told to stop; counts what happened. */
struct migrator {
	int dev;
	int fd[2];
	atomic_bool stop;
	long done, busy, other;
	int last_error;
	pthread_t thread;
};

static void *migrate_loop(void *arg)
{
	struct migrator *m = arg;
	unsigned int i;

	for (i = 0; !atomic_load(&m->stop); i++) {
		int fd = m->fd[i % 2] >= 0 ? m->fd[i % 2] : m->fd[0];
		int ret = vdmabuf_migrate(m->dev, fd);

		if (!ret) {
			__atomic_add_fetch(&m->done, 1, __ATOMIC_RELAXED);
		} else if (ret == -EBUSY) {
			m->busy++;
			sched_yield();
		} else {
			m->other++;
			m->last_error = ret;
		}
	}
	return NULL;
}

static void start_migrator(struct migrator *m, int dev, int fd0, int fd1)
{
	memset(m, 0, sizeof(*m));
	m->dev = dev;
	m->fd[0] = fd0;
	m->fd[1] = fd1;
	pthread_create(&m->thread, NULL, migrate_loop, m);
}

static void stop_migrator(struct migrator *m)
{
	atomic_store(&m->stop, true);
	pthread_join(m->thread, NULL);
}

FIXTURE(stress) {
	int dev;
	int imp;
};

FIXTURE_SETUP(stress)
{
	self->dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	if (self->dev < 0)
		SKIP(return, "no " VDMABUF_DEV);
	self->imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
}

FIXTURE_TEARDOWN(stress)
{
	if (self->imp >= 0)
		close(self->imp);
	close(self->dev);
}

/*
 * The main thread writes a round number into every page of a mapped buffer while another thread
 * migrates the buffer in a loop; after each round it waits until two more migrations have
 * finished (so any migration that overlapped the round is done) and checks every page through
 * the mapping. A migration that copies before it zaps userspace's mappings loses the writes made
 * in between: those pages show the round before.
 */
#define WRITER_PAGES 1024

TEST_F_TIMEOUT(stress, writer_vs_migrate_loses_no_write, STRESS_TIMEOUT)
{
	size_t size = WRITER_PAGES * PAGE;
	long rounds = 0, lost = 0, i;
	volatile uint32_t *map;
	struct migrator m;
	uint32_t round;
	double end;
	void *fresh;
	int fd;

	fd = vdmabuf_create(self->dev, size, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	ASSERT_LE(0, fd);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);

	start_migrator(&m, self->dev, fd, -1);
	end = now() + stress_seconds();
	for (round = 1; now() < end; round++) {
		long done;

		for (i = 0; i < WRITER_PAGES; i++)
			map[i * PAGE / 4] = round;
		done = __atomic_load_n(&m.done, __ATOMIC_RELAXED);
		while (__atomic_load_n(&m.done, __ATOMIC_RELAXED) < done + 2 && !m.other)
			usleep(200);
		for (i = 0; i < WRITER_PAGES; i++)
			if (map[i * PAGE / 4] != round)
				lost++;
		rounds++;
	}
	stop_migrator(&m);

	ksft_print_msg("%ld rounds, %ld migrations, %ld writes lost\n", rounds, m.done, lost);
	EXPECT_EQ(0, m.other) TH_LOG("migrate: %d", m.last_error);
	EXPECT_LT(1, rounds);
	EXPECT_EQ(0, lost);
	/* A fresh mapping sees the last round too. */
	fresh = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, fresh);
	for (i = 0, lost = 0; i < WRITER_PAGES; i++)
		if (((uint32_t *)fresh)[i * PAGE / 4] != round - 1)
			lost++;
	EXPECT_EQ(0, lost);
	munmap(fresh, size);
	munmap((void *)map, size);
	close(fd);
}

/*
 * One thread maps the buffer, writes a token into one page through the new mapping (or through
 * a forked child's copy of it), and unmaps, over and over, while another migrates the buffer.
 * Every token must be visible through a fresh mapping afterwards: a mapping made during a
 * migration must never point at the pages the migration frees.
 */
#define MAPPER_PAGES 64

TEST_F_TIMEOUT(stress, mmap_fork_vs_migrate_keeps_every_write, STRESS_TIMEOUT)
{
	size_t size = MAPPER_PAGES * PAGE;
	uint32_t expect[MAPPER_PAGES] = { 0 };
	long iterations = 0, forks = 0, bad = 0;
	struct migrator m;
	uint32_t token;
	uint32_t *map;
	double end;
	size_t i;
	int fd;

	fd = vdmabuf_create(self->dev, size, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	ASSERT_LE(0, fd);
	start_migrator(&m, self->dev, fd, -1);
	end = now() + stress_seconds();
	for (token = 1; now() < end; token++) {
		size_t page = (token * 7) % MAPPER_PAGES;
		uint32_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED) {
			bad++;
			break;
		}
		/* The write through the previous, now unmapped, mapping is in the buffer. */
		if (token > 1) {
			size_t prev = ((token - 1) * 7) % MAPPER_PAGES;

			if (p[prev * PAGE / 4 + (token - 1) % 1024] != token - 1)
				bad++;
		}
		if (token % 16 == 0) {
			pid_t pid = fork();
			int status;

			if (pid == 0) {
				p[page * PAGE / 4 + token % 1024] = token;
				_exit(0);
			}
			waitpid(pid, &status, 0);
			forks++;
		} else {
			p[page * PAGE / 4 + token % 1024] = token;
		}
		/* The write went to the buffer: the mapping must show it until unmapped. */
		if (p[page * PAGE / 4 + token % 1024] != token)
			bad++;
		expect[page] = token;
		munmap(p, size);
		iterations++;
	}
	stop_migrator(&m);

	ksft_print_msg("%ld mappings (%ld through a child), %ld migrations\n", iterations, forks,
		       m.done);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, m.other);
	EXPECT_LT(0, m.done);
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < MAPPER_PAGES; i++)
		if (expect[i] && map[i * PAGE / 4 + expect[i] % 1024] != expect[i])
			bad++;
	EXPECT_EQ(0, bad);
	munmap(map, size);
	close(fd);
}

/*
 * The importer fills a source buffer, copies it to a destination with a fenced job and reads the
 * destination back, over and over with new patterns, while another thread migrates both buffers.
 * Both are dynamic imports, so migrations invalidate them; every copy must arrive intact.
 */
TEST_F_TIMEOUT(stress, importer_fenced_copy_vs_migrate_keeps_data, STRESS_TIMEOUT)
{
	size_t size = 64 * PAGE;
	struct buffer src, dst;
	long copies = 0, bad = 0;
	int hs, hd, fence;
	struct migrator m;
	unsigned int seed;
	uint64_t sum;
	double end;

	if (self->imp < 0)
		SKIP(return, "no " VDMABUF_IMPORTER_DEV);
	ASSERT_EQ(0, make_buffer(VDMABUF, size, self->dev, &src));
	ASSERT_EQ(0, make_buffer(VDMABUF, size, self->dev, &dst));
	hs = imp_import(self->imp, src.fd, VDMABUF_IMPORT_DYNAMIC);
	hd = imp_import(self->imp, dst.fd, VDMABUF_IMPORT_DYNAMIC);
	ASSERT_LE(0, hs);
	ASSERT_LE(0, hd);

	start_migrator(&m, self->dev, src.fd, dst.fd);
	end = now() + stress_seconds();
	for (seed = 1; now() < end; seed++) {
		ASSERT_EQ(0, imp_map(self->imp, hs, VDMABUF_IMPORTER_TO_DEVICE));
		ASSERT_EQ(0, imp_fill(self->imp, hs, seed, 0, size));
		fence = imp_copy(self->imp, hs, hd, 0, 0, size);
		ASSERT_LE(0, fence);
		ASSERT_EQ(POLLIN, poll_events(fence, POLLIN, 20000));
		EXPECT_EQ(1, sync_file_status(fence));
		close(fence);
		ASSERT_EQ(0, imp_read(self->imp, hd, 0, size, &sum));
		if (sum != pattern_fnv(seed, size))
			bad++;
		copies++;
	}
	stop_migrator(&m);

	ksft_print_msg("%ld copies, %ld migrations, %ld refused while in use\n", copies, m.done,
		       m.busy);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, m.other);
	EXPECT_LT(0, m.done);
	/* The last pattern is also what the CPU sees through mmap. */
	EXPECT_EQ(-1, cpu_check(&dst, seed - 1));
	EXPECT_EQ(0, imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, hs));
	EXPECT_EQ(0, imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, hd));
	free_buffer(&src);
	free_buffer(&dst);
}

/*
 * Threads create buffers up to the module's limits, import, map and release them and close
 * them, while another thread migrates whatever it finds. No error but ENOSPC (and EBUSY for the
 * migrations) may occur, the counts must never pass the limits, and they must all return to
 * zero.
 */
#define CHURN_THREADS 4

struct churn {
	int dev, imp;
	long max_bytes, max_buffers;
	atomic_int shared_fd;
	atomic_bool stop;
	long created, enospc, other, over_limit;
	int last_error;
};

/* Each thread keeps its last CHURN_HELD buffers alive, so together they run into the limits. */
#define CHURN_HELD 6

static void *churn_loop(void *arg)
{
	struct churn *c = arg;
	unsigned int i, seed = (unsigned int)(uintptr_t)&i;
	int held[CHURN_HELD], j;

	for (j = 0; j < CHURN_HELD; j++)
		held[j] = -1;
	for (i = 0; !atomic_load(&c->stop); i++) {
		size_t pages = 1 + rand_r(&seed) % 1024;
		int fd = vdmabuf_create(c->dev, pages * PAGE, VDMABUF_CREATE_RDWR);
		int h, ret, slot = i % CHURN_HELD;

		if (held[slot] >= 0) {
			/* Unpublish it first (a failed exchange would overwrite the expected value). */
			int expected = held[slot];

			atomic_compare_exchange_strong(&c->shared_fd, &expected, -1);
			close(held[slot]);
			held[slot] = -1;
		}
		if (fd == -ENOSPC) {
			__atomic_add_fetch(&c->enospc, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (fd < 0) {
			c->last_error = fd;
			__atomic_add_fetch(&c->other, 1, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_add_fetch(&c->created, 1, __ATOMIC_RELAXED);
		held[slot] = fd;
		atomic_store(&c->shared_fd, fd);
		if (vdmabuf_count("buffers") > c->max_buffers || vdmabuf_count("bytes") > c->max_bytes)
			__atomic_add_fetch(&c->over_limit, 1, __ATOMIC_RELAXED);
		if (c->imp >= 0) {
			h = imp_import(c->imp, fd, i % 2 ? VDMABUF_IMPORT_DYNAMIC : 0);
			ret = h < 0 ? h : imp_map(c->imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL);
			if (!ret)
				ret = imp_handle_op(c->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
			if (ret) {
				c->last_error = ret;
				__atomic_add_fetch(&c->other, 1, __ATOMIC_RELAXED);
			}
		}
	}
	for (j = 0; j < CHURN_HELD; j++) {
		if (held[j] >= 0) {
			int expected = held[j];

			atomic_compare_exchange_strong(&c->shared_fd, &expected, -1);
			close(held[j]);
		}
	}
	return NULL;
}

static void *churn_migrate_loop(void *arg)
{
	struct churn *c = arg;

	while (!atomic_load(&c->stop)) {
		int fd = atomic_load(&c->shared_fd);
		int ret;

		if (fd < 0)
			continue;
		/* The fd may be closed and reused meanwhile: any of these is fine. */
		ret = vdmabuf_migrate(c->dev, fd);
		if (ret && ret != -EBUSY && ret != -ENOSPC && ret != -EBADF && ret != -EINVAL) {
			c->last_error = ret;
			__atomic_add_fetch(&c->other, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, create_import_close_vs_limits_returns_to_zero, STRESS_TIMEOUT)
{
	struct churn c = {
		.dev = self->dev,
		.imp = self->imp,
		.max_bytes = env_long("VDMABUF_MAX_TOTAL_MB", 1024) << 20,
		.max_buffers = env_long("VDMABUF_MAX_BUFFERS", 4096),
		.shared_fd = -1,
	};
	pthread_t threads[CHURN_THREADS + 1];
	int i;

	for (i = 0; i < CHURN_THREADS; i++)
		pthread_create(&threads[i], NULL, churn_loop, &c);
	pthread_create(&threads[i], NULL, churn_migrate_loop, &c);
	run_then_stop(threads, CHURN_THREADS + 1, &c.stop);

	ksft_print_msg("%ld buffers made, %ld refused by the limits\n", c.created, c.enospc);
	EXPECT_EQ(0, c.other) TH_LOG("last error %d", c.last_error);
	EXPECT_EQ(0, c.over_limit);
	EXPECT_LT(0, c.created);
	/* The race was against the limits: they were reached. */
	EXPECT_LT(0, c.enospc);
	EXPECT_EQ(0, vdmabuf_count("buffers"));
	EXPECT_EQ(0, vdmabuf_count("bytes"));
	EXPECT_EQ(0, vdmabuf_count("attachments"));
	EXPECT_EQ(0, vdmabuf_count("maps"));
}

/*
 * Format-aware buffers made, checked and closed by several threads at once, while another
 * migrates whichever they have published and a third reads the debugfs listing. Each creator
 * writes a pattern into every dma-buf of its image, publishes the first one, and after a while
 * checks that VDMABUF_IOCTL_GET_FORMAT still returns the layout the creation returned and that
 * the pattern survived the migrations, including those of contiguous buffers.
 */
#define FORMAT_THREADS 3

struct format_race {
	int dev;
	atomic_bool stop;
	atomic_int published[FORMAT_THREADS];
	atomic_long created, migrated, listed, bad;
};

static void *format_creator(void *arg)
{
	struct format_race *r = ((void **)arg)[0];
	int me = (int)(long)((void **)arg)[1];
	unsigned int seed = me * 7919 + 1;

	while (!atomic_load(&r->stop)) {
		const struct fmt *f = &fmts[(seed = seed * 1103515245 + 12345) % NFMTS];
		__u32 flags = VDMABUF_CREATE_RDWR | (seed & 0x100 ? VDMABUF_FORMAT_DISJOINT : 0) |
			      (seed & 0x200 ? VDMABUF_CREATE_CONTIGUOUS : 0);
		struct vdmabuf_create_format c;
		__u32 p;
		int i;

		if (vdmabuf_create_format(r->dev, f->fourcc, 64 + (seed >> 20) % 4 * 32, 64, flags,
					  &c)) {
			atomic_fetch_add(&r->bad, 1);
			continue;
		}
		atomic_fetch_add(&r->created, 1);
		for (p = 0; p < c.num_planes; p++) {
			uint8_t *m = mmap(NULL, c.planes[p].size, PROT_READ | PROT_WRITE, MAP_SHARED,
					  c.planes[p].fd, c.planes[p].offset & ~4095u);

			if (m == MAP_FAILED) {
				atomic_fetch_add(&r->bad, 1);
				continue;
			}
			fill_pattern(m + (c.planes[p].offset & 4095),
				     c.planes[p].size - (c.planes[p].offset & 4095), me + p);
			munmap(m, c.planes[p].size);
		}
		atomic_store(&r->published[me], c.planes[0].fd);
		for (i = 0; i < 20; i++)
			sched_yield();
		atomic_store(&r->published[me], -1);
		for (p = 0; p < c.num_planes; p++) {
			struct vdmabuf_format_info info = { .fd = c.planes[p].fd };
			uint8_t *m;

			if (vdmabuf_ioctl(r->dev, VDMABUF_IOCTL_GET_FORMAT, &info) ||
			    info.fourcc != f->fourcc || info.width != c.width ||
			    info.num_planes != c.num_planes ||
			    info.planes[p].offset != c.planes[p].offset ||
			    info.planes[p].stride != c.planes[p].stride) {
				atomic_fetch_add(&r->bad, 1);
				continue;
			}
			m = mmap(NULL, c.planes[p].size, PROT_READ, MAP_SHARED, c.planes[p].fd,
				 c.planes[p].offset & ~4095u);
			if (m == MAP_FAILED ||
			    check_pattern(m + (c.planes[p].offset & 4095),
					  c.planes[p].size - (c.planes[p].offset & 4095), me + p, 0) >= 0)
				atomic_fetch_add(&r->bad, 1);
			if (m != MAP_FAILED)
				munmap(m, c.planes[p].size);
		}
		close_planes(&c);
	}
	return NULL;
}

static void *format_migrator(void *arg)
{
	struct format_race *r = arg;
	unsigned int i;

	for (i = 0; !atomic_load(&r->stop); i++) {
		int fd = atomic_load(&r->published[i % FORMAT_THREADS]);

		/* The descriptor may be closed, or reused, by now: any error is fine, success
		 * counts. */
		if (fd >= 0 && !vdmabuf_migrate(r->dev, fd))
			atomic_fetch_add(&r->migrated, 1);
		else
			sched_yield();
	}
	return NULL;
}

static void *format_lister(void *arg)
{
	struct format_race *r = arg;

	while (!atomic_load(&r->stop)) {
		char *list = read_file("/sys/kernel/debug/vdmabuf/buffers/list"), *line;

		if (!list) {
			atomic_fetch_add(&r->bad, 1);
			break;
		}
		for (line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
			unsigned long long ino, size, blocks;
			char phys[32], layout[128];

			if (!strncmp(line, "ino ", 4))
				continue;
			/* Five fields; the layout is "-" or FOURCC:WxH:MOD:planes. */
			if (sscanf(line, "%llu %llu %llu %31s %127s", &ino, &size, &blocks, phys,
				   layout) != 5 || (strcmp(layout, "-") && !strchr(layout, 'x')))
				atomic_fetch_add(&r->bad, 1);
		}
		free(list);
		atomic_fetch_add(&r->listed, 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, format_buffers_vs_migrate_and_listing_keep_layout_and_data,
	       STRESS_TIMEOUT)
{
	struct format_race r = { .dev = self->dev };
	pthread_t threads[FORMAT_THREADS + 2];
	void *args[FORMAT_THREADS][2];
	int i;

	for (i = 0; i < FORMAT_THREADS; i++) {
		atomic_store(&r.published[i], -1);
		args[i][0] = &r;
		args[i][1] = (void *)(long)i;
		pthread_create(&threads[i], NULL, format_creator, args[i]);
	}
	pthread_create(&threads[i], NULL, format_migrator, &r);
	pthread_create(&threads[i + 1], NULL, format_lister, &r);
	run_then_stop(threads, FORMAT_THREADS + 2, &r.stop);
	ksft_print_msg("%ld images made, %ld migrations, %ld listings\n", atomic_load(&r.created),
		       atomic_load(&r.migrated), atomic_load(&r.listed));
	EXPECT_EQ(0, atomic_load(&r.bad));
	EXPECT_LT(0, atomic_load(&r.created));
	EXPECT_LT(0, atomic_load(&r.migrated));
	EXPECT_LT(0, atomic_load(&r.listed));
}

/*
 * Injected failures under concurrency: threads of several importer files map and unmap one
 * buffer whose every third map fails on purpose. The call counter is shared by all of them, so
 * of all the maps made, exactly a third (rounded down) must have failed, each with the chosen
 * errno, and debugfs must have counted exactly those.
 */
#define INJECT_THREADS 4

struct inject_race {
	int dev, fd;
	atomic_bool stop;
	atomic_long ok, failed, other;
};

static void *inject_mapper(void *arg)
{
	struct inject_race *r = arg;
	int imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	int h = imp < 0 ? -1 : imp_import(imp, r->fd, 0);

	if (h < 0) {
		atomic_fetch_add(&r->other, 1);
		if (imp >= 0)
			close(imp);
		return NULL;
	}
	while (!atomic_load(&r->stop)) {
		int ret = imp_map(imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL);

		if (!ret) {
			atomic_fetch_add(&r->ok, 1);
			imp_handle_op(imp, VDMABUF_IMPORTER_IOCTL_UNMAP, h);
		} else if (ret == -EIO) {
			atomic_fetch_add(&r->failed, 1);
		} else {
			atomic_fetch_add(&r->other, 1);
		}
	}
	close(imp);
	return NULL;
}

TEST_F_TIMEOUT(stress, injected_failures_counted_exactly_across_threads, STRESS_TIMEOUT)
{
	struct vdmabuf_modes m = {
		.fail_op = VDMABUF_FAIL_MAP, .fail_nth = 3, .fail_errno = -EIO,
		.fail_flags = VDMABUF_FAIL_EVERY,
	};
	struct vdmabuf_create c = { .size = 16 * PAGE, .flags = VDMABUF_CREATE_RDWR };
	struct inject_race r = { .dev = self->dev };
	pthread_t threads[INJECT_THREADS];
	long injected = vdmabuf_count("injected"), total;
	int i;

	if (self->imp < 0)
		SKIP(return, "vdmabuf_importer is not loaded");
	c.modes = (uintptr_t)&m;
	ASSERT_EQ(0, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_CREATE, &c));
	r.fd = c.fd;
	for (i = 0; i < INJECT_THREADS; i++)
		pthread_create(&threads[i], NULL, inject_mapper, &r);
	run_then_stop(threads, INJECT_THREADS, &r.stop);
	total = atomic_load(&r.ok) + atomic_load(&r.failed);
	ksft_print_msg("%ld maps, %ld failed on purpose\n", total, atomic_load(&r.failed));
	EXPECT_EQ(0, atomic_load(&r.other));
	EXPECT_LT(30, total);
	EXPECT_EQ(total / 3, atomic_load(&r.failed));
	EXPECT_EQ(injected + total / 3, vdmabuf_count("injected"));
	close(r.fd);
}

/*
 * Eight threads import one buffer under move pressure, each in its own importer file, static
 * and dynamic in turn, map it, check its data through the device's mapping and let go, while
 * the buffer migrates by itself every 10 ms. This races the mover's start and stop (first
 * dynamic attach, last dynamic detach) against the work item, and the count of the device's
 * mappings (at most 7, EBUSY beyond) against maps and unmaps from other files. Every map must
 * succeed or get EBUSY, every read must see the data, the moves must stop once everybody has
 * let go, and afterwards exactly 7 mappings fit again: none leaked in the count.
 */
#define LIMIT_THREADS 8

struct limit_race {
	int fd;
	size_t size;
	uint64_t want;
	atomic_bool stop;
	atomic_long mapped, busy, wrong, other;
};

static void *limit_mapper(void *arg)
{
	struct limit_race *r = arg;
	int imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	unsigned int n;

	if (imp < 0) {
		atomic_fetch_add(&r->other, 1);
		return NULL;
	}
	for (n = 0; !atomic_load(&r->stop); n++) {
		int h = imp_import(imp, r->fd, n & 1 ? VDMABUF_IMPORT_DYNAMIC : 0), ret;
		uint64_t sum;

		if (h < 0) {
			atomic_fetch_add(&r->other, 1);
			continue;
		}
		ret = imp_map(imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL);
		if (ret == -EBUSY) {
			atomic_fetch_add(&r->busy, 1);
		} else if (ret) {
			atomic_fetch_add(&r->other, 1);
		} else {
			atomic_fetch_add(&r->mapped, 1);
			/* A move may take a dynamic import's mapping first: then nothing to read. */
			ret = imp_dma_read(imp, h, 0, r->size, &sum);
			if (!ret && sum != r->want)
				atomic_fetch_add(&r->wrong, 1);
			else if (ret && ret != -ENODATA)
				atomic_fetch_add(&r->other, 1);
		}
		imp_handle_op(imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
	}
	close(imp);
	return NULL;
}

TEST_F_TIMEOUT(stress, imports_under_move_pressure_keep_data_and_the_mapping_limit, STRESS_TIMEOUT)
{
	struct vdmabuf_modes m = { .move_interval_ms = 10 };
	struct vdmabuf_create c = { .size = 16 * PAGE, .flags = VDMABUF_CREATE_RDWR };
	struct limit_race r = { .size = 16 * PAGE };
	pthread_t threads[LIMIT_THREADS];
	long moves0, moves1;
	int i, h[LIMIT_THREADS];
	uint8_t *p;

	if (self->imp < 0)
		SKIP(return, "vdmabuf_importer is not loaded");
	c.modes = (uintptr_t)&m;
	ASSERT_EQ(0, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_CREATE, &c));
	r.fd = c.fd;
	p = mmap(NULL, r.size, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, r.size, 23);
	r.want = fnv1a(p, r.size);
	moves0 = vdmabuf_count("migrations");
	for (i = 0; i < LIMIT_THREADS; i++)
		pthread_create(&threads[i], NULL, limit_mapper, &r);
	run_then_stop(threads, LIMIT_THREADS, &r.stop);
	ksft_print_msg("%ld maps, %ld EBUSY, %ld moves\n", atomic_load(&r.mapped),
		       atomic_load(&r.busy), vdmabuf_count("migrations") - moves0);
	EXPECT_EQ(0, atomic_load(&r.other));
	EXPECT_EQ(0, atomic_load(&r.wrong));
	EXPECT_LT(20, atomic_load(&r.mapped));
	EXPECT_LE(3, vdmabuf_count("migrations") - moves0);
	EXPECT_EQ(-1, check_pattern(p, r.size, 23, 0));
	/* Everybody let go: the moves stop (one already queued may still run). */
	usleep(100000);
	moves1 = vdmabuf_count("migrations");
	usleep(200000);
	EXPECT_EQ(moves1, vdmabuf_count("migrations"));
	/* The count of the device's mappings kept no leftover: 7 fit, the 8th does not. */
	for (i = 0; i < LIMIT_THREADS; i++) {
		h[i] = imp_import(self->imp, c.fd, 0);
		ASSERT_LE(0, h[i]);
		EXPECT_EQ(i < 7 ? 0 : -EBUSY, imp_map(self->imp, h[i], VDMABUF_IMPORTER_BIDIRECTIONAL))
			TH_LOG("map %d", i);
	}
	for (i = 0; i < LIMIT_THREADS; i++)
		imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h[i]);
	munmap(p, r.size);
	close(c.fd);
}

/*
 * A non-coherent buffer handed back and forth correctly: the main thread writes a round's
 * pattern through mmap inside SYNC_START/END(WRITE), the importer's device reads it through its
 * (dynamic) mapping, the device writes the next pattern and the CPU reads it inside
 * SYNC_START/END(READ). Meanwhile one thread migrates the buffer in a loop (moving both views)
 * and another maps and unmaps it in a second importer (each map writes back the CPU's dirty
 * lines, each unmap of a two-way mapping invalidates the CPU's clean ones). Every handoff must carry exactly the pattern: a view lost or swapped by a
 * migration, or a write-back racing a copy, shows as a wrong pattern.
 */
#define NC_PAGES 64

struct nc_remapper {
	int fd;
	atomic_bool stop;
	atomic_long maps, other;
};

static void *nc_remap_loop(void *arg)
{
	struct nc_remapper *r = arg;
	int imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	int h = imp < 0 ? -1 : imp_import(imp, r->fd, VDMABUF_IMPORT_DYNAMIC);

	if (h < 0) {
		atomic_fetch_add(&r->other, 1);
		if (imp >= 0)
			close(imp);
		return NULL;
	}
	for (unsigned int n = 0; !atomic_load(&r->stop); n++) {
		/* Alternately for reading only and both ways, whose unmap invalidates. */
		if (imp_map(imp, h, n & 1 ? VDMABUF_IMPORTER_BIDIRECTIONAL :
					     VDMABUF_IMPORTER_TO_DEVICE)) {
			atomic_fetch_add(&r->other, 1);
			continue;
		}
		atomic_fetch_add(&r->maps, 1);
		imp_handle_op(imp, VDMABUF_IMPORTER_IOCTL_UNMAP, h);
	}
	close(imp);
	return NULL;
}

/*
 * The device's read of the whole buffer into *@sum, or with @sum NULL its fill with pattern
 * @seed, mapping again when a migration took the mapping.
 */
static int nc_device_access(int imp, int h, size_t size, unsigned int seed, uint64_t *sum)
{
	int ret, tries;

	for (tries = 0; tries < 100; tries++) {
		ret = sum ? imp_dma_read(imp, h, 0, size, sum) : imp_dma_fill(imp, h, seed, 0, size);
		if (ret != -ENODATA)
			return ret;
		ret = imp_map(imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL);
		if (ret)
			return ret;
	}
	return -ENODATA;
}

TEST_F_TIMEOUT(stress, noncoherent_handoffs_vs_migrate_and_remaps_keep_data, STRESS_TIMEOUT)
{
	struct vdmabuf_modes m = { .flags = VDMABUF_MODE_NONCOHERENT };
	struct vdmabuf_create c = { .size = NC_PAGES * PAGE, .flags = VDMABUF_CREATE_RDWR };
	const size_t size = NC_PAGES * PAGE;
	struct nc_remapper r = { 0 };
	struct migrator mig;
	long rounds = 0, wrong_device = 0, wrong_cpu = 0;
	pthread_t remapper;
	unsigned int seed;
	uint64_t sum;
	uint8_t *p;
	double end;
	int h;

	if (self->imp < 0)
		SKIP(return, "vdmabuf_importer is not loaded");
	c.modes = (uintptr_t)&m;
	ASSERT_EQ(0, vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_CREATE, &c));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	h = imp_import(self->imp, c.fd, VDMABUF_IMPORT_DYNAMIC);
	ASSERT_LE(0, h);
	ASSERT_EQ(0, imp_map(self->imp, h, VDMABUF_IMPORTER_BIDIRECTIONAL));
	r.fd = c.fd;
	pthread_create(&remapper, NULL, nc_remap_loop, &r);
	start_migrator(&mig, self->dev, c.fd, -1);
	end = now() + stress_seconds();
	for (seed = 1; now() < end; seed += 2, rounds++) {
		ASSERT_EQ(0, dmabuf_sync(c.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
		fill_pattern(p, size, seed);
		ASSERT_EQ(0, dmabuf_sync(c.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
		ASSERT_EQ(0, nc_device_access(self->imp, h, size, 0, &sum));
		wrong_device += sum != pattern_fnv(seed, size);
		ASSERT_EQ(0, nc_device_access(self->imp, h, size, seed + 1, NULL));
		ASSERT_EQ(0, dmabuf_sync(c.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
		wrong_cpu += check_pattern(p, size, seed + 1, 0) != -1;
		ASSERT_EQ(0, dmabuf_sync(c.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	}
	atomic_store(&r.stop, true);
	pthread_join(remapper, NULL);
	stop_migrator(&mig);
	ksft_print_msg("%ld rounds, %ld migrations, %ld remaps\n", rounds, mig.done,
		       atomic_load(&r.maps));
	EXPECT_EQ(0, wrong_device);
	EXPECT_EQ(0, wrong_cpu);
	EXPECT_EQ(0, mig.other) TH_LOG("migrate: %d", mig.last_error);
	EXPECT_EQ(0, atomic_load(&r.other));
	EXPECT_LT(10, rounds);
	EXPECT_LT(10, mig.done);
	EXPECT_LT(10, atomic_load(&r.maps));
	munmap(p, size);
	imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, h);
	close(c.fd);
}

/*
 * Several processes attach fences to one buffer and end each in one of four ways: signalled,
 * signalled with an error, left to time out, or left pending until the process closes
 * /dev/vdmabuf. Every sync_file must signal, each with the status its ending gives.
 */
#define FENCE_PROCS 4
#define FENCES_PER_PROC 64

enum ending { SIGNAL_OK, SIGNAL_ERROR, TIME_OUT, CLOSE_FILE, ENDINGS };

static int fence_process(int buf, double seconds)
{
	int sync_files[FENCES_PER_PROC], expect[FENCES_PER_PROC];
	int dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	long timeout_ms = env_long("VDMABUF_FENCE_TIMEOUT_MS", 10000);
	double end = now() + seconds;
	int n = 0, i, failures = 0;

	if (dev < 0)
		return 100;
	while (n < FENCES_PER_PROC && now() < end) {
		enum ending e = (n * 7 + getpid()) % ENDINGS;
		int sf, h = vdmabuf_fence(dev, buf, VDMABUF_USAGE_READ, &sf);

		if (h < 0) {
			failures++;
			break;
		}
		sync_files[n] = sf;
		switch (e) {
		case SIGNAL_OK:
			expect[n] = 1;
			failures += vdmabuf_signal(dev, h, 0) != 0;
			break;
		case SIGNAL_ERROR:
			expect[n] = -EIO;
			failures += vdmabuf_signal(dev, h, -EIO) != 0;
			break;
		case TIME_OUT:
			expect[n] = -ETIMEDOUT;
			break;
		default:
			expect[n] = -ECANCELED;
			/* Closed below; a timeout could overtake a slow close. */
			break;
		}
		n++;
		usleep(1000);
	}
	/* The fences left to time out must not be cancelled by the close: wait them out. */
	for (i = 0; i < n; i++)
		if (expect[i] == -ETIMEDOUT &&
		    poll_events(sync_files[i], POLLIN, timeout_ms + 5000) != POLLIN)
			failures++;
	close(dev);
	for (i = 0; i < n; i++) {
		int status;

		if (poll_events(sync_files[i], POLLIN, timeout_ms + 5000) != POLLIN) {
			failures++;
			continue;
		}
		status = sync_file_status(sync_files[i]);
		/* A fence meant for the close may have timed out first, which is also bounded. */
		if (status != expect[i] && !(expect[i] == -ECANCELED && status == -ETIMEDOUT))
			failures++;
		close(sync_files[i]);
	}
	return failures > 99 ? 99 : failures;
}

TEST_F_TIMEOUT(stress, fences_from_many_processes_all_signal_right, STRESS_TIMEOUT)
{
	double seconds = stress_seconds();
	pid_t pids[FENCE_PROCS];
	int fd, i, status;

	fd = vdmabuf_create(self->dev, 16 * PAGE, VDMABUF_CREATE_RDWR | VDMABUF_CREATE_CLOEXEC);
	ASSERT_LE(0, fd);
	for (i = 0; i < FENCE_PROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(fence_process(fd, seconds));
	}
	for (i = 0; i < FENCE_PROCS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("process %d", i);
	}
	/* Every fence of every process has signalled: the buffer is idle. */
	EXPECT_EQ(POLLOUT, poll_events(fd, POLLOUT, 0));
	close(fd);
}

/*
 * A WRITE fence added to a copy's source while the copy is being submitted: either the copy
 * sees it and waits for it, or the fence is refused (EBUSY) because the copy's READ fence came
 * first. A copy that published its fence without waiting for a writer that got in before it
 * would break implicit sync.
 */
enum { RACE_STOP, RACE_TRY, RACE_GOT_IT, RACE_EXIT, RACE_IDLE };

struct writer_race {
	int dev, src;
	atomic_int phase;
	int handle;		/* the attached fence, or -1 */
};

/* Tries to attach a writer while the phase is RACE_TRY; acknowledges RACE_STOP with RACE_IDLE. */
static void *attach_writer_loop(void *arg)
{
	struct writer_race *r = arg;
	int phase;

	while ((phase = atomic_load(&r->phase)) != RACE_EXIT) {
		if (phase == RACE_TRY) {
			int h = vdmabuf_fence(r->dev, r->src, VDMABUF_USAGE_WRITE, NULL);

			if (h >= 0) {
				r->handle = h;
				atomic_store(&r->phase, RACE_GOT_IT);
			}
		} else if (phase == RACE_STOP) {
			atomic_store(&r->phase, RACE_IDLE);
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, write_fence_added_during_submission_is_waited_for, STRESS_TIMEOUT)
{
	struct writer_race r = { .dev = self->dev, .handle = -1 };
	long rounds = 0, raced = 0, bad = 0;
	struct buffer src, dst;
	pthread_t thread;
	int hs, hd;
	double end;

	if (self->imp < 0)
		SKIP(return, "no " VDMABUF_IMPORTER_DEV);
	ASSERT_EQ(0, make_buffer(VDMABUF, PAGE, self->dev, &src));
	ASSERT_EQ(0, make_buffer(VDMABUF, PAGE, self->dev, &dst));
	hs = imp_import(self->imp, src.fd, 0);
	hd = imp_import(self->imp, dst.fd, 0);
	ASSERT_LE(0, hs);
	ASSERT_LE(0, hd);
	r.src = src.fd;
	pthread_create(&thread, NULL, attach_writer_loop, &r);
	end = now() + stress_seconds();
	while (now() < end) {
		/* The gate holds the copy back until the race is over. */
		int gate = vdmabuf_fence(self->dev, dst.fd, VDMABUF_USAGE_WRITE, NULL);
		int fence;

		int phase = RACE_TRY;

		ASSERT_LE(0, gate);
		r.handle = -1;
		atomic_store(&r.phase, RACE_TRY);
		fence = imp_copy(self->imp, hs, hd, 0, 0, PAGE);
		ASSERT_LE(0, fence);
		/* The copy's READ fence is in: from now on a writer gets EBUSY. Stop the thread and
		 * wait until no attach of its is in flight.
		 */
		atomic_compare_exchange_strong(&r.phase, &phase, RACE_STOP);
		while (atomic_load(&r.phase) == RACE_STOP)
			;
		ASSERT_EQ(0, vdmabuf_signal(self->dev, gate, 0));
		if (r.handle >= 0) {
			/* The writer got in before the copy: the copy waits for it. */
			raced++;
			if (poll_events(fence, POLLIN, 50))
				bad++;
			ASSERT_EQ(0, vdmabuf_signal(self->dev, r.handle, 0));
		}
		EXPECT_EQ(POLLIN, poll_events(fence, POLLIN, 10000));
		EXPECT_EQ(1, sync_file_status(fence));
		close(fence);
		rounds++;
	}
	atomic_store(&r.phase, RACE_EXIT);
	pthread_join(thread, NULL);
	ksft_print_msg("%ld copies, %ld with a writer first\n", rounds, raced);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, rounds);
	EXPECT_EQ(0, imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, hs));
	EXPECT_EQ(0, imp_handle_op(self->imp, VDMABUF_IMPORTER_IOCTL_RELEASE, hd));
	free_buffer(&src);
	free_buffer(&dst);
}

/*
 * Several processes submit copies between buffers of every exporter (vdmabuf, udmabuf, the
 * system heap, vgem), gated now and then by sw_sync and vdmabuf fences, while other processes
 * attach fences and migrate. Each worker owns one range of every buffer and copies only within
 * it, so it knows what each range must hold in the end; the buffers themselves are shared, so the
 * copies of all workers order against each other through the reservation objects. Every
 * out-fence must signal, each worker's in the order it submitted them (one timeline), and every
 * range must hold what the worker's submission order says.
 */
#define ENGINE_WORKERS 3
#define ENGINE_BUFFERS 8
#define ENGINE_RANGE (4 * PAGE)
#define ENGINE_SIZE (16 * PAGE)
#define ENGINE_JOBS 256

struct engine_shared {
	/* origin[w][b]: the seed of the pattern that range w of buffer b holds. */
	unsigned int origin[ENGINE_WORKERS][ENGINE_BUFFERS];
	int failures[ENGINE_WORKERS];
	long jobs[ENGINE_WORKERS];
	atomic_bool stop;
};

static int import_sw_sync_gate(int timeline, int fd, unsigned int value)
{
	struct sw_sync_create_fence_data create = { .value = value, .name = "stress" };
	struct dma_buf_import_sync_file imp = { .flags = DMA_BUF_SYNC_WRITE };
	int ret;

	if (ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &create))
		return -errno;
	imp.fd = create.fence;
	ret = vdmabuf_ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp);
	close(create.fence);
	return ret;
}

/*
 * Opens a gate 2 ms after it was set up, from a thread of its own: the worker may meanwhile be
 * blocked in COPY on a reservation lock that a migration holds while it waits for that very gate.
 * (Signalling it from the blocked thread would leave the gate to its timeout: the bounded form
 * of the deadlock that userspace-controlled fences invite.)
 */
struct gate {
	int dev, timeline, handle;	/* handle < 0: a sw_sync gate, else a vdmabuf fence */
	int failed;
};

static void *open_gate(void *arg)
{
	struct gate *g = arg;
	__u32 one = 1;

	usleep(2000);
	if (g->handle >= 0)
		g->failed = vdmabuf_signal(g->dev, g->handle, 0) != 0;
	else
		g->failed = ioctl(g->timeline, SW_SYNC_IOC_INC, &one) != 0;
	return NULL;
}

enum { FAIL_SETUP = 1, FAIL_COPY = 2, FAIL_GATE = 4, FAIL_FENCE = 8, FAIL_ORDER = 16 };

static int engine_worker(int w, struct buffer *bufs, struct engine_shared *sh, double seconds)
{
	int imp = open(VDMABUF_IMPORTER_DEV, O_RDWR | O_CLOEXEC);
	int dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	int timeline = open("/sys/kernel/debug/sync/sw_sync", O_RDWR | O_CLOEXEC);
	int *fences = calloc(ENGINE_JOBS, sizeof(int));
	int h[ENGINE_BUFFERS], n = 0, i, failures = 0;
	unsigned int seed = w * 7919 + 1, sw_value = 0;
	__u64 last = 0;
	double end = now() + seconds;

	if (imp < 0 || dev < 0 || !fences)
		return FAIL_SETUP;
	for (i = 0; i < ENGINE_BUFFERS; i++) {
		h[i] = imp_import(imp, bufs[i].fd, i % 2 ? VDMABUF_IMPORT_DYNAMIC : 0);
		if (h[i] < 0)
			return FAIL_SETUP;
	}
	while (n < ENGINE_JOBS && now() < end) {
		int s = rand_r(&seed) % ENGINE_BUFFERS, d;
		int kind = rand_r(&seed) % 8, gated = 0;
		struct gate g = { .dev = dev, .timeline = timeline, .handle = -1 };
		__u64 off = w * ENGINE_RANGE;
		pthread_t opener;

		/* Now and then a gate on the source: a sw_sync fence, or one of vdmabuf's. */
		if (kind == 0 && timeline >= 0 && !import_sw_sync_gate(timeline, bufs[s].fd, sw_value + 1)) {
			gated = 1;
			sw_value++;
		} else if (kind == 1 && (g.handle = vdmabuf_fence(dev, bufs[0].fd, VDMABUF_USAGE_WRITE, NULL)) >= 0) {
			gated = 1;
			s = 0;
		}
		if (gated)
			pthread_create(&opener, NULL, open_gate, &g);
		d = (s + 1 + rand_r(&seed) % (ENGINE_BUFFERS - 1)) % ENGINE_BUFFERS;
		fences[n] = imp_copy(imp, h[s], h[d], off, off, ENGINE_RANGE);
		if (gated) {
			pthread_join(opener, NULL);
			if (g.failed)
				failures |= FAIL_GATE;
		}
		if (fences[n] < 0) {
			failures |= FAIL_COPY;
			break;
		}
		sh->origin[w][d] = sh->origin[w][s];
		n++;
	}
	for (i = 0; i < n; i++) {
		__u64 t;

		if (poll_events(fences[i], POLLIN, 20000) != POLLIN || sync_file_status(fences[i]) != 1) {
			failures |= FAIL_FENCE;
			continue;
		}
		/* One timeline: this worker's fences signal in the order it submitted them. */
		t = signal_time(fences[i]);
		if (t < last)
			failures |= FAIL_ORDER;
		last = t;
		close(fences[i]);
	}
	sh->jobs[w] = n;
	close(imp);
	close(dev);
	if (timeline >= 0)
		close(timeline);
	return failures;
}

static void engine_bystander(int kind, struct buffer *bufs, struct engine_shared *sh)
{
	int dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	unsigned int i;

	for (i = 0; !atomic_load(&sh->stop); i++) {
		int fd = bufs[(i % (ENGINE_BUFFERS / 4)) * 4].fd;	/* the vdmabuf ones */

		if (kind == 0) {
			vdmabuf_migrate(dev, fd);
		} else {
			int h = vdmabuf_fence(dev, fd, VDMABUF_USAGE_READ, NULL);

			usleep(1000);
			if (h >= 0)
				vdmabuf_signal(dev, h, 0);
		}
		usleep(500);
	}
	close(dev);
}

TEST_F_TIMEOUT(stress, engine_copies_from_many_processes_keep_order_and_data, STRESS_TIMEOUT)
{
	enum exporter kinds[4] = { VDMABUF, UDMABUF, HEAP, VGEM };
	struct buffer bufs[ENGINE_BUFFERS];
	struct engine_shared *sh;
	pid_t workers[ENGINE_WORKERS], others[2];
	int i, w, status;
	long jobs = 0, bad = 0;

	if (self->imp < 0)
		SKIP(return, "no " VDMABUF_IMPORTER_DEV);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	for (i = 0; i < ENGINE_BUFFERS; i++) {
		ASSERT_EQ(0, make_buffer(kinds[i % 4], ENGINE_SIZE, self->dev, &bufs[i]))
			TH_LOG("%s", exporter_names[kinds[i % 4]]);
		cpu_fill(&bufs[i], 200 + i);
		for (w = 0; w < ENGINE_WORKERS; w++)
			sh->origin[w][i] = 200 + i;
	}
	for (i = 0; i < 2; i++) {
		others[i] = fork();
		if (others[i] == 0) {
			engine_bystander(i, bufs, sh);
			_exit(0);
		}
	}
	for (w = 0; w < ENGINE_WORKERS; w++) {
		workers[w] = fork();
		if (workers[w] == 0) {
			_exit(engine_worker(w, bufs, sh, stress_seconds()));
		}
	}
	for (w = 0; w < ENGINE_WORKERS; w++) {
		ASSERT_EQ(workers[w], waitpid(workers[w], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status))
			TH_LOG("worker %d: setup %d, copy %d, gate %d, fence %d, order %d", w,
			       !!(WEXITSTATUS(status) & FAIL_SETUP), !!(WEXITSTATUS(status) & FAIL_COPY),
			       !!(WEXITSTATUS(status) & FAIL_GATE), !!(WEXITSTATUS(status) & FAIL_FENCE),
			       !!(WEXITSTATUS(status) & FAIL_ORDER));
		jobs += sh->jobs[w];
	}
	atomic_store(&sh->stop, true);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(others[i], waitpid(others[i], &status, 0));

	/* Every range holds the pattern its worker's copies carried into it. */
	for (i = 0; i < ENGINE_BUFFERS; i++) {
		dmabuf_sync(bufs[i].fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		for (w = 0; w < ENGINE_WORKERS; w++) {
			size_t off = w * ENGINE_RANGE;

			if (check_pattern(bufs[i].map + off, ENGINE_RANGE, sh->origin[w][i], off) != -1) {
				bad++;
				TH_LOG("%s buffer %d, range %d", exporter_names[kinds[i % 4]], i, w);
			}
		}
		dmabuf_sync(bufs[i].fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	}
	ksft_print_msg("%ld copies from %d processes\n", jobs, ENGINE_WORKERS);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, jobs);
	for (i = 0; i < ENGINE_BUFFERS; i++)
		free_buffer(&bufs[i]);
	munmap(sh, sizeof(*sh));
}

TEST_HARNESS_MAIN
