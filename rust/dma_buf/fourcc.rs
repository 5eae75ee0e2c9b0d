// SPDX-License-Identifier: GPL-2.0

//! DRM pixel formats: four-character codes and the kernel's own description of their planes.
//!
//! C header: [`include/drm/drm_fourcc.h`](srctree/include/drm/drm_fourcc.h)
//!
//! An exporter that describes buffers as images takes block sizes, bytes per block and chroma
//! subsampling from the kernel's format table (`drm_format_info()`), so that its layouts agree
//! with what DRM drivers check framebuffers against. Upstream this would be `kernel::drm::fourcc`.
//! The table is part of DRM: without `CONFIG_DRM`, [`Format::available`] is false and
//! [`Format::lookup`] finds nothing.
//!
//! `drm_format_info()` `WARN`s on a code it does not know, and the table's lookup without the
//! warning is not exported, so [`Format::lookup`] takes only the codes listed in [`KNOWN`], each
//! of which the table has (the KUnit test below looks every one up).

#[cfg(CONFIG_DRM)]
use crate::dma_buf::helpers;
#[cfg(CONFIG_DRM)]
use kernel::{
    ffi::c_uint,
    sync::SetOnce, //
};
use kernel::{
    fmt,
    prelude::*, //
};

/// The most planes a format has (`DRM_FORMAT_MAX_PLANES`).
pub(crate) const MAX_PLANES: usize = 4;

/// `DRM_FORMAT_MOD_LINEAR`: rows of pixels one after the other, no tiling or compression.
pub(crate) const MOD_LINEAR: u64 = 0;

/// A DRM four-character code (`DRM_FORMAT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fourcc(pub(crate) u32);

impl Fourcc {
    /// `fourcc_code(a, b, c, d)`.
    pub(crate) const fn new(code: &[u8; 4]) -> Self {
        Self(
            code[0] as u32
                | (code[1] as u32) << 8
                | (code[2] as u32) << 16
                | (code[3] as u32) << 24,
        )
    }
}

impl fmt::Display for Fourcc {
    /// The four characters, as `%p4cc` prints them (`NV12`, `XR24`); bytes that are not
    /// printable ASCII show as `?`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.to_le_bytes() {
            let c = if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            };
            fmt::Write::write_char(f, c)?;
        }
        Ok(())
    }
}

/// What [`Format::lookup`] read from the kernel's table, in the order of [`KNOWN`].
#[cfg(CONFIG_DRM)]
static TABLE: SetOnce<[Option<Format>; KNOWN.len()]> = SetOnce::new();

/// The formats [`Format::lookup`] accepts: common RGB, packed YUV, semi-planar and planar YUV
/// formats as compositors, display drivers and video pipelines pass them.
pub(crate) const KNOWN: &[(&str, Fourcc)] = &[
    ("ARGB8888", Fourcc::new(b"AR24")),
    ("XRGB8888", Fourcc::new(b"XR24")),
    ("ABGR8888", Fourcc::new(b"AB24")),
    ("XBGR8888", Fourcc::new(b"XB24")),
    ("RGBA8888", Fourcc::new(b"RA24")),
    ("RGBX8888", Fourcc::new(b"RX24")),
    ("BGRA8888", Fourcc::new(b"BA24")),
    ("BGRX8888", Fourcc::new(b"BX24")),
    ("RGB565", Fourcc::new(b"RG16")),
    ("BGR565", Fourcc::new(b"BG16")),
    ("RGB888", Fourcc::new(b"RG24")),
    ("BGR888", Fourcc::new(b"BG24")),
    ("XRGB16161616", Fourcc::new(b"XR48")),
    ("XBGR16161616", Fourcc::new(b"XB48")),
    ("ARGB16161616", Fourcc::new(b"AR48")),
    ("ABGR16161616", Fourcc::new(b"AB48")),
    ("R8", Fourcc::new(b"R8  ")),
    ("YUYV", Fourcc::new(b"YUYV")),
    ("YVYU", Fourcc::new(b"YVYU")),
    ("UYVY", Fourcc::new(b"UYVY")),
    ("VYUY", Fourcc::new(b"VYUY")),
    ("NV12", Fourcc::new(b"NV12")),
    ("NV21", Fourcc::new(b"NV21")),
    ("NV16", Fourcc::new(b"NV16")),
    ("NV61", Fourcc::new(b"NV61")),
    ("NV24", Fourcc::new(b"NV24")),
    ("NV42", Fourcc::new(b"NV42")),
    ("P010", Fourcc::new(b"P010")),
    ("P012", Fourcc::new(b"P012")),
    ("P016", Fourcc::new(b"P016")),
    ("YUV420", Fourcc::new(b"YU12")),
    ("YVU420", Fourcc::new(b"YV12")),
    ("YUV422", Fourcc::new(b"YU16")),
    ("YVU422", Fourcc::new(b"YV16")),
    ("YUV444", Fourcc::new(b"YU24")),
    ("YVU444", Fourcc::new(b"YV24")),
];

/// One plane of a format, from the kernel's table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PlaneFormat {
    /// Bytes per block (`char_per_block`; for formats without blocks, bytes per pixel).
    pub(crate) char_per_block: u32,
    /// Block width in pixels, at least 1.
    pub(crate) block_w: u32,
    /// Block height in pixels, at least 1.
    pub(crate) block_h: u32,
}

/// A pixel format as the kernel's format table describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Format {
    /// The format's code.
    pub(crate) fourcc: Fourcc,
    /// Number of planes, 1 to [`MAX_PLANES`].
    pub(crate) num_planes: usize,
    /// Horizontal chroma subsampling factor (planes after the first).
    pub(crate) hsub: u32,
    /// Vertical chroma subsampling factor (planes after the first).
    pub(crate) vsub: u32,
    /// The planes; entries from `num_planes` on are zero.
    pub(crate) planes: [PlaneFormat; MAX_PLANES],
}

impl Format {
    /// Whether the kernel has the format table (`CONFIG_DRM`).
    pub(crate) const fn available() -> bool {
        cfg!(CONFIG_DRM)
    }

    /// Looks `fourcc` up in the kernel's format table, if it is one of [`KNOWN`].
    #[cfg(not(CONFIG_DRM))]
    pub(crate) fn lookup(_fourcc: u32) -> Option<Self> {
        None
    }

    /// Looks `fourcc` up in the kernel's format table, if it is one of [`KNOWN`].
    ///
    /// The first lookup reads every format of [`KNOWN`] from the kernel's table (a linear
    /// search each) and keeps them; later lookups only search [`KNOWN`].
    #[cfg(CONFIG_DRM)]
    pub(crate) fn lookup(fourcc: u32) -> Option<Self> {
        let i = KNOWN.iter().position(|(_, known)| known.0 == fourcc)?;
        if let Some(table) = TABLE.as_ref() {
            return table[i];
        }
        let mut table = [None; KNOWN.len()];
        for (entry, (_, known)) in table.iter_mut().zip(KNOWN) {
            *entry = Self::describe(*known);
        }
        // A lookup racing with this one may fill the table first; both read the same values.
        let _ = TABLE.populate(table);
        table[i]
    }

    /// Reads `fourcc`, which must be one of [`KNOWN`], from the kernel's table.
    #[cfg(CONFIG_DRM)]
    fn describe(fourcc: Fourcc) -> Option<Self> {
        let mut cpb: [c_uint; MAX_PLANES] = [0; MAX_PLANES];
        let (mut bw, mut bh) = (cpb, cpb);
        let (mut hsub, mut vsub): (c_uint, c_uint) = (0, 0);
        // SAFETY: `fourcc` is one of `KNOWN`, all of which are in the kernel's table, so the
        // lookup does not warn; the arrays have the `DRM_FORMAT_MAX_PLANES` entries the helper
        // fills and the other pointers are valid local variables.
        let n = unsafe {
            helpers::drm_format_describe(
                fourcc.0,
                cpb.as_mut_ptr(),
                bw.as_mut_ptr(),
                bh.as_mut_ptr(),
                &mut hsub,
                &mut vsub,
            )
        };
        // CAST: At most `DRM_FORMAT_MAX_PLANES`, a `u8` in C.
        let num_planes = n as usize;
        if num_planes == 0 || num_planes > MAX_PLANES || hsub == 0 || vsub == 0 {
            return None;
        }
        let mut planes = [PlaneFormat::default(); MAX_PLANES];
        for (i, plane) in planes.iter_mut().enumerate().take(num_planes) {
            *plane = PlaneFormat {
                char_per_block: cpb[i],
                block_w: bw[i],
                block_h: bh[i],
            };
        }
        Some(Self {
            fourcc,
            num_planes,
            hsub,
            vsub,
            planes,
        })
    }

    /// Width in pixels of plane `plane` of an image `width` pixels wide
    /// (`drm_format_info_plane_width()`).
    pub(crate) fn plane_width(&self, width: u32, plane: usize) -> u32 {
        if plane == 0 {
            width
        } else {
            // `hsub` is at least 1 (`lookup` checks); `max` keeps a panic path out.
            width / self.hsub.max(1)
        }
    }

    /// Height in rows of plane `plane` of an image `height` rows high
    /// (`drm_format_info_plane_height()`).
    pub(crate) fn plane_height(&self, height: u32, plane: usize) -> u32 {
        if plane == 0 {
            height
        } else {
            height / self.vsub.max(1)
        }
    }

    /// The least pitch in bytes of plane `plane` for a plane `plane_width` pixels wide
    /// (`drm_format_info_min_pitch()`).
    pub(crate) fn min_pitch(&self, plane: usize, plane_width: u32) -> u64 {
        let p = self.planes[plane];
        let block = u64::from(p.block_w) * u64::from(p.block_h);
        (u64::from(plane_width) * u64::from(p.char_per_block)).div_ceil(block.max(1))
    }
}

#[cfg(vdmabuf_layer_tests)]
#[kunit_tests(dma_buf_fourcc)]
mod tests {
    use super::*;

    #[cfg(CONFIG_DRM)]
    #[test]
    fn every_known_format_is_in_the_kernel_table() {
        for (name, fourcc) in KNOWN {
            if Format::lookup(fourcc.0).is_none() {
                pr_err!("{name} is not in the kernel's format table\n");
            }
            assert!(Format::lookup(fourcc.0).is_some());
        }
    }

    #[cfg(CONFIG_DRM)]
    #[test]
    fn geometry_matches_the_format() {
        let get = |code: &[u8; 4]| Format::lookup(Fourcc::new(code).0);
        let nv12 = get(b"NV12");
        assert_eq!(
            nv12.map(|f| (f.num_planes, f.hsub, f.vsub)),
            Some((2, 2, 2))
        );
        assert_eq!(nv12.map(|f| f.min_pitch(1, f.plane_width(64, 1))), Some(64));
        let xrgb = get(b"XR24");
        assert_eq!(
            xrgb.map(|f| (f.num_planes, f.min_pitch(0, 10))),
            Some((1, 40))
        );
        let yuv420 = get(b"YU12");
        assert_eq!(
            yuv420.map(|f| (f.num_planes, f.plane_height(6, 2))),
            Some((3, 3))
        );
        let p010 = get(b"P010");
        assert_eq!(p010.map(|f| f.min_pitch(1, 8)), Some(32));
    }

    #[test]
    fn unknown_codes_are_refused_without_a_lookup() {
        // Not in the table at all, and in the table but not offered: both `None`, and neither
        // reaches `drm_format_info()`, which would warn about the first.
        assert!(Format::lookup(0).is_none());
        assert!(Format::lookup(Fourcc::new(b"ZZZZ").0).is_none());
        assert!(Format::lookup(Fourcc::new(b"XYUV").0).is_none());
    }

    #[test]
    fn fourcc_prints_as_text() -> Result {
        use kernel::str::CString;
        let nv12 = CString::try_from_fmt(fmt!("{}", Fourcc::new(b"NV12")))?;
        assert_eq!(nv12.to_bytes(), b"NV12");
        let odd = CString::try_from_fmt(fmt!("{}", Fourcc(0x0000_3152)))?;
        assert_eq!(odd.to_bytes(), b"R1??");
        Ok(())
    }
}
