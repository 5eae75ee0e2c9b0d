// SPDX-License-Identifier: GPL-2.0

//! The importer side: attaching a device to any dma-buf, mapping it, and CPU access.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)
//!
//! [`Import`] attaches a device statically or dynamically. A dynamic import handles
//! `invalidate_mappings` itself: it unmaps at once (the core calls it with the reservation lock
//! held, which unmapping needs), counts the invalidation, and the next [`ImportGuard::map`] maps
//! again. Mapping, unmapping and vmap need the reservation lock, so they are methods of the
//! [`ImportGuard`] that [`Import::lock`] returns.

use crate::dma_buf::{
    buffer::DmaBuf,
    errno, ffi,
    resv::Resv,
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
    new_mutex,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
};

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

/// The import's state that the dynamic importer callback reaches through `importer_priv`.
#[pin_data]
struct ImportState {
    #[pin]
    mapping: Mutex<Option<Mapping>>,
    invalidations: Atomic<i64>,
}

/// A device attached to a dma-buf of any exporter. Share it with [`Arc`] to use it from jobs.
///
/// # Invariants
///
/// `attach` is an attachment of `buf` for `dev`, made by `dma_buf_attach`
/// or (if `dynamic`) `dma_buf_dynamic_attach` with `importer_priv` pointing to `state`; it is
/// detached in `Drop`.
pub(crate) struct Import {
    buf: ARef<DmaBuf>,
    dev: ARef<Device>,
    attach: NonNull<bindings::dma_buf_attachment>,
    dynamic: bool,
    state: Pin<KBox<ImportState>>,
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
    if let Some(mapping) = state.mapping.lock().take() {
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
        let state = KBox::pin_init(
            pin_init!(ImportState {
                mapping <- new_mutex!(None),
                invalidations: Atomic::new(0),
            }),
            GFP_KERNEL,
        )?;
        let priv_ = core::ptr::from_ref::<ImportState>(&state)
            .cast_mut()
            .cast::<c_void>();
        let attach = if dynamic {
            // SAFETY: The buffer and device are valid; `DYNAMIC_OPS` is a static and `priv_`
            // points into a pinned box that lives until the attachment is detached in `Drop`.
            unsafe { bindings::dma_buf_dynamic_attach(buf.as_raw(), raw_dev, &DYNAMIC_OPS, priv_) }
        } else {
            // SAFETY: The buffer and device are valid.
            unsafe { bindings::dma_buf_attach(buf.as_raw(), raw_dev) }
        };
        // SAFETY: `dma_buf_attach` returns a valid attachment or an error, never NULL.
        let attach = unsafe { NonNull::new_unchecked(from_err_ptr(attach)?) };
        // INVARIANT: The attachment was made above, with `priv_` pointing to `state` if dynamic.
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
    pub(crate) fn lock(&self) -> Result<ImportGuard<'_>> {
        // SAFETY: The buffer's `resv` is valid for its whole life.
        to_result(unsafe { ffi::vdmabuf_rs_dma_resv_lock_interruptible(self.raw_resv()) })?;
        // INVARIANT: The lock was taken above.
        Ok(ImportGuard { import: self })
    }

    /// Returns the buffer's reservation object.
    pub(crate) fn resv(&self) -> &Resv {
        self.buf.resv()
    }

    /// Returns the importing device.
    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    fn raw_resv(&self) -> *mut bindings::dma_resv {
        // SAFETY: `resv` is set at export and never changes.
        unsafe { (*self.buf.as_raw()).resv }
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
        match NonNull::new(unsafe { ffi::vdmabuf_rs_iosys_map_vaddr(&map) }.cast::<u8>()) {
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
        // SAFETY: The buffer's `resv` is valid; an uninterruptible lock cannot fail.
        unsafe { bindings::dma_resv_lock(self.raw_resv(), core::ptr::null_mut()) };
        if let Some(mapping) = self.state.mapping.lock().take() {
            // SAFETY: The lock is held and the mapping is live.
            unsafe { unmap(self.attach.as_ptr(), mapping) };
        }
        // SAFETY: Locked above.
        unsafe { bindings::dma_resv_unlock(self.raw_resv()) };
        // SAFETY: By the type invariants the attachment is live; it is never used again.
        unsafe { bindings::dma_buf_detach(self.buf.as_raw(), self.attach.as_ptr()) };
    }
}

/// An import whose buffer's reservation lock is held; unlocks on drop.
///
/// # Invariants
///
/// The reservation lock of the import's buffer is held by this guard.
pub(crate) struct ImportGuard<'a> {
    import: &'a Import,
}

impl ImportGuard<'_> {
    /// Maps the buffer for the device in `dir` unless it is mapped already (a dynamic import's
    /// mapping may have been invalidated since), then calls `f` with each DMA segment.
    ///
    /// Returns whether a new mapping was made.
    pub(crate) fn map(&self, dir: DataDirection, mut f: impl FnMut(Segment)) -> Result<bool> {
        let mut mapping = self.import.state.mapping.lock();
        let mut fresh = false;
        if mapping.as_ref().is_some_and(|m| m.dir != dir) {
            self.unmap_locked(&mut mapping);
        }
        if mapping.is_none() {
            // SAFETY: By the type invariants the lock is held, as the core requires.
            let sgt = unsafe {
                bindings::dma_buf_map_attachment(self.import.attach.as_ptr(), dir.into())
            };
            let sgt = from_err_ptr(sgt)?;
            // SAFETY: `dma_buf_map_attachment` returns a valid table or an error.
            // INVARIANT: The table is a live mapping of this attachment in `dir`.
            let sgt = unsafe { NonNull::new_unchecked(sgt) };
            *mapping = Some(Mapping { sgt, dir });
            fresh = true;
        }
        if let Some(m) = mapping.as_ref() {
            // SAFETY: The table is mapped until unmapped under this lock.
            unsafe { sg_table::for_each_dma_segment(m.sgt.as_ptr(), &mut f) };
        }
        Ok(fresh)
    }

    /// Pins the buffer in place for this import (`dma_buf_pin`); dynamic imports only.
    pub(crate) fn pin(&self) -> Result {
        if !self.import.dynamic {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariants the lock is held; the attachment is dynamic.
        to_result(unsafe { bindings::dma_buf_pin(self.import.attach.as_ptr()) })
    }

    /// Undoes [`ImportGuard::pin`].
    pub(crate) fn unpin(&self) {
        if self.import.dynamic {
            // SAFETY: By the type invariants the lock is held; the attachment is dynamic.
            unsafe { bindings::dma_buf_unpin(self.import.attach.as_ptr()) };
        }
    }

    /// Calls `f` with each DMA segment of the current mapping; returns `false` if there is none.
    pub(crate) fn for_each_segment(&self, mut f: impl FnMut(Segment)) -> bool {
        match self.import.state.mapping.lock().as_ref() {
            Some(m) => {
                // SAFETY: The table is mapped until unmapped under this lock.
                unsafe { sg_table::for_each_dma_segment(m.sgt.as_ptr(), &mut f) };
                true
            }
            None => false,
        }
    }

    /// Unmaps the buffer if it is mapped.
    pub(crate) fn unmap(&self) {
        self.unmap_locked(&mut self.import.state.mapping.lock());
    }

    /// Returns whether the buffer is currently mapped.
    pub(crate) fn is_mapped(&self) -> bool {
        self.import.state.mapping.lock().is_some()
    }

    fn unmap_locked(&self, mapping: &mut Option<Mapping>) {
        if let Some(m) = mapping.take() {
            // SAFETY: By the type invariants the lock is held; `m` is a live mapping.
            unsafe { unmap(self.import.attach.as_ptr(), m) };
        }
    }
}

impl Drop for ImportGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the lock is held by this guard.
        unsafe { bindings::dma_resv_unlock(self.import.raw_resv()) };
    }
}

/// A kernel mapping of an imported buffer; unmapped on drop. Access goes through copies, as the
/// buffer may change under it (devices, userspace).
///
/// # Invariants
///
/// `map` is a live `dma_buf_vmap` mapping of the import's buffer; `addr` is its system-memory
/// address, valid for the buffer's size.
pub(crate) struct ImportVmap {
    import: Arc<Import>,
    map: bindings::iosys_map,
    addr: NonNull<u8>,
}

// SAFETY: The mapping may be used and removed from any thread.
unsafe impl Send for ImportVmap {}

// SAFETY: `&ImportVmap` only copies in and out through the mapping.
unsafe impl Sync for ImportVmap {}

impl ImportVmap {
    fn check(&self, offset: usize, len: usize) -> Result {
        match offset.checked_add(len) {
            Some(end) if end <= self.import.buf.size() => Ok(()),
            _ => Err(EINVAL),
        }
    }

    /// Copies `out.len()` bytes at `offset` out of the buffer.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        self.check(offset, out.len())?;
        // SAFETY: By the type invariants `addr` maps the whole buffer; the range was checked.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.addr.as_ptr().add(offset),
                out.as_mut_ptr(),
                out.len(),
            )
        };
        Ok(())
    }

    /// Copies `len` bytes at `from` in `src` to `to` in this buffer (the same buffer too: the
    /// ranges may overlap).
    pub(crate) fn copy_from(&self, to: usize, src: &ImportVmap, from: usize, len: usize) -> Result {
        self.check(to, len)?;
        src.check(from, len)?;
        // SAFETY: Both mappings cover their buffers; the ranges were checked. `copy` allows
        // overlap.
        unsafe { core::ptr::copy(src.addr.as_ptr().add(from), self.addr.as_ptr().add(to), len) };
        Ok(())
    }

    /// Calls `f` with consecutive chunks of at most `chunk` bytes of `[offset, offset + len)`,
    /// copied out of the buffer.
    pub(crate) fn read_chunks(
        &self,
        offset: usize,
        len: usize,
        buf: &mut [u8],
        mut f: impl FnMut(&[u8]),
    ) -> Result {
        self.check(offset, len)?;
        let mut pos = 0;
        while pos < len {
            let n = core::cmp::min(buf.len(), len - pos);
            self.read(offset + pos, &mut buf[..n])?;
            f(&buf[..n]);
            pos += n;
        }
        Ok(())
    }

    /// Copies `data` into the buffer at `offset`.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) -> Result {
        self.check(offset, data.len())?;
        // SAFETY: By the type invariants `addr` maps the whole buffer; the range was checked.
        unsafe {
            core::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.addr.as_ptr().add(offset),
                data.len(),
            )
        };
        Ok(())
    }
}

impl Drop for ImportVmap {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `map` is a live mapping of the buffer.
        unsafe { bindings::dma_buf_vunmap_unlocked(self.import.buf.as_raw(), &mut self.map) };
    }
}
