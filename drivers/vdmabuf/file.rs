// SPDX-License-Identifier: GPL-2.0

//! An open `/dev/vdmabuf`: one function per ioctl.

use crate::{
    buffer::{
        self,
        VdmaBuffer, //
    },
    dma_buf::{
        buffer::{
            DmaBuf,
            ExportOptions,
            Exported, //
        },
        pages::Pages,
    },
    stats::BufferAccount,
    uapi, Limits,
};
use kernel::{
    bindings,
    fs::{
        file::FileDescriptorReservation,
        File, //
    },
    ioctl::_IOC_SIZE,
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    prelude::*,
    sync::aref::ARef,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

/// Per-open state of `/dev/vdmabuf`. Buffers belong to their dma-buf files, not to this file, so
/// closing it does not affect them.
pub(crate) struct VdmabufFile;

#[vtable]
impl MiscDevice for VdmabufFile {
    type Ptr = KBox<Self>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<KBox<Self>> {
        Ok(KBox::new(VdmabufFile, GFP_KERNEL)?)
    }

    fn ioctl(_me: &VdmabufFile, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let user = UserSlice::new(UserPtr::from_addr(arg), _IOC_SIZE(cmd));
        match cmd {
            uapi::IOCTL_CREATE => create(user),
            uapi::IOCTL_MIGRATE => migrate(user),
            _ => Err(ENOTTY),
        }
    }
}

/// IOCTL: create: allocate a zeroed buffer and return it as a new dma-buf file descriptor.
fn create(user: UserSlice) -> Result<isize> {
    let (mut reader, mut writer) = user.reader_writer();
    let mut args: uapi::Create = reader.read()?;
    let limits = Limits::get();
    let req = args.validate(limits.max_size)?;
    let account = BufferAccount::new(req.size, limits.max_buffers, limits.max_total)?;

    let pages = Pages::alloc(req.size)?;
    let buf = Exported::export(
        VdmaBuffer::new(pages, account)?,
        ExportOptions {
            size: req.size,
            writable: req.rdwr,
        },
    )?;

    // Reserve the descriptor and report it before installing it, so a faulting copy leaves no
    // descriptor behind that userspace does not know about.
    let flags = if req.cloexec { bindings::O_CLOEXEC } else { 0 };
    let fd = FileDescriptorReservation::get_unused_fd_flags(flags)?;
    // CAST: File descriptors fit in an `i32`.
    args.fd = fd.reserved_fd() as i32;
    writer.write(&args)?;
    fd.fd_install(ARef::from(buf.file()));
    Ok(0)
}

/// IOCTL: migrate: move a buffer's contents to new pages.
fn migrate(user: UserSlice) -> Result<isize> {
    let args: uapi::Migrate = user.reader().read()?;
    if args.flags != 0 {
        return Err(EINVAL);
    }
    let dmabuf = DmaBuf::get(args.fd)?;
    let buf = dmabuf.downcast::<VdmaBuffer>().ok_or(EINVAL)?;
    buffer::migrate(buf)?;
    Ok(0)
}
