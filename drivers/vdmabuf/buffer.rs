// SPDX-License-Identifier: GPL-2.0

//! A vdmabuf buffer: zeroed pages exported as a dma-buf, pinnable and migratable.

use crate::{
    dma_buf::{
        buffer::{
            Attachment,
            Exported,
            Exporter,
            ExporterOps,
            Locked,
            Vma,
            Vmap, //
        },
        pages::Pages,
        sg_table::{
            self,
            MappedSgTable,
            SgTable, //
        },
    },
    registry::{
        Registry,
        Tracked, //
    },
    stats::{
        BufferAccount,
        Live,
        STATS, //
    },
};
use core::ptr::NonNull;
use kernel::{
    dma::DataDirection,
    new_mutex,
    prelude::*,
    sync::{
        atomic::Relaxed,
        Arc,
        Mutex, //
    },
};

/// The operations of vdmabuf's dma-bufs.
static OPS: ExporterOps<VdmaBuffer> = ExporterOps::new();

/// The exporter state of one buffer.
#[pin_data(PinnedDrop)]
pub(crate) struct VdmaBuffer {
    #[pin]
    state: Mutex<State>,
    _account: BufferAccount,
    /// The debugfs listing of live buffers and this buffer's entry in it.
    tracked: Option<(Arc<Registry>, Arc<Tracked>)>,
}

#[pinned_drop]
impl PinnedDrop for VdmaBuffer {
    fn drop(self: Pin<&mut Self>) {
        if let Some((registry, tracked)) = &self.tracked {
            registry.remove(tracked);
        }
    }
}

/// What a buffer's lock protects.
struct State {
    /// The backing pages; replaced by a migration. Live DMA mappings and the kernel mapping keep
    /// the pages they cover alive on their own.
    pages: Arc<Pages>,
    /// Pins by dynamic importers and by the core for static importers' mappings.
    pins: usize,
    /// The kernel mapping while the buffer is vmapped (the core counts its users).
    vmap: Option<Vmap>,
}

impl VdmaBuffer {
    /// Returns the initialiser of a buffer over `pages`, counted by `account` and, if given,
    /// listed in a registry.
    pub(crate) fn new(
        pages: Pages,
        account: BufferAccount,
        tracked: Option<(Arc<Registry>, Arc<Tracked>)>,
    ) -> Result<impl PinInit<Self, Error>> {
        let pages = Arc::new(pages, GFP_KERNEL)?;
        if let Some((_, t)) = &tracked {
            t.set_backing(pages.blocks()[0].pfn(), pages.blocks().len());
        }
        Ok(try_pin_init!(Self {
            state <- new_mutex!(State {
                pages,
                pins: 0,
                vmap: None,
            }),
            _account: account,
            tracked,
        }? Error))
    }
}

/// Moves `buf` to new pages, as a device evicting VRAM would. Importers' and userspace's
/// mappings are torn down and refault onto the new pages; the contents carry over.
///
/// Fails with `EBUSY` while the buffer is pinned or vmapped.
pub(crate) fn migrate(buf: &Exported<VdmaBuffer>) -> Result {
    // Allocate outside the lock: a large allocation may take a while.
    let new = Arc::new(Pages::alloc(buf.size())?, GFP_KERNEL)?;
    let locked = buf.lock()?;
    let old = {
        let mut state = locked.data().state.lock();
        if state.pins > 0 || state.vmap.is_some() {
            return Err(EBUSY);
        }
        new.copy_from(&state.pages)?;
        if let Some((_, t)) = &locked.data().tracked {
            t.set_backing(new.blocks()[0].pfn(), new.blocks().len());
        }
        let old = core::mem::replace(&mut state.pages, new);
        // Under the state lock, so no fault can map an old page after this.
        buf.zap_user_mappings();
        old
    };
    // Dynamic importers drop their mappings; until they do, those keep `old` alive.
    locked.invalidate_mappings();
    STATS.migrations.add(1, Relaxed);
    drop(locked);
    drop(old);
    Ok(())
}

/// Per-attachment state: the attachment counted in debugfs.
pub(crate) struct AttachData {
    _live: Live,
}

#[vtable]
impl Exporter for VdmaBuffer {
    const NAME: &'static CStr = c"vdmabuf";
    type AttachData = AttachData;

    fn ops() -> &'static ExporterOps<Self> {
        &OPS
    }

    fn attach(_buf: &Exported<Self>, _attach: &Attachment) -> Result<AttachData> {
        Ok(AttachData {
            _live: Live::new(&STATS.attachments),
        })
    }

    fn pin(buf: &Locked<'_, Self>, _attach: &Attachment) -> Result {
        buf.data().state.lock().pins += 1;
        Ok(())
    }

    fn unpin(buf: &Locked<'_, Self>, _attach: &Attachment) {
        let mut state = buf.data().state.lock();
        state.pins = state.pins.saturating_sub(1);
    }

    fn map(
        buf: &Locked<'_, Self>,
        attach: &Attachment,
        _data: &AttachData,
        dir: DataDirection,
    ) -> Result<MappedSgTable> {
        let pages = buf.data().state.lock().pages.clone();
        let dev = attach.device();
        let table = SgTable::new(pages, sg_table::max_segment(dev))?.dma_map(dev, dir)?;
        STATS.maps.add(1, Relaxed);
        Ok(table)
    }

    fn unmap(
        _buf: &Locked<'_, Self>,
        _attach: &Attachment,
        _data: &AttachData,
        table: MappedSgTable,
    ) {
        STATS.maps.add(-1, Relaxed);
        drop(table);
    }

    fn begin_cpu_access(buf: &Exported<Self>, _dir: DataDirection) -> Result {
        buf.sync_mappings(true)?;
        if let Some(vmap) = &buf.data().state.lock().vmap {
            vmap.invalidate();
        }
        Ok(())
    }

    fn end_cpu_access(buf: &Exported<Self>, _dir: DataDirection) -> Result {
        if let Some(vmap) = &buf.data().state.lock().vmap {
            vmap.flush();
        }
        buf.sync_mappings(false)
    }

    fn mmap(buf: &Exported<Self>, vma: &Vma) -> Result {
        vma.map_pages(&buf.data().state.lock().pages)
    }

    fn fault(buf: &Exported<Self>, vma: &Vma) -> Result {
        vma.insert_pages(&buf.data().state.lock().pages)
    }

    fn vmap(buf: &Locked<'_, Self>) -> Result<NonNull<u8>> {
        let mut state = buf.data().state.lock();
        let vmap = Vmap::new(state.pages.clone())?;
        let addr = vmap.addr();
        state.vmap = Some(vmap);
        Ok(addr)
    }

    fn vunmap(buf: &Locked<'_, Self>, _addr: NonNull<u8>) {
        buf.data().state.lock().vmap = None;
    }
}

#[kunit_tests(vdmabuf_buffer)]
mod tests {
    use super::*;
    use crate::dma_buf::{
        buffer::{
            DmaBuf,
            ExportOptions, //
        },
        device::DmaDevice,
        import::Import,
        sg_table::Segment,
    };
    use kernel::{
        page::PAGE_SIZE,
        sync::aref::ARef, //
    };

    fn export(size: usize) -> Result<ARef<Exported<VdmaBuffer>>> {
        let account = BufferAccount::new(size, usize::MAX, usize::MAX)?;
        Exported::export(
            VdmaBuffer::new(Pages::alloc(size)?, account, None)?,
            ExportOptions {
                size,
                writable: true,
            },
        )
    }

    fn as_dma_buf(buf: &ARef<Exported<VdmaBuffer>>) -> ARef<DmaBuf> {
        let dma_buf: &DmaBuf = buf;
        ARef::from(dma_buf)
    }

    fn segments(import: &Import, dir: DataDirection) -> Result<(bool, KVec<Segment>)> {
        let mut segs = KVec::new();
        let mut err = Ok(());
        let fresh = import.lock()?.map(dir, |s| {
            if let Err(e) = segs.push(s, GFP_KERNEL) {
                err = Err(e);
            }
        })?;
        err?;
        Ok((fresh, segs))
    }

    fn pattern(i: usize) -> u8 {
        (i.wrapping_mul(2654435761) >> 13) as u8
    }

    #[test]
    fn static_import_maps_the_whole_buffer_and_pins_it() -> Result {
        let dev = DmaDevice::new(c"vdmabuf-kunit-static")?;
        let size = (256 + 3) * PAGE_SIZE;
        let buf = export(size)?;
        let import = Import::new(as_dma_buf(&buf), dev.device(), false)?;
        let (fresh, segs) = segments(&import, DataDirection::Bidirectional)?;
        assert!(fresh);
        let max = sg_table::max_segment(dev.device());
        assert_eq!(segs.iter().map(|s| s.len).sum::<usize>(), size);
        assert!(segs
            .iter()
            .all(|s| s.addr % PAGE_SIZE as u64 == 0 && s.len % PAGE_SIZE == 0));
        assert!(segs.iter().all(|s| s.len <= max));
        // A static importer's mapping pins the buffer: no migration under it.
        assert_eq!(migrate(&buf), Err(EBUSY));
        import.lock()?.unmap();
        migrate(&buf)?;
        Ok(())
    }

    #[test]
    fn dynamic_import_is_invalidated_by_migration_and_data_survives() -> Result {
        let dev = DmaDevice::new(c"vdmabuf-kunit-dynamic")?;
        let size = 64 * PAGE_SIZE;
        let buf = export(size)?;
        let import = Import::new(as_dma_buf(&buf), dev.device(), true)?;
        assert!(import.is_dynamic());
        let mut data = KVec::with_capacity(size, GFP_KERNEL)?;
        for i in 0..size {
            data.push(pattern(i), GFP_KERNEL)?;
        }
        Import::vmap(&import)?.write(0, &data)?;

        let (fresh, _) = segments(&import, DataDirection::ToDevice)?;
        assert!(fresh);
        // Mapped by a dynamic importer but not pinned: migration goes ahead and tells it.
        migrate(&buf)?;
        assert_eq!(import.invalidations(), 1);
        assert!(!import.lock()?.is_mapped());
        let (fresh, segs) = segments(&import, DataDirection::ToDevice)?;
        assert!(fresh);
        assert_eq!(segs.iter().map(|s| s.len).sum::<usize>(), size);

        // The data moved with the buffer.
        let mut back = KVec::from_elem(0u8, size, GFP_KERNEL)?;
        Import::vmap(&import)?.read(0, &mut back)?;
        assert!(back[..] == data[..]);
        Ok(())
    }

    #[test]
    fn vmap_blocks_migration_until_released() -> Result {
        let dev = DmaDevice::new(c"vdmabuf-kunit-vmap")?;
        let buf = export(4 * PAGE_SIZE)?;
        let import = Import::new(as_dma_buf(&buf), dev.device(), true)?;
        let vmap = Import::vmap(&import)?;
        vmap.write(PAGE_SIZE, b"vdmabuf")?;
        assert_eq!(migrate(&buf), Err(EBUSY));
        drop(vmap);
        migrate(&buf)?;
        let mut back = [0u8; 7];
        Import::vmap(&import)?.read(PAGE_SIZE, &mut back)?;
        assert_eq!(&back, b"vdmabuf");
        Ok(())
    }

    #[test]
    fn dynamic_pin_blocks_migration() -> Result {
        let dev = DmaDevice::new(c"vdmabuf-kunit-pin")?;
        let buf = export(PAGE_SIZE)?;
        let import = Import::new(as_dma_buf(&buf), dev.device(), true)?;
        import.lock()?.pin()?;
        assert_eq!(migrate(&buf), Err(EBUSY));
        import.lock()?.unpin();
        migrate(&buf)?;
        Ok(())
    }

    #[test]
    fn cpu_access_syncs_live_mappings() -> Result {
        let dev = DmaDevice::new(c"vdmabuf-kunit-sync")?;
        let buf = export(8 * PAGE_SIZE)?;
        let import = Import::new(as_dma_buf(&buf), dev.device(), false)?;
        segments(&import, DataDirection::FromDevice)?;
        // Syncing goes through every mapping in its own direction; DMA-API debugging would
        // complain about a wrong one.
        import.begin_cpu_access(DataDirection::Bidirectional)?;
        import.end_cpu_access(DataDirection::Bidirectional)?;
        import.begin_cpu_access(DataDirection::ToDevice)?;
        import.end_cpu_access(DataDirection::ToDevice)?;
        assert_eq!(buf.lock()?.mapping_count(), 1);
        import.lock()?.unmap();
        assert_eq!(buf.lock()?.mapping_count(), 0);
        Ok(())
    }
}
