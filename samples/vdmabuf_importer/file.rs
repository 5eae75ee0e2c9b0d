// SPDX-License-Identifier: GPL-2.0

//! An open `/dev/vdmabuf-importer`: one function per ioctl.

use kernel::{
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    prelude::*, //
};

/// Per-open state of `/dev/vdmabuf-importer`.
pub(crate) struct ImporterFile;

#[vtable]
impl MiscDevice for ImporterFile {
    type Ptr = KBox<Self>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<KBox<Self>> {
        Ok(KBox::new(ImporterFile, GFP_KERNEL)?)
    }

    fn ioctl(_me: &ImporterFile, _file: &File, _cmd: u32, _arg: usize) -> Result<isize> {
        Err(ENOTTY)
    }
}
