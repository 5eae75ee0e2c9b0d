// SPDX-License-Identifier: GPL-2.0

//! An open `/dev/vdmabuf`: one function per ioctl.

use crate::dma_buf::uapi::{
    install_new_fd,
    install_new_fds, //
};
use crate::{
    buffer::{
        self,
        DeviceView,
        VdmaBuffer, //
    },
    dma_buf::{
        buffer::DmaBuf,
        errno::no_data,
        exporter::{
            ExportOptions,
            Exported, //
        },
        misc::{
            MiscRegistration,
            SharedData, //
        },
        pages::{
            Pages,
            MAX_CONTIGUOUS, //
        },
        resv::Usage,
    },
    fences::{
        self,
        AttachRequest,
        FenceTable, //
    },
    format::{
        Image,
        Layout,
        NameBuf, //
    },
    modes::{
        Modes,
        SgLayout, //
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
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    },
    uaccess::{
        UserPtr,
        UserSlice,
        UserSliceWriter, //
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
            uapi::IOCTL_CREATE_FORMAT => create_format(user, &me.registry),
            uapi::IOCTL_GET_FORMAT => get_format(user),
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

/// Seeds the page order of scattered buffers: each gets a different one.
static SCATTER_SEED: Atomic<u32> = Atomic::new(1);

/// Allocates a zeroed buffer as `req` asks, with its layout if it has one and its modes, lists
/// it in `registry` and exports it. `limits` are the ones the caller checked `req` against: one
/// reading of the module parameters per request.
fn make_buffer(
    registry: &Arc<Registry>,
    limits: &Limits,
    req: &uapi::CreateRequest,
    image: Option<Image>,
    modes: Modes,
) -> Result<ARef<Exported<VdmaBuffer>>> {
    let account = BufferAccount::new(&STATS, req.size, limits.max_buffers, limits.max_total)?;
    let pages = if req.contiguous || modes.sg == SgLayout::Contiguous {
        Pages::alloc_contiguous(req.size)?
    } else if modes.sg == SgLayout::Scattered {
        Pages::alloc_scattered(req.size, SCATTER_SEED.fetch_add(0x9e37_79b9, Relaxed))?
    } else {
        Pages::alloc(req.size)?
    };
    let view = if modes.noncoherent {
        Some(DeviceView::new(&pages, &STATS, limits.max_total)?)
    } else {
        None
    };
    let listed = Tracked::new(req.size, image, modes)?;
    let tracked = listed.clone_arc();
    // fdinfo shows the dma-buf's name: the format of a format-aware buffer, else the modes of a
    // buffer that has any (cut at 31 bytes; debugfs lists them in full).
    let name = match &image {
        Some(i) => Some(NameBuf::new(&i.layout, i.buffer)),
        None if modes != Modes::default() => Some(NameBuf::from_fmt(fmt!("{modes}"))),
        None => None,
    };
    let buf = Exported::export(
        VdmaBuffer::new(
            pages,
            &STATS,
            account,
            modes,
            view,
            Some((registry.clone(), tracked.clone())),
        )?,
        ExportOptions {
            size: req.size,
            writable: req.rdwr,
        },
    )?;
    if let Some(name) = &name {
        buf.set_name(name.as_cstr())?;
    }
    // CAST: Inode numbers fit in an `i64`.
    tracked.ino.store(buf.inode_number() as i64, Relaxed);
    registry.add(listed);
    Ok(buf)
}

fn fd_flags(req: &uapi::CreateRequest) -> u32 {
    if req.cloexec {
        O_CLOEXEC
    } else {
        0
    }
}

/// IOCTL: create: allocate a zeroed buffer and return it as a new dma-buf file descriptor.
fn create(user: UserSlice, registry: &Arc<Registry>) -> Result<isize> {
    let (mut reader, mut writer) = user.reader_writer();
    let mut args: uapi::Create = reader.read()?;
    let limits = Limits::get();
    let req = args.validate(limits.max_size)?;
    let modes = uapi::read_modes(args.modes, limits.fence_timeout_ms)?;
    let buf = make_buffer(registry, &limits, &req, None, modes)?;
    install_new_fd(fd_flags(&req), |fd| {
        args.fd = fd;
        writer.write(&args)?;
        Ok(ARef::from(buf.file()))
    })?;
    Ok(0)
}

/// IOCTL: create_format: allocate a zeroed image in a DRM format, in one dma-buf or one per
/// plane, and return the dma-buf file descriptors and the plane layout.
fn create_format(user: UserSlice, registry: &Arc<Registry>) -> Result<isize> {
    let (mut reader, mut writer) = user.reader_writer();
    let args: uapi::CreateFormat = reader.read()?;
    let (layout_req, req) = args.validate()?;
    let limits = Limits::get();
    let layout = Layout::new(&layout_req, limits.max_size)?;
    let modes = uapi::read_modes(args.modes, limits.fence_timeout_ms)?;
    // Refused before any dma-buf is made or counted, as `Create::validate` does for plain ones.
    if req.contiguous && layout.buffer_sizes.iter().any(|&s| s > MAX_CONTIGUOUS) {
        return Err(EINVAL);
    }
    let make = |buffer: usize| {
        let image = Image { layout, buffer };
        let req = uapi::CreateRequest {
            size: layout.buffer_sizes[buffer],
            ..req
        };
        make_buffer(registry, &limits, &req, Some(image), modes)
    };
    // Every dma-buf is made before any descriptor is installed: all or none.
    let report = |fds: &[i32], mut args: uapi::CreateFormat, writer: &mut UserSliceWriter| {
        // CAST: At most `MAX_PLANES`.
        args.num_planes = layout.num_planes as u32;
        args.size = layout.total_size() as u64;
        args.planes = [uapi::Plane::UNUSED; uapi::MAX_PLANES];
        for (i, p) in layout.planes.iter().enumerate().take(layout.num_planes) {
            args.planes[i] = uapi::Plane::new(fds[p.buffer], p);
        }
        writer.write(&args)
    };
    let mut bufs: [Option<ARef<Exported<VdmaBuffer>>>; uapi::MAX_PLANES] = Default::default();
    for (i, b) in bufs.iter_mut().enumerate().take(layout.buffers) {
        *b = Some(make(i)?);
    }
    install_new_fds::<{ uapi::MAX_PLANES }>(fd_flags(&req), layout.buffers, |fds| {
        report(fds, args, &mut writer)?;
        Ok(bufs
            .each_ref()
            .map(|b| b.as_ref().map(|b| ARef::from(b.file()))))
    })?;
    Ok(0)
}

/// IOCTL: get_format: return the layout a vdmabuf dma-buf was created with.
fn get_format(user: UserSlice) -> Result<isize> {
    let (mut reader, mut writer) = user.reader_writer();
    let mut args: uapi::FormatInfo = reader.read()?;
    if args.flags != 0 || args.pad != 0 {
        return Err(EINVAL);
    }
    let dmabuf = DmaBuf::get(args.fd)?;
    let buf = dmabuf.downcast::<VdmaBuffer>().ok_or(EINVAL)?;
    let image = buf.data().image().ok_or_else(no_data)?;
    let l = &image.layout;
    args.width = l.width;
    args.height = l.height;
    args.fourcc = l.fourcc.0;
    // CAST: At most `MAX_PLANES`.
    args.num_planes = l.num_planes as u32;
    args.modifier = l.modifier;
    args.plane_mask = l.plane_mask(image.buffer);
    args.planes = [uapi::Plane::UNUSED; uapi::MAX_PLANES];
    for (i, p) in l.planes.iter().enumerate().take(l.num_planes) {
        args.planes[i] = uapi::Plane::new(-1, p);
    }
    writer.write(&args)?;
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
