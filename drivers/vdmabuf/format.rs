// SPDX-License-Identifier: GPL-2.0

//! Format-aware buffers: where each plane of an image in a DRM format lies, computed from the
//! kernel's format table, and how the layout is shown.

use crate::dma_buf::errno::not_supported;
use crate::dma_buf::fourcc::{
    Format,
    Fourcc,
    MAX_PLANES,
    MOD_LINEAR, //
};
use kernel::fmt;
use kernel::{
    page::PAGE_SIZE,
    prelude::*,
    seq_file::SeqFile,
    seq_print, //
};

/// The largest width or height, in pixels (as DRM's usual `max_width`).
pub(crate) const MAX_DIMENSION: u32 = 16384;
/// The stride alignment when the request gives none: what Mesa's linear buffers use on most
/// hardware, and a multiple of every pixel size.
pub(crate) const DEFAULT_STRIDE_ALIGN: u32 = 64;
/// The largest stride alignment a request may ask for.
pub(crate) const MAX_STRIDE_ALIGN: u32 = 4096;

/// What a creation request asks for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LayoutRequest {
    /// Width in pixels.
    pub(crate) width: u32,
    /// Height in pixels.
    pub(crate) height: u32,
    /// DRM format code.
    pub(crate) fourcc: u32,
    /// DRM format modifier.
    pub(crate) modifier: u64,
    /// Stride (and plane offset) alignment in bytes; 0 for [`DEFAULT_STRIDE_ALIGN`].
    pub(crate) stride_align: u32,
    /// One dma-buf per plane instead of all planes in one.
    pub(crate) disjoint: bool,
}

/// One plane's place.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PlaneLayout {
    /// Which of the layout's dma-bufs holds the plane.
    pub(crate) buffer: usize,
    /// Byte offset of the plane's first row in that dma-buf.
    pub(crate) offset: u32,
    /// Bytes from one row to the next.
    pub(crate) stride: u32,
    /// Bytes of the plane: stride times the plane's rows.
    pub(crate) size: u64,
}

/// The layout of an image: its format and where its planes are, in one dma-buf or one per
/// plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Width in pixels.
    pub(crate) width: u32,
    /// Height in pixels.
    pub(crate) height: u32,
    /// The format.
    pub(crate) fourcc: Fourcc,
    /// The modifier (LINEAR).
    pub(crate) modifier: u64,
    /// Number of planes.
    pub(crate) num_planes: usize,
    /// The planes; entries from `num_planes` on are zero.
    pub(crate) planes: [PlaneLayout; MAX_PLANES],
    /// Number of dma-bufs: 1, or `num_planes` if disjoint.
    pub(crate) buffers: usize,
    /// Size of each dma-buf in bytes, page aligned.
    pub(crate) buffer_sizes: [usize; MAX_PLANES],
}

fn align_up(v: u64, align: u64) -> Option<u64> {
    Some(v.checked_add(align - 1)? & !(align - 1))
}

impl Layout {
    /// Computes the layout for `req`; no dma-buf may be larger than `max_size` bytes.
    ///
    /// `EOPNOTSUPP` without `CONFIG_DRM`, which has the kernel's format table. `EINVAL` for a
    /// format vdmabuf does not offer, a zero or too large dimension, a dimension
    /// the format's subsampling or blocks do not divide, a bad stride alignment, or a size
    /// beyond `max_size`; `EOPNOTSUPP` for a modifier other than LINEAR.
    pub(crate) fn new(req: &LayoutRequest, max_size: usize) -> Result<Self> {
        if !Format::available() {
            return Err(not_supported());
        }
        let (width, height) = (req.width, req.height);
        if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(EINVAL);
        }
        let align = match req.stride_align {
            0 => DEFAULT_STRIDE_ALIGN,
            a if a.is_power_of_two() && a <= MAX_STRIDE_ALIGN => a,
            _ => return Err(EINVAL),
        };
        let format = Format::lookup(req.fourcc).ok_or(EINVAL)?;
        if req.modifier != MOD_LINEAR {
            return Err(not_supported());
        }
        if width % format.hsub.max(1) != 0 || height % format.vsub.max(1) != 0 {
            return Err(EINVAL);
        }
        let buffers = if req.disjoint { format.num_planes } else { 1 };
        let mut layout = Self {
            width,
            height,
            fourcc: format.fourcc,
            modifier: req.modifier,
            num_planes: format.num_planes,
            planes: [PlaneLayout::default(); MAX_PLANES],
            buffers,
            buffer_sizes: [0; MAX_PLANES],
        };
        let mut end = [0u64; MAX_PLANES];
        for i in 0..format.num_planes {
            let (pw, ph) = (format.plane_width(width, i), format.plane_height(height, i));
            let pf = format.planes[i];
            let (bw, bh) = (pf.block_w.max(1), pf.block_h.max(1));
            if pw % bw != 0 || ph % bh != 0 {
                return Err(EINVAL);
            }
            let stride = align_up(format.min_pitch(i, pw), align.into()).ok_or(EINVAL)?;
            let size = stride.checked_mul((ph / bh).into()).ok_or(EINVAL)?;
            let buffer = if req.disjoint { i } else { 0 };
            let offset = align_up(end[buffer], align.into()).ok_or(EINVAL)?;
            end[buffer] = offset.checked_add(size).ok_or(EINVAL)?;
            layout.planes[i] = PlaneLayout {
                buffer,
                offset: u32::try_from(offset).map_err(|_| EINVAL)?,
                stride: u32::try_from(stride).map_err(|_| EINVAL)?,
                size,
            };
        }
        for (b, &bytes) in end.iter().enumerate().take(buffers) {
            let bytes = align_up(bytes, PAGE_SIZE as u64).ok_or(EINVAL)?;
            let bytes = usize::try_from(bytes).map_err(|_| EINVAL)?;
            if bytes > max_size {
                return Err(EINVAL);
            }
            layout.buffer_sizes[b] = bytes;
        }
        Ok(layout)
    }

    /// The bit mask of the planes that dma-buf `buffer` holds.
    pub(crate) fn plane_mask(&self, buffer: usize) -> u32 {
        (0..self.num_planes)
            .filter(|&i| self.planes[i].buffer == buffer)
            .fold(0, |m, i| m | 1 << i)
    }

    /// The total bytes of all its dma-bufs.
    pub(crate) fn total_size(&self) -> usize {
        self.buffer_sizes.iter().sum()
    }
}

/// One dma-buf of a format-aware buffer: the layout (each dma-buf of a disjoint one has a copy:
/// it never changes, and a copy costs no allocation) and which of its dma-bufs this is.
#[derive(Clone, Copy)]
pub(crate) struct Image {
    /// The layout.
    pub(crate) layout: Layout,
    /// The index of this dma-buf in the layout.
    pub(crate) buffer: usize,
}

impl Image {
    /// Writes the fdinfo lines of this dma-buf: `format`, `modifier`, `width`, `height`, for a
    /// disjoint layout `image_buffer` (`index/count`), and `planeN` (`offset stride size`) for
    /// each plane it holds.
    #[cfg_attr(
        not(dma_buf_show_fdinfo),
        expect(dead_code, reason = "the kernel has no dma_buf_ops.show_fdinfo")
    )]
    pub(crate) fn show_fdinfo(&self, m: &SeqFile) {
        let l = &self.layout;
        seq_print!(
            m,
            "format:\t{}\nmodifier:\t{:#x}\nwidth:\t{}\nheight:\t{}\n",
            l.fourcc,
            l.modifier,
            l.width,
            l.height
        );
        if l.buffers > 1 {
            seq_print!(m, "image_buffer:\t{}/{}\n", self.buffer, l.buffers);
        }
        for (i, p) in l.planes.iter().enumerate().take(l.num_planes) {
            if p.buffer == self.buffer {
                seq_print!(m, "plane{i}:\t{} {} {}\n", p.offset, p.stride, p.size);
            }
        }
    }
}

impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&ShowLayout(&self.layout, self.buffer), f)
    }
}

/// One dma-buf's view of its layout, as a line for debugfs (no spaces):
/// `NV12:640x480:0x0:0@0/640,1@307200/640`, each plane held as `plane@offset/stride`.
pub(crate) struct ShowLayout<'a>(pub(crate) &'a Layout, pub(crate) usize);

impl fmt::Display for ShowLayout<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (l, buffer) = (self.0, self.1);
        f.write_fmt(fmt!(
            "{}:{}x{}:{:#x}:",
            l.fourcc,
            l.width,
            l.height,
            l.modifier
        ))?;
        let mut sep = "";
        for (i, p) in l.planes.iter().enumerate().take(l.num_planes) {
            if p.buffer == buffer {
                f.write_fmt(fmt!("{sep}{i}@{}/{}", p.offset, p.stride))?;
                sep = ",";
            }
        }
        Ok(())
    }
}

/// The dma-buf name a buffer of a layout gets, which fdinfo and the core's debugfs show:
/// `NV12 640x480 LINEAR`, with ` plane N` for the dma-bufs of a disjoint layout; at most 31
/// bytes and a NUL, the core's limit (longer names are cut). Written by hand on the stack: it is
/// made for every format-aware buffer, and `core::fmt` costs more than the rest of the layout.
pub(crate) struct NameBuf {
    buf: [u8; 32],
    len: usize,
}

impl fmt::Write for NameBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s.as_bytes());
        Ok(())
    }
}

impl NameBuf {
    /// The name of dma-buf `buffer` of `layout`.
    pub(crate) fn new(layout: &Layout, buffer: usize) -> Self {
        let mut name = Self {
            buf: [0; 32],
            len: 0,
        };
        for b in layout.fourcc.0.to_le_bytes() {
            name.push(if b.is_ascii_graphic() || b == b' ' {
                b
            } else {
                b'?'
            });
        }
        name.push(b' ');
        name.push_decimal(layout.width.into());
        name.push(b'x');
        name.push_decimal(layout.height.into());
        name.push_str(b" LINEAR");
        if layout.buffers > 1 {
            name.push_str(b" plane ");
            // CAST: At most `MAX_PLANES`.
            name.push_decimal(buffer as u64);
        }
        name
    }

    /// A name written by `core::fmt` (cut at the limit), for the rarer cases.
    pub(crate) fn from_fmt(args: fmt::Arguments<'_>) -> Self {
        let mut name = Self {
            buf: [0; 32],
            len: 0,
        };
        let _ = fmt::Write::write_fmt(&mut name, args);
        name
    }

    fn push(&mut self, b: u8) {
        // The last byte stays NUL.
        if self.len < self.buf.len() - 1 {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    fn push_str(&mut self, s: &[u8]) {
        for &b in s {
            self.push(b);
        }
    }

    fn push_decimal(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            // CAST: A digit.
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for i in (0..n).rev() {
            self.push(digits[i]);
        }
    }

    /// The name, NUL-terminated.
    pub(crate) fn as_cstr(&self) -> &CStr {
        // The last byte is never written, so there is a NUL.
        CStr::from_bytes_until_nul(&self.buf).unwrap_or(c"")
    }
}

#[kunit_tests(vdmabuf_format)]
mod tests {
    use super::*;

    fn req(code: &[u8; 4], width: u32, height: u32) -> LayoutRequest {
        LayoutRequest {
            width,
            height,
            fourcc: Fourcc::new(code).0,
            modifier: MOD_LINEAR,
            stride_align: 0,
            disjoint: false,
        }
    }

    const BIG: usize = 1 << 30;

    #[test]
    fn nv12_planes_follow_each_other() -> Result {
        let l = Layout::new(&req(b"NV12", 640, 480), BIG)?;
        assert_eq!(l.num_planes, 2);
        assert_eq!(l.buffers, 1);
        let y = PlaneLayout {
            buffer: 0,
            offset: 0,
            stride: 640,
            size: 640 * 480,
        };
        let uv = PlaneLayout {
            buffer: 0,
            offset: 640 * 480,
            stride: 640,
            size: 640 * 240,
        };
        assert_eq!(l.planes[..2], [y, uv]);
        assert_eq!(
            l.buffer_sizes[0],
            (640 * 720usize).next_multiple_of(PAGE_SIZE)
        );
        assert_eq!(l.plane_mask(0), 0b11);
        Ok(())
    }

    #[test]
    fn strides_are_aligned() -> Result {
        // 100 XRGB pixels are 400 bytes: 448 at the default 64, 512 at 256.
        let l = Layout::new(&req(b"XR24", 100, 3), BIG)?;
        assert_eq!(l.planes[0].stride, 448);
        let mut r = req(b"XR24", 100, 3);
        r.stride_align = 256;
        assert_eq!(Layout::new(&r, BIG)?.planes[0].stride, 512);
        r.stride_align = 1;
        assert_eq!(Layout::new(&r, BIG)?.planes[0].stride, 400);
        // RGB888 at 3 bytes a pixel; YUV420's chroma planes are half as wide, aligned again.
        let mut r = req(b"YU12", 130, 2);
        r.stride_align = 1;
        let l = Layout::new(&r, BIG)?;
        let strides = [l.planes[0].stride, l.planes[1].stride, l.planes[2].stride];
        assert_eq!(strides, [130, 65, 65]);
        assert_eq!(l.planes[2].offset, 130 * 2 + 65);
        Ok(())
    }

    #[test]
    fn disjoint_planes_get_a_buffer_each() -> Result {
        let mut r = req(b"YU12", 64, 64);
        r.disjoint = true;
        let l = Layout::new(&r, BIG)?;
        assert_eq!(l.buffers, 3);
        for i in 0..3 {
            assert_eq!(l.planes[i].buffer, i);
            assert_eq!(l.planes[i].offset, 0);
            assert_eq!(l.plane_mask(i), 1 << i);
            assert_eq!(l.buffer_sizes[i], PAGE_SIZE);
        }
        Ok(())
    }

    #[test]
    fn bad_requests_are_refused() {
        let bad = |r: LayoutRequest| Layout::new(&r, 64 << 20).err();
        assert_eq!(bad(req(b"ZZZZ", 64, 64)), Some(EINVAL));
        assert_eq!(bad(req(b"NV12", 0, 64)), Some(EINVAL));
        assert_eq!(bad(req(b"NV12", 64, 0)), Some(EINVAL));
        assert_eq!(bad(req(b"NV12", MAX_DIMENSION + 2, 64)), Some(EINVAL));
        // Odd sizes where the format subsamples.
        assert_eq!(bad(req(b"NV12", 63, 64)), Some(EINVAL));
        assert_eq!(bad(req(b"NV12", 64, 63)), Some(EINVAL));
        assert_eq!(bad(req(b"YUYV", 63, 63)), Some(EINVAL));
        assert!(Layout::new(&req(b"NV24", 63, 63), BIG).is_ok());
        // Beyond the size limit: 16384 x 16384 x 8 bytes is 2 GiB.
        assert_eq!(
            bad(req(b"XR48", MAX_DIMENSION, MAX_DIMENSION)),
            Some(EINVAL)
        );
        let mut r = req(b"XR24", 64, 64);
        r.modifier = 1 << 56 | 1;
        assert_eq!(bad(r), Some(not_supported()));
        for align in [3, 100, MAX_STRIDE_ALIGN * 2, u32::MAX] {
            let mut r = req(b"XR24", 64, 64);
            r.stride_align = align;
            assert_eq!(bad(r), Some(EINVAL));
        }
    }

    #[test]
    fn every_known_format_lays_out() -> Result {
        for (_, fourcc) in crate::dma_buf::fourcc::KNOWN {
            let mut r = req(b"XR24", 64, 32);
            r.fourcc = fourcc.0;
            let l = Layout::new(&r, BIG)?;
            let last = l.planes[l.num_planes - 1];
            // The planes fit in the buffer, and DRM's framebuffer size check would pass.
            assert!(u64::from(last.offset) + last.size <= l.buffer_sizes[0] as u64);
        }
        Ok(())
    }

    #[test]
    fn names_fit_the_core_limit() -> Result {
        let mut r = req(b"XR48", MAX_DIMENSION, MAX_DIMENSION);
        r.fourcc = Fourcc::new(b"YU12").0;
        r.disjoint = true;
        let l = Layout::new(&r, 1 << 31)?;
        let name = NameBuf::new(&l, 2);
        assert_eq!(
            name.as_cstr().to_bytes(),
            b"YU12 16384x16384 LINEAR plane 2"
        );
        let l = Layout::new(&req(b"NV12", 640, 480), BIG)?;
        assert_eq!(
            NameBuf::new(&l, 0).as_cstr().to_bytes(),
            b"NV12 640x480 LINEAR"
        );
        // Longer than the limit: cut, still terminated.
        let mut long = NameBuf::new(&l, 0);
        long.push_str(b" and a good deal more text");
        assert_eq!(
            long.as_cstr().to_bytes(),
            b"NV12 640x480 LINEAR and a good "
        );
        Ok(())
    }
}
