// SPDX-License-Identifier: GPL-2.0

//! An open `/dev/vdmabuf`: one function per ioctl.

use crate::dma_buf::uapi::install_new_fd;
use crate::{
    buffer::{
        self,
        VdmaBuffer, //
    },
    dma_buf::{
        buffer::DmaBuf,
        exporter::{
            ExportOptions,
            Exported, //
        },
        misc::{
            MiscRegistration,
            SharedData, //
        },
        pages::Pages,
        resv::Usage,
    },
    fences::{
        self,
        AttachRequest,
        FenceTable, //
    },
    registry::{
        Registry,
        Tracked, //
    },
    stats::{
        BufferAccount,
        STATS, //
    },
    uapi, Limits,
};
use kernel::{
    fs::{
        file::flags::O_CLOEXEC,
        File, //
    },
    ioctl::_IOC_SIZE,
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    prelude::*,
    sync::{aref::ARef, atomic::Relaxed, Arc},
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

/// Per-open state of `/dev/vdmabuf`: the fences made through it, which signal when it closes.
/// Buffers belong to their dma-buf files, not to this file, so closing it does not affect them.
#[pin_data]
pub(crate) struct VdmabufFile {
    registry: Arc<Registry>,
    #[pin]
    fences: FenceTable,
}

#[vtable]
impl MiscDevice for VdmabufFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let registry = MiscRegistration::<Self>::data_of(misc).clone();
        KBox::pin_init(
            pin_init!(VdmabufFile {
                registry,
                fences <- FenceTable::new(),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(me: Pin<&VdmabufFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let user = UserSlice::new(UserPtr::from_addr(arg), _IOC_SIZE(cmd));
        match cmd {
            uapi::IOCTL_CREATE => create(user, &me.registry),
            uapi::IOCTL_MIGRATE => migrate(user, Limits::get().max_total),
            uapi::IOCTL_FENCE_ATTACH => me.fence_attach(user),
            uapi::IOCTL_FENCE_SIGNAL => me.fence_signal(user),
            _ => Err(ENOTTY),
        }
    }
}

// SAFETY: `VdmabufFile` is registered only by the module's `MiscRegistration`.
unsafe impl SharedData for VdmabufFile {
    type Data = Arc<Registry>;
}

impl VdmabufFile {
    /// IOCTL: fence_attach: add a new fence to a dma-buf's reservation object.
    fn fence_attach(&self, user: UserSlice) -> Result<isize> {
        let (mut reader, mut writer) = user.reader_writer();
        let args: uapi::FenceAttach = reader.read()?;
        if args.flags & !uapi::FENCE_SYNC_FILE != 0 || args.pad != 0 {
            return Err(EINVAL);
        }
        // Implicit sync's usages only: KERNEL and BOOKKEEP are for the memory management of the
        // buffer's own driver, and a KERNEL fence would stall every static importer's map.
        let usage = match Usage::from_u32(args.usage)? {
            usage @ (Usage::Read | Usage::Write) => usage,
            Usage::Kernel | Usage::Bookkeep => return Err(EINVAL),
        };
        let req = AttachRequest {
            fd: args.fd,
            usage,
            sync_file: args.flags & uapi::FENCE_SYNC_FILE != 0,
            timeout: fences::timeout(Limits::get().fence_timeout_ms),
        };
        self.fences.attach(req, fences::report(&mut writer, args))?;
        Ok(0)
    }

    /// IOCTL: fence_signal: signal a fence of this file, optionally with an error.
    fn fence_signal(&self, user: UserSlice) -> Result<isize> {
        let args: uapi::FenceSignal = user.reader().read()?;
        let result = args.validate()?;
        self.fences.signal(args.handle, result)?;
        Ok(0)
    }
}

/// IOCTL: create: allocate a zeroed buffer and return it as a new dma-buf file descriptor.
fn create(user: UserSlice, registry: &Arc<Registry>) -> Result<isize> {
    let (mut reader, mut writer) = user.reader_writer();
    let mut args: uapi::Create = reader.read()?;
    let limits = Limits::get();
    let req = args.validate(limits.max_size)?;
    let account = BufferAccount::new(&STATS, req.size, limits.max_buffers, limits.max_total)?;

    let pages = Pages::alloc(req.size)?;
    let tracked = Tracked::new(req.size)?;
    let buf = Exported::export(
        VdmaBuffer::new(
            pages,
            &STATS,
            account,
            Some((registry.clone(), tracked.clone())),
        )?,
        ExportOptions {
            size: req.size,
            writable: req.rdwr,
        },
    )?;
    // CAST: Inode numbers fit in an `i64`.
    tracked.ino.store(buf.inode_number() as i64, Relaxed);
    registry.add(tracked)?;

    let flags = if req.cloexec { O_CLOEXEC } else { 0 };
    install_new_fd(flags, |fd| {
        args.fd = fd;
        writer.write(&args)?;
        Ok(ARef::from(buf.file()))
    })?;
    Ok(0)
}

/// IOCTL: migrate: move a buffer's contents to new pages; the second copy counts against
/// `max_total` while it exists.
fn migrate(user: UserSlice, max_total: usize) -> Result<isize> {
    let args: uapi::Migrate = user.reader().read()?;
    if args.flags != 0 {
        return Err(EINVAL);
    }
    let dmabuf = DmaBuf::get(args.fd)?;
    let buf = dmabuf.downcast::<VdmaBuffer>().ok_or(EINVAL)?;
    buffer::migrate(buf, max_total)?;
    Ok(0)
}
