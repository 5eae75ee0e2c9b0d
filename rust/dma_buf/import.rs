// SPDX-License-Identifier: GPL-2.0

//! The importer side: attaching a device to any dma-buf, mapping it, and CPU access.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)
//!
//! [`Import`] attaches a device statically or dynamically. A dynamic import handles
//! `invalidate_mappings` itself: it unmaps at once (the core calls it with the reservation lock
//! held, which unmapping needs), counts the invalidation, and the next [`LockedImport::map`] maps
//! again. Mapping, unmapping and vmap need the reservation lock, so they are methods of the
//! [`LockedImport`] that [`Import::lock`] returns.
//!
//! The import's mapping is protected by that same reservation lock and by nothing else: an
//! exporter may invalidate from inside its own `map_dma_buf` (amdgpu does, when it moves a buffer
//! for a new importer), which calls back into this importer on the same task with the lock held.
//! A second lock of the importer's own would deadlock there.

use crate::dma_buf::{
    buffer::DmaBuf,
    errno, helpers,
    resv::{
        Resv,
        ResvCell,
        ResvGuard, //
    },
    sg_table::{
        self,
        Segment, //
    },
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    device::Device,
    dma::DataDirection,
    error::{
        from_err_ptr,
        to_result, //
    },
    ffi::c_void,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
};

mod vmap;

pub(crate) use vmap::ImportVmap;

/// A live mapping of an import: the table the exporter returned.
///
/// # Invariants
///
/// `sgt` was returned by `dma_buf_map_attachment` for the import's attachment in `dir` and is
/// not yet unmapped.
struct Mapping {
    sgt: NonNull<bindings::sg_table>,
    dir: DataDirection,
}

// SAFETY: The mapping is a pointer the core handed out; it may be unmapped from any thread.
unsafe impl Send for Mapping {}

/// The most mappings of one buffer a device holds at once, within the DMA-API debug code's limit
/// of overlapping mappings of one cache line (`ACTIVE_CACHELINE_MAX_OVERLAP`, 7 besides the
/// first, so 8 mappings would still pass; 7 keeps to the documented number).
pub(crate) const MAX_DEVICE_MAPPINGS: usize = 7;

/// The import's state, which the dynamic importer callback and [`LockedImport::map`] (counting
/// the device's mappings) reach through `importer_priv`.
struct ImportState {
    mapping: ResvCell<Option<Mapping>>,
    invalidations: Atomic<i64>,
}

/// A device attached to a dma-buf of any exporter. Share it with [`Arc`] to use it from jobs.
///
/// # Invariants
///
/// `attach` is an attachment of `buf` for `dev`, made by `dma_buf_attach`
/// or (if `dynamic`) `dma_buf_dynamic_attach`, with `importer_priv` pointing to `state` (set
/// under the reservation lock for a static one); it is detached in `Drop`.
///
/// # Examples
///
/// ```ignore
/// let import = Import::new(DmaBuf::get(fd)?, dev.device(), true)?; // dynamic
/// let mut segments = KVec::new();
/// import.lock()?.map(DataDirection::ToDevice, |seg| {
///     let _ = segments.push(seg, GFP_KERNEL);
/// })?;
/// // An exporter's `invalidate_mappings` unmaps it; the next `map` maps again.
/// ```
pub(crate) struct Import {
    buf: ARef<DmaBuf>,
    /// Keeps the device alive while it is attached (the core takes no reference).
    dev: ARef<Device>,
    attach: NonNull<bindings::dma_buf_attachment>,
    dynamic: bool,
    state: KBox<ImportState>,
}

// SAFETY: The attachment may be used and detached from any thread; its state is locked.
unsafe impl Send for Import {}

// SAFETY: Every `&self` method takes the reservation lock or only reads immutable fields.
unsafe impl Sync for Import {}

/// The importer operations of dynamic imports.
static DYNAMIC_OPS: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
    allow_peer2peer: false,
    invalidate_mappings: Some(invalidate_mappings),
};

/// # Safety
///
/// Called by the dma-buf core, with the reservation lock held, for an attachment made by
/// [`Import::new`] with `dynamic` set.
unsafe extern "C" fn invalidate_mappings(attach: *mut bindings::dma_buf_attachment) {
    // SAFETY: `Import::new` set `importer_priv` to the import's pinned state, which lives until
    // the attachment is detached.
    let state = unsafe { &*(*attach).importer_priv.cast::<ImportState>() };
    // SAFETY: The core holds the reservation lock; no reference from the cell is live, because
    // the importer keeps none across calls into the core, which is where this comes from.
    let mapping = unsafe { state.mapping.get() }.take();
    if let Some(mapping) = mapping {
        // SAFETY: The lock is held (the core calls this with it held) and `mapping` is a live
        // mapping of this attachment.
        unsafe { unmap(attach, mapping) };
    }
    state.invalidations.add(1, Relaxed);
}

/// # Safety
///
/// The reservation lock of the attachment's buffer must be held and `mapping` must be a live
/// mapping of `attach`.
unsafe fn unmap(attach: *mut bindings::dma_buf_attachment, mapping: Mapping) {
    // SAFETY: As required by the function.
    unsafe { bindings::dma_buf_unmap_attachment(attach, mapping.sgt.as_ptr(), mapping.dir.into()) };
}

impl Import {
    /// Attaches `dev` to `buf`, as a dynamic importer if `dynamic`. The import holds a reference
    /// on the device; its driver must keep it bound until every import is dropped.
    pub(crate) fn new(buf: ARef<DmaBuf>, dev: &Device, dynamic: bool) -> Result<Arc<Self>> {
        let raw_dev = sg_table::device_ptr(dev);
        let state = KBox::new(
            ImportState {
                mapping: ResvCell::new(None),
                invalidations: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        let priv_ = core::ptr::from_ref::<ImportState>(&state)
            .cast_mut()
            .cast::<c_void>();
        let attach = if dynamic {
            // SAFETY: The buffer and device are valid; `DYNAMIC_OPS` is a static and `priv_`
            // points into a box that is neither moved nor freed until the attachment is detached
            // in `Drop`.
            unsafe { bindings::dma_buf_dynamic_attach(buf.as_raw(), raw_dev, &DYNAMIC_OPS, priv_) }
        } else {
            // SAFETY: The buffer and device are valid.
            unsafe { bindings::dma_buf_attach(buf.as_raw(), raw_dev) }
        };
        // SAFETY: `dma_buf_attach` returns a valid attachment or an error, never NULL.
        let attach = unsafe { NonNull::new_unchecked(from_err_ptr(attach)?) };
        if !dynamic {
            // Static attachments get no `importer_priv` from the core; set it under the lock that
            // readers of the attachment list hold ([`LockedImport::device_mappings`]).
            let _guard = buf.resv().lock_uninterruptible();
            // SAFETY: The attachment is ours and live; the field is the importer's.
            unsafe { (*attach.as_ptr()).importer_priv = priv_ };
        }
        // INVARIANT: The attachment was made above, with `priv_` pointing to `state`.
        let import = Self {
            buf,
            dev: dev.into(),
            attach,
            dynamic,
            state,
        };
        Ok(Arc::new(import, GFP_KERNEL)?)
    }

    /// Returns the imported buffer.
    #[cfg(dma_buf_importer)]
    pub(crate) fn buffer(&self) -> &DmaBuf {
        &self.buf
    }

    /// Returns whether the import is dynamic.
    pub(crate) fn is_dynamic(&self) -> bool {
        self.dynamic
    }

    /// Returns how many times the exporter invalidated this import's mappings.
    pub(crate) fn invalidations(&self) -> i64 {
        self.state.invalidations.load(Relaxed)
    }

    /// Takes the buffer's reservation lock, interruptibly.
    pub(crate) fn lock(&self) -> Result<LockedImport<'_>> {
        let guard = self.resv().lock()?;
        // INVARIANT: `guard` holds the lock of this import's buffer.
        Ok(LockedImport {
            import: self,
            _guard: guard,
        })
    }

    /// Returns the buffer's reservation object.
    pub(crate) fn resv(&self) -> &Resv {
        self.buf.resv()
    }

    /// Maps the whole buffer into the kernel's address space (`dma_buf_vmap`).
    pub(crate) fn vmap(this: &Arc<Self>) -> Result<ImportVmap> {
        let mut map = bindings::iosys_map {
            __bindgen_anon_1: bindings::iosys_map__bindgen_ty_1 {
                vaddr: core::ptr::null_mut(),
            },
            is_iomem: false,
        };
        // SAFETY: The buffer is valid; the unlocked variant takes the lock itself.
        to_result(unsafe { bindings::dma_buf_vmap_unlocked(this.buf.as_raw(), &mut map) })?;
        // SAFETY: `map` was just set by a successful `dma_buf_vmap_unlocked`.
        match NonNull::new(unsafe { helpers::iosys_map_vaddr(&map) }.cast::<u8>()) {
            // INVARIANT: The mapping covers the buffer until `vunmap` in `Drop`.
            Some(addr) => Ok(ImportVmap {
                import: this.clone(),
                map,
                addr,
            }),
            None => {
                // I/O memory needs the iosys_map accessors, which this importer does not use.
                // SAFETY: `map` is the live mapping made above.
                unsafe { bindings::dma_buf_vunmap_unlocked(this.buf.as_raw(), &mut map) };
                Err(errno::not_supported())
            }
        }
    }

    /// Prepares CPU access to the buffer (`dma_buf_begin_cpu_access`); waits for fences.
    pub(crate) fn begin_cpu_access(&self, dir: DataDirection) -> Result {
        // SAFETY: The buffer is valid; the lock is not held, as the core requires.
        to_result(unsafe { bindings::dma_buf_begin_cpu_access(self.buf.as_raw(), dir.into()) })
    }

    /// Ends CPU access to the buffer (`dma_buf_end_cpu_access`).
    pub(crate) fn end_cpu_access(&self, dir: DataDirection) -> Result {
        // SAFETY: The buffer is valid; the lock is not held, as the core requires.
        to_result(unsafe { bindings::dma_buf_end_cpu_access(self.buf.as_raw(), dir.into()) })
    }
}

impl Drop for Import {
    fn drop(&mut self) {
        {
            let _guard = self.buf.resv().lock_uninterruptible();
            // SAFETY: The lock is held; the reference ends with this statement.
            let mapping = unsafe { self.state.mapping.get() }.take();
            if let Some(mapping) = mapping {
                // SAFETY: The lock is held and the mapping is live.
                unsafe { unmap(self.attach.as_ptr(), mapping) };
            }
        }
        // SAFETY: By the type invariants the attachment is live; it is never used again.
        unsafe { bindings::dma_buf_detach(self.buf.as_raw(), self.attach.as_ptr()) };
    }
}

/// An import whose buffer's reservation lock is held by the [`ResvGuard`] it owns, which
/// releases it on drop. Not `Send`, as the guard.
///
/// # Invariants
///
/// `_guard` holds the reservation lock of the import's buffer.
pub(crate) struct LockedImport<'a> {
    import: &'a Import,
    _guard: ResvGuard<'a>,
}

impl LockedImport<'_> {
    /// Returns the import's mapping slot.
    ///
    /// # Safety
    ///
    /// The reference must not live across a call into the dma-buf core or another call of this
    /// method.
    #[expect(clippy::mut_from_ref)]
    unsafe fn mapping(&self) -> &mut Option<Mapping> {
        // SAFETY: By the type invariants the reservation lock is held; the caller keeps the
        // reference short as required.
        unsafe { self.import.state.mapping.get() }
    }

    /// Counts the live mappings of the buffer by imports of this device.
    fn device_mappings(&self) -> usize {
        let dev = sg_table::device_ptr(&self.import.dev);
        let mut n = 0;
        let count = |att: *mut bindings::dma_buf_attachment| {
            // SAFETY: The attachment is on the list, so it is alive. Only imports attach this
            // device, and each set `importer_priv` to its state under the reservation lock (type
            // invariants), which lives until it is detached; its mapping is protected by the
            // lock, which is held, and no reference to it is live.
            unsafe {
                if (*att).dev == dev {
                    let state = (*att).importer_priv.cast::<ImportState>();
                    if !state.is_null() && (*(*state).mapping.get()).is_some() {
                        n += 1;
                    }
                }
            }
        };
        // SAFETY: By the type invariants the reservation lock is held; `count` detaches nothing.
        unsafe { self.import.buf.for_each_attachment(count) };
        n
    }

    /// Maps the buffer for the device in `dir` unless it is mapped already (a dynamic import's
    /// mapping may have been invalidated since), then calls `f` with each DMA segment.
    ///
    /// A device holds at most [`MAX_DEVICE_MAPPINGS`] mappings of one buffer at a time (`EBUSY`
    /// beyond): the DMA-API debug code `WARN`s at more overlapping mappings of a cache line, and
    /// userspace must not be able to make the kernel warn.
    ///
    /// Returns whether a new mapping was made. It takes `&mut self` so that `f` cannot reach
    /// the guard and unmap the table it is walking.
    pub(crate) fn map(&mut self, dir: DataDirection, mut f: impl FnMut(Segment)) -> Result<bool> {
        // SAFETY: Each reference below ends with its statement, before any call into the core.
        if unsafe { self.mapping() }
            .as_ref()
            .is_some_and(|m| m.dir != dir)
        {
            self.unmap();
        }
        let mut fresh = false;
        // SAFETY: As above.
        if unsafe { self.mapping() }.is_none() {
            if self.device_mappings() >= MAX_DEVICE_MAPPINGS {
                return Err(EBUSY);
            }
            // SAFETY: By the type invariants the lock is held, as the core requires. An exporter
            // may call `invalidate_mappings` from here; no reference to the slot is live.
            let sgt = unsafe {
                bindings::dma_buf_map_attachment(self.import.attach.as_ptr(), dir.into())
            };
            let sgt = from_err_ptr(sgt)?;
            // SAFETY: `dma_buf_map_attachment` returns a valid table or an error.
            // INVARIANT: The table is a live mapping of this attachment in `dir`.
            let sgt = unsafe { NonNull::new_unchecked(sgt) };
            // SAFETY: As above.
            *unsafe { self.mapping() } = Some(Mapping { sgt, dir });
            fresh = true;
        }
        self.for_each_segment(&mut f);
        Ok(fresh)
    }

    /// Pins the buffer in place for this import (`dma_buf_pin`); dynamic imports only.
    #[cfg(vdmabuf_layer_tests)]
    pub(crate) fn pin(&self) -> Result {
        if !self.import.dynamic {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariants the lock is held; the attachment is dynamic.
        to_result(unsafe { bindings::dma_buf_pin(self.import.attach.as_ptr()) })
    }

    /// Undoes [`LockedImport::pin`].
    #[cfg(vdmabuf_layer_tests)]
    pub(crate) fn unpin(&self) {
        if self.import.dynamic {
            // SAFETY: By the type invariants the lock is held; the attachment is dynamic.
            unsafe { bindings::dma_buf_unpin(self.import.attach.as_ptr()) };
        }
    }

    /// Calls `f` with each DMA segment of the current mapping; returns `false` if there is none.
    /// Takes `&mut self`, so that `f` cannot reach the guard to unmap the table meanwhile.
    pub(crate) fn for_each_segment(&mut self, mut f: impl FnMut(Segment)) -> bool {
        // SAFETY: The reference ends with this statement.
        let sgt = unsafe { self.mapping() }.as_ref().map(|m| m.sgt);
        match sgt {
            Some(sgt) => {
                // SAFETY: The table stays mapped while the lock is held and `f`, which cannot
                // reach this guard, cannot unmap it.
                unsafe { sg_table::for_each_dma_segment(sgt.as_ptr(), &mut f) };
                true
            }
            None => false,
        }
    }

    /// Accesses `[offset, offset + len)` of the buffer as the device does: through the current
    /// mapping's DMA addresses, turned back into memory, which only works for a device that maps
    /// directly (`EOPNOTSUPP` otherwise). So it sees what the exporter put behind the mapping,
    /// which may differ from what the CPU sees (a non-coherent exporter, or a bounce buffer).
    ///
    /// The range is walked in pieces of at most `buf.len()` bytes, none crossing a page. A read
    /// (`write` false) copies each piece into `buf` and calls `f(pos, piece)`; a write calls
    /// `f(pos, piece)` to fill the piece in `buf` and then copies it out. `pos` is the piece's
    /// place in the range.
    ///
    /// Fails with `ENODATA` if the buffer is not mapped, `EPERM` if the mapping's direction
    /// does not let the device read (`write` false) or write, and `EINVAL` if the range is
    /// not inside the mapping.
    pub(crate) fn device_access(
        &mut self,
        offset: usize,
        len: usize,
        write: bool,
        buf: &mut [u8],
        mut f: impl FnMut(usize, &mut [u8]),
    ) -> Result {
        // SAFETY: The reference ends with this statement.
        let (sgt, dir) = match unsafe { self.mapping() }.as_ref() {
            Some(m) => (m.sgt, m.dir),
            None => return Err(errno::no_data()),
        };
        let allowed = match dir {
            DataDirection::Bidirectional => true,
            DataDirection::ToDevice => !write,
            DataDirection::FromDevice => write,
            _ => false,
        };
        if !allowed {
            return Err(EPERM);
        }
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if buf.is_empty() {
            return Err(EINVAL);
        }
        let dev = sg_table::device_ptr(&self.import.dev);
        let (mut at, mut res) = (0usize, Ok(()));
        let mut visit = |seg: Segment| {
            let seg_end = at + seg.len;
            let mut pos = core::cmp::max(at, offset);
            while res.is_ok() && pos < core::cmp::min(seg_end, end) {
                // CAST: A `usize` fits in a `u64`.
                let addr = seg.addr + (pos - at) as u64;
                // CAST: A page offset fits in `usize`.
                let in_page = (addr % PAGE_SIZE as u64) as usize;
                let n = (PAGE_SIZE - in_page)
                    .min(core::cmp::min(seg_end, end) - pos)
                    .min(buf.len());
                // SAFETY: `dev` is the attached device, alive while the import is.
                let page = unsafe { helpers::dma_direct_page(dev, addr) };
                if page.is_null() {
                    res = Err(errno::not_supported());
                    break;
                }
                // SAFETY: `page` is the memory behind a live mapping of the buffer, which the
                // exporter keeps alive while mapped.
                let vaddr = unsafe { bindings::kmap_local_page(page) };
                // SAFETY: `vaddr` maps the whole page and `in_page + n <= PAGE_SIZE`.
                let piece = unsafe { vaddr.cast::<u8>().add(in_page) };
                if write {
                    f(pos - offset, &mut buf[..n]);
                    // SAFETY: `piece` has `n` bytes mapped; `buf` has `n`; others (the CPU,
                    // devices) may access the page meanwhile, hence C `memcpy`.
                    unsafe { helpers::memcpy_shared(piece.cast(), buf.as_ptr().cast(), n) };
                } else {
                    // SAFETY: As above.
                    unsafe { helpers::memcpy_shared(buf.as_mut_ptr().cast(), piece.cast(), n) };
                    f(pos - offset, &mut buf[..n]);
                }
                // SAFETY: `vaddr` is the most recent `kmap_local_page` mapping.
                unsafe { bindings::kunmap_local(vaddr) };
                pos += n;
            }
            at = seg_end;
        };
        // SAFETY: The table stays mapped while the lock is held, and the closure cannot reach
        // the guard to unmap it.
        unsafe { sg_table::for_each_dma_segment(sgt.as_ptr(), &mut visit) };
        res?;
        if at < end {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Unmaps the buffer if it is mapped.
    pub(crate) fn unmap(&mut self) {
        // SAFETY: The reference ends with this statement, before the core is called.
        if let Some(m) = unsafe { self.mapping() }.take() {
            // SAFETY: By the type invariants the lock is held; `m` is a live mapping.
            unsafe { unmap(self.import.attach.as_ptr(), m) };
        }
    }

    /// Returns whether the buffer is currently mapped.
    #[cfg(vdmabuf_layer_tests)]
    pub(crate) fn is_mapped(&self) -> bool {
        // SAFETY: The reference ends with this statement.
        unsafe { self.mapping() }.is_some()
    }
}

#[cfg(vdmabuf_layer_tests)]
#[kunit_tests(dma_buf_import)]
mod tests {
    use super::*;
    use crate::dma_buf::{
        attachment::Attachment,
        device::DmaDevice,
        exporter::{
            ExportOptions,
            Exported,
            Exporter,
            ExporterOps,
            Locked, //
        },
        pages::Pages,
        sg_table::{
            MappedSgTable,
            SgTable, //
        },
    };
    use kernel::page::PAGE_SIZE;

    /// An exporter that, like amdgpu moving a buffer for a new importer, invalidates every
    /// dynamic importer's mappings from inside its own `map_dma_buf`.
    #[pin_data]
    struct SelfInvalidating {
        pages: Arc<Pages>,
    }

    static OPS: ExporterOps<SelfInvalidating> = ExporterOps::new(&crate::THIS_MODULE);

    #[vtable]
    impl Exporter for SelfInvalidating {
        const NAME: &'static CStr = c"dma_buf_test";
        type AttachData = ();

        fn ops() -> &'static ExporterOps<Self> {
            &OPS
        }

        fn attach(_buf: &Exported<Self>, _attach: &Attachment) -> Result {
            Ok(())
        }

        fn map(
            buf: &Locked<'_, Self>,
            attach: &Attachment,
            _data: &(),
            dir: DataDirection,
        ) -> Result<MappedSgTable> {
            buf.invalidate_mappings();
            let dev = attach.device();
            SgTable::new(buf.data().pages.clone(), sg_table::max_segment(dev))?.dma_map(dev, dir)
        }
    }

    /// A test device, a writable buffer exported over `pages`, and the device's import of it
    /// (dynamic if `dynamic`). Bound in this order, they drop in the reverse one.
    fn attached(
        name: &'static CStr,
        pages: Arc<Pages>,
        dynamic: bool,
    ) -> Result<(DmaDevice, ARef<Exported<SelfInvalidating>>, Arc<Import>)> {
        let dev = DmaDevice::new(name)?;
        let size = pages.size();
        let buf = Exported::export(
            try_pin_init!(SelfInvalidating { pages }? Error),
            ExportOptions {
                size,
                writable: true,
            },
        )?;
        let dma_buf: &DmaBuf = &buf;
        let import = Import::new(ARef::from(dma_buf), dev.device(), dynamic)?;
        Ok((dev, buf, import))
    }

    #[test]
    fn exporter_invalidating_inside_map_does_not_deadlock_the_importer() -> Result {
        let pages = Arc::new(Pages::alloc(4 * PAGE_SIZE)?, GFP_KERNEL)?;
        let (_dev, _buf, import) = attached(c"dma-buf-kunit-import", pages, true)?;
        let mut segments = 0;
        // The exporter calls back into this importer, on this task, with the lock held.
        assert!(import
            .lock()?
            .map(DataDirection::ToDevice, |_| segments += 1)?);
        assert!(segments > 0);
        assert_eq!(import.invalidations(), 1);
        assert!(import.lock()?.is_mapped());
        // A new direction maps again: the exporter invalidates the mapping being replaced,
        // which the importer has already taken down.
        assert!(import.lock()?.map(DataDirection::FromDevice, |_| {})?);
        assert_eq!(import.invalidations(), 2);
        assert!(import.lock()?.is_mapped());
        import.lock()?.unmap();
        assert!(!import.lock()?.is_mapped());
        Ok(())
    }

    /// Maps `import`'s attachment once more, as an importer holding several mappings of one
    /// attachment would (the sample importer keeps one per import).
    fn map_raw(import: &Import, dir: DataDirection) -> Result<NonNull<bindings::sg_table>> {
        let _locked = import.lock()?;
        // SAFETY: The reservation lock is held; the attachment is live.
        let sgt = unsafe { bindings::dma_buf_map_attachment(import.attach.as_ptr(), dir.into()) };
        // SAFETY: `dma_buf_map_attachment` returns a valid table or an error.
        Ok(unsafe { NonNull::new_unchecked(from_err_ptr(sgt)?) })
    }

    fn unmap_raw(import: &Import, sgt: NonNull<bindings::sg_table>, dir: DataDirection) -> Result {
        let _locked = import.lock()?;
        // SAFETY: The reservation lock is held; `sgt` is a live mapping of the attachment.
        unsafe {
            bindings::dma_buf_unmap_attachment(import.attach.as_ptr(), sgt.as_ptr(), dir.into())
        };
        Ok(())
    }

    #[test]
    fn one_attachment_holds_several_mappings_and_gives_each_back() -> Result {
        let size = 3 * PAGE_SIZE;
        let pages = Arc::new(Pages::alloc(size)?, GFP_KERNEL)?;
        let (_dev, buf, import) = attached(c"dma-buf-kunit-maps", pages, false)?;
        let count = || buf.lock().map(|l| l.mapping_count());
        let dirs = [
            DataDirection::ToDevice,
            DataDirection::FromDevice,
            DataDirection::Bidirectional,
        ];
        let mut tables = [None; 3];
        for (i, dir) in dirs.iter().enumerate() {
            let sgt = map_raw(&import, *dir)?;
            let mut bytes = 0;
            // SAFETY: The table is mapped until `unmap_raw` below.
            unsafe { sg_table::for_each_dma_segment(sgt.as_ptr(), |seg| bytes += seg.len) };
            assert_eq!(bytes, size);
            tables[i] = Some(sgt);
            assert_eq!(count()?, i + 1);
        }
        assert!(tables[0] != tables[1] && tables[1] != tables[2] && tables[0] != tables[2]);
        // Given back in any order: the inline first one in the middle.
        for (left, i) in [(2, 1), (1, 0), (0, 2)] {
            if let Some(sgt) = tables[i].take() {
                unmap_raw(&import, sgt, dirs[i])?;
            }
            assert_eq!(count()?, left);
        }
        // With every table back, the attachment maps again from scratch.
        let again = map_raw(&import, DataDirection::ToDevice)?;
        assert_eq!(count()?, 1);
        unmap_raw(&import, again, DataDirection::ToDevice)?;
        assert_eq!(count()?, 0);
        Ok(())
    }

    #[test]
    fn device_access_reaches_the_pages_behind_the_mapping_in_its_direction() -> Result {
        let size = 4 * PAGE_SIZE;
        let pages = Arc::new(Pages::alloc(size)?, GFP_KERNEL)?;
        pages.write(PAGE_SIZE - 2, b"across")?;
        let (_dev, _buf, import) = attached(c"dma-buf-kunit-device-access", pages.clone(), false)?;
        let mut chunk = [0u8; 4];
        let mut read = KVec::new();
        let mut locked = import.lock()?;
        assert_eq!(
            locked.device_access(0, 6, false, &mut chunk, |_, _| {}),
            Err(errno::no_data())
        );
        locked.map(DataDirection::ToDevice, |_| {})?;
        // Pieces stop at page boundaries and at the size of the bounce buffer.
        locked.device_access(PAGE_SIZE - 2, 6, false, &mut chunk, |pos, bytes| {
            let _ = read.push((pos, bytes.len()), GFP_KERNEL);
            assert_eq!(bytes, &b"across"[pos..pos + bytes.len()]);
        })?;
        assert_eq!(&read[..], &[(0, 2), (2, 4)]);
        // A device may not write through a mapping made for reading, nor go past the buffer.
        assert_eq!(
            locked.device_access(0, 1, true, &mut chunk, |_, _| {}),
            Err(EPERM)
        );
        assert_eq!(
            locked.device_access(size - 1, 2, false, &mut chunk, |_, _| {}),
            Err(EINVAL)
        );
        locked.map(DataDirection::FromDevice, |_| {})?;
        locked.device_access(1, 3, true, &mut chunk, |_, bytes| bytes.fill(b'D'))?;
        drop(locked);
        let mut back = [0u8; 5];
        pages.read(0, &mut back)?;
        assert_eq!(&back, b"\0DDD\0");
        Ok(())
    }
}
