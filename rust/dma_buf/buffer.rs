// SPDX-License-Identifier: GPL-2.0

//! dma-buf objects, exporters and attachments.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)
//!
//! An exporter implements [`Exporter`] for its buffer type and declares one [`ExporterOps`]
//! static for it; [`Exported::export`] then creates dma-bufs backed by that type. The locking
//! convention of Linux 7.2 (`drivers/dma-buf/dma-buf.c`, "locking convention") is part of the
//! types: callbacks that the core calls with the buffer's reservation object held receive a
//! [`Locked`] view, which cannot take the lock again; callbacks called without it receive the
//! [`Exported`] buffer, which can ([`Exported::lock`]).

use crate::dma_buf::{
    ffi,
    pages::Pages,
    resv::{
        Resv,
        ResvGuard, //
    },
    sg_table::MappedSgTable, //
};
use core::{
    marker::PhantomData,
    ops::Deref,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    device::Device,
    dma::DataDirection,
    error::{
        from_err_ptr,
        from_result,
        VTABLE_DEFAULT_ERROR, //
    },
    ffi::{
        c_int,
        c_void, //
    },
    fs::File,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        Arc,
        Mutex, //
    },
    types::Opaque, //
};

/// Converts a C DMA direction (`enum dma_data_direction`, also the uAPI value of the importer)
/// into a [`DataDirection`]; `EINVAL` for `DMA_NONE` and anything else.
///
/// The kernel crate would carry this as `TryFrom<dma_data_direction> for DataDirection`; outside
/// it, the orphan rule allows only a function.
pub(crate) fn data_direction(dir: bindings::dma_data_direction) -> Result<DataDirection> {
    [
        DataDirection::Bidirectional,
        DataDirection::ToDevice,
        DataDirection::FromDevice,
    ]
    .into_iter()
    .find(|d| bindings::dma_data_direction::from(*d) == dir)
    .ok_or(EINVAL)
}

/// Like [`data_direction`], for a uAPI field that carries an `enum dma_data_direction` value.
pub(crate) fn data_direction_from_uapi(dir: u32) -> Result<DataDirection> {
    data_direction(bindings::dma_data_direction::try_from(dir).map_err(|_| EINVAL)?)
}

/// A dma-buf (`struct dma_buf`), of any exporter.
///
/// # Invariants
///
/// The object is a valid `struct dma_buf`; its reference count is that of its file.
#[repr(transparent)]
pub(crate) struct DmaBuf(Opaque<bindings::dma_buf>);

// SAFETY: dma-bufs are reference counted through their file, from any thread.
unsafe impl Send for DmaBuf {}

// SAFETY: The methods of `&DmaBuf` are safe to call concurrently; the C side does its own locking.
unsafe impl Sync for DmaBuf {}

// SAFETY: `get_dma_buf` and `dma_buf_put` take and drop a reference on the dma-buf's file, which
// keeps the dma-buf alive.
unsafe impl AlwaysRefCounted for DmaBuf {
    fn inc_ref(&self) {
        // SAFETY: By the type invariants `self` is a valid dma-buf.
        unsafe { ffi::vdmabuf_rs_get_dma_buf(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference, which this gives back.
        unsafe { bindings::dma_buf_put(obj.as_ptr().cast()) };
    }
}

impl DmaBuf {
    /// Takes a reference on the dma-buf behind file descriptor `fd` of the current process.
    ///
    /// Fails with `EBADF` if `fd` is not open and `EINVAL` if it is not a dma-buf.
    pub(crate) fn get(fd: i32) -> Result<ARef<Self>> {
        // SAFETY: `dma_buf_get` accepts any number and returns a referenced dma-buf or an error.
        let ptr = from_err_ptr(unsafe { bindings::dma_buf_get(fd) })?;
        // SAFETY: On success `dma_buf_get` returned a dma-buf with a reference we now own.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast())) })
    }

    /// Returns the raw `struct dma_buf`.
    pub(crate) fn as_raw(&self) -> *mut bindings::dma_buf {
        self.0.get()
    }

    /// Returns the buffer's size in bytes, fixed for its whole life.
    pub(crate) fn size(&self) -> usize {
        // SAFETY: `size` is set at export and never changes.
        unsafe { (*self.as_raw()).size }
    }

    /// Returns the dma-buf's file, for installing a file descriptor
    /// (see [`kernel::fs::file::FileDescriptorReservation`]).
    pub(crate) fn file(&self) -> &File {
        // SAFETY: `file` is set at export and lives as long as the dma-buf, which `self` keeps
        // alive. `fdget_pos` skips `f_pos_lock` only for files with `FMODE_ATOMIC_POS`, which
        // `do_dentry_open` sets for regular files and directories only (7.2: `fs/open.c`); a
        // dma-buf file is a pseudo file made by `alloc_file_pseudo`, so no light `fdget_pos`
        // region can exist on it.
        unsafe { File::from_raw_file((*self.as_raw()).file) }
    }

    /// Returns the inode number of the dma-buf's file, as `fstat()` and `bufinfo` show it.
    pub(crate) fn inode_number(&self) -> u64 {
        // SAFETY: The dma-buf's file and its inode live as long as the dma-buf; `i_ino` is set
        // when the inode is created and never changes.
        unsafe { (*(*(*self.as_raw()).file).f_inode).i_ino }
    }

    /// Returns the buffer's reservation object.
    pub(crate) fn resv(&self) -> &Resv {
        // SAFETY: `resv` is set at export and lives as long as the dma-buf.
        unsafe { Resv::from_raw((*self.as_raw()).resv) }
    }

    /// Returns the exporter's name.
    pub(crate) fn exporter_name(&self) -> &CStr {
        // SAFETY: `exp_name` is set at export and never changes. The core does not check it
        // (7.2: `dma_buf_export` checks only `priv`, `ops` and the mandatory operations), so this
        // trusts the exporter, as `dma_buf_debug_show` and fdinfo do, to pass a string that
        // lives as long as the buffer; every in-tree exporter passes a static one.
        unsafe { CStr::from_char_ptr((*self.as_raw()).exp_name) }
    }

    /// Returns the buffer as exported by `T`, if `T` exported it.
    pub(crate) fn downcast<T: Exporter>(&self) -> Option<&Exported<T>> {
        // SAFETY: `ops` is set at export and never changes.
        let ops = unsafe { (*self.as_raw()).ops };
        if core::ptr::eq(ops, T::ops().0.get()) {
            // SAFETY: The buffer was exported with `T`'s operations, so its `priv` is a `T`;
            // `Exported<T>` is `repr(transparent)` over `DmaBuf`.
            Some(unsafe { &*core::ptr::from_ref(self).cast::<Exported<T>>() })
        } else {
            None
        }
    }
}

/// The operations table of exporter `T`, declared once per exporter as a static:
/// `static OPS: ExporterOps<MyBuffer> = ExporterOps::new();`. Buffers are recognised as `T`'s by
/// the address of this table, as C exporters compare `dmabuf->ops`.
pub(crate) struct ExporterOps<T: Exporter>(Opaque<bindings::dma_buf_ops>, PhantomData<T>);

// SAFETY: The table is never written after initialisation.
unsafe impl<T: Exporter> Sync for ExporterOps<T> {}

impl<T: Exporter> ExporterOps<T> {
    /// Builds the operations table of `T`.
    pub(crate) const fn new() -> Self {
        build_assert!(T::HAS_PIN == T::HAS_UNPIN, "pin and unpin go together");
        build_assert!(T::HAS_VMAP == T::HAS_VUNMAP, "vmap and vunmap go together");
        Self(
            Opaque::new(bindings::dma_buf_ops {
                attach: Some(Glue::<T>::attach),
                detach: Some(Glue::<T>::detach),
                pin: if T::HAS_PIN {
                    Some(Glue::<T>::pin)
                } else {
                    None
                },
                unpin: if T::HAS_UNPIN {
                    Some(Glue::<T>::unpin)
                } else {
                    None
                },
                map_dma_buf: Some(Glue::<T>::map),
                unmap_dma_buf: Some(Glue::<T>::unmap),
                release: Some(Glue::<T>::release),
                begin_cpu_access: Some(Glue::<T>::begin_cpu_access),
                end_cpu_access: Some(Glue::<T>::end_cpu_access),
                mmap: if T::HAS_MMAP {
                    Some(Glue::<T>::mmap)
                } else {
                    None
                },
                vmap: if T::HAS_VMAP {
                    Some(Glue::<T>::vmap)
                } else {
                    None
                },
                vunmap: if T::HAS_VUNMAP {
                    Some(Glue::<T>::vunmap)
                } else {
                    None
                },
            }),
            PhantomData,
        )
    }
}

/// A dma-buf exporter: the `dma_buf_ops` of one buffer type.
///
/// The implementing type is the exporter's per-buffer state, owned by the dma-buf and dropped
/// when the dma-buf is released. Per-attachment state is [`Exporter::AttachData`], created by
/// [`Exporter::attach`] and dropped on detach.
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

    /// Pins the buffer in place for `attach` (dynamic exporters). Called with the lock held.
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
    fn mmap(_buf: &Exported<Self>, _vma: &Vma) -> Result {
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
/// The dma-buf's `ops` is `T::ops()` and its `priv` a `T` allocated by [`Exported::export`].
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
    /// Exports a new dma-buf whose exporter state is initialised by `data`.
    pub(crate) fn export(data: impl PinInit<T, Error>, opts: ExportOptions) -> Result<ARef<Self>> {
        let data = KBox::pin_init(data, GFP_KERNEL)?;
        // SAFETY: The state stays pinned: it is only accessed through `priv` until `release`
        // turns it back into the same pinned box.
        let data = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
        let info = bindings::dma_buf_export_info {
            exp_name: T::NAME.as_char_ptr(),
            owner: crate::THIS_MODULE.as_ptr(),
            ops: T::ops().0.get(),
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
            // INVARIANT: It was exported with `T`'s ops and a `T` as `priv`.
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
        // SAFETY: By the type invariants `priv` is a `T` that lives as long as the dma-buf,
        // which `self` keeps alive.
        unsafe { &*(*self.as_raw()).priv_.cast::<T>() }
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

    fn resv(&self) -> *mut bindings::dma_resv {
        // SAFETY: `resv` is set at export and never changes.
        unsafe { (*self.as_raw()).resv }
    }

    /// Removes every userspace mapping of the buffer; the next access faults and goes through
    /// [`Vma`] fault handling again.
    pub(crate) fn zap_user_mappings(&self) {
        // SAFETY: The dma-buf's file and its mapping are valid for the dma-buf's whole life.
        unsafe { bindings::unmap_mapping_range((*(*self.as_raw()).file).f_mapping, 0, 0, 1) };
    }

    /// Syncs every live DMA mapping of the buffer for CPU access, in the direction each was
    /// mapped. Takes the lock interruptibly.
    pub(crate) fn sync_mappings_for_cpu(&self) -> Result {
        self.lock()?.for_each_table(|table| table.sync_for_cpu());
        Ok(())
    }

    /// Syncs every live DMA mapping of the buffer back for the devices. Takes the lock
    /// uninterruptibly, so a signal cannot skip the flush.
    pub(crate) fn sync_mappings_for_device(&self) {
        self.lock_uninterruptible()
            .for_each_table(|table| table.sync_for_device());
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

    /// Returns the number of live DMA mappings, over all attachments.
    pub(crate) fn mapping_count(&self) -> usize {
        let mut n = 0;
        self.for_each_attachment(|_, state| n += state.maps.lock().len());
        n
    }

    /// Calls `f` for each live DMA mapping, over all attachments.
    fn for_each_table(&self, mut f: impl FnMut(&MappedSgTable)) {
        self.for_each_attachment(|_, state| state.maps.lock().iter().for_each(&mut f));
    }

    /// Calls `f` for each attachment; the list is stable because the lock is held.
    fn for_each_attachment(&self, mut f: impl FnMut(&Attachment, &AttachState<T>)) {
        // SAFETY: The attachment list is protected by the reservation lock, which is held.
        let head = unsafe { &raw mut (*self.buf.as_raw()).attachments };
        // SAFETY: `head` is a valid list head.
        let mut pos = unsafe { (*head).next };
        while pos != head {
            // SAFETY: Every entry of the list is the `node` of a `dma_buf_attachment`.
            let raw = unsafe { kernel::container_of!(pos, bindings::dma_buf_attachment, node) };
            // SAFETY: The attachment is on the list, so it is alive and `attach` gave it a state.
            let (att, state) = unsafe { (Attachment::from_raw(raw), AttachState::<T>::of(raw)) };
            f(att, state);
            // SAFETY: `pos` is a valid entry.
            pos = unsafe { (*pos).next };
        }
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

/// An attachment of a device to a dma-buf (`struct dma_buf_attachment`).
///
/// # Invariants
///
/// The object is a valid, live `struct dma_buf_attachment`.
#[repr(transparent)]
pub(crate) struct Attachment(Opaque<bindings::dma_buf_attachment>);

impl Attachment {
    /// # Safety
    ///
    /// `ptr` must be a valid attachment that stays alive for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::dma_buf_attachment) -> &'a Self {
        // SAFETY: `Attachment` is `repr(transparent)` over `Opaque<dma_buf_attachment>`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the importing device.
    pub(crate) fn device(&self) -> &Device {
        // SAFETY: `dev` is set at attach and never changes. The core takes no reference on it
        // (7.2: `dma_buf_dynamic_attach`); the C contract is that the importer keeps its device
        // alive until it detaches, and `self` lives no longer than the attachment.
        unsafe { Device::from_raw((*self.0.get()).dev) }
    }

    /// Returns whether the importer is dynamic (it handles `invalidate_mappings`).
    pub(crate) fn is_dynamic(&self) -> bool {
        // SAFETY: `importer_ops` is set at attach and never changes.
        unsafe { !(*self.0.get()).importer_ops.is_null() }
    }
}

/// The layer's per-attachment state: the exporter's, plus the live mappings. The core only
/// holds pointers to the tables; they stay owned here until the core hands them back.
#[pin_data]
struct AttachState<T: Exporter> {
    data: T::AttachData,
    #[pin]
    maps: Mutex<KVec<MappedSgTable>>,
}

impl<T: Exporter> AttachState<T> {
    /// # Safety
    ///
    /// `raw` must be an attachment to a buffer of `T` for which `Glue::attach` succeeded and
    /// `Glue::detach` has not run.
    unsafe fn of<'a>(raw: *mut bindings::dma_buf_attachment) -> &'a Self {
        // SAFETY: `Glue::attach` stored a pinned `AttachState<T>` in `priv`.
        unsafe { &*(*raw).priv_.cast::<Self>() }
    }
}

/// A shared userspace mapping of a dma-buf of this layer (`struct vm_area_struct`), as
/// [`Exporter::mmap`] sees it while it is being set up.
///
/// It has no method that installs pages: in `mmap` the VMA is not yet linked into the file's
/// mapping, so [`Exported::zap_user_mappings`] could not find pages installed there. Pages are
/// installed from [`Exporter::fault`] only, through [`FaultVma`].
///
/// # Invariants
///
/// The object is a valid VMA of a dma-buf file, with the mmap lock held as the callback needs.
#[repr(transparent)]
pub(crate) struct Vma(Opaque<bindings::vm_area_struct>);

impl Vma {
    fn raw(&self) -> *mut bindings::vm_area_struct {
        self.0.get()
    }

    /// Returns the first user address.
    pub(crate) fn start(&self) -> usize {
        // SAFETY: By the type invariants the VMA is valid.
        unsafe { (*self.raw()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// Returns the end of the mapping (exclusive).
    pub(crate) fn end(&self) -> usize {
        // SAFETY: By the type invariants the VMA is valid.
        unsafe { (*self.raw()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }

    /// Returns the offset into the buffer, in pages, at which the mapping starts.
    pub(crate) fn pgoff(&self) -> usize {
        // SAFETY: By the type invariants the VMA is valid.
        unsafe { (*self.raw()).vm_pgoff }
    }

    /// Returns whether the mapping is shared (`MAP_SHARED`). A shared mapping of a read-only
    /// file has `VM_MAYSHARE` but not `VM_SHARED`, so this tests the former (in C: the 7.2
    /// bindings define `VM_MAYSHARE` wrongly).
    pub(crate) fn is_shared(&self) -> bool {
        // SAFETY: By the type invariants the VMA is valid.
        unsafe { ffi::vdmabuf_rs_vma_is_shared(self.raw()) }
    }
}

/// The outcome of a page fault (`vm_fault_t`), as [`Exporter::fault`] returns it to the MM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VmFault(bindings::vm_fault_t);

impl VmFault {
    /// The pages are in place (`VM_FAULT_NOPAGE`): retry the access.
    pub(crate) const NOPAGE: Self = Self(bindings::vm_fault_reason_VM_FAULT_NOPAGE);
    /// The access is outside what the buffer backs (`VM_FAULT_SIGBUS`).
    pub(crate) const SIGBUS: Self = Self(bindings::vm_fault_reason_VM_FAULT_SIGBUS);
    /// Memory for page tables ran out (`VM_FAULT_OOM`).
    pub(crate) const OOM: Self = Self(bindings::vm_fault_reason_VM_FAULT_OOM);
}

/// A mapping set up by the layer's `mmap`, in its fault handler: the one place that installs
/// page-table entries.
///
/// # Invariants
///
/// The object is a valid VMA set up by `Glue::mmap`: shared, not copy-on-write, `VM_PFNMAP` and
/// not `VM_MIXEDMAP` (the conditions under which `vmf_insert_pfn` does not `BUG`), and linked
/// into the dma-buf file's mapping, so [`Exported::zap_user_mappings`] reaches whatever is
/// installed in it. The fault holds the mmap lock or the VMA's lock for reading.
#[repr(transparent)]
pub(crate) struct FaultVma(Vma);

impl Deref for FaultVma {
    type Target = Vma;

    fn deref(&self) -> &Vma {
        &self.0
    }
}

impl FaultVma {
    /// Installs the part of `pages` that this VMA covers, starting at its page offset: the whole
    /// mapping in one fault, so later accesses run at memory speed.
    ///
    /// The caller must hold whatever keeps `pages` the buffer's pages until the entries are
    /// zapped (for vdmabuf, the lock that migration zaps under): the entries hold no page
    /// references.
    pub(crate) fn insert_pages(&self, pages: &Pages) -> VmFault {
        let mut fault = VmFault::NOPAGE;
        let res = self.for_each_run(pages, |addr, pfn, len| {
            for i in 0..len / PAGE_SIZE {
                // SAFETY: By the type invariants the VMA is a `VM_PFNMAP`, non-COW mapping and
                // the fault holds the lock `vmf_insert_pfn` needs; the address is inside the VMA
                // (`for_each_run` clips to it) and the page frame belongs to `pages`.
                let ret =
                    unsafe { bindings::vmf_insert_pfn(self.raw(), addr + i * PAGE_SIZE, pfn + i) };
                if ret != VmFault::NOPAGE.0 {
                    fault = VmFault(ret);
                    return Err(EFAULT);
                }
            }
            Ok(())
        });
        match res {
            Ok(()) => VmFault::NOPAGE,
            Err(_) if fault != VmFault::NOPAGE => fault,
            // The VMA reaches past the buffer: no page backs the address.
            Err(_) => VmFault::SIGBUS,
        }
    }

    /// Calls `f(addr, pfn, len)` for each run of physically contiguous memory under the VMA.
    fn for_each_run(
        &self,
        pages: &Pages,
        mut f: impl FnMut(usize, usize, usize) -> Result,
    ) -> Result {
        let (mut addr, end) = (self.start(), self.end());
        let mut skip = self.pgoff().checked_mul(PAGE_SIZE).ok_or(EINVAL)?;
        for block in pages.blocks() {
            if addr >= end {
                break;
            }
            if skip >= block.len() {
                skip -= block.len();
                continue;
            }
            let len = core::cmp::min(block.len() - skip, end - addr);
            f(addr, block.pfn() + skip / PAGE_SIZE, len)?;
            addr += len;
            skip = 0;
        }
        // The core checks the range against the buffer's size at mmap, and `VM_DONTEXPAND`
        // keeps it from growing, so this means a bug.
        if addr < end {
            return Err(EINVAL);
        }
        Ok(())
    }
}

/// An owned kernel mapping (`vmap`) of [`Pages`], unmapped on drop.
///
/// # Invariants
///
/// `addr` was returned by `vmap` for all of `pages` and is unmapped only on drop.
pub(crate) struct Vmap {
    addr: NonNull<u8>,
    pages: Arc<Pages>,
}

// SAFETY: The mapping may be used and removed from any thread.
unsafe impl Send for Vmap {}

// SAFETY: `&Vmap` only hands out the address and does cache maintenance.
unsafe impl Sync for Vmap {}

impl Vmap {
    /// Maps `pages` contiguously into the kernel's address space.
    pub(crate) fn new(pages: Arc<Pages>) -> Result<Self> {
        let count = pages.size() / PAGE_SIZE;
        let mut array = KVVec::with_capacity(count, GFP_KERNEL)?;
        for block in pages.blocks() {
            for i in 0..block.page_count() {
                array.push(block.page(i), GFP_KERNEL)?;
            }
        }
        let n = u32::try_from(count).map_err(|_| E2BIG)?;
        // SAFETY: `array` holds `n` valid pages of `pages`, which the mapping keeps alive.
        let addr = unsafe { ffi::vdmabuf_rs_vmap(array.as_mut_ptr(), n) };
        let addr = NonNull::new(addr.cast::<u8>()).ok_or(ENOMEM)?;
        // INVARIANT: `addr` maps all of `pages`.
        Ok(Self { addr, pages })
    }

    /// Returns the mapping's size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.pages.size()
    }

    /// Returns the mapping's address.
    pub(crate) fn addr(&self) -> NonNull<u8> {
        self.addr
    }

    /// Makes device writes visible to CPU reads through the mapping.
    pub(crate) fn invalidate(&self) {
        self.for_each_chunk(|addr, len| {
            // SAFETY: By the type invariants `addr` maps `len()` bytes; `for_each_chunk` stays
            // inside them.
            unsafe { ffi::vdmabuf_rs_invalidate_kernel_vmap_range(addr, len) }
        });
    }

    /// Makes CPU writes through the mapping visible to devices.
    pub(crate) fn flush(&self) {
        self.for_each_chunk(|addr, len| {
            // SAFETY: By the type invariants `addr` maps `len()` bytes; `for_each_chunk` stays
            // inside them.
            unsafe { ffi::vdmabuf_rs_flush_kernel_vmap_range(addr, len) }
        });
    }

    /// Calls `f(addr, len)` over the whole mapping in pieces whose length fits the `int` that
    /// the C cache maintenance functions take.
    fn for_each_chunk(&self, f: impl Fn(*mut c_void, c_int)) {
        const CHUNK: usize = 1 << 30;
        let mut offset = 0;
        while offset < self.len() {
            let n = core::cmp::min(CHUNK, self.len() - offset);
            // SAFETY: `offset < len()`, so the address is inside the mapping.
            let addr = unsafe { self.addr.as_ptr().add(offset) };
            // CAST: `n <= CHUNK`, which fits in a `c_int`.
            f(addr.cast(), n as c_int);
            offset += n;
        }
    }
}

impl Drop for Vmap {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `addr` is a live `vmap` mapping.
        unsafe { ffi::vdmabuf_rs_vunmap(self.addr.as_ptr().cast()) };
    }
}

/// Converts a callback's result into what C expects: 0 or a negative errno.
fn to_errno(res: Result) -> c_int {
    from_result(|| res.map(|()| 0))
}

/// The `extern "C"` callbacks of [`ExporterOps`].
struct Glue<T: Exporter>(PhantomData<T>);

impl<T: Exporter> Glue<T> {
    const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
        fault: Some(Self::fault),
        ..pin_init::zeroed()
    };

    /// # Safety
    ///
    /// `attach` must be a valid attachment to a dma-buf exported by `T` whose reservation lock
    /// is held, and `'a` must not outlive either.
    unsafe fn locked<'a>(attach: *mut bindings::dma_buf_attachment) -> Locked<'a, T> {
        // SAFETY: The attachment is valid, so its `dmabuf` is.
        let dmabuf = unsafe { (*attach).dmabuf };
        // SAFETY: Asserting is always safe; with lockdep on it checks what the caller promises.
        unsafe { ffi::vdmabuf_rs_dma_resv_assert_held((*dmabuf).resv) };
        // SAFETY: The buffer was exported by `T` and is alive while attached.
        let buf = unsafe { Exported::from_raw(dmabuf) };
        Locked { buf }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.attach`.
    unsafe extern "C" fn attach(
        dmabuf: *mut bindings::dma_buf,
        attach: *mut bindings::dma_buf_attachment,
    ) -> c_int {
        // SAFETY: The core passes a live buffer of ours and a new attachment.
        let (buf, att) = unsafe {
            (
                Exported::<T>::from_raw(dmabuf),
                Attachment::from_raw(attach),
            )
        };
        let state = T::attach(buf, att).and_then(|data| {
            KBox::pin_init(
                pin_init!(AttachState::<T> {
                    data,
                    maps <- new_mutex!(KVec::new()),
                }),
                GFP_KERNEL,
            )
        });
        match state {
            Ok(state) => {
                // SAFETY: The state is only used pinned, through `AttachState::of`, until
                // `detach` turns it back into the same pinned box.
                let state = KBox::into_raw(unsafe { Pin::into_inner_unchecked(state) });
                // SAFETY: The attachment is ours to set up.
                unsafe { (*attach).priv_ = state.cast() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.detach`.
    unsafe extern "C" fn detach(
        dmabuf: *mut bindings::dma_buf,
        attach: *mut bindings::dma_buf_attachment,
    ) {
        // SAFETY: `attach` stored this box in `priv`; the core never uses the attachment again.
        let state = unsafe { KBox::from_raw((*attach).priv_.cast::<AttachState<T>>()) };
        // SAFETY: The core passes a live buffer of ours and the attachment being detached, which
        // stays valid until this returns.
        let (buf, att) = unsafe {
            (
                Exported::<T>::from_raw(dmabuf),
                Attachment::from_raw(attach),
            )
        };
        // `dma_buf_detach` does not unmap (7.2: `drivers/dma-buf/dma-buf.c`), so a buggy importer
        // can detach with tables it still uses. Freeing them would pull memory from under its
        // device; leak them with a warning instead, as C exporters do.
        {
            let mut maps = state.maps.lock();
            if !maps.is_empty() {
                pr_warn!(
                    "importer detached with {} live mappings; leaking them\n",
                    maps.len()
                );
            }
            while let Some(table) = maps.pop() {
                core::mem::forget(table);
            }
        }
        T::detach(buf, att, &state.data);
        drop(state);
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.pin`, with the reservation lock held.
    unsafe extern "C" fn pin(attach: *mut bindings::dma_buf_attachment) -> c_int {
        // SAFETY: As required for `pin`.
        let (buf, att) = unsafe { (Self::locked(attach), Attachment::from_raw(attach)) };
        to_errno(T::pin(&buf, att))
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.unpin`, with the reservation lock held.
    unsafe extern "C" fn unpin(attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: As required for `unpin`.
        let (buf, att) = unsafe { (Self::locked(attach), Attachment::from_raw(attach)) };
        T::unpin(&buf, att);
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.map_dma_buf`, with the reservation lock held.
    unsafe extern "C" fn map(
        attach: *mut bindings::dma_buf_attachment,
        dir: bindings::dma_data_direction,
    ) -> *mut bindings::sg_table {
        // SAFETY: As required for `map_dma_buf`; `attach` succeeded for this attachment.
        let (buf, att, state) = unsafe {
            (
                Self::locked(attach),
                Attachment::from_raw(attach),
                AttachState::<T>::of(attach),
            )
        };
        let dir = match data_direction(dir) {
            Ok(dir) => dir,
            Err(e) => return e.to_ptr(),
        };
        // The table stays here until `unmap` takes it back; the core only keeps the pointer.
        // Room for it is made first, so that no table the exporter made is ever dropped
        // without going through `T::unmap`.
        let mut maps = state.maps.lock();
        if let Err(e) = maps.reserve(1, GFP_KERNEL) {
            return Error::from(e).to_ptr();
        }
        let table = match T::map(&buf, att, &state.data, dir) {
            Ok(table) => table,
            Err(e) => return e.to_ptr(),
        };
        let sgt = table.as_raw();
        match maps.push_within_capacity(table) {
            Ok(()) => sgt,
            Err(kernel::alloc::kvec::PushError(table)) => {
                // Unreachable: room was reserved above under the same lock.
                T::unmap(&buf, att, &state.data, table);
                ENOMEM.to_ptr()
            }
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.unmap_dma_buf`, with the reservation lock
    /// held, for a table returned by `map`.
    unsafe extern "C" fn unmap(
        attach: *mut bindings::dma_buf_attachment,
        sgt: *mut bindings::sg_table,
        _dir: bindings::dma_data_direction,
    ) {
        // SAFETY: As required for `unmap_dma_buf`.
        let (buf, att, state) = unsafe {
            (
                Self::locked(attach),
                Attachment::from_raw(attach),
                AttachState::<T>::of(attach),
            )
        };
        let table = {
            let mut maps = state.maps.lock();
            let i = maps.iter().position(|m| m.as_raw() == sgt);
            i.and_then(|i| maps.remove(i).ok())
        };
        match table {
            Some(table) => T::unmap(&buf, att, &state.data, table),
            None => pr_err!("unmap of a table this exporter did not map\n"),
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.release`, once, when the last reference is
    /// gone.
    unsafe extern "C" fn release(dmabuf: *mut bindings::dma_buf) {
        // SAFETY: `export` stored a pinned `KBox<T>` in `priv`; nothing uses it after release.
        drop(unsafe { Pin::new_unchecked(KBox::from_raw((*dmabuf).priv_.cast::<T>())) });
    }

    /// Runs a CPU access callback of `T`.
    ///
    /// # Safety
    ///
    /// `dmabuf` must be a live buffer exported by `T`.
    unsafe fn cpu_access(
        dmabuf: *mut bindings::dma_buf,
        dir: bindings::dma_data_direction,
        f: fn(&Exported<T>, DataDirection) -> Result,
    ) -> c_int {
        // SAFETY: As required by the function.
        let buf = unsafe { Exported::<T>::from_raw(dmabuf) };
        to_errno(data_direction(dir).and_then(|d| f(buf, d)))
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.begin_cpu_access`, without the lock.
    unsafe extern "C" fn begin_cpu_access(
        dmabuf: *mut bindings::dma_buf,
        dir: bindings::dma_data_direction,
    ) -> c_int {
        // SAFETY: As required for `begin_cpu_access`.
        unsafe { Self::cpu_access(dmabuf, dir, T::begin_cpu_access) }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.end_cpu_access`, without the lock.
    unsafe extern "C" fn end_cpu_access(
        dmabuf: *mut bindings::dma_buf,
        dir: bindings::dma_data_direction,
    ) -> c_int {
        // SAFETY: As required for `end_cpu_access`.
        unsafe { Self::cpu_access(dmabuf, dir, T::end_cpu_access) }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.mmap`, with the mmap lock held for writing.
    unsafe extern "C" fn mmap(
        dmabuf: *mut bindings::dma_buf,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: The core passes a live buffer of ours and a VMA being set up.
        let (buf, v) = unsafe { (Exported::<T>::from_raw(dmabuf), &*vma.cast::<Vma>()) };
        // Private mappings would give copy-on-write pages the buffer does not own.
        if !v.is_shared() {
            return EINVAL.to_errno();
        }
        if let Err(e) = T::mmap(buf, v) {
            return e.to_errno();
        }
        // SAFETY: The VMA is being set up with the mmap lock held for writing, so its flags are
        // ours to set.
        // INVARIANT: From here the VMA is what `FaultVma` requires, once the core links it.
        unsafe { ffi::vdmabuf_rs_vma_set_pfnmap(vma) };
        // SAFETY: As above; the ops table is a constant promoted to a static.
        unsafe { (*vma).vm_ops = &Self::VM_OPS };
        0
    }

    /// # Safety
    ///
    /// Called by the MM as `vm_operations_struct.fault` for a VMA set up by `mmap`.
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The MM passes a valid fault whose VMA maps a dma-buf file of ours (these are
        // our `vm_ops`, set only by `mmap`); the VMA holds a reference on the file, so the buffer
        // is alive. A faulting VMA is linked into the file's mapping and `mmap` made it
        // `VM_PFNMAP`, as `FaultVma` requires.
        let (buf, v) = unsafe {
            let vma = (*vmf).__bindgen_anon_1.vma;
            let dmabuf = (*(*vma).vm_file).private_data.cast::<bindings::dma_buf>();
            (Exported::<T>::from_raw(dmabuf), &*vma.cast::<FaultVma>())
        };
        T::fault(buf, v).0
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.vmap`, with the reservation lock held.
    unsafe extern "C" fn vmap(
        dmabuf: *mut bindings::dma_buf,
        map: *mut bindings::iosys_map,
    ) -> c_int {
        // SAFETY: Asserting is always safe; the core calls `vmap` and `vunmap` with the lock
        // held (7.2: `dma_buf_vmap`, `dma_buf_vunmap`), which lockdep checks here when enabled.
        unsafe { ffi::vdmabuf_rs_dma_resv_assert_held((*dmabuf).resv) };
        // SAFETY: The core passes a live buffer of ours.
        let buf = unsafe { Exported::<T>::from_raw(dmabuf) };
        match T::vmap(&Locked { buf }) {
            Ok(addr) => {
                // SAFETY: `map` is the core's `iosys_map` for the result.
                unsafe { ffi::vdmabuf_rs_iosys_map_set_vaddr(map, addr.as_ptr().cast::<c_void>()) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.vunmap`, with the reservation lock held, for
    /// the mapping `vmap` returned.
    unsafe extern "C" fn vunmap(dmabuf: *mut bindings::dma_buf, map: *mut bindings::iosys_map) {
        // SAFETY: Asserting is always safe; the core calls `vmap` and `vunmap` with the lock
        // held (7.2: `dma_buf_vmap`, `dma_buf_vunmap`), which lockdep checks here when enabled.
        unsafe { ffi::vdmabuf_rs_dma_resv_assert_held((*dmabuf).resv) };
        // SAFETY: The core passes a live buffer of ours.
        let buf = unsafe { Exported::<T>::from_raw(dmabuf) };
        // SAFETY: `map` is the mapping `vmap` set.
        if let Some(addr) = NonNull::new(unsafe { ffi::vdmabuf_rs_iosys_map_vaddr(map) }) {
            T::vunmap(&Locked { buf }, addr.cast());
        }
    }
}
