// SPDX-License-Identifier: GPL-2.0

//! A device for importers that can do DMA.
//!
//! C header: [`include/linux/device/faux.h`](srctree/include/linux/device/faux.h)

use crate::dma_buf::{
    helpers,
    sg_table::device_ptr, //
};
use kernel::{
    bindings,
    device::Device,
    error::to_result,
    faux,
    prelude::*,
    types::Opaque, //
};

/// A faux device with a 64-bit DMA mask and no DMA segment size limit, as an importer needs: a
/// faux device alone has no DMA mask (mapping for it fails) and a 64 KiB segment limit.
/// Removed on drop; every DMA mapping for it must be gone by then.
///
/// # Invariants
///
/// The faux device's `dma_parms` points to `parms` until `drop` clears it.
///
/// # Examples
///
/// ```ignore
/// let dev = DmaDevice::new(c"mydriver-dma")?; // a faux device with a 64-bit DMA mask
/// let import = Import::new(buf, dev.device(), false)?;
/// ```
pub(crate) struct DmaDevice {
    faux: faux::Registration,
    parms: KBox<Opaque<bindings::device_dma_parameters>>,
}

// SAFETY: The DMA parameters are only read by the DMA API; Rust code never touches them.
unsafe impl Send for DmaDevice {}

// SAFETY: As above; `&DmaDevice` only gives out the device.
unsafe impl Sync for DmaDevice {}

impl DmaDevice {
    /// Creates the device `/sys/devices/faux/<name>`.
    pub(crate) fn new(name: &CStr) -> Result<Self> {
        let parms = KBox::new(Opaque::zeroed(), GFP_KERNEL)?;
        let faux = faux::Registration::new(name, None)?;
        let dev = device_ptr(faux.as_ref());
        // SAFETY: The device is registered and ours; nothing maps for it yet.
        to_result(unsafe { helpers::dma_coerce_mask_64(dev) })?;
        // SAFETY: As above; `parms` outlives its use by the device, see `drop`.
        // INVARIANT: The device's `dma_parms` now points to `parms`.
        unsafe { helpers::dma_set_parms(dev, parms.get()) };
        Ok(Self { faux, parms })
    }

    /// Returns the device.
    pub(crate) fn device(&self) -> &Device {
        self.faux.as_ref()
    }
}

impl Drop for DmaDevice {
    fn drop(&mut self) {
        // SAFETY: No mapping for the device is left (see the type's documentation), so nothing
        // reads `dma_parms` any more; the faux device is removed after this, `parms` freed last.
        unsafe { helpers::dma_set_parms(device_ptr(self.faux.as_ref()), core::ptr::null_mut()) };
        let _ = &self.parms;
    }
}
