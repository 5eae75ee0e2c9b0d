// SPDX-License-Identifier: GPL-2.0

//! The `extern "C"` callbacks of [`ExporterOps`](super::ExporterOps): each turns the C call
//! into a call of the [`Exporter`] method, with the types that encode the locking convention.

use super::{
    AttachState,
    ExportState,
    Exported,
    Exporter,
    Locked,
    Maps, //
};
use crate::dma_buf::{
    attachment::Attachment,
    buffer::data_direction,
    helpers,
    resv::ResvCell,
    vma::{
        self,
        FaultVma, //
    },
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    dma::DataDirection,
    error::from_result,
    ffi::{
        c_int,
        c_void, //
    },
    mm::virt::VmaNew,
    prelude::*,
};

/// Converts a callback's result into what C expects: 0 or a negative errno.
fn to_errno(res: Result) -> c_int {
    from_result(|| res.map(|()| 0))
}

/// The `extern "C"` callbacks of [`ExporterOps`].
pub(super) struct ExporterVTable<T: Exporter>(PhantomData<T>);

impl<T: Exporter> ExporterVTable<T> {
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
        // SAFETY: Asserting is always safe; it checks what the caller promises. Without lockdep
        // it does nothing, and the call is left out: these callbacks run on every map.
        #[cfg(CONFIG_LOCKDEP)]
        unsafe {
            helpers::dma_resv_assert_held((*dmabuf).resv)
        };
        // SAFETY: The buffer was exported by `T` and is alive while attached.
        let buf = unsafe { Exported::from_raw(dmabuf) };
        Locked { buf }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.attach`.
    pub(super) unsafe extern "C" fn attach(
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
            let maps = ResvCell::new(Maps::default());
            Ok(KBox::new(AttachState::<T> { data, maps }, GFP_KERNEL)?)
        });
        match state {
            Ok(state) => {
                // SAFETY: The attachment is ours to set up; the box stays there until `detach`.
                unsafe { (*attach).priv_ = KBox::into_raw(state).cast() };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.detach`.
    pub(super) unsafe extern "C" fn detach(
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
        // device; leak them with a warning instead, as C exporters do (the first one lives in
        // the state, which then leaks too).
        let keep_state = {
            // SAFETY: The core took the attachment off the buffer's list before calling this,
            // so nothing else reaches the mappings; the reference ends with the block.
            let maps = unsafe { state.maps.get() };
            if maps.len() != 0 {
                pr_warn!(
                    "importer detached with {} live mappings; leaking them\n",
                    maps.len()
                );
            }
            while let Some(table) = maps.more.pop() {
                core::mem::forget(table);
            }
            maps.first.is_some()
        };
        T::detach(buf, att, &state.data);
        if keep_state {
            KBox::leak(state);
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.pin`, with the reservation lock held.
    pub(super) unsafe extern "C" fn pin(attach: *mut bindings::dma_buf_attachment) -> c_int {
        // SAFETY: As required for `pin`.
        let (buf, att) = unsafe { (Self::locked(attach), Attachment::from_raw(attach)) };
        let res = T::pin(&buf, att);
        if res.is_ok() {
            // SAFETY: The reservation lock is held; the reference ends with the statement.
            *unsafe { buf.buf.state().pins.get() } += 1;
        }
        to_errno(res)
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.unpin`, with the reservation lock held.
    pub(super) unsafe extern "C" fn unpin(attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: As required for `unpin`.
        let (buf, att) = unsafe { (Self::locked(attach), Attachment::from_raw(attach)) };
        T::unpin(&buf, att);
        // SAFETY: The reservation lock is held; the reference ends with the block.
        let pins = unsafe { buf.buf.state().pins.get() };
        match pins.checked_sub(1) {
            Some(n) => *pins = n,
            // The core unpins only what it pinned (7.2: `dma_buf_unpin` after a successful
            // `dma_buf_pin`), so this is a core or importer bug.
            None => pr_err!("{}: unpin without a pin\n", T::NAME),
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.map_dma_buf`, with the reservation lock held.
    pub(super) unsafe extern "C" fn map(
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
        // without going through `T::unmap`. The mappings are reached only between calls into
        // the exporter, which may invalidate mappings and so re-enter `unmap`.
        // SAFETY: The core holds the reservation lock; the reference ends with the statement.
        let slot = if unsafe { state.maps.get() }.first.is_none() {
            None
        } else {
            // SAFETY: As above.
            if let Err(e) = unsafe { state.maps.get() }.more.reserve(1, GFP_KERNEL) {
                return Error::from(e).to_ptr();
            }
            match KBox::new_uninit(GFP_KERNEL) {
                Ok(slot) => Some(slot),
                Err(e) => return Error::from(e).to_ptr(),
            }
        };
        let table = match T::map(&buf, att, &state.data, dir) {
            Ok(table) => table,
            Err(e) => return e.to_ptr(),
        };
        // SAFETY: As above; no call into the exporter happens while the reference lives, except
        // `T::unmap` on the unreachable path, after its last use.
        let maps = unsafe { state.maps.get() };
        // INVARIANT: The table goes to its place in the boxed state (or a box of its own) before
        // the core sees its address, and stays there until `unmap`.
        if maps.first.is_none() {
            return maps.first.insert(table).as_raw();
        }
        // Unreachable without a slot: the first one was taken when checked above, and only
        // `unmap` of this attachment empties it.
        let Some(slot) = slot else {
            T::unmap(&buf, att, &state.data, table);
            return EBUSY.to_ptr();
        };
        let table = KBox::write(slot, table);
        let sgt = table.as_raw();
        match maps.more.push_within_capacity(table) {
            Ok(()) => sgt,
            Err(kernel::alloc::kvec::PushError(table)) => {
                // Unreachable: room was reserved above, and only this attachment's `map` uses
                // it.
                T::unmap(&buf, att, &state.data, KBox::into_inner(table));
                ENOMEM.to_ptr()
            }
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.unmap_dma_buf`, with the reservation lock
    /// held, for a table returned by `map`.
    pub(super) unsafe extern "C" fn unmap(
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
        // SAFETY: The core holds the reservation lock; the reference ends with the statement.
        let table = unsafe { state.maps.get() }.take(sgt);
        match table {
            Some(table) => T::unmap(&buf, att, &state.data, table),
            None => pr_err!("unmap of a table this exporter did not map\n"),
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.release`, once, when the last reference is
    /// gone.
    pub(super) unsafe extern "C" fn release(dmabuf: *mut bindings::dma_buf) {
        // SAFETY: `export` stored a pinned `KBox<ExportState<T>>` in `priv`; nothing uses it
        // after release.
        drop(unsafe {
            Pin::new_unchecked(KBox::from_raw((*dmabuf).priv_.cast::<ExportState<T>>()))
        });
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
    pub(super) unsafe extern "C" fn begin_cpu_access(
        dmabuf: *mut bindings::dma_buf,
        dir: bindings::dma_data_direction,
    ) -> c_int {
        // SAFETY: As required for `begin_cpu_access`.
        unsafe { Self::cpu_access(dmabuf, dir, T::begin_cpu_access) }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.end_cpu_access`, without the lock.
    pub(super) unsafe extern "C" fn end_cpu_access(
        dmabuf: *mut bindings::dma_buf,
        dir: bindings::dma_data_direction,
    ) -> c_int {
        // SAFETY: As required for `end_cpu_access`.
        unsafe { Self::cpu_access(dmabuf, dir, T::end_cpu_access) }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.mmap`, with the mmap lock held for writing.
    pub(super) unsafe extern "C" fn mmap(
        dmabuf: *mut bindings::dma_buf,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: The core passes a live buffer of ours and a VMA undergoing its initial setup
        // for the duration of this call.
        let (buf, v) = unsafe { (Exported::<T>::from_raw(dmabuf), VmaNew::from_raw(vma)) };
        // Private mappings would give copy-on-write pages the buffer does not own.
        if !vma::is_shared(v) {
            return EINVAL.to_errno();
        }
        if let Err(e) = T::mmap(buf, v) {
            return e.to_errno();
        }
        // INVARIANT: From here the VMA is what `FaultVma` requires, once the core links it.
        vma::make_pfnmap(v);
        // SAFETY: The VMA is being set up with the mmap lock held for writing, so its operations
        // are ours to set; the table is a constant promoted to a static.
        unsafe { (*vma).vm_ops = &Self::VM_OPS };
        0
    }

    /// # Safety
    ///
    /// Called by the MM as `vm_operations_struct.fault` for a VMA set up by `mmap`.
    pub(super) unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The MM passes a valid fault whose VMA maps a dma-buf file of ours (these are
        // our `vm_ops`, set only by `mmap`); the VMA holds a reference on the file, so the buffer
        // is alive. A faulting VMA is linked into the file's mapping and `mmap` made it
        // `VM_PFNMAP`, as `FaultVma` requires.
        let (buf, v) = unsafe {
            let vma = (*vmf).__bindgen_anon_1.vma;
            let dmabuf = (*(*vma).vm_file).private_data.cast::<bindings::dma_buf>();
            (Exported::<T>::from_raw(dmabuf), FaultVma::from_raw(vma))
        };
        T::fault(buf, v).as_raw()
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.vmap`, with the reservation lock held.
    pub(super) unsafe extern "C" fn vmap(
        dmabuf: *mut bindings::dma_buf,
        map: *mut bindings::iosys_map,
    ) -> c_int {
        // SAFETY: Asserting is always safe; the core calls `vmap` and `vunmap` with the lock
        // held (7.2: `dma_buf_vmap`, `dma_buf_vunmap`), which lockdep checks here when enabled.
        unsafe { helpers::dma_resv_assert_held((*dmabuf).resv) };
        // SAFETY: The core passes a live buffer of ours.
        let buf = unsafe { Exported::<T>::from_raw(dmabuf) };
        match T::vmap(&Locked { buf }) {
            Ok(addr) => {
                // SAFETY: `map` is the core's `iosys_map` for the result.
                unsafe { helpers::iosys_map_set_vaddr(map, addr.as_ptr().cast::<c_void>()) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.vunmap`, with the reservation lock held, for
    /// the mapping `vmap` returned.
    pub(super) unsafe extern "C" fn vunmap(
        dmabuf: *mut bindings::dma_buf,
        map: *mut bindings::iosys_map,
    ) {
        // SAFETY: Asserting is always safe; the core calls `vmap` and `vunmap` with the lock
        // held (7.2: `dma_buf_vmap`, `dma_buf_vunmap`), which lockdep checks here when enabled.
        unsafe { helpers::dma_resv_assert_held((*dmabuf).resv) };
        // SAFETY: The core passes a live buffer of ours.
        let buf = unsafe { Exported::<T>::from_raw(dmabuf) };
        // SAFETY: `map` is the mapping `vmap` set.
        if let Some(addr) = NonNull::new(unsafe { helpers::iosys_map_vaddr(map) }) {
            T::vunmap(&Locked { buf }, addr.cast());
        }
    }

    /// # Safety
    ///
    /// Called by the dma-buf core as `dma_buf_ops.show_fdinfo`, from the fdinfo of a file
    /// descriptor of the buffer, which keeps it alive.
    #[cfg(dma_buf_show_fdinfo)]
    pub(super) unsafe extern "C" fn show_fdinfo(
        m: *mut bindings::seq_file,
        dmabuf: *mut bindings::dma_buf,
    ) {
        // SAFETY: The core passes a live buffer of ours, and a seq_file that only this call
        // uses until it returns.
        let (buf, m) = unsafe {
            (
                Exported::<T>::from_raw(dmabuf),
                kernel::seq_file::SeqFile::from_raw(m),
            )
        };
        T::show_fdinfo(buf, m);
    }
}
