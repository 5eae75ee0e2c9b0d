// SPDX-License-Identifier: GPL-2.0

//! Kernel mappings (`vmap`) of [`Pages`].
//!
//! C header: [`include/linux/vmalloc.h`](srctree/include/linux/vmalloc.h)

use crate::dma_buf::{helpers, pages::Pages};
use core::{
    ptr::NonNull, //
};
use kernel::{
    ffi::{
        c_int,
        c_void, //
    },
    page::PAGE_SIZE,
    prelude::*,
    sync::Arc, //
};

/// An owned kernel mapping (`vmap`) of [`Pages`], unmapped on drop.
///
/// # Invariants
///
/// `addr` was returned by `vmap` for all of `pages` and is unmapped only on drop.
///
/// # Examples
///
/// ```ignore
/// let vmap = Vmap::new(pages.clone())?;
/// let addr = vmap.addr();
/// vmap.flush(); // after CPU writes, before a device reads
/// ```
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
        let addr = unsafe { helpers::vmap(array.as_mut_ptr(), n) };
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
            unsafe { helpers::invalidate_kernel_vmap_range(addr, len) }
        });
    }

    /// Makes CPU writes through the mapping visible to devices.
    pub(crate) fn flush(&self) {
        self.for_each_chunk(|addr, len| {
            // SAFETY: By the type invariants `addr` maps `len()` bytes; `for_each_chunk` stays
            // inside them.
            unsafe { helpers::flush_kernel_vmap_range(addr, len) }
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
        unsafe { helpers::vunmap(self.addr.as_ptr().cast()) };
    }
}
