// SPDX-License-Identifier: GPL-2.0

//! A device for importers that can do DMA.
//!
//! C header: [`include/linux/device/faux.h`](srctree/include/linux/device/faux.h)

use crate::dma_buf::{
    ffi,
    sg_table::device_ptr, //
};
use kernel::{
    device::Device,
    error::to_result,
    faux,
    prelude::*, //
};

/// A faux device with a 64-bit DMA mask, as vgem uses: a faux device alone has no DMA mask, and
/// mapping for it fails. Removed on drop.
pub(crate) struct DmaDevice {
    faux: faux::Registration,
}

impl DmaDevice {
    /// Creates the device `/sys/devices/faux/<name>`.
    pub(crate) fn new(name: &CStr) -> Result<Self> {
        let faux = faux::Registration::new(name, None)?;
        // SAFETY: The device is registered and ours; nothing maps for it yet.
        to_result(unsafe { ffi::vdmabuf_rs_dma_coerce_mask_64(device_ptr(faux.as_ref())) })?;
        Ok(Self { faux })
    }

    /// Returns the device.
    pub(crate) fn device(&self) -> &Device {
        self.faux.as_ref()
    }
}
