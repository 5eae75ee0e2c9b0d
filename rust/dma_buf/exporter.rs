// SPDX-License-Identifier: GPL-2.0

//! dma-buf exporters: the [`Exporter`] trait (all of `struct dma_buf_ops`), its operations
//! table and the buffers it exports.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)
//!
//! An exporter implements [`Exporter`] for its buffer type and declares one [`ExporterOps`]
//! static for it; [`Exported::export`] then creates dma-bufs backed by that type. The locking
//! convention of Linux 7.2 (`drivers/dma-buf/dma-buf.c`, "locking convention") is part of the
//! types: callbacks that the core calls with the buffer's reservation object held receive a
//! [`Locked`] view, which cannot take the lock again; callbacks called without it receive the
//! [`Exported`] buffer, which can ([`Exported::lock`]). The `extern "C"` callbacks that the
//! operations table points at are in [`vtable`].

mod vtable;

use crate::dma_buf::{
    attachment::Attachment,
    buffer::DmaBuf,
    helpers,
    pages::Pages,
    resv::{
        ResvCell,
        ResvGuard, //
    },
    sg_table::{
        MappedSgTable,
        SgEntries,
        SgTable,
        MAX_SPARE_ENTRIES, //
    },
    vma::{
        FaultVma,
        VmFault, //
    },
};
use core::{
    marker::PhantomData,
    ops::Deref,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    dma::DataDirection,
    error::{
        from_err_ptr,
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    ffi::c_int,
    mm::virt::VmaNew,
    prelude::*,
    seq_file::SeqFile,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        Arc, //
    },
    types::Opaque, //
};
use vtable::ExporterVTable;

/// The operations table of exporter `T`, declared once per exporter as a static:
/// `static OPS: ExporterOps<MyBuffer> = ExporterOps::new(&THIS_MODULE);`, naming the module
/// that every dma-buf of `T` keeps loaded (its `owner`). Buffers are recognised as `T`'s by
/// the address of this table, as C exporters compare `dmabuf->ops`.
pub(crate) struct ExporterOps<T: Exporter>(
    Opaque<bindings::dma_buf_ops>,
    &'static ThisModule,
    PhantomData<T>,
);

// SAFETY: The table is never written after initialisation.
unsafe impl<T: Exporter> Sync for ExporterOps<T> {}

impl<T: Exporter> ExporterOps<T> {
    /// Returns the C operations table.
    pub(crate) fn as_raw(&self) -> *mut bindings::dma_buf_ops {
        self.0.get()
    }

    /// Builds the operations table of `T`.
    pub(crate) const fn new(owner: &'static ThisModule) -> Self {
        build_assert!(T::HAS_PIN == T::HAS_UNPIN, "pin and unpin go together");
        build_assert!(T::HAS_VMAP == T::HAS_VUNMAP, "vmap and vunmap go together");
        Self(
            Opaque::new(bindings::dma_buf_ops {
                attach: Some(ExporterVTable::<T>::attach),
                detach: Some(ExporterVTable::<T>::detach),
                pin: if T::HAS_PIN {
                    Some(ExporterVTable::<T>::pin)
                } else {
                    None
                },
                unpin: if T::HAS_UNPIN {
                    Some(ExporterVTable::<T>::unpin)
                } else {
                    None
                },
                map_dma_buf: Some(ExporterVTable::<T>::map),
                unmap_dma_buf: Some(ExporterVTable::<T>::unmap),
                release: Some(ExporterVTable::<T>::release),
                begin_cpu_access: Some(ExporterVTable::<T>::begin_cpu_access),
                end_cpu_access: Some(ExporterVTable::<T>::end_cpu_access),
                mmap: if T::HAS_MMAP {
                    Some(ExporterVTable::<T>::mmap)
                } else {
                    None
                },
                vmap: if T::HAS_VMAP {
                    Some(ExporterVTable::<T>::vmap)
                } else {
                    None
                },
                vunmap: if T::HAS_VUNMAP {
                    Some(ExporterVTable::<T>::vunmap)
                } else {
                    None
                },
                #[cfg(dma_buf_show_fdinfo)]
                show_fdinfo: if T::HAS_SHOW_FDINFO {
                    Some(ExporterVTable::<T>::show_fdinfo)
                } else {
                    None
                },
            }),
            owner,
            PhantomData,
        )
    }
}

/// A dma-buf exporter: the `dma_buf_ops` of one buffer type.
///
/// The implementing type is the exporter's per-buffer state, owned by the dma-buf and dropped
/// when the dma-buf is released. Per-attachment state is [`Exporter::AttachData`], created by
/// [`Exporter::attach`] and dropped on detach.
///
/// # Examples
///
/// ```ignore
/// struct MyBuffer { pages: Arc<Pages> }
///
/// static OPS: ExporterOps<MyBuffer> = ExporterOps::new(&THIS_MODULE);
///
/// #[vtable]
/// impl Exporter for MyBuffer {
///     const NAME: &'static CStr = c"mydriver";
///     type AttachData = ();
///
///     fn ops() -> &'static ExporterOps<Self> {
///         &OPS
///     }
///
///     fn attach(_buf: &Exported<Self>, _attach: &Attachment) -> Result {
///         Ok(())
///     }
///
///     fn map(
///         buf: &Locked<'_, Self>,
///         attach: &Attachment,
///         _data: &(),
///         dir: DataDirection,
///     ) -> Result<MappedSgTable> {
///         let dev = attach.device();
///         let pages = buf.data().pages.clone();
///         buf.new_table(pages, sg_table::max_segment(dev))?.dma_map(dev, dir)
///     }
///
///     fn unmap(buf: &Locked<'_, Self>, _attach: &Attachment, _data: &(), table: MappedSgTable) {
///         buf.recycle(table);
///     }
/// }
/// ```
#[vtable]
pub(crate) trait Exporter: Sized + Send + Sync + 'static {
    /// The exporter's name, shown as `exp_name` in fdinfo and debugfs.
    const NAME: &'static CStr;

    /// The exporter's per-attachment state.
    type AttachData: Send + Sync;

    /// Returns the exporter's operations table, a static (see [`ExporterOps`]).
    fn ops() -> &'static ExporterOps<Self>;

    /// Attaches a device. Called without the reservation lock.
    fn attach(buf: &Exported<Self>, attach: &Attachment) -> Result<Self::AttachData>;

    /// Detaches a device; `data` is dropped afterwards. Called without the reservation lock.
    fn detach(_buf: &Exported<Self>, _attach: &Attachment, _data: &Self::AttachData) {}

    /// Pins the buffer in place for `attach` (dynamic exporters); once this returns `Ok`, the
    /// pin counts in [`Locked::pin_count`] until [`Exporter::unpin`]. Called with the lock held.
    fn pin(_buf: &Locked<'_, Self>, _attach: &Attachment) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Undoes [`Exporter::pin`]. Called with the lock held.
    fn unpin(_buf: &Locked<'_, Self>, _attach: &Attachment) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns a new table of the buffer, DMA-mapped for the attachment's device in `dir`.
    /// Called with the lock held.
    fn map(
        buf: &Locked<'_, Self>,
        attach: &Attachment,
        data: &Self::AttachData,
        dir: DataDirection,
    ) -> Result<MappedSgTable>;

    /// Takes back a table returned by [`Exporter::map`]; dropping it unmaps and frees it.
    /// Called with the lock held.
    fn unmap(
        _buf: &Locked<'_, Self>,
        _attach: &Attachment,
        _data: &Self::AttachData,
        table: MappedSgTable,
    ) {
        drop(table);
    }

    /// Prepares CPU access in `dir` (`DMA_BUF_IOCTL_SYNC` start). Called without the lock.
    fn begin_cpu_access(_buf: &Exported<Self>, _dir: DataDirection) -> Result {
        Ok(())
    }

    /// Ends CPU access in `dir` (`DMA_BUF_IOCTL_SYNC` end). Called without the lock.
    fn end_cpu_access(_buf: &Exported<Self>, _dir: DataDirection) -> Result {
        Ok(())
    }

    /// Accepts or refuses a shared userspace mapping (private ones are refused before). The
    /// layer makes it a page-frame mapping with no pages: [`Exporter::fault`] installs them on
    /// first access and after [`Exported::zap_user_mappings`]. Called without the lock, with the
    /// mmap lock held for writing.
    fn mmap(_buf: &Exported<Self>, _vma: &VmaNew) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Installs the pages of a mapping accepted by [`Exporter::mmap`], typically with
    /// [`FaultVma::insert_pages`]. Called with the mmap lock or the VMA's lock held for reading.
    fn fault(_buf: &Exported<Self>, _vma: &FaultVma) -> VmFault {
        VmFault::SIGBUS
    }

    /// Maps the whole buffer into the kernel's address space. Called with the lock held, only
    /// when no kernel mapping exists (the core counts users).
    fn vmap(_buf: &Locked<'_, Self>) -> Result<NonNull<u8>> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Removes the kernel mapping returned by [`Exporter::vmap`]. Called with the lock held.
    fn vunmap(_buf: &Locked<'_, Self>, _addr: NonNull<u8>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Adds `key:\tvalue` lines to the fdinfo of the buffer's file descriptors, after the
    /// core's. Called with no lock held, concurrently with any other callback.
    ///
    /// Needs a kernel with the `dma_buf_ops.show_fdinfo` hook (not in 7.2; see
    /// `patches/upstream/0004-dma-buf-let-the-exporter-add-lines-to-fdinfo.patch`); on a kernel
    /// without it this is never called.
    fn show_fdinfo(_buf: &Exported<Self>, _m: &SeqFile) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// Options of a new dma-buf.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExportOptions {
    /// Size in bytes.
    pub(crate) size: usize,
    /// Whether the dma-buf file is opened read-write (else read-only).
    pub(crate) writable: bool,
}

/// A dma-buf exported by `T`.
///
/// # Invariants
///
/// The dma-buf's `ops` is `T::ops()` and its `priv` an [`ExportState<T>`] allocated by
/// [`Exported::export`].
///
/// # Examples
///
/// ```ignore
/// let buf = Exported::export(
///     try_pin_init!(MyBuffer { pages }? Error),
///     ExportOptions { size, writable: true },
/// )?;
/// // Install it for userspace.
/// uapi::install_new_fd(O_CLOEXEC, |fd| {
///     report(fd)?;
///     Ok(ARef::from(buf.file()))
/// })?;
/// ```
#[repr(transparent)]
pub(crate) struct Exported<T: Exporter>(DmaBuf, PhantomData<T>);

// SAFETY: Same as `DmaBuf`: the reference count is that of the dma-buf's file.
unsafe impl<T: Exporter> AlwaysRefCounted for Exported<T> {
    fn inc_ref(&self) {
        self.0.inc_ref();
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: `Exported<T>` is `repr(transparent)` over `DmaBuf`; the caller owns a reference.
        unsafe { DmaBuf::dec_ref(obj.cast()) };
    }
}

impl<T: Exporter> Deref for Exported<T> {
    type Target = DmaBuf;

    fn deref(&self) -> &DmaBuf {
        &self.0
    }
}

impl<T: Exporter> Exported<T> {
    /// Exports a new dma-buf whose exporter state is initialised by `data`. Inline, so that an
    /// exporter's initialiser, which holds everything its state is made of, is written into the
    /// allocation rather than copied through this call first.
    #[inline]
    pub(crate) fn export(data: impl PinInit<T, Error>, opts: ExportOptions) -> Result<ARef<Self>> {
        let data = KBox::pin_init(
            try_pin_init!(ExportState {
                data <- data,
                spare: ResvCell::new(None),
                pins: ResvCell::new(0),
            }? Error),
            GFP_KERNEL,
        )?;
        // SAFETY: The state stays pinned: it is only accessed through `priv` until `release`
        // turns it back into the same pinned box.
        let data = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
        let info = bindings::dma_buf_export_info {
            exp_name: T::NAME.as_char_ptr(),
            owner: T::ops().1.as_ptr(),
            ops: T::ops().as_raw(),
            size: opts.size,
            // CAST: The access mode flags are small constants that fit in a `c_int`.
            flags: (if opts.writable {
                bindings::O_RDWR
            } else {
                bindings::O_RDONLY
            }) as c_int,
            resv: core::ptr::null_mut(),
            priv_: data.cast(),
        };
        // SAFETY: `info` is fully initialised; the ops table is a static.
        match from_err_ptr(unsafe { bindings::dma_buf_export(&info) }) {
            // SAFETY: A new dma-buf comes with one reference, which we now own.
            // INVARIANT: It was exported with `T`'s ops and an `ExportState<T>` as `priv`.
            Ok(ptr) => Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast())) }),
            Err(e) => {
                // SAFETY: Export failed, so the core does not own `data` and never will.
                drop(unsafe { Pin::new_unchecked(KBox::from_raw(data)) });
                Err(e)
            }
        }
    }

    /// Returns the exporter's state, which stays pinned in place for the buffer's life.
    pub(crate) fn data(&self) -> &T {
        &self.state().data
    }

    /// Returns the exporter's and the layer's state.
    fn state(&self) -> &ExportState<T> {
        // SAFETY: By the type invariants `priv` is an `ExportState<T>` that lives as long as the
        // dma-buf, which `self` keeps alive.
        unsafe { &*(*self.as_raw()).priv_.cast::<ExportState<T>>() }
    }

    /// Takes the buffer's reservation lock, interruptibly.
    pub(crate) fn lock(&self) -> Result<LockedExport<'_, T>> {
        let guard = DmaBuf::resv(self).lock()?;
        // INVARIANT: `guard` holds this buffer's lock.
        Ok(LockedExport {
            locked: Locked { buf: self },
            _guard: guard,
        })
    }

    /// Takes the buffer's reservation lock, uninterruptibly: for paths that must not be skipped,
    /// such as the cache flush at the end of CPU access.
    pub(crate) fn lock_uninterruptible(&self) -> LockedExport<'_, T> {
        let guard = DmaBuf::resv(self).lock_uninterruptible();
        // INVARIANT: `guard` holds this buffer's lock.
        LockedExport {
            locked: Locked { buf: self },
            _guard: guard,
        }
    }

    /// Removes every userspace mapping of the buffer; the next access faults and goes through
    /// [`Exporter::fault`] again.
    pub(crate) fn zap_user_mappings(&self) {
        // SAFETY: The dma-buf's file and its mapping are valid for the dma-buf's whole life.
        unsafe { bindings::unmap_mapping_range((*(*self.as_raw()).file).f_mapping, 0, 0, 1) };
    }

    /// Syncs every live DMA mapping of the buffer for CPU access, in the direction each was
    /// mapped. Takes the lock interruptibly.
    pub(crate) fn sync_mappings_for_cpu(&self) -> Result {
        if self.has_attachments() {
            self.lock()?.for_each_table(|table| table.sync_for_cpu());
        }
        Ok(())
    }

    /// Syncs every live DMA mapping of the buffer back for the devices. Takes the lock
    /// uninterruptibly, so a signal cannot skip the flush.
    pub(crate) fn sync_mappings_for_device(&self) {
        if self.has_attachments() {
            self.lock_uninterruptible()
                .for_each_table(|table| table.sync_for_device());
        }
    }

    /// Whether any device is attached, read without the lock (a hint: it may change at once).
    /// The CPU-access syncs skip the lock when there is none (the common case of a buffer used
    /// by the CPU alone). A device that attaches meanwhile is not ordered against the access,
    /// and its mappings are synced for it when they are made.
    pub(crate) fn has_attachments(&self) -> bool {
        // SAFETY: The dma-buf is valid; the helper reads the list head with `READ_ONCE`.
        unsafe { helpers::dma_buf_has_attachments(self.as_raw()) }
    }

    /// Names the buffer, as `DMA_BUF_IOCTL_SET_NAME` does: fdinfo and the core's debugfs show the
    /// name, at most `DMA_BUF_NAME_LEN - 1` (31) bytes of it. Userspace may rename it later.
    pub(crate) fn set_name(&self, name: &CStr) -> Result {
        // SAFETY: The dma-buf is valid; the helper copies `name` and swaps it in under the
        // dma-buf's name lock, as the core's own setter does.
        to_result(unsafe { helpers::dma_buf_set_name(self.as_raw(), name.as_char_ptr()) })
    }

    /// # Safety
    ///
    /// `ptr` must be a dma-buf exported by `T` that stays alive for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::dma_buf) -> &'a Self {
        // SAFETY: `Exported<T>` is `repr(transparent)` over `Opaque<dma_buf>`.
        unsafe { &*ptr.cast() }
    }
}

/// A dma-buf of exporter `T` whose reservation lock is held.
///
/// It gives access to what the lock protects, and none of its methods takes the lock again, so
/// callbacks that run under the lock cannot deadlock on it.
///
/// # Examples
///
/// ```ignore
/// // A migration: under the reservation lock, tell dynamic importers, wait for the fences.
/// let locked = buf.lock()?;
/// locked.invalidate_mappings();
/// buf.resv().wait_timeout(Usage::Bookkeep, true, Delta::from_millis(10_000))?;
/// ```
pub(crate) struct Locked<'a, T: Exporter> {
    buf: &'a Exported<T>,
}

impl<T: Exporter> Locked<'_, T> {
    /// Returns the exporter's state.
    pub(crate) fn data(&self) -> &T {
        self.buf.data()
    }

    /// Tells every dynamic importer to drop its mappings (`dma_buf_invalidate_mappings`).
    pub(crate) fn invalidate_mappings(&self) {
        // SAFETY: The reservation lock is held, as `dma_buf_invalidate_mappings` requires.
        unsafe { bindings::dma_buf_invalidate_mappings(self.buf.as_raw()) };
    }

    /// Returns a new table of `pages` for [`Exporter::map`] to map, no entry longer than
    /// `max_segment` bytes. It fills in the entries that [`Locked::recycle`] kept from a table
    /// unmapped before, if they are as many, so that the usual map, unmap, map again of one
    /// buffer allocates no entries after the first time.
    pub(crate) fn new_table(&self, pages: Arc<Pages>, max_segment: usize) -> Result<SgTable> {
        // SAFETY: The reservation lock is held (type invariants); the reference ends with the
        // statement.
        let spare = unsafe { self.buf.state().spare.get() }.take();
        SgTable::new_in(spare, pages, max_segment)
    }

    /// Takes back a table that [`Exporter::map`] returned: unmaps it and keeps its entries for
    /// [`Locked::new_table`], unless entries are kept already or they are more than one page
    /// holds ([`MAX_SPARE_ENTRIES`]). The pages it covered are let go at once.
    #[inline]
    pub(crate) fn recycle(&self, table: MappedSgTable) {
        let entries = table.unmap();
        if entries.len() > MAX_SPARE_ENTRIES {
            return;
        }
        // SAFETY: The reservation lock is held (type invariants); the reference ends with the
        // block, and no code runs meanwhile but the store (a slot that is taken is left alone,
        // and `entries` is then dropped after the block).
        let spare = unsafe { self.buf.state().spare.get() };
        if spare.is_none() {
            *spare = Some(entries);
        }
    }

    /// Returns how many pins are held: while any is, the buffer must stay where it is (a
    /// dynamic exporter refuses to move it). The layer counts the pins [`Exporter::pin`]
    /// accepted, so an exporter need not.
    #[inline]
    pub(crate) fn pin_count(&self) -> usize {
        // SAFETY: The reservation lock is held (type invariants); the copy ends the reference.
        *unsafe { self.buf.state().pins.get() }
    }

    /// Returns the number of live DMA mappings, over all attachments.
    pub(crate) fn mapping_count(&self) -> usize {
        let mut n = 0;
        // SAFETY: The reservation lock is held (type invariants); the reference ends here.
        self.for_each_attachment(|_, state| n += unsafe { state.maps.get() }.len());
        n
    }

    /// Calls `f` for each live DMA mapping, over all attachments. `f` must not call into the
    /// dma-buf core.
    fn for_each_table(&self, mut f: impl FnMut(&MappedSgTable)) {
        // SAFETY: The reservation lock is held (type invariants); `f` makes no call into the
        // core or the exporter, so the reference ends with the walk.
        self.for_each_attachment(|_, state| unsafe { state.maps.get() }.iter().for_each(&mut f));
    }

    /// Calls `f` for each attachment; the list is stable because the lock is held.
    fn for_each_attachment(&self, mut f: impl FnMut(&Attachment, &AttachState<T>)) {
        let visit = |raw| {
            // SAFETY: The attachment is on the list, so it is alive and `attach` gave it a state.
            let (att, state) = unsafe { (Attachment::from_raw(raw), AttachState::<T>::of(raw)) };
            f(att, state);
        };
        // SAFETY: The reservation lock is held (type invariants); `f` gets shared references
        // and cannot detach.
        unsafe { self.buf.for_each_attachment(visit) };
    }
}

/// A dma-buf of exporter `T` locked by [`Exported::lock`]: the [`Locked`] view plus the
/// [`ResvGuard`] that releases the lock when this drops. Not `Send`, as the guard.
///
/// # Invariants
///
/// `_guard` holds the reservation lock of `locked`'s buffer.
pub(crate) struct LockedExport<'a, T: Exporter> {
    locked: Locked<'a, T>,
    _guard: ResvGuard<'a>,
}

impl<'a, T: Exporter> Deref for LockedExport<'a, T> {
    type Target = Locked<'a, T>;

    fn deref(&self) -> &Locked<'a, T> {
        &self.locked
    }
}

/// What a dma-buf of `T` keeps in `priv`: the exporter's state, plus the layer's.
#[pin_data]
struct ExportState<T: Exporter> {
    #[pin]
    data: T,
    /// The entries of a table unmapped earlier, for the next map to fill in
    /// ([`Locked::new_table`]). Maps and unmaps run under the reservation lock, which guards it;
    /// it names no pages, so a migration meanwhile leaves nothing stale to use.
    spare: ResvCell<Option<SgEntries>>,
    /// How many pins [`Exporter::pin`] accepted and [`Exporter::unpin`] has not undone
    /// ([`Locked::pin_count`]); changed by the operations table under the reservation lock, as
    /// the core pins and unpins.
    pins: ResvCell<usize>,
}

/// The layer's per-attachment state: the exporter's, plus the live mappings.
///
/// The mappings need no lock of their own: the core maps and unmaps with the reservation lock
/// held, readers walk the attachment list under it, and `detach` runs once the core has taken the
/// attachment off that list.
///
/// # Invariants
///
/// The core holds pointers to the tables in `maps` until it hands them back through
/// `unmap_dma_buf`, so each stays where it is until then: the state is boxed, the first table
/// lives inline in it and the others in boxes of their own.
struct AttachState<T: Exporter> {
    data: T::AttachData,
    maps: ResvCell<Maps>,
}

/// The live mappings of one attachment. Most importers map an attachment once at a time, so the
/// first mapping costs no allocation beyond the table's entries.
#[derive(Default)]
struct Maps {
    first: Option<MappedSgTable>,
    more: KVec<KBox<MappedSgTable>>,
}

impl Maps {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    fn iter(&self) -> impl Iterator<Item = &MappedSgTable> {
        Iterator::chain(self.first.iter(), self.more.iter().map(|b| &**b))
    }

    /// Takes the mapping whose raw table is `sgt` out, once the core has handed it back.
    #[inline]
    fn take(&mut self, sgt: *mut bindings::sg_table) -> Option<MappedSgTable> {
        if self.first.as_ref().is_some_and(|m| m.as_raw() == sgt) {
            return self.first.take();
        }
        let i = self.more.iter().position(|m| m.as_raw() == sgt)?;
        self.more.remove(i).ok().map(KBox::into_inner)
    }
}

impl<T: Exporter> AttachState<T> {
    /// # Safety
    ///
    /// `raw` must be an attachment to a buffer of `T` for which `ExporterVTable::attach` succeeded and
    /// `ExporterVTable::detach` has not run.
    unsafe fn of<'a>(raw: *mut bindings::dma_buf_attachment) -> &'a Self {
        // SAFETY: `ExporterVTable::attach` stored a boxed `AttachState<T>` in `priv`.
        unsafe { &*(*raw).priv_.cast::<Self>() }
    }
}
