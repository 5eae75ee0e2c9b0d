// SPDX-License-Identifier: GPL-2.0

//! The uAPI of `/dev/vdmabuf-importer`, mirroring `include/uapi/linux/vdmabuf_importer.h`.

use kernel::{
    ioctl::_IOWR,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

const IOCTL_BASE: u32 = 0xB9;

/// `VDMABUF_IMPORT_DYNAMIC`: attach as a dynamic importer.
pub(crate) const IMPORT_DYNAMIC: u32 = 1 << 0;

/// `struct vdmabuf_importer_import`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Import {
    /// The dma-buf file descriptor.
    pub(crate) fd: i32,
    /// `VDMABUF_IMPORT_*` flags.
    pub(crate) flags: u32,
    /// The returned handle.
    pub(crate) handle: u32,
    /// Must be zero.
    pub(crate) pad: u32,
}

// SAFETY: `Import` is `repr(C)` with only integer fields and no implicit padding.
unsafe impl FromBytes for Import {}
// SAFETY: `Import` is `repr(C)` with only integer fields and no implicit padding.
unsafe impl AsBytes for Import {}

/// `VDMABUF_IMPORTER_IOCTL_IMPORT`.
pub(crate) const IOCTL_IMPORT: u32 = _IOWR::<Import>(IOCTL_BASE, 0x40);

impl Import {
    /// Checks flags and padding; returns whether the attachment is dynamic.
    pub(crate) fn validate(&self) -> Result<bool> {
        if self.flags & !IMPORT_DYNAMIC != 0 || self.pad != 0 {
            return Err(EINVAL);
        }
        Ok(self.flags & IMPORT_DYNAMIC != 0)
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
    fn ioctl_number_matches_the_c_header() {
        // _IOWR(0xB9, 0x40, struct vdmabuf_importer_import).
        assert_eq!(IOCTL_IMPORT, 0xc010_b940);
    }
}
