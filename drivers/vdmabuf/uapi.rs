// SPDX-License-Identifier: GPL-2.0

//! The uAPI of `/dev/vdmabuf`, mirroring `include/uapi/linux/vdmabuf.h`, and its validation.

use crate::dma_buf::{
    pages::MAX_CONTIGUOUS,
    uapi::uapi_struct, //
};
use crate::format::{
    LayoutRequest,
    PlaneLayout, //
};
use kernel::{
    ioctl::{
        _IOW,
        _IOWR, //
    },
    page::PAGE_SIZE,
    prelude::*, //
};

const IOCTL_BASE: u32 = 0xB9;

/// `VDMABUF_CREATE_CLOEXEC`: set `O_CLOEXEC` on the new file descriptor.
pub(crate) const CREATE_CLOEXEC: u32 = 1 << 0;
/// `VDMABUF_CREATE_RDWR`: open the dma-buf read-write.
pub(crate) const CREATE_RDWR: u32 = 1 << 1;
/// `VDMABUF_CREATE_CONTIGUOUS`: physically contiguous memory.
pub(crate) const CREATE_CONTIGUOUS: u32 = 1 << 2;
const CREATE_FLAGS: u32 = CREATE_CLOEXEC | CREATE_RDWR | CREATE_CONTIGUOUS;
/// `VDMABUF_FORMAT_DISJOINT`: one dma-buf per plane.
pub(crate) const FORMAT_DISJOINT: u32 = 1 << 3;
const CREATE_FORMAT_FLAGS: u32 = CREATE_FLAGS | FORMAT_DISJOINT;
/// `VDMABUF_MAX_PLANES`.
pub(crate) const MAX_PLANES: usize = 4;

/// `VDMABUF_SG_*`.
pub(crate) const SG_LARGEST: u32 = 0;
pub(crate) const SG_PER_PAGE: u32 = 1;
pub(crate) const SG_SCATTERED: u32 = 2;
pub(crate) const SG_CONTIGUOUS: u32 = 3;
pub(crate) const SG_CAPPED: u32 = 4;
/// `VDMABUF_FAIL_*`.
pub(crate) const FAIL_NONE: u32 = 0;
pub(crate) const FAIL_ATTACH: u32 = 1;
pub(crate) const FAIL_MAP: u32 = 2;
pub(crate) const FAIL_BEGIN_CPU_ACCESS: u32 = 3;
pub(crate) const FAIL_MMAP: u32 = 4;
/// `VDMABUF_FAIL_EVERY`.
pub(crate) const FAIL_EVERY: u32 = 1 << 0;
/// `VDMABUF_MODE_NONCOHERENT`.
pub(crate) const MODE_NONCOHERENT: u32 = 1 << 0;

/// Reads the `struct vdmabuf_modes` at `ptr` (0 for the defaults) and checks it.
#[inline]
pub(crate) fn read_modes(ptr: u64, fence_timeout_ms: u32) -> Result<crate::modes::Modes> {
    if ptr == 0 {
        return Ok(crate::modes::Modes::default());
    }
    let addr = usize::try_from(ptr).map_err(|_| EFAULT)?;
    let user = kernel::uaccess::UserSlice::new(
        kernel::uaccess::UserPtr::from_addr(addr),
        core::mem::size_of::<Modes>(),
    );
    let modes: Modes = user.reader().read()?;
    crate::modes::Modes::from_uapi(&modes, fence_timeout_ms)
}

uapi_struct! {
    /// `struct vdmabuf_create`.
    Create {
        /// Buffer size in bytes.
        size: u64,
        /// `VDMABUF_CREATE_*` flags.
        flags: u32,
        /// The returned dma-buf file descriptor.
        fd: i32,
        /// 0 or a pointer to a `struct vdmabuf_modes`.
        modes: u64,
    }
    /// `struct vdmabuf_modes`.
    Modes {
        /// A `VDMABUF_SG_*` layout.
        sg_layout: u32,
        /// The longest entry of a capped layout.
        sg_max_entry: u32,
        /// A `VDMABUF_FAIL_*` operation.
        fail_op: u32,
        /// The failing call.
        fail_nth: u32,
        /// The error it fails with.
        fail_errno: i32,
        /// `VDMABUF_FAIL_EVERY` or 0.
        fail_flags: u32,
        /// Sleep before each map.
        map_delay_ms: u32,
        /// Fences signal by themselves after this long.
        fence_delay_ms: u32,
        /// With this status.
        fence_error: i32,
        /// Migrate by itself this often while dynamic importers are attached.
        move_interval_ms: u32,
        /// Must be zero.
        flags: u32,
        /// Must be zero.
        pad: u32,
    }
    /// `struct vdmabuf_migrate`.
    Migrate {
        /// The dma-buf file descriptor.
        fd: i32,
        /// Must be zero.
        flags: u32,
    }
    /// `struct vdmabuf_fence_attach`.
    FenceAttach {
        /// The dma-buf file descriptor.
        fd: i32,
        /// `VDMABUF_FENCE_*` flags.
        flags: u32,
        /// A `VDMABUF_USAGE_*` value.
        usage: u32,
        /// The returned handle.
        handle: u32,
        /// The returned sync_file descriptor, or -1.
        sync_file: i32,
        /// Must be zero.
        pad: u32,
    }
    /// `struct vdmabuf_plane`.
    Plane {
        /// The dma-buf holding the plane, or -1.
        fd: i32,
        /// Byte offset in that dma-buf.
        offset: u32,
        /// Bytes per row.
        stride: u32,
        /// Must be zero.
        pad: u32,
        /// Bytes of the plane.
        size: u64,
    }
    /// `struct vdmabuf_create_format`.
    CreateFormat {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// DRM format code.
        fourcc: u32,
        /// `VDMABUF_CREATE_*` and `VDMABUF_FORMAT_*` flags.
        flags: u32,
        /// DRM format modifier.
        modifier: u64,
        /// Stride alignment, 0 for the default.
        stride_align: u32,
        /// The returned number of planes.
        num_planes: u32,
        /// The returned total size.
        size: u64,
        /// The returned planes.
        planes: [Plane; MAX_PLANES],
        /// 0 or a pointer to a `struct vdmabuf_modes`.
        modes: u64,
    }
    /// `struct vdmabuf_format_info`.
    FormatInfo {
        /// The dma-buf file descriptor.
        fd: i32,
        /// Must be zero.
        flags: u32,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// DRM format code.
        fourcc: u32,
        /// Number of planes.
        num_planes: u32,
        /// DRM format modifier.
        modifier: u64,
        /// The planes this dma-buf holds.
        plane_mask: u32,
        /// Must be zero.
        pad: u32,
        /// Every plane of the image.
        planes: [Plane; MAX_PLANES],
    }
    /// `struct vdmabuf_fence_signal`.
    FenceSignal {
        /// The fence's handle.
        handle: u32,
        /// 0 or a negative errno.
        error: i32,
        /// Must be zero.
        flags: u32,
        /// Must be zero.
        pad: u32,
    }
}

/// `VDMABUF_FENCE_SYNC_FILE`: also return a sync_file descriptor.
pub(crate) const FENCE_SYNC_FILE: u32 = 1 << 0;

impl FenceSignal {
    /// Checks flags, padding and the error; returns the result to signal with.
    pub(crate) fn validate(&self) -> Result<Result> {
        if self.flags != 0 || self.pad != 0 || !(-4095..=0).contains(&self.error) {
            return Err(EINVAL);
        }
        Ok(if self.error == 0 {
            Ok(())
        } else {
            Err(Error::from_errno(self.error))
        })
    }
}

/// `VDMABUF_IOCTL_CREATE`.
pub(crate) const IOCTL_CREATE: u32 = _IOWR::<Create>(IOCTL_BASE, 0x00);
/// `VDMABUF_IOCTL_MIGRATE`.
pub(crate) const IOCTL_MIGRATE: u32 = _IOW::<Migrate>(IOCTL_BASE, 0x01);
/// `VDMABUF_IOCTL_FENCE_ATTACH`.
pub(crate) const IOCTL_FENCE_ATTACH: u32 = _IOWR::<FenceAttach>(IOCTL_BASE, 0x02);
/// `VDMABUF_IOCTL_FENCE_SIGNAL`.
pub(crate) const IOCTL_FENCE_SIGNAL: u32 = _IOW::<FenceSignal>(IOCTL_BASE, 0x03);
/// `VDMABUF_IOCTL_CREATE_FORMAT`.
pub(crate) const IOCTL_CREATE_FORMAT: u32 = _IOWR::<CreateFormat>(IOCTL_BASE, 0x04);
/// `VDMABUF_IOCTL_GET_FORMAT`.
pub(crate) const IOCTL_GET_FORMAT: u32 = _IOWR::<FormatInfo>(IOCTL_BASE, 0x05);

/// A validated creation request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CreateRequest {
    /// Size in bytes: nonzero, page aligned, within the limit.
    pub(crate) size: usize,
    /// Whether the fd gets `O_CLOEXEC`.
    pub(crate) cloexec: bool,
    /// Whether the dma-buf file is read-write.
    pub(crate) rdwr: bool,
    /// Whether the memory is physically contiguous.
    pub(crate) contiguous: bool,
}

/// What the flags of a creation request ask for.
fn buffer_flags(flags: u32, size: usize) -> CreateRequest {
    CreateRequest {
        size,
        cloexec: flags & CREATE_CLOEXEC != 0,
        rdwr: flags & CREATE_RDWR != 0,
        contiguous: flags & CREATE_CONTIGUOUS != 0,
    }
}

impl Create {
    /// Checks the request against the uAPI rules and a size limit in bytes.
    pub(crate) fn validate(&self, max_size: usize) -> Result<CreateRequest> {
        if self.flags & !CREATE_FLAGS != 0 {
            return Err(EINVAL);
        }
        let size = usize::try_from(self.size).map_err(|_| EINVAL)?;
        if size == 0 || size % PAGE_SIZE != 0 || size > max_size {
            return Err(EINVAL);
        }
        let req = buffer_flags(self.flags, size);
        if req.contiguous && size > MAX_CONTIGUOUS {
            return Err(EINVAL);
        }
        Ok(req)
    }
}

impl CreateFormat {
    /// Checks flags and padding; returns the layout request and what each dma-buf gets (its
    /// size still 0: the layout decides it).
    pub(crate) fn validate(&self) -> Result<(LayoutRequest, CreateRequest)> {
        if self.flags & !CREATE_FORMAT_FLAGS != 0 || self.planes.iter().any(|p| p.pad != 0) {
            return Err(EINVAL);
        }
        let layout = LayoutRequest {
            width: self.width,
            height: self.height,
            fourcc: self.fourcc,
            modifier: self.modifier,
            stride_align: self.stride_align,
            disjoint: self.flags & FORMAT_DISJOINT != 0,
        };
        Ok((layout, buffer_flags(self.flags, 0)))
    }
}

impl Plane {
    /// The uAPI description of a plane held in the dma-buf `fd`.
    pub(crate) fn new(fd: i32, p: &PlaneLayout) -> Self {
        Self {
            fd,
            offset: p.offset,
            stride: p.stride,
            pad: 0,
            size: p.size,
        }
    }

    /// An unused entry.
    pub(crate) const UNUSED: Self = Self {
        fd: -1,
        offset: 0,
        stride: 0,
        pad: 0,
        size: 0,
    };
}

#[kunit_tests(vdmabuf_uapi)]
mod tests {
    use super::*;

    const LIMIT: usize = 16 * PAGE_SIZE;

    fn create(size: u64, flags: u32, modes: u64) -> Create {
        Create {
            size,
            flags,
            fd: -1,
            modes,
        }
    }

    #[test]
    fn create_accepts_valid_sizes_and_flags() -> Result {
        let req = create(PAGE_SIZE as u64, 0, 0).validate(LIMIT)?;
        assert_eq!(req.size, PAGE_SIZE);
        assert!(!req.cloexec && !req.rdwr);

        let req = create(LIMIT as u64, CREATE_CLOEXEC | CREATE_RDWR, 0).validate(LIMIT)?;
        assert_eq!(req.size, LIMIT);
        assert!(req.cloexec && req.rdwr);
        Ok(())
    }

    #[test]
    fn create_rejects_bad_sizes() {
        let bad = [
            0,
            1,
            PAGE_SIZE as u64 - 1,
            PAGE_SIZE as u64 + 1,
            LIMIT as u64 + PAGE_SIZE as u64,
            u64::MAX,
            !(PAGE_SIZE as u64 - 1),
        ];
        for size in bad {
            assert_eq!(create(size, 0, 0).validate(LIMIT), Err(EINVAL));
        }
    }

    #[test]
    fn create_rejects_unknown_flags_and_padding() {
        for bit in 3..32 {
            assert_eq!(
                create(PAGE_SIZE as u64, 1 << bit, 0).validate(LIMIT),
                Err(EINVAL)
            );
        }
        // `modes` is a pointer, read by the ioctl, not checked here.
        assert!(create(PAGE_SIZE as u64, 0, 1 << 63).validate(LIMIT).is_ok());
    }

    #[test]
    fn contiguous_has_its_own_limit() -> Result {
        let big = 64 * MAX_CONTIGUOUS;
        let req = create(MAX_CONTIGUOUS as u64, CREATE_CONTIGUOUS, 0).validate(big)?;
        assert!(req.contiguous);
        let over = (MAX_CONTIGUOUS + PAGE_SIZE) as u64;
        assert_eq!(
            create(over, CREATE_CONTIGUOUS, 0).validate(big),
            Err(EINVAL)
        );
        assert!(create(over, 0, 0).validate(big).is_ok());
        Ok(())
    }

    #[test]
    fn create_format_checks_flags_and_padding() -> Result {
        let ok = CreateFormat {
            width: 64,
            height: 64,
            fourcc: 0,
            flags: FORMAT_DISJOINT | CREATE_RDWR,
            modifier: 0,
            stride_align: 0,
            num_planes: 0,
            size: 0,
            planes: [Plane::UNUSED; MAX_PLANES],
            modes: 0,
        };
        let (layout, req) = ok.validate()?;
        assert!(layout.disjoint && req.rdwr && !req.cloexec);
        for bit in 4..32 {
            let bad = CreateFormat {
                flags: 1 << bit,
                ..ok
            };
            assert_eq!(bad.validate().err(), Some(EINVAL));
        }
        let mut planes = [Plane::UNUSED; MAX_PLANES];
        planes[3].pad = 1;
        assert_eq!(CreateFormat { planes, ..ok }.validate().err(), Some(EINVAL));
        Ok(())
    }

    #[test]
    fn fence_signal_accepts_errnos_only() -> Result {
        let sig = |error, flags, pad| FenceSignal {
            handle: 1,
            error,
            flags,
            pad,
        };
        assert!(sig(0, 0, 0).validate()?.is_ok());
        assert_eq!(sig(-5, 0, 0).validate()?, Err(EIO));
        assert!(sig(-4095, 0, 0).validate()?.is_err());
        for bad in [
            sig(1, 0, 0),
            sig(-4096, 0, 0),
            sig(i32::MIN, 0, 0),
            sig(0, 1, 0),
            sig(0, 0, 1),
        ] {
            assert_eq!(bad.validate(), Err(EINVAL));
        }
        Ok(())
    }

    #[test]
    fn ioctl_numbers_match_the_c_header() {
        // _IOWR(0xB9, 0x00, struct vdmabuf_create) and _IOW(0xB9, 0x01, struct vdmabuf_migrate).
        assert_eq!(IOCTL_CREATE, 0xc018_b900);
        assert_eq!(IOCTL_MIGRATE, 0x4008_b901);
        assert_eq!(IOCTL_FENCE_ATTACH, 0xc018_b902);
        assert_eq!(IOCTL_FENCE_SIGNAL, 0x4010_b903);
        // 144- and 136-byte structs.
        assert_eq!(IOCTL_CREATE_FORMAT, 0xc090_b904);
        assert_eq!(IOCTL_GET_FORMAT, 0xc088_b905);
    }
}
