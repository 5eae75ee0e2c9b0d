// SPDX-License-Identifier: GPL-2.0

//! dma-buf objects (`struct dma_buf`) of any exporter, and DMA directions.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)

#[cfg(dma_buf_exporter)]
use crate::dma_buf::exporter::{
    Exported,
    Exporter, //
};
use crate::dma_buf::{helpers, resv::Resv};
use core::{
    ptr::NonNull, //
};
use kernel::{
    bindings,
    dma::DataDirection,
    error::from_err_ptr,
    prelude::*,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        }, //
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

#[cfg(dma_buf_importer)]
/// Like [`data_direction`], for a uAPI field that carries an `enum dma_data_direction` value.
pub(crate) fn data_direction_from_uapi(dir: u32) -> Result<DataDirection> {
    data_direction(bindings::dma_data_direction::try_from(dir).map_err(|_| EINVAL)?)
}

/// A dma-buf (`struct dma_buf`), of any exporter.
///
/// # Invariants
///
/// The object is a valid `struct dma_buf`; its reference count is that of its file.
///
/// # Examples
///
/// ```ignore
/// let buf = DmaBuf::get(fd)?; // EBADF, or EINVAL for a file that is no dma-buf
/// pr_info!("{} bytes from {}\n", buf.size(), buf.exporter_name());
/// ```
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
        unsafe { helpers::get_dma_buf(self.as_raw()) };
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

    /// Calls `f` with each attachment of the buffer, in list order: the walk the exporter's
    /// CPU-access syncs and the importer's mapping count share.
    ///
    /// # Safety
    ///
    /// The buffer's reservation lock, which protects the list, must be held for the whole call,
    /// and `f` must not detach an attachment.
    pub(crate) unsafe fn for_each_attachment(
        &self,
        mut f: impl FnMut(*mut bindings::dma_buf_attachment),
    ) {
        // SAFETY: The caller holds the reservation lock, which protects the list.
        let head = unsafe { &raw mut (*self.as_raw()).attachments };
        // SAFETY: `head` is a valid list head.
        let mut pos = unsafe { (*head).next };
        while pos != head {
            // SAFETY: Every entry of the list is the `node` of a `dma_buf_attachment`.
            f(unsafe { kernel::container_of!(pos, bindings::dma_buf_attachment, node) });
            // SAFETY: `pos` is still on the list: `f` detaches nothing, and the lock is held.
            pos = unsafe { (*pos).next };
        }
    }

    /// Returns the buffer's size in bytes, fixed for its whole life.
    pub(crate) fn size(&self) -> usize {
        // SAFETY: `size` is set at export and never changes.
        unsafe { (*self.as_raw()).size }
    }

    /// Returns the dma-buf's file, for installing a file descriptor
    /// (see [`kernel::fs::file::FileDescriptorReservation`]).
    #[cfg(dma_buf_exporter)]
    pub(crate) fn file(&self) -> &kernel::fs::File {
        // SAFETY: `file` is set at export and lives as long as the dma-buf, which `self` keeps
        // alive. `fdget_pos` skips `f_pos_lock` only for files with `FMODE_ATOMIC_POS`, which
        // `do_dentry_open` sets for regular files and directories only (7.2: `fs/open.c`); a
        // dma-buf file is a pseudo file made by `alloc_file_pseudo`, so no light `fdget_pos`
        // region can exist on it.
        unsafe { kernel::fs::File::from_raw_file((*self.as_raw()).file) }
    }

    /// Returns the inode number of the dma-buf's file, as `fstat()` and `bufinfo` show it.
    #[cfg(dma_buf_exporter)]
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
    #[cfg(dma_buf_importer)]
    pub(crate) fn exporter_name(&self) -> &CStr {
        // SAFETY: `exp_name` is set at export and never changes. The core does not check it
        // (7.2: `dma_buf_export` checks only `priv`, `ops` and the mandatory operations), so this
        // trusts the exporter, as `dma_buf_debug_show` and fdinfo do, to pass a string that
        // lives as long as the buffer; every in-tree exporter passes a static one.
        unsafe { CStr::from_char_ptr((*self.as_raw()).exp_name) }
    }

    /// Returns the buffer as exported by `T`, if `T` exported it.
    #[cfg(dma_buf_exporter)]
    pub(crate) fn downcast<T: Exporter>(&self) -> Option<&Exported<T>> {
        // SAFETY: `ops` is set at export and never changes.
        let ops = unsafe { (*self.as_raw()).ops };
        if core::ptr::eq(ops, T::ops().as_raw()) {
            // SAFETY: The buffer was exported with `T`'s operations, so its `priv` is a `T`;
            // `Exported<T>` is `repr(transparent)` over `DmaBuf`.
            Some(unsafe { &*core::ptr::from_ref(self).cast::<Exported<T>>() })
        } else {
            None
        }
    }
}
