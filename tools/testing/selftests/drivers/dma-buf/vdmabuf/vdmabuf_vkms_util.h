/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vkms as an importer of vdmabuf buffers, without libdrm: set a small mode on its CRTC, show a
 * framebuffer on the primary plane, write the composed frame back into another vdmabuf buffer
 * (writeback connector), and read the frame's CRC (debugfs). Used by vdmabuf_formats and
 * vdmabuf_demo.
 */
#ifndef VDMABUF_VKMS_UTIL_H
#define VDMABUF_VKMS_UTIL_H

#include <poll.h>
#include <stddef.h>
#include <drm/drm.h>
#include <drm/drm_mode.h>
#include <linux/udmabuf.h>

#include "vdmabuf_format_util.h"

/* enum drm_plane_type is not uAPI; the "type" property has its values. */
#define DRM_PLANE_TYPE_PRIMARY 1

/* The mode vkms is set to: small, for TCG. */
#define W 64
#define H 64

/* Property ids of the objects used. */
struct props {
	__u32 crtc_mode_id, crtc_active;
	__u32 plane_fb_id, plane_crtc_id, plane_src[4], plane_crtc[4];
	__u32 wb_crtc_id, wb_fb_id, wb_fence;
};

/* vkms set up to show a framebuffer on its primary plane and write the frame back into a
 * vdmabuf buffer. */
struct vkms {
	int dev, card, minor;
	__u32 crtc, plane, wb;
	struct props p;
	int enabled;
	int wb_buf;	/* the writeback target: an XRGB8888 vdmabuf buffer */
	__u32 wb_fbid;
	uint8_t *wb_map;
	__u32 wb_pitch;
	/* The modes of the sources make_source() creates; NULL for none. */
	const struct vdmabuf_modes *source_modes;
};


static inline int drm_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do
		ret = ioctl(fd, cmd, arg);
	while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	return ret < 0 ? -errno : ret;
}

static inline __u32 prop_id(int fd, __u32 obj, __u32 type, const char *name, __u64 *value)
{
	struct drm_mode_obj_get_properties op = { .obj_id = obj, .obj_type = type };
	__u32 ids[64], i;
	__u64 vals[64];

	if (drm_ioctl(fd, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op) || op.count_props > 64)
		return 0;
	op.props_ptr = (uintptr_t)ids;
	op.prop_values_ptr = (uintptr_t)vals;
	if (drm_ioctl(fd, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op))
		return 0;
	for (i = 0; i < op.count_props; i++) {
		struct drm_mode_get_property gp = { .prop_id = ids[i] };

		if (drm_ioctl(fd, DRM_IOCTL_MODE_GETPROPERTY, &gp))
			continue;
		if (!strcmp(gp.name, name)) {
			if (value)
				*value = vals[i];
			return ids[i];
		}
	}
	return 0;
}

/* The formats vkms's primary plane takes. */
static inline int plane_has_format(int fd, __u32 plane, __u32 fourcc)
{
	struct drm_mode_get_plane gp = { .plane_id = plane };
	__u32 formats[128], i;

	if (drm_ioctl(fd, DRM_IOCTL_MODE_GETPLANE, &gp) || gp.count_format_types > 128)
		return 0;
	gp.format_type_ptr = (uintptr_t)formats;
	if (drm_ioctl(fd, DRM_IOCTL_MODE_GETPLANE, &gp))
		return 0;
	for (i = 0; i < gp.count_format_types; i++)
		if (formats[i] == fourcc)
			return 1;
	return 0;
}

/* Imports dma-buf @fd into vkms; returns the GEM handle or 0. */
static inline __u32 prime_import(int card, int fd)
{
	struct drm_prime_handle ph = { .fd = fd };

	return drm_ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &ph) ? 0 : ph.handle;
}

static inline void gem_close(int card, __u32 handle)
{
	struct drm_gem_close gc = { .handle = handle };

	drm_ioctl(card, DRM_IOCTL_GEM_CLOSE, &gc);
}

/* Makes a framebuffer; returns its id or -errno. */
static inline int addfb(int card, __u32 fourcc, const __u32 handles[4], const __u32 pitches[4],
		 const __u32 offsets[4], int planes)
{
	struct drm_mode_fb_cmd2 fb = {
		.width = W, .height = H, .pixel_format = fourcc, .flags = DRM_MODE_FB_MODIFIERS,
	};
	int i, ret;

	for (i = 0; i < planes; i++) {
		fb.handles[i] = handles[i];
		fb.pitches[i] = pitches[i];
		fb.offsets[i] = offsets[i];
		fb.modifier[i] = DRM_FORMAT_MOD_LINEAR;
	}
	ret = drm_ioctl(card, DRM_IOCTL_MODE_ADDFB2, &fb);
	return ret ? ret : (int)fb.fb_id;
}

static inline void rmfb(int card, __u32 fb)
{
	drm_ioctl(card, DRM_IOCTL_MODE_RMFB, &fb);
}

struct commit {
	__u32 objs[4], counts[4], props[24];
	__u64 values[24];
	int nobjs, n;
};

static inline void commit_obj(struct commit *c, __u32 obj)
{
	c->objs[c->nobjs] = obj;
	c->counts[c->nobjs++] = 0;
}

static inline void commit_prop(struct commit *c, __u32 prop, __u64 value)
{
	c->props[c->n] = prop;
	c->values[c->n++] = value;
	c->counts[c->nobjs - 1]++;
}

/*
 * Shows framebuffer @fb on the primary plane and writes the frame back into the writeback
 * buffer; returns 0 and the writeback fence in @fence, or -errno. @flags: DRM_MODE_ATOMIC_*.
 */
static inline int show(struct vkms *self, __u32 fb, __u32 flags, int *fence)
{
	struct drm_mode_atomic a = { 0 };
	struct commit c = { 0 };
	int i;

	*fence = -1;
	if (!self->enabled) {
		struct drm_mode_modeinfo mode = {
			.clock = 70 * 70 * 60 / 1000,
			.hdisplay = W, .hsync_start = W + 2, .hsync_end = W + 4, .htotal = 70,
			.vdisplay = H, .vsync_start = H + 2, .vsync_end = H + 4, .vtotal = 70,
			.vrefresh = 60, .type = DRM_MODE_TYPE_USERDEF, .name = "64x64",
		};
		struct drm_mode_create_blob blob = {
			.data = (uintptr_t)&mode, .length = sizeof(mode),
		};

		if (drm_ioctl(self->card, DRM_IOCTL_MODE_CREATEPROPBLOB, &blob))
			return -errno;
		commit_obj(&c, self->crtc);
		commit_prop(&c, self->p.crtc_mode_id, blob.blob_id);
		commit_prop(&c, self->p.crtc_active, 1);
		flags |= DRM_MODE_ATOMIC_ALLOW_MODESET;
	}
	commit_obj(&c, self->plane);
	commit_prop(&c, self->p.plane_fb_id, fb);
	commit_prop(&c, self->p.plane_crtc_id, self->crtc);
	for (i = 0; i < 4; i++) {
		commit_prop(&c, self->p.plane_src[i], i < 2 ? 0 : (__u64)(i == 2 ? W : H) << 16);
		commit_prop(&c, self->p.plane_crtc[i], i < 2 ? 0 : (i == 2 ? W : H));
	}
	commit_obj(&c, self->wb);
	commit_prop(&c, self->p.wb_crtc_id, self->crtc);
	commit_prop(&c, self->p.wb_fb_id, self->wb_fbid);
	commit_prop(&c, self->p.wb_fence, (uintptr_t)fence);
	a.flags = flags;
	a.count_objs = c.nobjs;
	a.objs_ptr = (uintptr_t)c.objs;
	a.count_props_ptr = (uintptr_t)c.counts;
	a.props_ptr = (uintptr_t)c.props;
	a.prop_values_ptr = (uintptr_t)c.values;
	i = drm_ioctl(self->card, DRM_IOCTL_MODE_ATOMIC, &a);
	if (!i)
		self->enabled = 1;
	return i;
}

/* Waits for a fence fd to signal; 1 if it did within @ms. */
static inline int fence_wait(int fence, int ms)
{
	struct pollfd pfd = { .fd = fence, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1;
}

/* Shows @fb and waits for the written-back frame. */
static inline long next_vblank(struct vkms *self, int count);

static inline int show_and_wait(struct vkms *self, __u32 fb)
{
	int fence, ret;

	ret = show(self, fb, 0, &fence);
	if (ret)
		return ret;
	ret = fence_wait(fence, 5000) ? 0 : -ETIMEDOUT;
	close(fence);
	/*
	 * The job's cleanup runs after its fence and switches vkms's composer off (quirk (c) in
	 * vdmabuf_formats.c); a next writeback commit made before that loses its composer and never
	 * completes. Let two vblanks pass.
	 */
	if (!ret)
		next_vblank(self, 2);
	return ret;
}

/* Waits for the next vblank; returns its number or -1. */
static inline long next_vblank(struct vkms *self, int count)
{
	union drm_wait_vblank vb = { .request = { .type = _DRM_VBLANK_RELATIVE } };

	vb.request.sequence = count;
	if (drm_ioctl(self->card, DRM_IOCTL_WAIT_VBLANK, &vb))
		return -1;
	return vb.reply.sequence;
}

static inline int open_crc(struct vkms *self)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/crtc-0/crc/data", self->minor);
	return open(path, O_RDONLY | O_NONBLOCK);
}

/*
 * Reads CRC entries for up to @vblanks vblanks, waiting for each (vkms composes, and takes
 * CRCs, only on vblanks, which run only while someone waits for them). Returns the CRC of the
 * first frame at least two vblanks after @start in @crc and 0, or -1 if none came.
 */
static inline int read_crc(struct vkms *self, int data, long start, int vblanks, __u32 *crc)
{
	unsigned int frame;
	char line[64];
	int i;

	for (i = 0; i < vblanks; i++) {
		ssize_t n;

		if (next_vblank(self, 1) < 0)
			return -1;
		while ((n = read(data, line, sizeof(line) - 1)) > 0) {
			line[n] = 0;
			if (sscanf(line, "%x %x", &frame, crc) == 2 && (int)(frame - start) >= 2)
				return 0;
		}
	}
	return -1;
}

/*
 * The CRC of the frame on screen now. Opening the data file switches vkms's CRC generation on;
 * a writeback job's cleanup switches it off again (quirk (c) below), which can happen just after
 * the open: then open it again.
 */
static inline int next_crc(struct vkms *self, __u32 *crc)
{
	int attempt, ret = -1;

	for (attempt = 0; attempt < 5 && ret; attempt++) {
		int data = open_crc(self);
		long start = next_vblank(self, 0);

		if (data < 0 || start < 0)
			return -1;
		ret = read_crc(self, data, start, 20, crc);
		close(data);
	}
	return ret;
}


/*
 * Opens vkms and /dev/vdmabuf and prepares the writeback target. Returns 0, or -errno with
 * @why set; -ENODEV if vdmabuf or vkms is absent.
 */
static inline int vkms_init(struct vkms *self, const char **why)
{
	struct drm_set_client_cap caps[] = {
		{ DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1 },
		{ DRM_CLIENT_CAP_ATOMIC, 1 },
		{ DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1 },
	};
	static const struct { size_t field; int obj; __u32 type; const char *name; } props[] = {
#define P(f, o, t, n) { offsetof(struct props, f), o, DRM_MODE_OBJECT_##t, n }
		P(crtc_mode_id, 0, CRTC, "MODE_ID"),
		P(crtc_active, 0, CRTC, "ACTIVE"),
		P(plane_fb_id, 1, PLANE, "FB_ID"),
		P(plane_crtc_id, 1, PLANE, "CRTC_ID"),
		P(plane_src[0], 1, PLANE, "SRC_X"),
		P(plane_src[1], 1, PLANE, "SRC_Y"),
		P(plane_src[2], 1, PLANE, "SRC_W"),
		P(plane_src[3], 1, PLANE, "SRC_H"),
		P(plane_crtc[0], 1, PLANE, "CRTC_X"),
		P(plane_crtc[1], 1, PLANE, "CRTC_Y"),
		P(plane_crtc[2], 1, PLANE, "CRTC_W"),
		P(plane_crtc[3], 1, PLANE, "CRTC_H"),
		P(wb_crtc_id, 2, CONNECTOR, "CRTC_ID"),
		P(wb_fb_id, 2, CONNECTOR, "WRITEBACK_FB_ID"),
		P(wb_fence, 2, CONNECTOR, "WRITEBACK_OUT_FENCE_PTR"),
#undef P
	};
	struct drm_mode_card_res res = { 0 };
	struct drm_mode_get_plane_res pres = { 0 };
	struct vdmabuf_create_format wb;
	__u32 crtcs[8], conns[8], planes[16], i, h;
	__u32 handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };
	char path[96];
	int fd, id;

	memset(self, 0, sizeof(*self));
	self->card = -1;
	self->dev = open(VDMABUF_DEV, O_RDWR | O_CLOEXEC);
	*why = "vdmabuf is not loaded";
	if (self->dev < 0)
		return -ENODEV;
	self->card = drm_open_driver("vkms", &self->minor);
	*why = "no vkms card (CONFIG_DRM_VKMS)";
	if (self->card < 0)
		return -ENODEV;
	*why = "client caps";
	for (i = 0; i < 3; i++)
		if (drm_ioctl(self->card, DRM_IOCTL_SET_CLIENT_CAP, &caps[i]))
			return -errno;

	res.crtc_id_ptr = (uintptr_t)crtcs;
	res.connector_id_ptr = (uintptr_t)conns;
	res.count_crtcs = 8;
	res.count_connectors = 8;
	*why = "GETRESOURCES";
	if (drm_ioctl(self->card, DRM_IOCTL_MODE_GETRESOURCES, &res) || !res.count_crtcs)
		return -EINVAL;
	self->crtc = crtcs[0];
	for (i = 0; i < res.count_connectors && i < 8; i++) {
		struct drm_mode_get_connector gc = { .connector_id = conns[i] };

		if (!drm_ioctl(self->card, DRM_IOCTL_MODE_GETCONNECTOR, &gc) &&
		    gc.connector_type == DRM_MODE_CONNECTOR_WRITEBACK)
			self->wb = conns[i];
	}
	*why = "vkms has no writeback connector";
	if (!self->wb)
		return -EINVAL;

	pres.plane_id_ptr = (uintptr_t)planes;
	pres.count_planes = 16;
	*why = "GETPLANERESOURCES";
	if (drm_ioctl(self->card, DRM_IOCTL_MODE_GETPLANERESOURCES, &pres))
		return -EINVAL;
	for (i = 0; i < pres.count_planes && i < 16; i++) {
		__u64 type = 0;

		if (prop_id(self->card, planes[i], DRM_MODE_OBJECT_PLANE, "type", &type) &&
		    type == DRM_PLANE_TYPE_PRIMARY) {
			self->plane = planes[i];
			break;
		}
	}
	*why = "no primary plane";
	if (!self->plane)
		return -EINVAL;
	for (i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		__u32 objs[] = { self->crtc, self->plane, self->wb };
		__u32 *id = (__u32 *)((char *)&self->p + props[i].field);

		*why = props[i].name;
		*id = prop_id(self->card, objs[props[i].obj], props[i].type, props[i].name, NULL);
		if (!*id)
			return -EINVAL;
	}

	/* The writeback target: another vdmabuf buffer, written by vkms through vmap. */
	*why = "writeback buffer";
	id = vdmabuf_create_format(self->dev, DRM_FORMAT_XRGB8888, W, H, VDMABUF_CREATE_RDWR, &wb);
	if (id)
		return id;
	self->wb_buf = wb.planes[0].fd;
	self->wb_pitch = wb.planes[0].stride;
	h = prime_import(self->card, self->wb_buf);
	if (!h)
		return -errno;
	handles[0] = h;
	pitches[0] = wb.planes[0].stride;
	id = addfb(self->card, DRM_FORMAT_XRGB8888, handles, pitches, offsets, 1);
	gem_close(self->card, h);
	if (id < 0)
		return id;
	self->wb_fbid = id;
	self->wb_map = mmap(NULL, (size_t)wb.planes[0].stride * H, PROT_READ, MAP_SHARED,
			    self->wb_buf, 0);
	if (self->wb_map == MAP_FAILED)
		return -errno;

	/* CRCs of the composed frames; capture starts when the data file opens. */
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/crtc-0/crc/control", self->minor);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		*why = "CRC source";
		if (write(fd, "auto", 4) != 4)
			return -errno;
		close(fd);
	}
	*why = NULL;
	return 0;
}

static inline void vkms_fini(struct vkms *self)
{
	if (self->wb_map && self->wb_map != MAP_FAILED)
		munmap(self->wb_map, (size_t)self->wb_pitch * H);
	if (self->wb_fbid)
		rmfb(self->card, self->wb_fbid);
	if (self->wb_buf > 0)
		close(self->wb_buf);
	if (self->card >= 0)
		close(self->card);	/* the CRTC goes off with the last master */
	if (self->dev >= 0)
		close(self->dev);
}

/* Returns the largest channel difference between the written-back frame and the picture. */
static inline int wb_diff(struct vkms *self, int *worst_x, int *worst_y)
{
	int x, y, worst = 0;

	dmabuf_sync(self->wb_buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	for (y = 0; y < H; y++) {
		for (x = 0; x < W; x++) {
			const uint8_t *px = self->wb_map + (size_t)y * self->wb_pitch + x * 4;
			struct rgb c = picture(x, y);
			int d = abs(px[2] - c.r);

			d = d > abs(px[1] - c.g) ? d : abs(px[1] - c.g);
			d = d > abs(px[0] - c.b) ? d : abs(px[0] - c.b);
			if (d > worst) {
				worst = d;
				*worst_x = x;
				*worst_y = y;
			}
		}
	}
	dmabuf_sync(self->wb_buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	return worst;
}

/* A source framebuffer in format @f: a vdmabuf buffer or a udmabuf with the same layout. */
struct source {
	struct vdmabuf_create_format args;
	int fds[3], memfd;
	uint8_t *maps[3];
	size_t sizes[3];
	__u32 fb, handles[3];
};

static inline int make_source(struct vkms *self, const struct fmt *f, __u32 flags, int udmabuf,
			      struct source *s)
{
	__u32 offsets[4] = { 0 }, pitches[4] = { 0 }, handles[4] = { 0 };
	uint8_t *base[3];
	int p, ret;

	memset(s, 0, sizeof(*s));
	s->memfd = -1;
	memset(&s->args, 0, sizeof(s->args));
	s->args.width = W;
	s->args.height = H;
	s->args.fourcc = f->fourcc;
	s->args.flags = flags | VDMABUF_CREATE_RDWR;
	s->args.modes = (uintptr_t)self->source_modes;
	ret = vdmabuf_ioctl(self->dev, VDMABUF_IOCTL_CREATE_FORMAT, &s->args);
	if (ret)
		return ret;
	for (p = 0; p < f->planes; p++) {
		struct vdmabuf_plane *pl = &s->args.planes[p];
		int q;

		for (q = 0; q < p && s->args.planes[q].fd != pl->fd; q++)
			;
		if (q < p) {
			s->fds[p] = s->fds[q];
			s->maps[p] = s->maps[q];
			continue;
		}
		s->fds[p] = pl->fd;
		s->sizes[p] = lseek(pl->fd, 0, SEEK_END);
		s->maps[p] = mmap(NULL, s->sizes[p], PROT_READ | PROT_WRITE, MAP_SHARED, pl->fd, 0);
		if (s->maps[p] == MAP_FAILED)
			return -errno;
	}
	for (p = 0; p < f->planes; p++) {
		base[p] = s->maps[p];
		offsets[p] = s->args.planes[p].offset;
		pitches[p] = s->args.planes[p].stride;
	}
	for (p = 0; p < f->planes; p++)
		dmabuf_sync(s->fds[p], DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	write_picture(f, base, offsets, pitches, W, H);
	for (p = 0; p < f->planes; p++)
		dmabuf_sync(s->fds[p], DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);

	if (udmabuf) {
		/* The same bytes in a udmabuf: the reference importers already trust. */
		struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC };
		int u = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
		size_t size = s->sizes[0];
		void *m;

		if (u < 0 || (f->planes > 1 && s->fds[1] != s->fds[0]))
			return -EOPNOTSUPP;
		s->memfd = memfd_create("vdmabuf-formats", MFD_ALLOW_SEALING);
		if (s->memfd < 0 || ftruncate(s->memfd, size) ||
		    fcntl(s->memfd, F_ADD_SEALS, F_SEAL_SHRINK))
			return -errno;
		m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
		if (m == MAP_FAILED)
			return -errno;
		memcpy(m, s->maps[0], size);
		munmap(m, size);
		c.memfd = s->memfd;
		c.size = size;
		ret = ioctl(u, UDMABUF_CREATE, &c);
		close(u);
		if (ret < 0)
			return -errno;
		for (p = 0; p < f->planes; p++)
			s->fds[p] = ret;
	}
	for (p = 0; p < f->planes; p++) {
		handles[p] = prime_import(self->card, s->fds[p]);
		if (!handles[p])
			return -errno;
		s->handles[p] = handles[p];
	}
	ret = addfb(self->card, f->fourcc, handles, pitches, offsets, f->planes);
	if (ret < 0)
		return ret;
	s->fb = ret;
	return 0;
}

static inline void free_source(struct vkms *self, struct source *s, int planes)
{
	int p;

	if (s->fb)
		rmfb(self->card, s->fb);
	for (p = 0; p < planes; p++) {
		if (s->handles[p] && (!p || s->handles[p] != s->handles[p - 1]))
			gem_close(self->card, s->handles[p]);
		if (s->maps[p] && (!p || s->maps[p] != s->maps[p - 1]))
			munmap(s->maps[p], s->sizes[p]);
	}
	if (s->memfd >= 0) {
		close(s->fds[0]);
		close(s->memfd);
	}
	close_planes(&s->args);
}

#endif
