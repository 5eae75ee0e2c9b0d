// SPDX-License-Identifier: GPL-2.0

//! An open `/dev/vdmabuf-importer`: its imports by handle, one function per ioctl.

use crate::dma_buf::uapi::{
    install_new_fd,
    Handles, //
};
use crate::{
    dma_buf::{
        buffer::DmaBuf,
        import::Import,
        misc::{
            MiscRegistration,
            SharedData, //
        },
        resv::Usage,
    },
    engine::{
        CopyRequest,
        DEPENDENCY_TIMEOUT, //
    },
    uapi, Shared,
};
use kernel::{
    dma::DataDirection,
    fs::{
        file::flags::O_CLOEXEC,
        File, //
    },
    ioctl::_IOC_SIZE,
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    new_mutex,
    prelude::*,
    rbtree::RBTreeNodeReservation,
    sync::{
        Arc,
        Mutex, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

/// Per-open state: the imports made through this file, released when it closes.
#[pin_data]
pub(crate) struct ImporterFile {
    shared: Arc<Shared>,
    #[pin]
    imports: Mutex<Handles<Arc<Import>>>,
}

// SAFETY: `ImporterFile` is registered only by the module's `MiscRegistration`.
unsafe impl SharedData for ImporterFile {
    type Data = Arc<Shared>;
}

#[vtable]
impl MiscDevice for ImporterFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let shared = MiscRegistration::<Self>::data_of(misc).clone();
        KBox::pin_init(
            pin_init!(ImporterFile {
                shared,
                imports <- new_mutex!(Handles::new()),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(me: Pin<&ImporterFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let user = UserSlice::new(UserPtr::from_addr(arg), _IOC_SIZE(cmd));
        match cmd {
            uapi::IOCTL_IMPORT => me.import(user),
            uapi::IOCTL_RELEASE => me.release(user),
            uapi::IOCTL_MAP => me.map(user),
            uapi::IOCTL_UNMAP => me.unmap(user),
            uapi::IOCTL_INFO => me.info(user),
            uapi::IOCTL_READ => me.read(user),
            uapi::IOCTL_FILL => me.fill(user),
            uapi::IOCTL_COPY => me.copy(user),
            uapi::IOCTL_SEGMENTS => me.segments(user),
            uapi::IOCTL_DMA_READ => me.dma_read(user),
            uapi::IOCTL_DMA_FILL => me.dma_fill(user),
            _ => Err(ENOTTY),
        }?;
        Ok(0)
    }
}

impl ImporterFile {
    fn get(&self, handle: u32) -> Result<Arc<Import>> {
        self.imports.lock().get(handle).cloned().ok_or(ENOENT)
    }

    /// IOCTL: import: attach the device to a dma-buf of any exporter.
    fn import(&self, user: UserSlice) -> Result {
        let (mut reader, mut writer) = user.reader_writer();
        let mut args: uapi::Import = reader.read()?;
        let dynamic = args.validate()?;
        let import = Import::new(DmaBuf::get(args.fd)?, self.shared.device(), dynamic)?;
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let mut imports = self.imports.lock();
        args.handle = imports.take_next()?;
        writer.write(&args)?;
        imports.insert(node, args.handle, import);
        Ok(())
    }

    /// IOCTL: release: drop an import (queued jobs keep what they use until they are done).
    fn release(&self, user: UserSlice) -> Result {
        let args: uapi::Handle = user.reader().read()?;
        if args.pad != 0 {
            return Err(EINVAL);
        }
        let import = self.imports.lock().remove(args.handle).ok_or(ENOENT)?;
        drop(import);
        Ok(())
    }

    /// IOCTL: map: map for the device and keep it mapped.
    fn map(&self, user: UserSlice) -> Result {
        let args: uapi::Map = user.reader().read()?;
        let dir = args.direction()?;
        self.get(args.handle)?.lock()?.map(dir, |_| {})?;
        Ok(())
    }

    /// IOCTL: unmap.
    fn unmap(&self, user: UserSlice) -> Result {
        let args: uapi::Handle = user.reader().read()?;
        if args.pad != 0 {
            return Err(EINVAL);
        }
        self.get(args.handle)?.lock()?.unmap();
        Ok(())
    }

    /// IOCTL: segments: the DMA scatter list of a mapped import.
    fn segments(&self, user: UserSlice) -> Result {
        let (mut reader, mut writer) = user.reader_writer();
        let mut args: uapi::Segments = reader.read()?;
        let import = self.get(args.handle)?;
        // CAST: A `u32` fits in `usize` on every architecture the kernel supports.
        let room = args.count as usize;
        // Collected under the reservation lock, copied out after it: a page fault in the copy
        // must not happen under it (it ranks below mmap_lock).
        let mut segs = KVec::with_capacity(room, GFP_KERNEL)?;
        let mut total = 0u32;
        let mapped = import.lock()?.for_each_segment(|seg| {
            total = total.saturating_add(1);
            let _ = segs.push_within_capacity(uapi::Segment {
                addr: seg.addr,
                // CAST: A `usize` fits in a `u64`.
                length: seg.len as u64,
            });
        });
        if !mapped {
            return Err(crate::dma_buf::errno::no_data());
        }
        if !segs.is_empty() {
            let addr = usize::try_from(args.segments).map_err(|_| EFAULT)?;
            let bytes = segs.len() * core::mem::size_of::<uapi::Segment>();
            let mut out = UserSlice::new(UserPtr::from_addr(addr), bytes).writer();
            for seg in segs.iter() {
                out.write(seg)?;
            }
        }
        args.count = total;
        writer.write(&args)
    }

    /// IOCTL: info: what the device sees of an import.
    fn info(&self, user: UserSlice) -> Result {
        let (mut reader, mut writer) = user.reader_writer();
        let mut args: uapi::Info = reader.read()?;
        if args.pad != 0 {
            return Err(EINVAL);
        }
        let import = self.get(args.handle)?;
        let (mut entries, mut length, mut first) = (0u32, 0u64, None);
        let mapped = import.lock()?.for_each_segment(|seg| {
            entries += 1;
            // CAST: A `usize` fits in a `u64`.
            length += seg.len as u64;
            first.get_or_insert(seg.addr);
        });
        args.flags = if mapped { uapi::INFO_MAPPED } else { 0 }
            | if import.is_dynamic() {
                uapi::INFO_DYNAMIC
            } else {
                0
            };
        // CAST: A `usize` fits in a `u64`.
        args.size = import.buffer().size() as u64;
        args.sg_entries = entries;
        args.dma_length = length;
        args.first_dma_address = first.unwrap_or(0);
        // CAST: A count of events; it never gets near `i64::MAX`.
        args.invalidations = import.invalidations() as u64;
        args.exporter = [0; 32];
        let name = import.buffer().exporter_name().to_bytes();
        let n = name.len().min(args.exporter.len() - 1);
        args.exporter[..n].copy_from_slice(&name[..n]);
        writer.write(&args)
    }

    /// IOCTL: read: checksum a range through the CPU-access path.
    fn read(&self, user: UserSlice) -> Result {
        let (mut reader, mut writer) = user.reader_writer();
        let mut args: uapi::Read = reader.read()?;
        if args.pad != 0 {
            return Err(EINVAL);
        }
        let import = self.get(args.handle)?;
        let (offset, len) = uapi::range(args.offset, args.length, import.buffer().size())?;
        let mut hash = uapi::Fnv1a::new();
        let mut chunk = KVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        cpu_access(&import, DataDirection::FromDevice, |vmap| {
            vmap.read_chunks(offset, len, &mut chunk, |bytes| hash.update(bytes))
        })?;
        args.checksum = hash.value();
        writer.write(&args)
    }

    /// IOCTL: fill: write a pattern into a range through the CPU-access path.
    fn fill(&self, user: UserSlice) -> Result {
        let args: uapi::Fill = user.reader().read()?;
        let import = self.get(args.handle)?;
        let (offset, len) = uapi::range(args.offset, args.length, import.buffer().size())?;
        let mut chunk = KVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        cpu_access(&import, DataDirection::ToDevice, |vmap| {
            let mut pos = 0;
            while pos < len {
                let n = core::cmp::min(chunk.len(), len - pos);
                uapi::fill_pattern(args.seed, offset + pos, &mut chunk[..n]);
                vmap.write(offset + pos, &chunk[..n])?;
                pos += n;
            }
            Ok(())
        })
    }

    /// IOCTL: DMA read: checksum a range as the device reads it, through its mapping.
    fn dma_read(&self, user: UserSlice) -> Result {
        let (mut reader, mut writer) = user.reader_writer();
        let mut args: uapi::Read = reader.read()?;
        if args.pad != 0 || args.length == 0 {
            return Err(EINVAL);
        }
        let import = self.get(args.handle)?;
        let (offset, len) = uapi::range(args.offset, args.length, import.buffer().size())?;
        let mut hash = uapi::Fnv1a::new();
        let mut chunk = KVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        let mut locked = import.lock()?;
        locked.device_access(offset, len, false, &mut chunk, |_, bytes| {
            hash.update(bytes)
        })?;
        drop(locked);
        args.checksum = hash.value();
        writer.write(&args)
    }

    /// IOCTL: DMA fill: write a pattern into a range as the device writes it, through its
    /// mapping.
    fn dma_fill(&self, user: UserSlice) -> Result {
        let args: uapi::Fill = user.reader().read()?;
        if args.length == 0 {
            return Err(EINVAL);
        }
        let import = self.get(args.handle)?;
        let (offset, len) = uapi::range(args.offset, args.length, import.buffer().size())?;
        let mut chunk = KVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        let mut locked = import.lock()?;
        locked.device_access(offset, len, true, &mut chunk, |pos, bytes| {
            uapi::fill_pattern(args.seed, offset + pos, bytes)
        })
    }

    /// IOCTL: copy: queue a virtual DMA job and return its fence as a sync_file.
    fn copy(&self, user: UserSlice) -> Result {
        let (mut reader, mut writer) = user.reader_writer();
        let mut args: uapi::Copy = reader.read()?;
        if args.flags != 0 || args.length == 0 {
            return Err(EINVAL);
        }
        let (src, dst) = (self.get(args.src)?, self.get(args.dst)?);
        let (src_offset, length) = uapi::range(args.src_offset, args.length, src.buffer().size())?;
        let (dst_offset, _) = uapi::range(args.dst_offset, args.length, dst.buffer().size())?;
        let req = CopyRequest {
            src,
            dst,
            src_offset,
            dst_offset,
            length,
        };
        install_new_fd(O_CLOEXEC, |fd| {
            args.out_fence = fd;
            self.shared.engine().submit(req, || writer.write(&args))
        })
    }
}

/// Runs `f` on a kernel mapping of the buffer, inside `begin/end_cpu_access` for `dir`, after
/// waiting for the fences the access must follow (writers for a read, everybody for a write).
fn cpu_access(
    import: &Arc<Import>,
    dir: DataDirection,
    f: impl FnOnce(&crate::dma_buf::import::ImportVmap) -> Result,
) -> Result {
    let write = dir != DataDirection::FromDevice;
    if !import
        .resv()
        .wait_timeout(Usage::for_access(write), true, DEPENDENCY_TIMEOUT)?
    {
        return Err(ETIMEDOUT);
    }
    import.begin_cpu_access(dir)?;
    let res = Import::vmap(import).and_then(|vmap| f(&vmap));
    let end = import.end_cpu_access(dir);
    res.and(end)
}
