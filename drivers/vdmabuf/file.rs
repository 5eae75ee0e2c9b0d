// SPDX-License-Identifier: GPL-2.0

//! An open `/dev/vdmabuf`: one function per ioctl.

use kernel::{
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    prelude::*, //
};

/// Per-open state of `/dev/vdmabuf`.
pub(crate) struct VdmabufFile;

#[vtable]
impl MiscDevice for VdmabufFile {
    type Ptr = KBox<Self>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<KBox<Self>> {
        Ok(KBox::new(VdmabufFile, GFP_KERNEL)?)
    }

    fn ioctl(_me: &VdmabufFile, _file: &File, _cmd: u32, _arg: usize) -> Result<isize> {
        Err(ENOTTY)
    }
}
