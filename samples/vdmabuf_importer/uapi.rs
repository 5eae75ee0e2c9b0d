// SPDX-License-Identifier: GPL-2.0

//! The uAPI of `/dev/vdmabuf-importer`, mirroring `include/uapi/linux/vdmabuf_importer.h`.

use crate::dma_buf::uapi::uapi_struct;
use kernel::{
    dma::DataDirection,
    ioctl::{
        _IOW,
        _IOWR, //
    },
    prelude::*, //
};

const IOCTL_BASE: u32 = 0xB9;

/// `VDMABUF_IMPORT_DYNAMIC`: attach as a dynamic importer.
pub(crate) const IMPORT_DYNAMIC: u32 = 1 << 0;
/// `VDMABUF_INFO_MAPPED`.
pub(crate) const INFO_MAPPED: u32 = 1 << 0;
/// `VDMABUF_INFO_DYNAMIC`.
pub(crate) const INFO_DYNAMIC: u32 = 1 << 1;

uapi_struct! {
    /// `struct vdmabuf_importer_import`.
    Import {
        /// The dma-buf file descriptor.
        fd: i32,
        /// `VDMABUF_IMPORT_*` flags.
        flags: u32,
        /// The returned handle.
        handle: u32,
        /// Must be zero.
        pad: u32,
    }
    /// `struct vdmabuf_importer_handle`.
    Handle {
        /// An import's handle.
        handle: u32,
        /// Must be zero.
        pad: u32,
    }
    /// `struct vdmabuf_importer_map`.
    Map {
        /// An import's handle.
        handle: u32,
        /// A `VDMABUF_IMPORTER_*` direction.
        direction: u32,
    }
    /// `struct vdmabuf_importer_info`.
    Info {
        /// An import's handle.
        handle: u32,
        /// `VDMABUF_INFO_*` bits.
        flags: u32,
        /// The buffer's size.
        size: u64,
        /// Entries of the DMA scatter list.
        sg_entries: u32,
        /// Must be zero.
        pad: u32,
        /// Total DMA length.
        dma_length: u64,
        /// The first entry's DMA address.
        first_dma_address: u64,
        /// Invalidations so far.
        invalidations: u64,
        /// The exporter's name.
        exporter: [u8; 32],
    }
    /// `struct vdmabuf_importer_read`.
    Read {
        /// An import's handle.
        handle: u32,
        /// Must be zero.
        pad: u32,
        /// First byte.
        offset: u64,
        /// Bytes.
        length: u64,
        /// The returned FNV-1a hash.
        checksum: u64,
    }
    /// `struct vdmabuf_importer_fill`.
    Fill {
        /// An import's handle.
        handle: u32,
        /// The pattern's seed.
        seed: u32,
        /// First byte.
        offset: u64,
        /// Bytes.
        length: u64,
    }
    /// `struct vdmabuf_importer_copy`.
    Copy {
        /// The source's handle.
        src: u32,
        /// The destination's handle.
        dst: u32,
        /// First byte of the source.
        src_offset: u64,
        /// First byte of the destination.
        dst_offset: u64,
        /// Bytes.
        length: u64,
        /// Must be zero.
        flags: u32,
        /// The returned sync_file descriptor.
        out_fence: i32,
    }
    /// `struct vdmabuf_importer_segment`.
    Segment {
        /// DMA address.
        addr: u64,
        /// Bytes.
        length: u64,
    }
    /// `struct vdmabuf_importer_segments`.
    Segments {
        /// The import's handle.
        handle: u32,
        /// Room in, segments out.
        count: u32,
        /// Pointer to the array.
        segments: u64,
    }
}

/// `VDMABUF_IMPORTER_IOCTL_IMPORT`.
pub(crate) const IOCTL_IMPORT: u32 = _IOWR::<Import>(IOCTL_BASE, 0x40);
/// `VDMABUF_IMPORTER_IOCTL_RELEASE`.
pub(crate) const IOCTL_RELEASE: u32 = _IOW::<Handle>(IOCTL_BASE, 0x41);
/// `VDMABUF_IMPORTER_IOCTL_MAP`.
pub(crate) const IOCTL_MAP: u32 = _IOW::<Map>(IOCTL_BASE, 0x42);
/// `VDMABUF_IMPORTER_IOCTL_UNMAP`.
pub(crate) const IOCTL_UNMAP: u32 = _IOW::<Handle>(IOCTL_BASE, 0x43);
/// `VDMABUF_IMPORTER_IOCTL_INFO`.
pub(crate) const IOCTL_INFO: u32 = _IOWR::<Info>(IOCTL_BASE, 0x44);
/// `VDMABUF_IMPORTER_IOCTL_READ`.
pub(crate) const IOCTL_READ: u32 = _IOWR::<Read>(IOCTL_BASE, 0x45);
/// `VDMABUF_IMPORTER_IOCTL_FILL`.
pub(crate) const IOCTL_FILL: u32 = _IOW::<Fill>(IOCTL_BASE, 0x46);
/// `VDMABUF_IMPORTER_IOCTL_COPY`.
pub(crate) const IOCTL_COPY: u32 = _IOWR::<Copy>(IOCTL_BASE, 0x47);
/// `VDMABUF_IMPORTER_IOCTL_SEGMENTS`.
pub(crate) const IOCTL_SEGMENTS: u32 = _IOWR::<Segments>(IOCTL_BASE, 0x48);
/// `VDMABUF_IMPORTER_IOCTL_DMA_READ`.
pub(crate) const IOCTL_DMA_READ: u32 = _IOWR::<Read>(IOCTL_BASE, 0x49);
/// `VDMABUF_IMPORTER_IOCTL_DMA_FILL`.
pub(crate) const IOCTL_DMA_FILL: u32 = _IOW::<Fill>(IOCTL_BASE, 0x4a);

impl Import {
    /// Checks flags and padding; returns whether the attachment is dynamic.
    pub(crate) fn validate(&self) -> Result<bool> {
        if self.flags & !IMPORT_DYNAMIC != 0 || self.pad != 0 {
            return Err(EINVAL);
        }
        Ok(self.flags & IMPORT_DYNAMIC != 0)
    }
}

impl Map {
    /// Returns the requested direction.
    pub(crate) fn direction(&self) -> Result<DataDirection> {
        // The uAPI values are those of `enum dma_data_direction`.
        crate::dma_buf::buffer::data_direction_from_uapi(self.direction)
    }
}

/// Returns `offset..offset + length` as a range of a buffer of `size` bytes, or `EINVAL`.
pub(crate) fn range(offset: u64, length: u64, size: usize) -> Result<(usize, usize)> {
    let offset = usize::try_from(offset).map_err(|_| EINVAL)?;
    let length = usize::try_from(length).map_err(|_| EINVAL)?;
    match offset.checked_add(length) {
        Some(end) if end <= size => Ok((offset, length)),
        _ => Err(EINVAL),
    }
}

/// The 64-bit FNV-1a hash state, as userspace computes it.
pub(crate) struct Fnv1a(u64);

impl Fnv1a {
    /// The hash of nothing.
    pub(crate) fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    /// Hashes `bytes` into the state.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Returns the hash.
    pub(crate) fn value(&self) -> u64 {
        self.0
    }
}

/// Byte `i` of the fill pattern with `seed`.
pub(crate) fn pattern_byte(seed: u32, i: u64) -> u8 {
    // CAST: Truncations are the pattern's definition in the uAPI header.
    ((i.wrapping_mul(2_654_435_761) >> 13) as u8) ^ (seed as u8)
}

/// Fills `bytes`, which stand at byte `at` of the buffer, with pattern `seed`.
pub(crate) fn fill_pattern(seed: u32, at: usize, bytes: &mut [u8]) {
    for (i, b) in bytes.iter_mut().enumerate() {
        // CAST: A `usize` fits in a `u64`.
        *b = pattern_byte(seed, (at + i) as u64);
    }
}

#[kunit_tests(vdmabuf_importer_uapi)]
mod tests {
    use super::*;

    fn import(flags: u32, pad: u32) -> Import {
        Import {
            fd: 0,
            flags,
            handle: 0,
            pad,
        }
    }

    #[test]
    fn import_flags_select_the_attachment_kind() -> Result {
        assert!(!import(0, 0).validate()?);
        assert!(import(IMPORT_DYNAMIC, 0).validate()?);
        Ok(())
    }

    #[test]
    fn import_rejects_unknown_flags_and_padding() {
        for bit in 1..32 {
            assert_eq!(import(1 << bit, 0).validate(), Err(EINVAL));
        }
        assert_eq!(import(0, 1).validate(), Err(EINVAL));
    }

    #[test]
    fn map_directions_are_the_dma_api_ones() -> Result {
        let map = |direction| Map {
            handle: 1,
            direction,
        };
        assert_eq!(map(0).direction()?, DataDirection::Bidirectional);
        assert_eq!(map(1).direction()?, DataDirection::ToDevice);
        assert_eq!(map(2).direction()?, DataDirection::FromDevice);
        assert_eq!(map(3).direction(), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn ranges_stay_inside_the_buffer() -> Result {
        assert_eq!(range(0, 4096, 4096)?, (0, 4096));
        assert_eq!(range(4095, 1, 4096)?, (4095, 1));
        assert_eq!(range(4096, 0, 4096)?, (4096, 0));
        assert_eq!(range(4096, 1, 4096), Err(EINVAL));
        assert_eq!(range(1, 4096, 4096), Err(EINVAL));
        assert_eq!(range(u64::MAX, 2, 4096), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn checksum_is_fnv1a() {
        let mut h = Fnv1a::new();
        assert_eq!(h.value(), 0xcbf2_9ce4_8422_2325);
        h.update(b"a");
        assert_eq!(h.value(), 0xaf63_dc4c_8601_ec8c);
        let mut h = Fnv1a::new();
        h.update(b"foobar");
        assert_eq!(h.value(), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn pattern_matches_the_header() {
        // (i * 2654435761) >> 13, truncated, xor seed.
        assert_eq!(pattern_byte(0, 0), 0);
        assert_eq!(pattern_byte(0, 1), (2_654_435_761u64 >> 13) as u8);
        assert_eq!(pattern_byte(0xff, 0), 0xff);
    }

    #[test]
    fn ioctl_numbers_match_the_c_header() {
        assert_eq!(IOCTL_IMPORT, 0xc010_b940);
        assert_eq!(IOCTL_RELEASE, 0x4008_b941);
        assert_eq!(IOCTL_MAP, 0x4008_b942);
        assert_eq!(IOCTL_UNMAP, 0x4008_b943);
        assert_eq!(IOCTL_INFO, 0xc050_b944);
        assert_eq!(IOCTL_READ, 0xc020_b945);
        assert_eq!(IOCTL_FILL, 0x4018_b946);
        assert_eq!(IOCTL_COPY, 0xc028_b947);
        assert_eq!(IOCTL_SEGMENTS, 0xc010_b948);
    }
}
