/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Images in DRM formats for the vdmabuf format tests: a test picture of uniform colour blocks,
 * written into any of the formats vdmabuf offers at the layout it returned, and the colour each
 * pixel should come back as.
 *
 * The format geometry here is written out by hand on purpose: vdmabuf takes it from the kernel's
 * table, and the tests check it against this independent copy.
 */
#ifndef VDMABUF_FORMAT_UTIL_H
#define VDMABUF_FORMAT_UTIL_H

#include <drm/drm_fourcc.h>
#include "vdmabuf_util.h"

enum fmt_kind { RGB, YUV_PACKED, YUV_SEMI, YUV_PLANAR };

struct fmt {
	const char *name;
	__u32 fourcc;
	enum fmt_kind kind;
	int planes;
	int cpp[3];	/* bytes per pixel (per sample pair for packed YUV) of each plane */
	int hsub, vsub;
	int swap_uv;	/* NV21, YVU*, YVYU/VYUY */
	int sample16;	/* P010/P012/P016: 16-bit samples */
};

#define FMT(n, f, k, p, c0, c1, c2, h, v, sw, s16) \
	{ .name = n, .fourcc = f, .kind = k, .planes = p, .cpp = { c0, c1, c2 }, \
	  .hsub = h, .vsub = v, .swap_uv = sw, .sample16 = s16 }

static const struct fmt fmts[] = {
	FMT("ARGB8888", DRM_FORMAT_ARGB8888, RGB, 1, 4, 0, 0, 1, 1, 0, 0),
	FMT("XRGB8888", DRM_FORMAT_XRGB8888, RGB, 1, 4, 0, 0, 1, 1, 0, 0),
	FMT("ABGR8888", DRM_FORMAT_ABGR8888, RGB, 1, 4, 0, 0, 1, 1, 0, 0),
	FMT("XBGR8888", DRM_FORMAT_XBGR8888, RGB, 1, 4, 0, 0, 1, 1, 0, 0),
	FMT("RGB565", DRM_FORMAT_RGB565, RGB, 1, 2, 0, 0, 1, 1, 0, 0),
	FMT("RGB888", DRM_FORMAT_RGB888, RGB, 1, 3, 0, 0, 1, 1, 0, 0),
	FMT("BGR888", DRM_FORMAT_BGR888, RGB, 1, 3, 0, 0, 1, 1, 0, 0),
	FMT("XRGB16161616", DRM_FORMAT_XRGB16161616, RGB, 1, 8, 0, 0, 1, 1, 0, 0),
	FMT("YUYV", DRM_FORMAT_YUYV, YUV_PACKED, 1, 2, 0, 0, 2, 1, 0, 0),
	FMT("UYVY", DRM_FORMAT_UYVY, YUV_PACKED, 1, 2, 0, 0, 2, 1, 0, 0),
	FMT("NV12", DRM_FORMAT_NV12, YUV_SEMI, 2, 1, 2, 0, 2, 2, 0, 0),
	FMT("NV21", DRM_FORMAT_NV21, YUV_SEMI, 2, 1, 2, 0, 2, 2, 1, 0),
	FMT("NV16", DRM_FORMAT_NV16, YUV_SEMI, 2, 1, 2, 0, 2, 1, 0, 0),
	FMT("NV24", DRM_FORMAT_NV24, YUV_SEMI, 2, 1, 2, 0, 1, 1, 0, 0),
	FMT("P010", DRM_FORMAT_P010, YUV_SEMI, 2, 2, 4, 0, 2, 2, 0, 1),
	FMT("YUV420", DRM_FORMAT_YUV420, YUV_PLANAR, 3, 1, 1, 1, 2, 2, 0, 0),
	FMT("YVU420", DRM_FORMAT_YVU420, YUV_PLANAR, 3, 1, 1, 1, 2, 2, 1, 0),
	FMT("YUV422", DRM_FORMAT_YUV422, YUV_PLANAR, 3, 1, 1, 1, 2, 1, 0, 0),
	FMT("YUV444", DRM_FORMAT_YUV444, YUV_PLANAR, 3, 1, 1, 1, 1, 1, 0, 0),
};
#undef FMT
#define NFMTS (sizeof(fmts) / sizeof(fmts[0]))

/* The colour of pixel (x, y) of the test picture: 16x16 blocks of the eight saturated colours. */
struct rgb { int r, g, b; };

static inline struct rgb picture(int x, int y)
{
	int c = ((x / 16) + 3 * (y / 16)) % 8;

	return (struct rgb){ c & 4 ? 255 : 0, c & 2 ? 255 : 0, c & 1 ? 255 : 0 };
}

/* BT.601 full range, what vkms assumes for YUV planes by default. */
static inline int clamp8(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : (int)(v + 0.5);
}

static inline void rgb_to_yuv(struct rgb c, int *y, int *u, int *v)
{
	*y = clamp8(0.299 * c.r + 0.587 * c.g + 0.114 * c.b);
	*u = clamp8(128 - 0.168736 * c.r - 0.331264 * c.g + 0.5 * c.b);
	*v = clamp8(128 + 0.5 * c.r - 0.418688 * c.g - 0.081312 * c.b);
}

/* The least pitch of plane @p of a @width pixels wide image, before alignment. */
static inline __u32 fmt_min_pitch(const struct fmt *f, int p, __u32 width)
{
	return (p ? width / f->hsub : width) * f->cpp[p];
}

static inline void put(uint8_t *at, int bytes, uint64_t v)
{
	int i;

	for (i = 0; i < bytes; i++)
		at[i] = v >> (8 * i);
}

/*
 * Writes the test picture, @w x @h, in format @f into @base[i] (the mapping of the dma-buf that
 * holds plane i), with plane i at @offset[i] and @pitch[i].
 */
static inline void write_picture(const struct fmt *f, uint8_t *const base[3], const __u32 offset[3],
				 const __u32 pitch[3], int w, int h)
{
	int x, y, Y, U, V;

	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++) {
			struct rgb c = picture(x, y);
			uint8_t *p0 = base[0] + offset[0] + (size_t)y * pitch[0];

			if (f->kind == RGB) {
				uint64_t v;

				switch (f->fourcc) {
				case DRM_FORMAT_ARGB8888:
				case DRM_FORMAT_XRGB8888:
					v = 0xffu << 24 | c.r << 16 | c.g << 8 | c.b;
					break;
				case DRM_FORMAT_ABGR8888:
				case DRM_FORMAT_XBGR8888:
					v = 0xffu << 24 | c.b << 16 | c.g << 8 | c.r;
					break;
				case DRM_FORMAT_RGB565:
					v = (c.r >> 3) << 11 | (c.g >> 2) << 5 | c.b >> 3;
					break;
				case DRM_FORMAT_RGB888:
					v = c.r << 16 | c.g << 8 | c.b;
					break;
				case DRM_FORMAT_BGR888:
					v = c.b << 16 | c.g << 8 | c.r;
					break;
				default: /* XRGB16161616 */
					v = 0xffffull << 48 | (uint64_t)(c.r * 257) << 32 |
					    (uint64_t)(c.g * 257) << 16 | (uint64_t)(c.b * 257);
				}
				put(p0 + (size_t)x * f->cpp[0], f->cpp[0], v);
				continue;
			}
			rgb_to_yuv(c, &Y, &U, &V);
			if (f->swap_uv) {
				int t = U;

				U = V;
				V = t;
			}
			if (f->kind == YUV_PACKED) {
				/* YUYV: Y0 U Y1 V; UYVY: U Y0 V Y1. Chroma from the even pixel. */
				uint8_t *px = p0 + (size_t)(x & ~1) * 2;
				int uyvy = f->fourcc == DRM_FORMAT_UYVY;

				px[uyvy + 2 * (x & 1)] = Y;
				if (!(x & 1)) {
					px[uyvy ? 0 : 1] = U;
					px[uyvy ? 2 : 3] = V;
				}
				continue;
			}
			if (f->sample16)
				put(p0 + (size_t)x * 2, 2, (uint64_t)(Y << 2) << 6);
			else
				p0[x] = Y;
			if (x % f->hsub || y % f->vsub)
				continue;
			if (f->kind == YUV_SEMI) {
				uint8_t *p1 = base[1] + offset[1] + (size_t)(y / f->vsub) * pitch[1] +
					      (size_t)(x / f->hsub) * f->cpp[1];

				if (f->sample16) {
					put(p1, 2, (uint64_t)(U << 2) << 6);
					put(p1 + 2, 2, (uint64_t)(V << 2) << 6);
				} else {
					p1[0] = U;
					p1[1] = V;
				}
			} else {
				base[1][offset[1] + (size_t)(y / f->vsub) * pitch[1] + x / f->hsub] = U;
				base[2][offset[2] + (size_t)(y / f->vsub) * pitch[2] + x / f->hsub] = V;
			}
		}
	}
}

/* Creates a format-aware buffer; returns 0 or -errno and fills @args. */
static inline int vdmabuf_create_format(int dev, __u32 fourcc, __u32 w, __u32 h, __u32 flags,
					struct vdmabuf_create_format *args)
{
	memset(args, 0, sizeof(*args));
	args->width = w;
	args->height = h;
	args->fourcc = fourcc;
	args->flags = flags;
	args->modifier = DRM_FORMAT_MOD_LINEAR;
	return vdmabuf_ioctl(dev, VDMABUF_IOCTL_CREATE_FORMAT, args);
}

static inline void close_planes(struct vdmabuf_create_format *args)
{
	__u32 i, j;

	for (i = 0; i < args->num_planes; i++) {
		for (j = 0; j < i; j++)
			if (args->planes[j].fd == args->planes[i].fd)
				break;
		if (j == i && args->planes[i].fd >= 0)
			close(args->planes[i].fd);
	}
}

#endif
