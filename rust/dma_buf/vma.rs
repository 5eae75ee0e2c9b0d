// SPDX-License-Identifier: GPL-2.0

//! Userspace mappings of a dma-buf (`struct vm_area_struct`): the kernel crate's [`VmaNew`] while
//! `mmap` sets one up, which cannot install pages (the VMA is not yet linked into the file's
//! mapping, so a migration's zap could not find them), and [`FaultVma`] in its fault handler, the
//! only place that installs pages.
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
    mm::virt::{
        VmaNew,
        VmaRef, //
    },
    page::PAGE_SIZE,
    prelude::*,
};

/// Returns whether a mapping being set up is shared (`MAP_SHARED`). A shared mapping of a
/// read-only file has `VM_MAYSHARE` but not `VM_SHARED`, so this tests the former, in C: 7.2's
/// bindings (and so `kernel::mm::virt::flags::MAYSHARE`) define `VM_MAYSHARE` wrongly.
pub(crate) fn is_shared(vma: &VmaNew) -> bool {
    // SAFETY: `VmaNew` is a valid VMA being set up.
    unsafe { helpers::vma_is_shared(vma.as_ptr()) }
}

/// Makes a mapping being set up a page-frame mapping with no pages yet, whose fault handler
/// installs them with [`FaultVma::insert_pages`]: `VM_PFNMAP` (which 7.2's [`VmaNew`] cannot
/// set), `VM_IO`, `VM_DONTEXPAND` and `VM_DONTDUMP`. It must be shared ([`is_shared`]).
pub(crate) fn make_pfnmap(vma: &VmaNew) {
    vma.set_io();
    vma.set_dontexpand();
    vma.set_dontdump();
    // SAFETY: `VmaNew` is a valid VMA being set up, whose flags are its creator's to set.
    unsafe { helpers::vma_set_pfnmap(vma.as_ptr()) };
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
/// The object is a valid VMA made shared and [`make_pfnmap`] by the layer's `mmap`: so not
/// copy-on-write, `VM_PFNMAP` and not `VM_MIXEDMAP` (the conditions under which installing page
/// frames does not `BUG`), and linked into the dma-buf file's mapping, so
/// [`Exported::zap_user_mappings`](crate::dma_buf::exporter::Exported::zap_user_mappings) reaches
/// whatever is installed in it. The fault holds the mmap lock or the VMA's lock for reading.
///
/// # Examples
///
/// ```ignore
/// fn fault(buf: &Exported<Self>, vma: &FaultVma) -> VmFault {
///     // Under the lock that a migration zaps under.
///     vma.insert_pages(&buf.data().state.lock().pages)
/// }
/// ```
#[repr(transparent)]
pub(crate) struct FaultVma(VmaRef);

impl Deref for FaultVma {
    type Target = VmaRef;

    fn deref(&self) -> &VmaRef {
        &self.0
    }
}

impl FaultVma {
    /// # Safety
    ///
    /// `vma` must be a VMA that the layer's `mmap` set up, in a fault that holds the mmap lock or
    /// the VMA's lock for reading, and stay so for `'a`.
    pub(crate) unsafe fn from_raw<'a>(vma: *mut bindings::vm_area_struct) -> &'a Self {
        // SAFETY: `FaultVma` is `repr(transparent)` over `VmaRef`, which is over the VMA; the
        // caller guarantees the invariants.
        unsafe { &*vma.cast() }
    }

    /// Returns the offset into the buffer, in pages, at which the mapping starts.
    pub(crate) fn pgoff(&self) -> usize {
        // SAFETY: By the type invariants the VMA is valid; `vm_pgoff` is stable under the read
        // lock the fault holds.
        unsafe { (*self.as_ptr()).vm_pgoff }
    }

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
            to_result(unsafe { helpers::vma_insert_pfn_run(self.as_ptr(), addr, pfn, len) })
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
