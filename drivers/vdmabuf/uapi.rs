// SPDX-License-Identifier: GPL-2.0

//! The uAPI of `/dev/vdmabuf`, mirroring `include/uapi/linux/vdmabuf.h`, and its validation.

use crate::dma_buf::uapi::uapi_struct;
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
const CREATE_FLAGS: u32 = CREATE_CLOEXEC | CREATE_RDWR;

uapi_struct! {
    /// `struct vdmabuf_create`.
    Create {
        /// Buffer size in bytes.
        size: u64,
        /// `VDMABUF_CREATE_*` flags.
        flags: u32,
        /// The returned dma-buf file descriptor.
        fd: i32,
        /// Must be zero.
        pad: u64,
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
    }
}
