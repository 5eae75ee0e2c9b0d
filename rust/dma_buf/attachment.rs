// SPDX-License-Identifier: GPL-2.0

//! Attachments of devices to dma-bufs (`struct dma_buf_attachment`), as exporters see them.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)

use kernel::{
    bindings,
    device::Device,
    types::Opaque, //
};

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
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::dma_buf_attachment) -> &'a Self {
        // SAFETY: `Attachment` is `repr(transparent)` over `Opaque<dma_buf_attachment>`.
        unsafe { &*ptr.cast() }
    }

    /// Returns whether the importer is dynamic: it handles `invalidate_mappings`
    /// (`dma_buf_attachment_is_dynamic()`).
    pub(crate) fn is_dynamic(&self) -> bool {
        // SAFETY: `importer_ops` is set at attach and never changes.
        unsafe { !(*self.0.get()).importer_ops.is_null() }
    }

    /// Returns the importing device.
    pub(crate) fn device(&self) -> &Device {
        // SAFETY: `dev` is set at attach and never changes. The core takes no reference on it
        // (7.2: `dma_buf_dynamic_attach`); the C contract is that the importer keeps its device
        // alive until it detaches, and `self` lives no longer than the attachment.
        unsafe { Device::from_raw((*self.0.get()).dev) }
    }
}
