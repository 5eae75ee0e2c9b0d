// SPDX-License-Identifier: GPL-2.0

//! Userspace mappings of a dma-buf (`struct vm_area_struct`): [`Vma`] while `mmap` sets one up,
//! [`FaultVma`] in its fault handler, the only place that installs pages.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)

use crate::dma_buf::{
    helpers,
    pages::Pages, //
};
use core::ops::Deref;
use kernel::{
    bindings,
    error::to_result,
    page::PAGE_SIZE,
    prelude::*,
    types::Opaque, //
};

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
        unsafe { helpers::vma_is_shared(self.raw()) }
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

    /// Returns the C value.
    pub(crate) fn as_raw(self) -> bindings::vm_fault_t {
        self.0
    }
}

/// A mapping set up by the layer's `mmap`, in its fault handler: the one place that installs
/// page-table entries.
///
/// # Invariants
///
/// The object is a valid VMA set up by `ExporterVTable::mmap`: shared, not copy-on-write, `VM_PFNMAP` and
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
        let res = self.for_each_run(pages, |addr, pfn, len| {
            // SAFETY: By the type invariants the VMA is a `VM_PFNMAP`, non-COW mapping and the
            // fault holds the lock that installing entries needs; `[addr, addr + len)` is inside
            // the VMA (`for_each_run` clips to it) and its frames belong to `pages`, memory of
            // the page allocator that nothing maps with another cache mode, as the helper
            // requires.
            to_result(unsafe { helpers::vma_insert_pfn_run(self.raw(), addr, pfn, len) })
        });
        match res {
            Ok(()) => VmFault::NOPAGE,
            Err(e) if e == ENOMEM => VmFault::OOM,
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
