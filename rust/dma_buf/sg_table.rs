// SPDX-License-Identifier: GPL-2.0

//! Scatter-gather tables: walking a mapped table (importers) and, for exporters, owned tables over
//! page blocks and their DMA mappings ([`owned`]).
//!
//! C header: [`include/linux/scatterlist.h`](srctree/include/linux/scatterlist.h)
//!
//! An exporter's `map_dma_buf` must return a new table, DMA-mapped for the attaching device, whose
//! ownership passes to the caller until `unmap_dma_buf` hands it back
//! (`include/linux/dma-buf.h`). [`SgTable`] builds such a table over [`Pages`], splitting blocks
//! so that no segment exceeds the device's maximum segment size, and keeps the pages alive;
//! [`MappedSgTable`] is the mapped table, which unmaps and frees itself on drop.

#[cfg(dma_buf_exporter)]
mod owned;

#[cfg(dma_buf_exporter)]
pub(crate) use owned::{
    entry_count,
    max_segment,
    MappedSgTable,
    SgEntries,
    SgTable,
    MAX_SPARE_ENTRIES, //
};

use kernel::{
    bindings,
    device::Device,
    scatterlist::SGTable, //
};

/// One entry of a table: a CPU-side segment (for exporters) or a DMA segment (for importers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Page frame number (CPU side) or DMA address of the segment's start.
    pub(crate) addr: u64,
    /// Length in bytes.
    pub(crate) len: usize,
}

/// Returns the C `struct device` of `dev`.
pub(crate) fn device_ptr(dev: &Device) -> *mut bindings::device {
    // CAST: `Device` is `#[repr(transparent)]` over `Opaque<bindings::device>`.
    core::ptr::from_ref(dev).cast_mut().cast()
}

/// Calls `f` with each DMA segment of a mapped table.
///
/// # Safety
///
/// `sgt` must be a valid table mapped for DMA that stays mapped during the call.
pub(crate) unsafe fn for_each_dma_segment(
    sgt: *mut bindings::sg_table,
    mut f: impl FnMut(Segment),
) {
    // SAFETY: As the caller guarantees, the table is valid and unchanged for this call.
    let table = unsafe { SGTable::from_raw(sgt) };
    for entry in table.iter() {
        f(Segment {
            addr: entry.dma_address(),
            // CAST: A segment's DMA length is an `unsigned int` in C.
            len: entry.dma_len() as usize,
        });
    }
}
