// SPDX-License-Identifier: GPL-2.0

//! The uAPI of `/dev/vdmabuf`, mirroring `include/uapi/linux/vdmabuf.h`, and its validation.

use kernel::{
    ioctl::{
        _IOW,
        _IOWR, //
    },
    page::PAGE_SIZE,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

const IOCTL_BASE: u32 = 0xB9;

/// `VDMABUF_CREATE_CLOEXEC`: set `O_CLOEXEC` on the new file descriptor.
pub(crate) const CREATE_CLOEXEC: u32 = 1 << 0;
/// `VDMABUF_CREATE_RDWR`: open the dma-buf read-write.
pub(crate) const CREATE_RDWR: u32 = 1 << 1;
const CREATE_FLAGS: u32 = CREATE_CLOEXEC | CREATE_RDWR;

/// `struct vdmabuf_create`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Create {
    /// Buffer size in bytes.
    pub(crate) size: u64,
    /// `VDMABUF_CREATE_*` flags.
    pub(crate) flags: u32,
    /// The returned dma-buf file descriptor.
    pub(crate) fd: i32,
    /// Must be zero.
    pub(crate) pad: u64,
}

// SAFETY: `Create` is `repr(C)` with only integer fields and no implicit padding, so every bit
// pattern is valid.
unsafe impl FromBytes for Create {}
// SAFETY: `Create` is `repr(C)` with only integer fields and no implicit padding.
unsafe impl AsBytes for Create {}

/// `struct vdmabuf_migrate`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Migrate {
    /// The dma-buf file descriptor.
    pub(crate) fd: i32,
    /// Must be zero.
    pub(crate) flags: u32,
}

// SAFETY: `Migrate` is `repr(C)` with only integer fields and no implicit padding.
unsafe impl FromBytes for Migrate {}

/// `VDMABUF_IOCTL_CREATE`.
pub(crate) const IOCTL_CREATE: u32 = _IOWR::<Create>(IOCTL_BASE, 0x00);
/// `VDMABUF_IOCTL_MIGRATE`.
pub(crate) const IOCTL_MIGRATE: u32 = _IOW::<Migrate>(IOCTL_BASE, 0x01);

/// A validated creation request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CreateRequest {
    /// Size in bytes: nonzero, page aligned, within the limit.
    pub(crate) size: usize,
    /// Whether the fd gets `O_CLOEXEC`.
    pub(crate) cloexec: bool,
    /// Whether the dma-buf file is read-write.
    pub(crate) rdwr: bool,
}

impl Create {
    /// Checks the request against the uAPI rules and a size limit in bytes.
    pub(crate) fn validate(&self, max_size: usize) -> Result<CreateRequest> {
        if self.flags & !CREATE_FLAGS != 0 || self.pad != 0 {
            return Err(EINVAL);
        }
        let size = usize::try_from(self.size).map_err(|_| EINVAL)?;
        if size == 0 || size % PAGE_SIZE != 0 || size > max_size {
            return Err(EINVAL);
        }
        Ok(CreateRequest {
            size,
            cloexec: self.flags & CREATE_CLOEXEC != 0,
            rdwr: self.flags & CREATE_RDWR != 0,
        })
    }
}

#[kunit_tests(vdmabuf_uapi)]
mod tests {
    use super::*;

    const LIMIT: usize = 16 * PAGE_SIZE;

    fn create(size: u64, flags: u32, pad: u64) -> Create {
        Create {
            size,
            flags,
            fd: -1,
            pad,
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
        for bit in 2..32 {
            assert_eq!(
                create(PAGE_SIZE as u64, 1 << bit, 0).validate(LIMIT),
                Err(EINVAL)
            );
        }
        assert_eq!(
            create(PAGE_SIZE as u64, 0, 1 << 63).validate(LIMIT),
            Err(EINVAL)
        );
    }

    #[test]
    fn ioctl_numbers_match_the_c_header() {
        // _IOWR(0xB9, 0x00, struct vdmabuf_create) and _IOW(0xB9, 0x01, struct vdmabuf_migrate).
        assert_eq!(IOCTL_CREATE, 0xc018_b900);
        assert_eq!(IOCTL_MIGRATE, 0x4008_b901);
    }
}
