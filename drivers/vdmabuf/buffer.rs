// SPDX-License-Identifier: GPL-2.0

//! A vdmabuf buffer: zeroed pages exported as a dma-buf, pinnable and migratable.

use crate::{
    dma_buf::{
        attachment::Attachment,
        exporter::{
            Exported,
            Exporter,
            ExporterOps,
            Locked, //
        },
        pages::Pages,
        resv::Usage,
        sg_table::{
            self,
            MappedSgTable, //
        },
        vma::{
            FaultVma,
            VmFault, //
        },
        vmap::Vmap,
    },
    format::Image,
    modes::{
        FailOp,
        Injector,
        Modes, //
    },
    registry::{
        Registry,
        Tracked, //
    },
    stats::{
        BufferAccount,
        ByteAccount, //
        Live,
        Stats,
    },
};
use core::ptr::NonNull;
use kernel::{
    dma::DataDirection,
    impl_has_delayed_work,
    mm::virt::VmaNew,
    new_delayed_work, new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
    time::{
        msecs_to_jiffies,
        Delta,
        Jiffies, //
    },
    workqueue::{
        DelayedWork,
        WorkItem, //
    },
};

/// How long a migration waits for the fences in the buffer's reservation object. Every fence a
/// driver of this project adds signals within 10 s; a foreign one that takes longer makes the
/// migration fail with `ETIMEDOUT` rather than block the caller for long.
pub(crate) const MIGRATE_FENCE_TIMEOUT: Delta = Delta::from_millis(12_000);

/// The operations of vdmabuf's dma-bufs.
static OPS: ExporterOps<VdmaBuffer> = ExporterOps::new(&crate::THIS_MODULE);

/// The exporter state of one buffer.
#[pin_data(PinnedDrop)]
pub(crate) struct VdmaBuffer {
    #[pin]
    state: Mutex<State>,
    /// The counters this buffer shows in: the module's, or a KUnit test's own.
    stats: &'static Stats,
    _account: BufferAccount,
    /// The debugfs listing of live buffers and this buffer's entry in it.
    tracked: Option<(Arc<Registry>, Arc<Tracked>)>,
    /// Whether the core has the buffer vmapped (it counts its users itself). Set and cleared
    /// under the reservation lock, read without a lock where only a hint is needed.
    vmapped: Atomic<bool>,
    /// Whether [`State::kmap`] is made. Set under the state lock once an attach has made it,
    /// never cleared: a migration moves the mapping to the new pages and keeps it. So a static
    /// importer's attach that sees it set has nothing to do under the lock.
    kmapped: Atomic<bool>,
    /// How the buffer misbehaves on purpose, and its count of calls.
    injector: Injector,
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
    /// A kernel mapping of `pages`, made when the first device attaches (or at the first vmap)
    /// and kept for the buffer's life; a migration moves it to the new pages. The core `WARN`s
    /// when an exporter's `vmap` fails, and importers let userspace trigger vmaps, so the
    /// fallible part happens in `attach`, which can fail cleanly, and `vmap` only hands the
    /// mapping out. Keeping it after the last detach makes an import round trip cost no new
    /// mapping (`make bench`), at the price of the buffer's size in vmalloc space.
    kmap: Option<Vmap>,
    /// Live attachments of dynamic importers.
    dynamic: usize,
    /// Migrates the buffer by itself while dynamic importers are attached (move pressure).
    mover: Option<Arc<Mover>>,
    /// The devices' copy of a non-coherent buffer; `pages` is then the CPU's.
    view: Option<DeviceView>,
    /// A migration is telling importers to drop their mappings.
    moving: bool,
}

/// The devices' copy of a non-coherent buffer (`VDMABUF_MODE_NONCOHERENT`), which a system
/// whose caches are not coherent with DMA has in effect: [`State::pages`] is what the CPU sees
/// (mmap, vmap), this what devices see (map_dma_buf). They are synchronised where the DMA API
/// maintains caches: [`State::clean`] and [`State::invalidate`].
pub(crate) struct DeviceView {
    /// What devices see: the pages behind the DMA mappings.
    pages: Arc<Pages>,
    /// What the CPU saw when its view was last synchronised: the lines where the CPU view
    /// differs from it are the ones the CPU wrote since (its dirty cache lines).
    base: Pages,
    /// One page to compare in, so that synchronising never allocates.
    scratch: KVec<u8>,
    /// The two extra copies, counted against `max_total`.
    _account: ByteAccount,
}

impl DeviceView {
    /// Allocates the devices' copy of `cpu` (laid out like it: the table layout modes apply to
    /// what devices see) and the record of the CPU view, counting both in `stats`.
    pub(crate) fn new(cpu: &Pages, stats: &'static Stats, max_total: usize) -> Result<Self> {
        let extra = cpu.size().checked_mul(2).ok_or(ENOSPC)?;
        let account = ByteAccount::new(stats, extra, max_total)?;
        Ok(Self {
            pages: Arc::new(cpu.alloc_like()?, GFP_KERNEL)?,
            base: Pages::alloc(cpu.size())?,
            scratch: KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?,
            _account: account,
        })
    }
}

/// Whether a DMA direction has data going to the device, so that the CPU's caches are written
/// back for it.
fn to_device(dir: DataDirection) -> bool {
    matches!(dir, DataDirection::ToDevice | DataDirection::Bidirectional)
}

/// Whether a DMA direction has data coming from the device, so that the CPU's caches are
/// invalidated for it.
fn from_device(dir: DataDirection) -> bool {
    matches!(
        dir,
        DataDirection::FromDevice | DataDirection::Bidirectional
    )
}

impl VdmaBuffer {
    /// Returns the initialiser of a buffer over `pages`, counted by `account` in `stats` and, if
    /// given, listed in a registry, whose record holds the image layout of a format-aware buffer.
    /// Inline, as [`Exported::export`] is, so that the initialiser is not copied on its way into
    /// the allocation (`make profile`: 155 instructions and one `memcpy` less per create).
    #[inline]
    pub(crate) fn new(
        pages: Pages,
        stats: &'static Stats,
        account: BufferAccount,
        modes: Modes,
        view: Option<DeviceView>,
        tracked: Option<(Arc<Registry>, Arc<Tracked>)>,
    ) -> Result<impl PinInit<Self, Error>> {
        let pages = Arc::new(pages, GFP_KERNEL)?;
        if let Some((_, t)) = &tracked {
            // Where devices see the buffer.
            t.set_backing(view.as_ref().map_or(&pages, |v| &v.pages));
        }
        Ok(try_pin_init!(Self {
            state <- new_mutex!(State {
                pages,
                kmap: None,
                dynamic: 0,
                mover: None,
                view,
                moving: false,
            }),
            stats,
            _account: account,
            tracked,
            vmapped: Atomic::new(false),
            kmapped: Atomic::new(false),
            injector: Injector::new(modes),
        }? Error))
    }

    /// Returns the image layout of a format-aware buffer (kept once, in its registry record).
    pub(crate) fn image(&self) -> Option<&Image> {
        self.tracked.as_ref().and_then(|(_, t)| t.image())
    }

    /// Returns the buffer's modes.
    pub(crate) fn modes(&self) -> &Modes {
        self.injector.modes()
    }

    /// Counts a call of `op`, failing it if the buffer's modes say so. Inline, like
    /// [`Injector::call`], so that a buffer without a failing operation pays one comparison and
    /// no call (`make profile` showed two calls per import round trip without it).
    #[inline]
    fn inject(&self, op: FailOp) -> Result {
        self.injector.call(op, self.stats)
    }
}

impl State {
    /// Returns the pages devices see.
    fn device_pages(&self) -> &Arc<Pages> {
        self.view.as_ref().map_or(&self.pages, |v| &v.pages)
    }

    /// Non-coherent buffers: writes back the CPU's dirty lines to the devices' view, as a
    /// cache clean would (`dma_sync_*_for_device`).
    #[inline]
    fn clean(&mut self) -> Result {
        let State { pages, view, .. } = self;
        if let Some(v) = view {
            pages.clean_lines(&mut v.base, &v.pages, &mut v.scratch)?;
        }
        Ok(())
    }

    /// Non-coherent buffers, at an unmap: the CPU's clean lines take the devices' data, as a
    /// cache invalidate would; lines the CPU wrote and has not written back stay (a device
    /// unmapping must not destroy what a correct program is writing meanwhile). Not while the
    /// buffer migrates: the exporter's own move is not a device access.
    fn invalidate_for_unmap(&mut self) -> Result {
        let State {
            pages,
            view,
            moving,
            ..
        } = self;
        if let (Some(v), false) = (view, *moving) {
            pages.invalidate_clean_lines(&mut v.base, &v.pages, &mut v.scratch)?;
        }
        Ok(())
    }

    /// Non-coherent buffers: replaces the CPU's view with the devices', as a cache invalidate
    /// would (`dma_sync_*_for_cpu`), losing what the CPU wrote and did not write back.
    fn invalidate(&mut self) -> Result {
        let State { pages, view, .. } = self;
        if let Some(v) = view {
            // Through `base`, so that the CPU view and its record are the same bytes even if a
            // device writes meanwhile.
            v.base.copy_from(&v.pages)?;
            pages.copy_from(&v.base)?;
        }
        Ok(())
    }

    /// Returns the kernel mapping of the pages, made now if there is none yet.
    fn kmap(&mut self) -> Result<&Vmap> {
        if self.kmap.is_none() {
            self.kmap = Some(Vmap::new(self.pages.clone())?);
        }
        // Set just above if it was not.
        self.kmap.as_ref().ok_or(ENOMEM)
    }
}

impl VdmaBuffer {
    /// Calls `f` with the kernel mapping if the core has the buffer vmapped.
    fn with_vmapped(&self, f: impl FnOnce(&Vmap)) {
        // Without the lock: a CPU access is not ordered against a vmap made meanwhile, whose
        // user synchronises its own access.
        if !self.vmapped.load(Relaxed) {
            return;
        }
        let state = self.state.lock();
        if let Some(kmap) = &state.kmap {
            f(kmap);
        }
    }
}

/// Moves `buf` to new pages, as a device evicting VRAM would, keeping every byte: what the
/// CPU wrote through any mapping before the call returns, and what devices wrote in jobs whose
/// fences are in the buffer's reservation object.
///
/// The protocol is TTM's: under the reservation lock, refuse while pinned or vmapped (`EBUSY`),
/// tell dynamic importers to drop their mappings, wait for every fence (a device may still be
/// working on the old pages until its fence signals; interruptibly, at most
/// [`MIGRATE_FENCE_TIMEOUT`], else `ETIMEDOUT`), then, under the state lock that page faults
/// take, remove userspace's mappings, copy and swap. Only then are the old pages freed. While
/// both copies exist the new one counts against `max_total` (`ENOSPC`).
pub(crate) fn migrate(buf: &Exported<VdmaBuffer>, max_total: usize) -> Result {
    let data = buf.data();
    let copies = if data.modes().noncoherent { 2 } else { 1 };
    let _second_copy = ByteAccount::new(data.stats, buf.size() * copies, max_total)?;
    // Allocate outside the lock: a large allocation may take a while. The new pages are of the
    // same kind: a contiguous buffer stays contiguous. A non-coherent buffer moves both views.
    let (current, current_dev) = {
        let state = data.state.lock();
        (
            state.pages.clone(),
            state.view.as_ref().map(|v| v.pages.clone()),
        )
    };
    let new = Arc::new(current.alloc_like()?, GFP_KERNEL)?;
    let new_dev = match current_dev {
        Some(dev) => Some(Arc::new(dev.alloc_like()?, GFP_KERNEL)?),
        None => None,
    };
    drop(current);
    let locked = buf.lock()?;
    // Pins and kernel mappings are made under the reservation lock, so this holds until the
    // lock is dropped.
    if locked.pin_count() > 0 || data.vmapped.load(Relaxed) {
        return Err(EBUSY);
    }
    // Dynamic importers drop their mappings now and cannot map again until the lock is dropped.
    data.state.lock().moving = true;
    locked.invalidate_mappings();
    data.state.lock().moving = false;
    // New fences are added only under the reservation lock, which is held: after this wait no
    // device touches the old pages any more.
    if !buf
        .resv()
        .wait_timeout(Usage::Bookkeep, true, MIGRATE_FENCE_TIMEOUT)?
    {
        return Err(ETIMEDOUT);
    }
    let old = {
        let mut state = data.state.lock();
        // The prepared kernel mapping follows the pages (not in use: the buffer is not vmapped).
        let kmap = match state.kmap {
            Some(_) => Some(Vmap::new(new.clone())?),
            None => None,
        };
        // Zap before the copy: a CPU write through a userspace mapping after this faults, and
        // the fault waits on `state` and then maps the new pages. Zapping after the copy would
        // lose every write made in between.
        buf.zap_user_mappings();
        new.copy_from(&state.pages)?;
        let old_dev = match (new_dev, &mut state.view) {
            (Some(new_dev), Some(view)) => {
                new_dev.copy_from(&view.pages)?;
                Some(core::mem::replace(&mut view.pages, new_dev))
            }
            _ => None,
        };
        let old_kmap = core::mem::replace(&mut state.kmap, kmap);
        let old = core::mem::replace(&mut state.pages, new);
        if let Some((_, t)) = &data.tracked {
            t.set_backing(state.device_pages());
        }
        (old, old_kmap, old_dev)
    };
    data.stats.migrations.add(1, Relaxed);
    drop(locked);
    // DMA mappings of static importers cannot exist (they pin); those of dynamic importers were
    // dropped above. So this frees the old pages.
    drop(old);
    Ok(())
}

/// Move pressure (`struct vdmabuf_modes.move_interval_ms`): a work item that migrates the buffer
/// every interval, as memory management evicting it would, while dynamic importers are
/// attached. The last dynamic importer's detach stops it; the item holds the buffer until it
/// has seen that and returned.
#[pin_data]
pub(crate) struct Mover {
    #[pin]
    work: DelayedWork<Mover>,
    buf: ARef<Exported<VdmaBuffer>>,
    interval: Jiffies,
    stop: Atomic<bool>,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for Mover { self.work }
}

impl Mover {
    /// Starts moving `buf` every `interval_ms` on the module's queue.
    fn start(
        buf: &Exported<VdmaBuffer>,
        registry: &Arc<Registry>,
        interval_ms: u32,
    ) -> Result<Arc<Self>> {
        let mover = Arc::pin_init(
            pin_init!(Self {
                work <- new_delayed_work!("vdmabuf-mover"),
                buf: ARef::from(buf),
                interval: msecs_to_jiffies(interval_ms),
                stop: Atomic::new(false),
            }),
            GFP_KERNEL,
        )?;
        // Cannot be queued already: it was just made.
        let _ = registry
            .movers()
            .enqueue_delayed(mover.clone(), mover.interval);
        Ok(mover)
    }

    /// Stops the moves; the queued item returns without moving, dropping its references.
    fn stop(&self) {
        self.stop.store(true, Relaxed);
    }
}

impl WorkItem for Mover {
    type Pointer = Arc<Mover>;

    fn run(this: Arc<Mover>) {
        if this.stop.load(Relaxed) {
            return;
        }
        // Busy (pinned or vmapped) or short of memory this time: try again next time.
        let _ = migrate(&this.buf, crate::Limits::get().max_total);
        // Started only for a listed buffer, whose registry holds the queue.
        if let (false, Some((registry, _))) = (this.stop.load(Relaxed), &this.buf.data().tracked) {
            let (registry, interval) = (registry.clone(), this.interval);
            // Not queued: this run took it off the queue.
            let _ = registry.movers().enqueue_delayed(this, interval);
        }
    }
}

/// Per-attachment state: the attachment counted in debugfs, and whether its importer is dynamic.
pub(crate) struct AttachData {
    _live: Live,
    dynamic: bool,
}

// The callbacks on the import path are `#[inline]`: each has one caller, the layer's
// `dma_buf_ops` entry point, which then makes one call instead of two (`make profile`).
#[vtable]
impl Exporter for VdmaBuffer {
    const NAME: &'static CStr = c"vdmabuf";
    type AttachData = AttachData;

    fn ops() -> &'static ExporterOps<Self> {
        &OPS
    }

    #[inline]
    fn attach(buf: &Exported<Self>, attach: &Attachment) -> Result<AttachData> {
        let data = buf.data();
        data.inject(FailOp::Attach)?;
        let dynamic = attach.is_dynamic();
        // A static importer finds the kernel mapping made (by an earlier attach) and has nothing
        // to do under the lock; the import round trip of `make bench` takes no lock of the buffer
        // here. Seeing the flag without the lock means the store in another attach's critical
        // section happened, so a `vmap` that locks after this is ordered after that section and
        // finds the mapping.
        if dynamic || !data.kmapped.load(Relaxed) {
            let mut state = data.state.lock();
            state.kmap()?;
            data.kmapped.store(true, Relaxed);
            if dynamic && state.dynamic == 0 {
                if let (Some(ms), Some((registry, _))) =
                    (data.modes().move_interval_ms(), &data.tracked)
                {
                    state.mover = Some(Mover::start(buf, registry, ms)?);
                }
            }
            if dynamic {
                state.dynamic += 1;
            }
        }
        Ok(AttachData {
            _live: Live::new(&data.stats.attachments),
            dynamic,
        })
    }

    #[inline]
    fn detach(buf: &Exported<Self>, _attach: &Attachment, data: &AttachData) {
        if data.dynamic {
            let mut state = buf.data().state.lock();
            state.dynamic = state.dynamic.saturating_sub(1);
            if state.dynamic == 0 {
                if let Some(mover) = state.mover.take() {
                    mover.stop();
                }
            }
        }
    }

    // A pin needs nothing of vdmabuf but to be counted, which the layer does
    // (`Locked::pin_count`, which `migrate` checks): the buffer's pages stay where they are
    // because only a migration moves them. Both are declared, as a dynamic exporter must.
    #[inline]
    fn pin(_buf: &Locked<'_, Self>, _attach: &Attachment) -> Result {
        Ok(())
    }

    #[inline]
    fn unpin(_buf: &Locked<'_, Self>, _attach: &Attachment) {}

    #[inline]
    fn map(
        buf: &Locked<'_, Self>,
        attach: &Attachment,
        _data: &AttachData,
        dir: DataDirection,
    ) -> Result<MappedSgTable> {
        let data = buf.data();
        data.inject(FailOp::Map)?;
        if let Some(delay) = data.modes().map_delay() {
            // A slow device or IOMMU; under the reservation lock, as a real map is.
            kernel::time::delay::fsleep(delay);
        }
        let pages = {
            let mut state = data.state.lock();
            if to_device(dir) {
                state.clean()?;
            }
            state.device_pages().clone()
        };
        let dev = attach.device();
        let max_segment = core::cmp::min(sg_table::max_segment(dev), data.modes().sg.max_entry());
        let table = buf.new_table(pages, max_segment)?.dma_map(dev, dir)?;
        buf.data().stats.maps.add(1, Relaxed);
        Ok(table)
    }

    #[inline]
    fn unmap(
        buf: &Locked<'_, Self>,
        _attach: &Attachment,
        _data: &AttachData,
        table: MappedSgTable,
    ) {
        buf.data().stats.maps.add(-1, Relaxed);
        let dir = table.dir();
        buf.recycle(table);
        if from_device(dir) && buf.data().modes().noncoherent {
            // Only fails for pages of different sizes, which a buffer never has.
            let _ = buf.data().state.lock().invalidate_for_unmap();
        }
    }

    fn begin_cpu_access(buf: &Exported<Self>, dir: DataDirection) -> Result {
        let data = buf.data();
        data.inject(FailOp::BeginCpuAccess)?;
        // The core waits for the fences only after this callback (7.2: `dma_buf_begin_cpu_access`),
        // but invalidating CPU caches before a device's write has landed would let the CPU read
        // stale lines on non-coherent systems: wait first, as implicit sync orders this access.
        // Without device mappings, a kernel mapping or a device view there is nothing to
        // invalidate, and the core's wait is enough (an attachment made meanwhile is not
        // ordered against this access).
        if !buf.has_attachments() && !data.vmapped.load(Relaxed) && !data.modes().noncoherent {
            return Ok(());
        }
        let write = dir != DataDirection::FromDevice;
        buf.resv().wait(Usage::for_access(write), true)?;
        buf.sync_mappings_for_cpu()?;
        data.with_vmapped(Vmap::invalidate);
        if from_device(dir) && data.modes().noncoherent {
            data.state.lock().invalidate()?;
        }
        Ok(())
    }

    fn end_cpu_access(buf: &Exported<Self>, dir: DataDirection) -> Result {
        let data = buf.data();
        data.with_vmapped(Vmap::flush);
        if to_device(dir) && data.modes().noncoherent {
            data.state.lock().clean()?;
        }
        // Uninterruptible: in-kernel callers often ignore this result, so a signal must not be
        // able to skip the flush.
        buf.sync_mappings_for_device();
        Ok(())
    }

    fn mmap(buf: &Exported<Self>, _vma: &VmaNew) -> Result {
        // Nothing else to refuse: the core checked the range, the layer refuses private mappings.
        buf.data().inject(FailOp::Mmap)
    }

    fn fault(buf: &Exported<Self>, vma: &FaultVma) -> VmFault {
        // Under `state`, which migration zaps under: the pages installed here are either zapped
        // by a migration that follows, or are the pages a migration swapped in.
        vma.insert_pages(&buf.data().state.lock().pages)
    }

    fn vmap(buf: &Locked<'_, Self>) -> Result<NonNull<u8>> {
        let mut state = buf.data().state.lock();
        // Made by `attach` for every attached importer. Only a kernel user that vmaps without
        // attaching gets here without one, and that allocation may fail.
        let addr = state.kmap()?.addr();
        buf.data().vmapped.store(true, Relaxed);
        Ok(addr)
    }

    fn vunmap(buf: &Locked<'_, Self>, _addr: NonNull<u8>) {
        buf.data().vmapped.store(false, Relaxed);
    }

    fn show_fdinfo(buf: &Exported<Self>, m: &SeqFile) {
        // Both are fixed at creation, so they need no lock.
        let data = buf.data();
        if let Some(image) = data.image() {
            image.show_fdinfo(m);
        }
        seq_print!(m, "modes:\t{}\n", data.modes());
    }
}

#[kunit_tests(vdmabuf_buffer)]
mod tests {
    use super::*;
    use crate::dma_buf::{
        buffer::DmaBuf, device::DmaDevice, exporter::ExportOptions, import::Import,
        sg_table::Segment,
    };
    use crate::fences::TimedFence;
    use kernel::{
        page::PAGE_SIZE,
        sync::aref::ARef,
        time::hrtimer::HrTimerPointer, //
    };

    /// The counters of the buffers these tests make, apart from the module's, which show only
    /// userspace's buffers.
    static TEST_STATS: Stats = Stats::new();

    fn export(size: usize) -> Result<ARef<Exported<VdmaBuffer>>> {
        let account = BufferAccount::new(&TEST_STATS, size, usize::MAX, usize::MAX)?;
        Exported::export(
            VdmaBuffer::new(
                Pages::alloc(size)?,
                &TEST_STATS,
                account,
                Modes::default(),
                None,
                None,
            )?,
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
        assert_eq!(migrate(&buf, usize::MAX), Err(EBUSY));
        import.lock()?.unmap();
        migrate(&buf, usize::MAX)?;
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
        migrate(&buf, usize::MAX)?;
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
    fn migration_waits_for_every_fence() -> Result {
        let buf = export(4 * PAGE_SIZE)?;
        // A device job still using the buffer: its fence is the only thing that says so, and
        // bookkeeping usage hides it from implicit sync but not from memory management.
        let job = TimedFence::new(c"vdmabuf-kunit")?;
        buf.resv().lock()?.add_fence(job.fence(), Usage::Bookkeep)?;
        let _timer = job.clone().start(Delta::from_millis(50));
        migrate(&buf, usize::MAX)?;
        assert!(job.fence().is_signaled());
        Ok(())
    }

    #[test]
    fn migration_copy_counts_against_the_total() -> Result {
        let size = 16 * PAGE_SIZE;
        let buf = export(size)?;
        let held = usize::try_from(TEST_STATS.bytes.load(Relaxed)).map_err(|_| EINVAL)?;
        assert!(held >= size);
        assert_eq!(migrate(&buf, held + size - 1), Err(ENOSPC));
        migrate(&buf, held + size)?;
        // The second copy is uncounted once the old one is gone.
        assert_eq!(TEST_STATS.bytes.load(Relaxed), held as i64);
        Ok(())
    }

    #[test]
    fn vmap_blocks_migration_until_released() -> Result {
        let dev = DmaDevice::new(c"vdmabuf-kunit-vmap")?;
        let buf = export(4 * PAGE_SIZE)?;
        let import = Import::new(as_dma_buf(&buf), dev.device(), true)?;
        let vmap = Import::vmap(&import)?;
        vmap.write(PAGE_SIZE, b"vdmabuf")?;
        assert_eq!(migrate(&buf, usize::MAX), Err(EBUSY));
        drop(vmap);
        migrate(&buf, usize::MAX)?;
        let mut back = [0u8; 7];
        Import::vmap(&import)?.read(PAGE_SIZE, &mut back)?;
        assert_eq!(&back, b"vdmabuf");
        Ok(())
    }

    /// The core `WARN`s when an exporter's vmap fails: attached importers get a mapping made
    /// at attach, where failing is clean, and vmap only hands it out.
    #[test]
    fn kernel_mapping_is_made_at_attach_and_follows_migration() -> Result {
        let dev = DmaDevice::new(c"vdmabuf-kunit-kmap")?;
        let buf = export(4 * PAGE_SIZE)?;
        let kmap =
            |buf: &Exported<VdmaBuffer>| buf.data().state.lock().kmap.as_ref().map(Vmap::addr);
        assert!(kmap(&buf).is_none());
        let import = Import::new(as_dma_buf(&buf), dev.device(), true)?;
        let prepared = kmap(&buf);
        assert!(prepared.is_some());
        Import::vmap(&import)?.write(0, b"kmap")?;
        assert!(!buf.data().vmapped.load(Relaxed));
        // Migration moves the prepared mapping to the new pages.
        migrate(&buf, usize::MAX)?;
        assert!(kmap(&buf).is_some());
        let mut back = [0u8; 4];
        Import::vmap(&import)?.read(0, &mut back)?;
        assert_eq!(&back, b"kmap");
        // Kept after the last detach: the next importer's attach costs no new mapping.
        drop(import);
        assert!(kmap(&buf).is_some());
        let again = Import::new(as_dma_buf(&buf), dev.device(), true)?;
        assert_eq!(kmap(&buf), prepared.and(kmap(&buf)));
        drop(again);
        Ok(())
    }

    #[test]
    fn dynamic_pin_blocks_migration() -> Result {
        let dev = DmaDevice::new(c"vdmabuf-kunit-pin")?;
        let buf = export(PAGE_SIZE)?;
        let import = Import::new(as_dma_buf(&buf), dev.device(), true)?;
        import.lock()?.pin()?;
        assert_eq!(migrate(&buf, usize::MAX), Err(EBUSY));
        import.lock()?.unpin();
        migrate(&buf, usize::MAX)?;
        Ok(())
    }

    #[test]
    fn pins_count_until_the_last_unpin() -> Result {
        let dev = DmaDevice::new(c"vdmabuf-kunit-pins")?;
        let buf = export(PAGE_SIZE)?;
        let a = Import::new(as_dma_buf(&buf), dev.device(), true)?;
        let b = Import::new(as_dma_buf(&buf), dev.device(), true)?;
        let pins = || buf.lock().map(|l| l.pin_count());
        assert_eq!(pins()?, 0);
        a.lock()?.pin()?;
        b.lock()?.pin()?;
        assert_eq!(pins()?, 2);
        a.lock()?.unpin();
        assert_eq!(pins()?, 1);
        assert_eq!(migrate(&buf, usize::MAX), Err(EBUSY));
        b.lock()?.unpin();
        assert_eq!(pins()?, 0);
        migrate(&buf, usize::MAX)?;
        // A static importer's mapping is a pin by the core for as long as it lives.
        let s = Import::new(as_dma_buf(&buf), dev.device(), false)?;
        let _ = segments(&s, DataDirection::Bidirectional)?;
        assert_eq!(pins()?, 1);
        s.lock()?.unmap();
        assert_eq!(pins()?, 0);
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
