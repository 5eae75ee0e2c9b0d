// SPDX-License-Identifier: GPL-2.0

//! Owned blocks of physically contiguous pages, and [`Pages`], the backing store of an exporter
//! built from them.
//!
//! C header: [`include/linux/gfp.h`](srctree/include/linux/gfp.h)

use crate::dma_buf::helpers;
use core::ptr::NonNull;
use kernel::{
    bindings,
    ffi::c_ulong,
    page::PAGE_SIZE,
    prelude::*, //
};

/// The largest block order the page allocator hands out.
pub(crate) const MAX_ORDER: u32 = bindings::MAX_PAGE_ORDER;

/// An owned block of `2^order` zeroed, physically contiguous pages.
///
/// # Invariants
///
/// `page` is the first `struct page` of a block of `2^order` pages that this object owns and frees
/// on drop with `__free_pages(page, order)`: a block from `alloc_pages(_, order)`, or one page of
/// a split block (order 0). `pfn` is `page`'s page frame number.
pub(crate) struct PageBlock {
    page: NonNull<bindings::page>,
    /// Kept rather than computed, because every map and every fault needs it: computing it is a
    /// call into C (`page_to_pfn()` is a macro over the memory model).
    pfn: usize,
    order: u32,
}

// SAFETY: A page block is plain memory owned by this object; it may be freed from any thread.
unsafe impl Send for PageBlock {}

// SAFETY: `&PageBlock` gives out the block's addresses, and reads and writes its memory only
// through C `memcpy` (`with_pages`). That memory is shared with userspace mappings and devices by
// design, so concurrent accesses from other threads are expected: they may tear bytes, which the
// copy methods document, but they are not data races in the Rust sense because no Rust reference
// to the memory exists.
unsafe impl Sync for PageBlock {}

impl PageBlock {
    /// Allocates a zeroed block of `2^order` pages, or returns `None`.
    ///
    /// Orders above 0 do not reclaim or retry, so callers fall back to smaller orders quickly.
    #[inline]
    pub(crate) fn alloc(order: u32) -> Option<Self> {
        if order > MAX_ORDER {
            return None;
        }
        // SAFETY: Allocating pages has no preconditions; `order` is within the allocator's range.
        let page = NonNull::new(unsafe { helpers::alloc_user_pages(order) })?;
        // INVARIANT: `page` heads a freshly allocated block of order `order`; `pfn` is its frame.
        Some(Self {
            page,
            pfn: pfn_of(page),
            order,
        })
    }

    /// Returns the block's order.
    pub(crate) fn order(&self) -> u32 {
        self.order
    }

    /// Returns the number of pages in the block.
    pub(crate) fn page_count(&self) -> usize {
        1 << self.order
    }

    /// Returns the block's size in bytes.
    pub(crate) fn len(&self) -> usize {
        PAGE_SIZE << self.order
    }

    /// Returns the page frame number of the block's first page.
    pub(crate) fn pfn(&self) -> usize {
        self.pfn
    }

    /// Returns the `i`-th page of the block, for the layer's sg-table and vmap builders.
    ///
    /// # Panics
    ///
    /// Panics if `i` is not below [`Self::page_count`].
    pub(crate) fn page(&self, i: usize) -> *mut bindings::page {
        assert!(i < self.page_count());
        // SAFETY: The block's `struct page`s are contiguous in the memory map (the block is
        // physically contiguous and within one memory section), and `i` is in the block.
        unsafe { self.page.as_ptr().add(i) }
    }

    /// Copies `data` into the block at byte `offset`, mapping one page at a time.
    ///
    /// Userspace and devices may write the block at the same time; bytes they write concurrently
    /// may end up torn.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) -> Result {
        self.with_pages(offset, data.len(), |vaddr, pos, len| {
            // SAFETY: `vaddr` is a mapping of at least `len` bytes of an owned page, and `data`
            // has `len` bytes at `pos`; the two do not overlap. The copy is C's `memcpy`, so a
            // concurrent writer of the page tears bytes rather than racing a Rust access.
            unsafe { helpers::memcpy_shared(vaddr.cast(), data.as_ptr().add(pos).cast(), len) };
        })
    }

    /// Copies bytes of the block at `offset` into `out`, mapping one page at a time.
    ///
    /// Userspace and devices may write the block at the same time; bytes they write concurrently
    /// may be read torn.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let dst = out.as_mut_ptr();
        self.with_pages(offset, out.len(), |vaddr, pos, len| {
            // SAFETY: `vaddr` is a mapping of at least `len` bytes of an owned page, and `out`
            // has room for `len` bytes at `pos`; the two do not overlap. C `memcpy`, as above.
            unsafe { helpers::memcpy_shared(dst.add(pos).cast(), vaddr.cast(), len) };
        })
    }

    /// Calls `f(vaddr, pos, len)` for each page-sized piece of `[offset, offset + len)`, with the
    /// page temporarily mapped at `vaddr` (already advanced to the piece's offset in the page).
    fn with_pages(
        &self,
        offset: usize,
        len: usize,
        mut f: impl FnMut(*mut u8, usize, usize),
    ) -> Result {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.len() {
            return Err(EINVAL);
        }
        let mut pos = 0;
        while pos < len {
            let at = offset + pos;
            let in_page = at % PAGE_SIZE;
            let chunk = core::cmp::min(PAGE_SIZE - in_page, len - pos);
            // SAFETY: `at / PAGE_SIZE` is a page of this block because `at < self.len()`.
            let vaddr = unsafe { bindings::kmap_local_page(self.page(at / PAGE_SIZE)) };
            // SAFETY: `vaddr` maps a whole page and `in_page + chunk <= PAGE_SIZE`.
            f(unsafe { vaddr.cast::<u8>().add(in_page) }, pos, chunk);
            // SAFETY: `vaddr` was returned by the `kmap_local_page` above, the most recent one.
            unsafe { bindings::kunmap_local(vaddr) };
            pos += chunk;
        }
        Ok(())
    }
}

impl Drop for PageBlock {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the block was allocated with this order and is owned.
        unsafe { bindings::__free_pages(self.page.as_ptr(), self.order) };
    }
}

/// Returns the page frame number of `page`, a page this module allocated.
fn pfn_of(page: NonNull<bindings::page>) -> usize {
    // SAFETY: `page` is a valid page; `page_to_pfn()` only computes with its address.
    // CAST: Page frame numbers are `unsigned long`, the width of `usize`.
    unsafe { helpers::page_to_pfn(page.as_ptr()) as usize }
}

/// Returns the order of the next block to try for `remaining` pages when no block larger than
/// `2^max_order` pages is wanted: the largest order that fits, never above `max_order`.
pub(crate) fn next_order(remaining: usize, max_order: u32) -> u32 {
    let fits = usize::BITS - 1 - remaining.max(1).leading_zeros();
    core::cmp::min(fits, max_order)
}

/// The backing store of a buffer: zeroed page blocks, in order, covering `size` bytes.
///
/// Blocks are allocated in the largest orders available, so that tables built over them have
/// few entries; after a failed high-order attempt the allocation never tries that order again.
///
/// # Invariants
///
/// `size` is a nonzero multiple of the page size and the blocks cover exactly `size` bytes, so
/// there is at least one block.
///
/// # Examples
///
/// ```ignore
/// let pages = Pages::alloc(64 << 20)?; // EINTR on a fatal signal, ENOMEM
/// pages.write(0, b"data")?;
/// let copy = Pages::alloc(pages.size())?;
/// copy.copy_from(&pages)?;
/// ```
pub(crate) struct Pages {
    blocks: Blocks,
    size: usize,
    kind: PagesKind,
}

/// The blocks of [`Pages`]. A buffer of up to `2^MAX_ORDER` pages is usually one block, which
/// needs no array: creating such a buffer costs one allocation less.
enum Blocks {
    One(PageBlock),
    Many(KVVec<PageBlock>),
}

impl Blocks {
    fn as_slice(&self) -> &[PageBlock] {
        match self {
            Self::One(b) => core::slice::from_ref(b),
            Self::Many(v) => v,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [PageBlock] {
        match self {
            Self::One(b) => core::slice::from_mut(b),
            Self::Many(v) => v,
        }
    }
}

/// How [`Pages`] are laid out in physical memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PagesKind {
    /// The largest blocks the allocator has ([`Pages::alloc`]).
    Largest,
    /// One physically contiguous run ([`Pages::alloc_contiguous`]).
    Contiguous,
    /// Single pages, no page followed by its physical successor ([`Pages::alloc_scattered`]).
    Scattered,
}

/// The most bytes [`Pages::alloc_contiguous`] allocates: the page allocator's largest block.
pub(crate) const MAX_CONTIGUOUS: usize = PAGE_SIZE << MAX_ORDER;

impl Pages {
    /// Allocates zeroed pages for `size` bytes (a nonzero multiple of the page size).
    ///
    /// Fails with `EINTR` if a fatal signal arrives during a large allocation, and `ENOMEM`.
    pub(crate) fn alloc(size: usize) -> Result<Self> {
        Self::alloc_with(size, MAX_ORDER, PageBlock::alloc)
    }

    /// Like [`Pages::alloc`], with blocks of at most `2^max_order` pages from `alloc_block`.
    pub(crate) fn alloc_with(
        size: usize,
        mut max_order: u32,
        mut alloc_block: impl FnMut(u32) -> Option<PageBlock>,
    ) -> Result<Self> {
        if size == 0 || size % PAGE_SIZE != 0 {
            return Err(EINVAL);
        }
        // A buffer that one block covers keeps it out of the array.
        let mut first = None;
        let mut blocks = KVVec::new();
        let mut remaining = size / PAGE_SIZE;
        while remaining > 0 {
            // SAFETY: Checking the current task for signals has no preconditions.
            if unsafe { helpers::fatal_signal_pending() } {
                return Err(EINTR);
            }
            let order = next_order(remaining, max_order);
            match alloc_block(order) {
                Some(block) => {
                    remaining -= block.page_count();
                    if remaining == 0 && blocks.is_empty() {
                        first = Some(block);
                    } else {
                        blocks.push(block, GFP_KERNEL)?;
                    }
                }
                None if order > 0 => max_order = order - 1,
                None => return Err(ENOMEM),
            }
        }
        // INVARIANT: `size` was checked above and the loop ran until the blocks covered it.
        Ok(Self {
            blocks: first.map_or(Blocks::Many(blocks), Blocks::One),
            size,
            kind: PagesKind::Largest,
        })
    }

    /// Allocates zeroed, physically contiguous pages for `size` bytes (a nonzero multiple of the
    /// page size, at most [`MAX_CONTIGUOUS`], else `EINVAL`), for importers that cannot scatter.
    ///
    /// Unlike [`Pages::alloc`], this reclaims and compacts memory to find the run; it fails with
    /// `ENOMEM` if there is none.
    pub(crate) fn alloc_contiguous(size: usize) -> Result<Self> {
        if size == 0 || size % PAGE_SIZE != 0 || size > MAX_CONTIGUOUS {
            return Err(EINVAL);
        }
        let count = size / PAGE_SIZE;
        // Before the pages, so that nothing can fail once they are ours.
        let mut blocks = KVVec::with_capacity(count, GFP_KERNEL)?;
        // CAST: `count <= 2^MAX_ORDER`, which fits in an `unsigned long`.
        // SAFETY: Allocating pages has no preconditions.
        let first = NonNull::new(unsafe { helpers::alloc_contig_user_pages(count as c_ulong) })
            .ok_or(ENOMEM)?;
        let first_pfn = pfn_of(first);
        for i in 0..count {
            // SAFETY: The helper returned `count` consecutive pages of one split block, whose
            // `struct page`s are consecutive too (a buddy block never crosses a memory section).
            let page = unsafe { first.add(i) };
            // INVARIANT: Each page of the split block is an order-0 block this object now owns;
            // the block is physically contiguous, so page `i` is frame `first_pfn + i`. The
            // capacity was reserved, so this does not fail; if it did, dropping the block frees
            // the page, and the check below reports the failure.
            let _ = blocks.push_within_capacity(PageBlock {
                page,
                pfn: first_pfn + i,
                order: 0,
            });
        }
        if blocks.len() != count {
            return Err(ENOMEM);
        }
        // INVARIANT: `count` pages cover `size` bytes, in physical order.
        Ok(Self {
            blocks: Blocks::Many(blocks),
            size,
            kind: PagesKind::Contiguous,
        })
    }

    /// Allocates zeroed single pages for `size` bytes, in an order where no page is followed by
    /// its physical successor, so that no two pages can share a scatterlist entry; the order is
    /// shuffled with `seed`. For testing importers that assume contiguity or ascending addresses.
    pub(crate) fn alloc_scattered(size: usize, seed: u32) -> Result<Self> {
        let mut pages = Self::alloc_with(size, 0, PageBlock::alloc)?;
        pages.kind = PagesKind::Scattered;
        let blocks = pages.blocks.as_mut_slice();
        let n = blocks.len();
        // Fisher-Yates with a small linear congruential generator: the order only has to be
        // irregular, not unpredictable.
        let mut state = seed | 1;
        for i in (1..n).rev() {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            // CAST: `i + 1` fits in a `u32` for any buffer below 16 TiB; the result is below it.
            let j = ((state >> 8) % (i as u32 + 1)) as usize;
            blocks.swap(i, j);
        }
        // Break up every pair still in physical order by swapping its second page with one
        // that does not follow the first; the scan revisits every position it changes.
        for i in 1..n {
            if blocks[i].pfn() == blocks[i - 1].pfn() + 1 {
                let prev = blocks[i - 1].pfn();
                if let Some(j) = (i + 1..n).find(|&j| blocks[j].pfn() != prev + 1) {
                    blocks.swap(i, j);
                }
            }
        }
        // Should the tail have had no candidate, descending physical order always works.
        if (1..n).any(|i| blocks[i].pfn() == blocks[i - 1].pfn() + 1) {
            blocks.sort_unstable_by_key(|b| core::cmp::Reverse(b.pfn()));
        }
        Ok(pages)
    }

    /// Allocates zeroed pages of the same size and kind as `self`.
    pub(crate) fn alloc_like(&self) -> Result<Self> {
        match self.kind {
            PagesKind::Largest => Self::alloc(self.size),
            PagesKind::Contiguous => Self::alloc_contiguous(self.size),
            // CAST: Bit-for-bit: any seed will do, a different one gives a different order.
            PagesKind::Scattered => Self::alloc_scattered(self.size, self.first_pfn() as u32),
        }
    }

    /// Returns how the pages are laid out.
    pub(crate) fn kind(&self) -> PagesKind {
        self.kind
    }

    /// Returns the blocks, in buffer order; there is at least one.
    pub(crate) fn blocks(&self) -> &[PageBlock] {
        self.blocks.as_slice()
    }

    /// Returns the size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Calls `f(block, offset_in_block, pos, len)` for the pieces of `[offset, offset + len)`.
    fn for_range(
        &self,
        offset: usize,
        len: usize,
        mut f: impl FnMut(&PageBlock, usize, usize, usize) -> Result,
    ) -> Result {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.size {
            return Err(EINVAL);
        }
        let (mut start, mut pos) = (0, 0);
        for block in self.blocks().iter() {
            let bend = start + block.len();
            if bend > offset + pos && pos < len {
                let from = offset + pos - start;
                let n = core::cmp::min(block.len() - from, len - pos);
                f(block, from, pos, n)?;
                pos += n;
            }
            start = bend;
        }
        Ok(())
    }

    /// Copies `data` into the buffer at `offset`.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) -> Result {
        self.for_range(offset, data.len(), |b, from, pos, n| {
            b.write(from, &data[pos..pos + n])
        })
    }

    /// Copies the buffer's bytes at `offset` into `out`.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        self.for_range(offset, out.len(), |b, from, pos, n| {
            b.read(from, &mut out[pos..pos + n])
        })
    }

    /// Returns the first page frame of the buffer.
    pub(crate) fn first_pfn(&self) -> usize {
        // By the type invariants there is a first block.
        self.blocks().first().map_or(0, PageBlock::pfn)
    }

    /// Returns the buffer's pages in order.
    fn each_page(&self) -> impl Iterator<Item = *mut bindings::page> + '_ {
        self.blocks()
            .iter()
            .flat_map(|b| (0..b.page_count()).map(move |i| b.page(i)))
    }

    /// Copies the whole contents of `other`, which must have the same size, page by page.
    ///
    /// Bytes that userspace or devices write to `other` during the copy may be copied torn.
    pub(crate) fn copy_from(&self, other: &Pages) -> Result {
        if other.size != self.size {
            return Err(EINVAL);
        }
        for (src, dst) in other.each_page().zip(self.each_page()) {
            // SAFETY: `src` is a page of `other`, which the borrow keeps alive.
            let from = unsafe { bindings::kmap_local_page(src) };
            // SAFETY: `dst` is a page of `self`, which the borrow keeps alive.
            let to = unsafe { bindings::kmap_local_page(dst) };
            // SAFETY: Both map a whole page; they are different pages. C `memcpy`, so concurrent
            // writers of `src` tear bytes rather than race a Rust access.
            unsafe { helpers::memcpy_shared(to, from, PAGE_SIZE) };
            // SAFETY: `to` is the most recent `kmap_local_page` mapping.
            unsafe { bindings::kunmap_local(to) };
            // SAFETY: `from` is now the most recent one.
            unsafe { bindings::kunmap_local(from) };
        }
        Ok(())
    }

    /// Calls `f(cpu, base, dev, scratch)` for each page of `self`, `base` and `dev` in turn,
    /// each mapped for the call (`base` as a slice: only its borrower touches it; the others as
    /// pointers to a page that userspace or devices may access meanwhile), with `scratch`, which
    /// must be one page. All three must have the size of `self`.
    fn for_each_page_triple(
        &self,
        base: &mut Pages,
        dev: &Pages,
        scratch: &mut [u8],
        mut f: impl FnMut(*mut u8, &mut [u8], *mut u8, &mut [u8]),
    ) -> Result {
        if base.size != self.size || dev.size != self.size || scratch.len() != PAGE_SIZE {
            return Err(EINVAL);
        }
        for ((cpu, old), to) in self.each_page().zip(base.each_page()).zip(dev.each_page()) {
            // SAFETY: `cpu` is a page of `self`, which the borrow keeps alive.
            let cpu = unsafe { bindings::kmap_local_page(cpu) };
            // SAFETY: `old` is a page of `base`, which the borrow keeps alive.
            let old = unsafe { bindings::kmap_local_page(old) };
            // SAFETY: `to` is a page of `dev`, which the borrow keeps alive.
            let to = unsafe { bindings::kmap_local_page(to) };
            // SAFETY: `old` maps a whole page of `base`, which nothing else accesses while it
            // is borrowed mutably here.
            let old_page = unsafe { core::slice::from_raw_parts_mut(old.cast::<u8>(), PAGE_SIZE) };
            f(cpu.cast(), old_page, to.cast(), scratch);
            // SAFETY: `to`, `old` and `cpu` are the `kmap_local_page` mappings made above, undone
            // in reverse order.
            unsafe {
                bindings::kunmap_local(to);
                bindings::kunmap_local(old);
                bindings::kunmap_local(cpu);
            }
        }
        Ok(())
    }

    /// Writes back the CPU's dirty cache lines, for the emulation of a non-coherent system:
    /// `self` is what the CPU sees, `base` what it saw when last synchronised with `dev`, what
    /// devices see. Each [`CACHE_LINE`] of `self` that differs from `base` (one the CPU wrote
    /// since) is copied to `dev` and to `base`, whole, as a cache writes back whole lines; the
    /// other lines of `dev` keep what devices wrote. Returns how many lines were copied.
    ///
    /// All three must have the same size, and `scratch` one page. A line userspace writes during
    /// the call is copied torn, or at the next call.
    pub(crate) fn clean_lines(
        &self,
        base: &mut Pages,
        dev: &Pages,
        scratch: &mut [u8],
    ) -> Result<usize> {
        let mut lines = 0;
        self.for_each_page_triple(base, dev, scratch, |cpu, old, to, scratch| {
            // SAFETY: `cpu` maps a whole page and `scratch` has room for one; userspace may
            // write the page meanwhile, hence C `memcpy`.
            unsafe { helpers::memcpy_shared(scratch.as_mut_ptr().cast(), cpu.cast(), PAGE_SIZE) };
            for (at, (now, was)) in lines_of(scratch, old) {
                if now != was {
                    was.copy_from_slice(now);
                    // SAFETY: `to` maps a whole page and the line lies inside it; devices may
                    // access it meanwhile, hence C `memcpy`.
                    unsafe {
                        helpers::memcpy_shared(to.add(at).cast(), now.as_ptr().cast(), CACHE_LINE)
                    };
                    lines += 1;
                }
            }
        })?;
        Ok(lines)
    }

    /// Invalidates the CPU's clean cache lines, for the emulation of a non-coherent system
    /// (names as in [`Pages::clean_lines`]): each [`CACHE_LINE`] of `self` that equals `base`
    /// (the CPU did not write it since the last synchronisation) takes the contents of `dev`,
    /// and so does `base`; the CPU's dirty lines stay until they are written back. Returns how
    /// many lines were replaced.
    ///
    /// All three must have the same size, and `scratch` one page. A line userspace writes
    /// between the comparison and the replacement loses that write, as a line the CPU writes
    /// while a device's data comes in would.
    pub(crate) fn invalidate_clean_lines(
        &self,
        base: &mut Pages,
        dev: &Pages,
        scratch: &mut [u8],
    ) -> Result<usize> {
        let mut lines = 0;
        self.for_each_page_triple(base, dev, scratch, |cpu, old, from, scratch| {
            // SAFETY: `from` maps a whole page and `scratch` has room for one; devices may write
            // the page meanwhile, hence C `memcpy`.
            unsafe { helpers::memcpy_shared(scratch.as_mut_ptr().cast(), from.cast(), PAGE_SIZE) };
            let mut line = [0u8; CACHE_LINE];
            for (at, (new, was)) in lines_of(scratch, old) {
                // SAFETY: `cpu` maps a whole page and the line lies inside it; userspace may
                // write it meanwhile, hence C `memcpy`.
                unsafe {
                    helpers::memcpy_shared(line.as_mut_ptr().cast(), cpu.add(at).cast(), CACHE_LINE)
                };
                if line[..] == was[..] && new != was {
                    was.copy_from_slice(new);
                    // SAFETY: As above.
                    unsafe {
                        helpers::memcpy_shared(cpu.add(at).cast(), new.as_ptr().cast(), CACHE_LINE)
                    };
                    lines += 1;
                }
            }
        })?;
        Ok(lines)
    }
}

/// The [`CACHE_LINE`]s of two pages side by side, with their offset.
fn lines_of<'a>(
    a: &'a [u8],
    b: &'a mut [u8],
) -> impl Iterator<Item = (usize, (&'a [u8], &'a mut [u8]))> {
    (0..PAGE_SIZE)
        .step_by(CACHE_LINE)
        .zip(a.chunks(CACHE_LINE).zip(b.chunks_mut(CACHE_LINE)))
}

/// The cache line size of the non-coherent emulation ([`Pages::clean_lines`]): that of arm64
/// and x86.
pub(crate) const CACHE_LINE: usize = 64;

#[cfg(vdmabuf_layer_tests)]
#[kunit_tests(dma_buf_pages)]
mod tests {
    use super::*;

    #[test]
    fn next_order_is_the_largest_that_fits() {
        let cases = [
            (1, 10, 0),
            (2, 10, 1),
            (3, 10, 1),
            (255, 10, 7),
            (256, 8, 8),
            (256, 4, 4),
            (1000, 10, 9),
            (1024, 10, 10),
            (5000, 10, 10),
        ];
        for (remaining, max, want) in cases {
            assert_eq!(next_order(remaining, max), want);
        }
    }

    #[test]
    fn alloc_rejects_empty_and_unaligned_sizes() {
        for size in [0, 1, PAGE_SIZE - 1, PAGE_SIZE + 1] {
            assert!(matches!(Pages::alloc(size), Err(e) if e == EINVAL));
        }
    }

    #[test]
    fn alloc_uses_large_orders_and_zeroes() -> Result {
        // 1 MiB + 2 pages: one order-8 block and one order-1 block.
        let size = (256 + 2) * PAGE_SIZE;
        let pages = Pages::alloc_with(size, 8, PageBlock::alloc)?;
        let orders: KVec<u32> = {
            let mut v = KVec::new();
            for b in pages.blocks() {
                v.push(b.order(), GFP_KERNEL)?;
            }
            v
        };
        assert_eq!(&orders[..], &[8, 1][..]);
        assert_eq!(pages.size(), size);
        let mut buf = KVec::from_elem(0xffu8, PAGE_SIZE, GFP_KERNEL)?;
        for offset in (0..size).step_by(PAGE_SIZE) {
            pages.read(offset, &mut buf)?;
            assert!(buf.iter().all(|&b| b == 0));
        }
        Ok(())
    }

    #[test]
    fn alloc_falls_back_to_smaller_orders_and_never_climbs() -> Result {
        let mut tried = KVec::new();
        // Orders above 2 always fail, as on a fragmented system.
        let pages = Pages::alloc_with(64 * PAGE_SIZE, MAX_ORDER, |order| {
            let _ = tried.push(order, GFP_KERNEL);
            if order > 2 {
                None
            } else {
                PageBlock::alloc(order)
            }
        })?;
        assert_eq!(pages.size(), 64 * PAGE_SIZE);
        assert!(pages.blocks().iter().all(|b| b.order() == 2));
        assert_eq!(pages.blocks().len(), 16);
        // 6, 5, 4, 3 fail once each; then only order 2 is tried.
        assert_eq!(&tried[..5], &[6, 5, 4, 3, 2][..]);
        assert!(tried.windows(2).all(|w| w[1] <= w[0]));
        Ok(())
    }

    #[test]
    fn alloc_failure_unwinds() {
        let mut calls = 0;
        let mut live = 0;
        // Three blocks succeed, then the allocator is exhausted at every order.
        let res = Pages::alloc_with(64 * PAGE_SIZE, 2, |order| {
            calls += 1;
            if live < 3 {
                live += 1;
                PageBlock::alloc(order)
            } else {
                None
            }
        });
        assert!(matches!(res, Err(e) if e == ENOMEM));
        // Three successes, then orders 2, 1 and 0 fail once each.
        assert_eq!(calls, 6);
    }

    #[test]
    fn contiguous_pages_are_one_run() -> Result {
        let pages = Pages::alloc_contiguous(5 * PAGE_SIZE)?;
        assert_eq!(pages.kind(), PagesKind::Contiguous);
        assert_eq!(pages.size(), 5 * PAGE_SIZE);
        let first = pages.first_pfn();
        for (i, b) in pages.blocks().iter().enumerate() {
            assert_eq!(b.pfn(), first + i);
        }
        let mut buf = KVec::from_elem(0xffu8, PAGE_SIZE, GFP_KERNEL)?;
        pages.read(4 * PAGE_SIZE, &mut buf)?;
        assert!(buf.iter().all(|&b| b == 0));
        let copy = pages.alloc_like()?;
        assert_eq!(copy.kind(), PagesKind::Contiguous);
        for size in [0, PAGE_SIZE + 1, MAX_CONTIGUOUS + PAGE_SIZE] {
            assert!(matches!(Pages::alloc_contiguous(size), Err(e) if e == EINVAL));
        }
        assert_eq!(
            Pages::alloc(PAGE_SIZE)?.alloc_like()?.kind(),
            PagesKind::Largest
        );
        Ok(())
    }

    #[test]
    fn scattered_pages_never_follow_their_successor() -> Result {
        for (count, seed) in [(1, 1), (2, 7), (3, 3), (64, 42), (257, 5)] {
            let pages = Pages::alloc_scattered(count * PAGE_SIZE, seed)?;
            assert_eq!(pages.kind(), PagesKind::Scattered);
            assert_eq!(pages.blocks().len(), count);
            let b = pages.blocks();
            assert!((1..count).all(|i| b[i].pfn() != b[i - 1].pfn() + 1));
            // No two pages share a table entry.
            let extents = b.iter().map(|b| (b.pfn(), b.len()));
            assert_eq!(
                crate::dma_buf::sg_table::entry_count(extents, usize::MAX),
                count
            );
            assert_eq!(pages.alloc_like()?.kind(), PagesKind::Scattered);
        }
        Ok(())
    }

    #[test]
    fn read_write_cross_block_boundaries() -> Result {
        let pages = Pages::alloc_with(8 * PAGE_SIZE, 1, PageBlock::alloc)?;
        assert_eq!(pages.blocks().len(), 4);
        let mut data = KVec::new();
        for i in 0..3 * PAGE_SIZE {
            data.push((i % 251) as u8, GFP_KERNEL)?;
        }
        let offset = 2 * PAGE_SIZE - 100;
        pages.write(offset, &data)?;
        let mut back = KVec::from_elem(0u8, data.len(), GFP_KERNEL)?;
        pages.read(offset, &mut back)?;
        assert!(back[..] == data[..]);
        assert!(pages.write(8 * PAGE_SIZE - 1, &[1, 2]).is_err());

        let copy = Pages::alloc(8 * PAGE_SIZE)?;
        copy.copy_from(&pages)?;
        copy.read(offset, &mut back)?;
        assert!(back[..] == data[..]);
        assert!(Pages::alloc(PAGE_SIZE)?.copy_from(&pages).is_err());
        Ok(())
    }

    #[test]
    fn clean_and_invalidate_work_in_whole_lines() -> Result {
        let size = 2 * PAGE_SIZE;
        let (cpu, mut base, dev) = (
            Pages::alloc(size)?,
            Pages::alloc(size)?,
            Pages::alloc(size)?,
        );
        let mut scratch = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        let mut line = [0u8; CACHE_LINE];
        // A device writes bytes 1 to 63 of the first line, the CPU byte 0 of it and a byte on
        // the second page: writing back the CPU's two dirty lines undoes the device's bytes.
        dev.write(1, &[0xdd; CACHE_LINE - 1])?;
        cpu.write(0, &[0xcc])?;
        cpu.write(PAGE_SIZE + 100, &[0xcc])?;
        assert_eq!(cpu.clean_lines(&mut base, &dev, &mut scratch)?, 2);
        dev.read(0, &mut line)?;
        assert_eq!(line[0], 0xcc);
        assert!(line[1..].iter().all(|&b| b == 0));
        // Nothing is dirty any more.
        assert_eq!(cpu.clean_lines(&mut base, &dev, &mut scratch)?, 0);
        // The device writes two lines, the CPU one of them: only the other line comes in.
        dev.write(CACHE_LINE, &[0xd1; CACHE_LINE])?;
        dev.write(2 * CACHE_LINE, &[0xd2; CACHE_LINE])?;
        cpu.write(2 * CACHE_LINE, &[0xc2])?;
        assert_eq!(
            cpu.invalidate_clean_lines(&mut base, &dev, &mut scratch)?,
            1
        );
        cpu.read(CACHE_LINE, &mut line)?;
        assert!(line.iter().all(|&b| b == 0xd1));
        cpu.read(2 * CACHE_LINE, &mut line)?;
        assert_eq!(line[0], 0xc2);
        assert!(line[1..].iter().all(|&b| b == 0));
        // Views of different sizes, or a scratch that is not a page, are refused.
        let small = Pages::alloc(PAGE_SIZE)?;
        assert_eq!(
            cpu.clean_lines(&mut base, &small, &mut scratch),
            Err(EINVAL)
        );
        assert_eq!(
            cpu.invalidate_clean_lines(&mut base, &dev, &mut scratch[..1]),
            Err(EINVAL)
        );
        Ok(())
    }
}
