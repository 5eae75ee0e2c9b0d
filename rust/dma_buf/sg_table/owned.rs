// SPDX-License-Identifier: GPL-2.0

//! The tables an exporter owns: [`SgTable`] over [`Pages`], and [`MappedSgTable`], DMA-mapped for
//! one device. `kernel::scatterlist` in Linux 7.2 builds owned tables only from `VVec`/`VBox`
//! memory and ties their mapping to a bound device's `Devres`; a `map_dma_buf` result must be a
//! raw `sg_table` over the exporter's own pages, mapped for whatever device attached, whose
//! ownership passes to the core until `unmap_dma_buf`, so exporters need these.

use super::{
    device_ptr,
    Segment, //
};
use crate::dma_buf::{
    helpers,
    pages::Pages, //
};
use core::{
    cell::UnsafeCell,
    mem::ManuallyDrop, //
};
use kernel::{
    bindings,
    device::Device,
    dma::DataDirection,
    error::to_result,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::ARef,
        Arc, //
    },
};

/// Splits blocks into table entries: calls `f(block, offset, len)` for each entry, which starts
/// `offset` bytes into block number `block` and is `len` bytes long. `blocks` gives each block's
/// first page frame number and length in bytes (whole pages). Physically adjacent blocks share an
/// entry, as `sg_alloc_table_from_pages()` merges them, and no entry is longer than
/// `max_segment` bytes (rounded down to whole pages, at least one page).
pub(crate) fn for_each_entry(
    blocks: impl Iterator<Item = (usize, usize)>,
    max_segment: usize,
    mut f: impl FnMut(usize, usize, usize) -> Result,
) -> Result {
    let seg = segment_limit(max_segment);
    // The entry being built: block, offset, length, and the page frame right after it.
    let mut cur: Option<(usize, usize, usize, usize)> = None;
    for (i, (pfn, len)) in blocks.enumerate() {
        let mut off = 0;
        while off < len {
            let here = pfn + off / PAGE_SIZE;
            if let Some((_, _, cur_len, next)) = cur.as_mut() {
                if *next == here && *cur_len < seg {
                    let n = core::cmp::min(seg - *cur_len, len - off);
                    *cur_len += n;
                    *next += n / PAGE_SIZE;
                    off += n;
                    continue;
                }
            }
            if let Some((b, o, l, _)) = cur.take() {
                f(b, o, l)?;
            }
            let n = core::cmp::min(seg, len - off);
            cur = Some((i, off, n, here + n / PAGE_SIZE));
            off += n;
        }
    }
    if let Some((b, o, l, _)) = cur {
        f(b, o, l)?;
    }
    Ok(())
}

/// Returns the number of entries [`for_each_entry`] makes.
pub(crate) fn entry_count(
    blocks: impl Iterator<Item = (usize, usize)>,
    max_segment: usize,
) -> usize {
    let mut n = 0;
    let _ = for_each_entry(blocks, max_segment, |_, _, _| {
        n += 1;
        Ok(())
    });
    n
}

/// Returns each block of `pages` as [`for_each_entry`] takes it: first page frame, length.
fn extents(pages: &Pages) -> impl Iterator<Item = (usize, usize)> + '_ {
    pages.blocks().iter().map(|b| (b.pfn(), b.len()))
}

fn segment_limit(max_segment: usize) -> usize {
    core::cmp::max(max_segment - max_segment % PAGE_SIZE, PAGE_SIZE)
}

/// The most entries a spare table keeps: as many as fit in one page, the most that
/// `sg_alloc_table()` puts in one allocation without chaining (`SG_MAX_SINGLE_ALLOC`). A larger
/// table is freed at unmap, so that a buffer mapped once in small pieces does not keep its
/// table's memory for the rest of its life.
pub(crate) const MAX_SPARE_ENTRIES: usize =
    PAGE_SIZE / core::mem::size_of::<bindings::scatterlist>();

/// The entries of an owned `struct sg_table`, with no pages behind them: what an unmapped table
/// leaves, kept so that the next table of as many entries needs no allocation
/// ([`SgTable::new_in`]). Their page links may name pages that are gone; nothing reads them
/// before they are filled again.
///
/// The `sg_table` itself is held inline (three words, no pointer into itself, so it may move);
/// only its entries are allocated.
///
/// # Invariants
///
/// `sgt` was initialised by `sg_alloc_table()` and its entries are owned by this object.
pub(crate) struct SgEntries {
    sgt: UnsafeCell<bindings::sg_table>,
}

// SAFETY: The entries are plain memory owned by this object.
unsafe impl Send for SgEntries {}

// SAFETY: `&SgEntries` only reads the table: C writes to the `sg_table` only when mapping it,
// which takes the table by value, and the DMA sync calls only read it.
unsafe impl Sync for SgEntries {}

impl SgEntries {
    /// Allocates `nents` entries (at least one).
    fn alloc(nents: u32) -> Result<Self> {
        let mut sgt = bindings::sg_table {
            sgl: core::ptr::null_mut(),
            nents: 0,
            orig_nents: 0,
        };
        // SAFETY: `sgt` is a valid, zeroed `sg_table`; on failure `sg_alloc_table` frees what it
        // allocated and leaves nothing to free.
        to_result(unsafe { bindings::sg_alloc_table(&mut sgt, nents, bindings::GFP_KERNEL) })?;
        // INVARIANT: Initialised just above.
        Ok(Self {
            sgt: UnsafeCell::new(sgt),
        })
    }

    /// Returns the number of entries.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: By the type invariants `sgt` is a valid table.
        // CAST: `orig_nents` is an `unsigned int`, which fits in `usize`.
        unsafe { (*self.sgt.get()).orig_nents as usize }
    }
}

impl Drop for SgEntries {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the table is allocated and owned; it is not mapped: a
        // mapped table is a `MappedSgTable`, which unmaps before its entries are dropped.
        unsafe { bindings::sg_free_table(self.sgt.get()) };
    }
}

/// An owned, unmapped `struct sg_table` over pages.
///
/// # Invariants
///
/// Each of the entries is set to a page of `pages`.
pub(crate) struct SgTable {
    entries: SgEntries,
    /// Keeps the pages that the entries point to alive.
    pages: Arc<Pages>,
}

impl SgTable {
    /// Builds a table covering `pages` in order, no entry longer than `max_segment` bytes.
    #[cfg(vdmabuf_layer_tests)]
    pub(crate) fn new(pages: Arc<Pages>, max_segment: usize) -> Result<Self> {
        Self::new_in(None, pages, max_segment)
    }

    /// Like [`SgTable::new`], filling in the entries of `spare` if it has exactly as many as the
    /// table needs; otherwise `spare` is freed and new entries are allocated.
    pub(crate) fn new_in(
        spare: Option<SgEntries>,
        pages: Arc<Pages>,
        max_segment: usize,
    ) -> Result<Self> {
        let nents = entry_count(extents(&pages), max_segment);
        if nents == 0 {
            return Err(EINVAL);
        }
        let entries = match spare {
            Some(spare) if spare.len() == nents => spare,
            _ => SgEntries::alloc(u32::try_from(nents).map_err(|_| E2BIG)?)?,
        };
        // SAFETY: By the type invariants of `SgEntries` the table is valid.
        let first = unsafe { (*entries.sgt.get()).sgl };
        // INVARIANT: The loop below sets all `nents` entries (an error leaves some unset, and the
        // table is then dropped at once, which only frees the entries).
        let table = Self { entries, pages };
        let blocks = table.pages.blocks();
        let mut sg: *mut bindings::scatterlist = core::ptr::null_mut();
        for_each_entry(extents(&table.pages), max_segment, |block, offset, len| {
            // CAST: `len <= max(max_segment, PAGE_SIZE)` and `max_segment` came from a `c_uint`
            // or a test value below 4 GiB; `try_from` guards the rest.
            let len32 = u32::try_from(len).map_err(|_| EINVAL)?;
            let page = blocks[block].page(offset / PAGE_SIZE);
            // The next entry is looked up only when there is one to fill: a table of one entry,
            // the usual one, makes no `sg_next` call.
            sg = if sg.is_null() {
                first
            } else {
                // SAFETY: `sg` is the entry the previous call filled, and it is not the table's
                // last: `for_each_entry` makes exactly as many entries as `entry_count` counted,
                // and another one is being made now.
                unsafe { bindings::sg_next(sg) }
            };
            // SAFETY: `sg` is one of the `nents` entries, never a chain entry (`sg_next` steps
            // over chain entries). The page belongs to `pages`, which the table keeps alive; an
            // entry longer than its block continues into the physically adjacent next block.
            unsafe { helpers::sg_fill(sg, page, len32) };
            Ok(())
        })?;
        Ok(table)
    }

    /// Returns the first entry.
    #[cfg(vdmabuf_layer_tests)]
    fn sgl(&self) -> *mut bindings::scatterlist {
        // SAFETY: By the type invariants the table is valid.
        unsafe { (*self.raw()).sgl }
    }

    /// Gives up the pages and returns the entries, for another table to fill in.
    fn into_entries(self) -> SgEntries {
        self.entries
    }

    /// Returns the raw table.
    fn raw(&self) -> *mut bindings::sg_table {
        self.entries.sgt.get()
    }

    /// Returns the number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Calls `f` with each entry's page frame number and length, in order.
    pub(crate) fn for_each_segment(&self, mut f: impl FnMut(Segment)) {
        // SAFETY: By the type invariants `sgt` is a valid table with `len()` entries.
        let mut sg = unsafe { (*self.raw()).sgl };
        for _ in 0..self.len() {
            // SAFETY: `sg` is a valid entry set by `new`.
            let page = unsafe { helpers::sg_page(sg) };
            // SAFETY: `sg` is a valid entry set by `new`.
            // CAST: `offset` and `length` are `unsigned int`s, which fit in `usize`.
            let (offset, len) = unsafe { ((*sg).offset as usize, (*sg).length as usize) };
            // SAFETY: `page` is the page `new` set for this entry.
            // CAST: An `unsigned long` fits in a `u64`.
            let pfn = unsafe { helpers::page_to_pfn(page) } as u64;
            f(Segment {
                // CAST: `offset` is below a page; the sum is a physical address, at most 64 bits.
                addr: (pfn << bindings::PAGE_SHIFT) + offset as u64,
                len,
            });
            // SAFETY: `sg` is a valid entry of the table.
            sg = unsafe { bindings::sg_next(sg) };
        }
    }

    /// Maps the table for DMA by `dev` in direction `dir`.
    #[inline]
    pub(crate) fn dma_map(self, dev: &Device, dir: DataDirection) -> Result<MappedSgTable> {
        let raw_dev = device_ptr(dev);
        // SAFETY: `self.sgt` is a valid table of valid pages and `raw_dev` a valid device.
        to_result(unsafe { bindings::dma_map_sgtable(raw_dev, self.raw(), dir.into(), 0) })?;
        // INVARIANT: The table was mapped above for `dev`, of which we now hold a reference.
        Ok(MappedSgTable {
            table: self,
            dev: dev.into(),
            dir,
        })
    }
}

/// Returns the largest DMA segment `dev` supports, in bytes.
pub(crate) fn max_segment(dev: &Device) -> usize {
    // SAFETY: `dev` is a valid device.
    // CAST: An `unsigned int` fits in `usize`.
    unsafe { helpers::dma_get_max_seg_size(device_ptr(dev)) as usize }
}

/// An owned `struct sg_table`, DMA-mapped for one device.
///
/// # Invariants
///
/// `table` is mapped with `dma_map_sgtable(dev, table, dir, 0)` until this object is dropped.
pub(crate) struct MappedSgTable {
    table: SgTable,
    dev: ARef<Device>,
    dir: DataDirection,
}

impl MappedSgTable {
    /// Unmaps the table and returns its entries, for the next table to fill in again.
    #[inline]
    pub(crate) fn unmap(self) -> SgEntries {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is not dropped, so this is the only unmap, and the table is not used
        // as mapped again: only its entries go on.
        unsafe { this.dma_unmap() };
        // SAFETY: Each field is read out once and `this` is never used or dropped again, so
        // each is dropped exactly once, here or by the caller.
        let (table, dev) = unsafe { (core::ptr::read(&this.table), core::ptr::read(&this.dev)) };
        drop(dev);
        table.into_entries()
    }

    /// Ends the mapping (`dma_unmap_sgtable`).
    ///
    /// # Safety
    ///
    /// Called once, by [`MappedSgTable::unmap`] or by the drop, after which the table is not
    /// used as mapped again.
    unsafe fn dma_unmap(&self) {
        // SAFETY: By the type invariants the table is mapped for `dev` in `dir`, which the
        // caller ends only here.
        unsafe {
            bindings::dma_unmap_sgtable(device_ptr(&self.dev), self.as_raw(), self.dir.into(), 0)
        };
    }

    /// Returns the direction the table is mapped in.
    pub(crate) fn dir(&self) -> DataDirection {
        self.dir
    }

    /// Returns the raw table, which stays owned by this object. The pointer is valid while the
    /// object stays where it is.
    pub(crate) fn as_raw(&self) -> *mut bindings::sg_table {
        self.table.raw()
    }

    /// Makes device writes visible to the CPU (`dma_sync_sgtable_for_cpu`).
    pub(crate) fn sync_for_cpu(&self) {
        // SAFETY: By the type invariants the table is mapped for `dev` in `dir`.
        unsafe {
            helpers::dma_sync_sgtable_for_cpu(device_ptr(&self.dev), self.as_raw(), self.dir.into())
        };
    }

    /// Makes CPU writes visible to the device (`dma_sync_sgtable_for_device`).
    pub(crate) fn sync_for_device(&self) {
        // SAFETY: By the type invariants the table is mapped for `dev` in `dir`.
        unsafe {
            helpers::dma_sync_sgtable_for_device(
                device_ptr(&self.dev),
                self.as_raw(),
                self.dir.into(),
            )
        };
    }
}

impl Drop for MappedSgTable {
    fn drop(&mut self) {
        // SAFETY: Dropping ends the mapping, once; afterwards the `SgTable` frees itself.
        unsafe { self.dma_unmap() };
    }
}

#[cfg(vdmabuf_layer_tests)]
#[kunit_tests(dma_buf_sg_table)]
mod tests {
    use super::*;

    #[test]
    fn entry_count_splits_blocks_at_the_segment_limit() {
        let k64 = 64 * 1024;
        let m1 = 1 << 20;
        // Blocks far apart in physical memory are never merged.
        assert_eq!(entry_count([(0, PAGE_SIZE)].into_iter(), k64), 1);
        assert_eq!(entry_count([(0, m1)].into_iter(), k64), 16);
        assert_eq!(
            entry_count([(0, m1), (1 << 20, PAGE_SIZE)].into_iter(), m1),
            2
        );
        assert_eq!(entry_count([(0, 4 * m1)].into_iter(), usize::MAX), 1);
        // A limit below a page still gives whole pages.
        assert_eq!(entry_count([(0, 4 * PAGE_SIZE)].into_iter(), 512), 4);
        // A limit that is not page aligned is rounded down.
        assert_eq!(
            entry_count([(0, 2 * PAGE_SIZE)].into_iter(), PAGE_SIZE + 1),
            2
        );
    }

    #[test]
    fn adjacent_blocks_share_entries_up_to_the_limit() -> Result {
        // Eight single pages at consecutive frames, as a split contiguous block: one entry, or
        // entries of exactly the limit.
        let run = |n: usize| (0..n).map(|i| (100 + i, PAGE_SIZE));
        assert_eq!(entry_count(run(8), usize::MAX), 1);
        assert_eq!(entry_count(run(8), 2 * PAGE_SIZE), 4);
        assert_eq!(entry_count(run(8), 3 * PAGE_SIZE), 3);
        // A gap starts a new entry.
        let gap = [(10, 2 * PAGE_SIZE), (12, PAGE_SIZE), (20, PAGE_SIZE)];
        assert_eq!(entry_count(gap.into_iter(), usize::MAX), 2);
        // The entries name the block and offset they start at, and cover every byte once.
        let mut got = KVec::new();
        for_each_entry(run(5), 2 * PAGE_SIZE, |b, o, l| {
            got.push((b, o, l), GFP_KERNEL)?;
            Ok(())
        })?;
        let p = PAGE_SIZE;
        assert_eq!(&got[..], &[(0, 0, 2 * p), (2, 0, 2 * p), (4, 0, p)][..]);
        // A merged entry may start inside a block.
        got.clear();
        for_each_entry([(0, 4 * p), (4, 4 * p)].into_iter(), 3 * p, |b, o, l| {
            got.push((b, o, l), GFP_KERNEL)?;
            Ok(())
        })?;
        assert_eq!(
            &got[..],
            &[(0, 0, 3 * p), (0, 3 * p, 3 * p), (1, 2 * p, 2 * p)][..]
        );
        Ok(())
    }

    fn alloc_pages(size: usize, max_order: u32) -> Result<Arc<Pages>> {
        Ok(Arc::new(
            Pages::alloc_with(size, max_order, crate::dma_buf::pages::PageBlock::alloc)?,
            GFP_KERNEL,
        )?)
    }

    fn check_table(size: usize, max_order: u32, max_segment: usize) -> Result {
        let pages = alloc_pages(size, max_order)?;
        let table = SgTable::new(pages.clone(), max_segment)?;
        check_segments(&table, &pages, max_segment)
    }

    /// Checks that `table` covers `pages` in order, in entries of at most `max_segment` bytes,
    /// as [`for_each_entry`] makes them.
    fn check_segments(table: &SgTable, pages: &Pages, max_segment: usize) -> Result {
        let want = entry_count(extents(pages), max_segment);
        assert_eq!(table.len(), want);

        let limit = segment_limit(max_segment);
        // The buffer's page frames, page by page.
        let mut pfns = KVec::new();
        for b in pages.blocks() {
            for i in 0..b.page_count() {
                pfns.push(b.pfn() + i, GFP_KERNEL)?;
            }
        }
        let (mut total, mut n) = (0, 0);
        // The previous entry's end frame and length: adjacent entries exist only at the limit.
        let mut prev: Option<(u64, usize)> = None;
        table.for_each_segment(|seg| {
            assert_eq!(seg.addr % PAGE_SIZE as u64, 0);
            assert_eq!(seg.len % PAGE_SIZE, 0);
            assert!(seg.len <= limit);
            let first = seg.addr / PAGE_SIZE as u64;
            for k in 0..seg.len / PAGE_SIZE {
                assert_eq!(
                    Some(&((first + k as u64) as usize)),
                    pfns.get(total / PAGE_SIZE + k)
                );
            }
            if let Some((end, len)) = prev {
                assert!(end != first || len == limit);
            }
            prev = Some((first + (seg.len / PAGE_SIZE) as u64, seg.len));
            total += seg.len;
            n += 1;
        });
        assert_eq!(n, want);
        assert_eq!(total, pages.size());
        Ok(())
    }

    #[test]
    fn spare_entries_are_filled_with_the_new_pages_and_nothing_else() -> Result {
        let p = PAGE_SIZE;
        // (size, max order, segment limit) of the first table, then of the second: the same
        // shape on other pages (the entries are reused), and shapes with more or fewer entries
        // (new ones are allocated).
        let cases = [
            ((16 * p, 4, usize::MAX), (16 * p, 4, usize::MAX)),
            ((64 * p, 0, usize::MAX), (64 * p, 0, usize::MAX)),
            ((64 * p, 4, 4 * p), (64 * p, 4, 4 * p)),
            ((16 * p, 4, usize::MAX), (64 * p, 0, p)),
            ((64 * p, 0, p), (16 * p, 4, usize::MAX)),
        ];
        for ((size1, order1, seg1), (size2, order2, seg2)) in cases {
            let old = alloc_pages(size1, order1)?;
            let new = alloc_pages(size2, order2)?;
            let first = SgTable::new(old.clone(), seg1)?;
            // What a mapping leaves behind in every entry: a DMA address and length.
            let mut sg = first.sgl();
            while !sg.is_null() {
                // SAFETY: `sg` is an entry of `first`, which is not mapped; the test only writes
                // what `dma_map_sgtable()` would.
                unsafe {
                    (*sg).dma_address = 0xdead_0000;
                    (*sg).dma_length = 0x1000;
                    sg = bindings::sg_next(sg);
                }
            }
            let (old_sgl, old_len) = (first.sgl(), first.len());
            let spare = first.into_entries();
            drop(old);
            let second = SgTable::new_in(Some(spare), new.clone(), seg2)?;
            check_segments(&second, &new, seg2)?;
            // Reused exactly when the count is the same.
            let reused = second.sgl() == old_sgl;
            assert_eq!(reused, second.len() == old_len);
            let mut sg = second.sgl();
            while !sg.is_null() {
                // SAFETY: `sg` is an entry of `second`.
                unsafe {
                    assert_eq!((*sg).dma_address, 0);
                    assert_eq!((*sg).dma_length, 0);
                    sg = bindings::sg_next(sg);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn tables_cover_the_buffer_in_order() -> Result {
        let sizes = [1, 2, 3, 17, 256, 257, 1024 + 5, 16 * 1024];
        for pages in sizes {
            for (max_order, max_segment) in
                [(0, 1 << 16), (4, 1 << 16), (8, 1 << 20), (10, usize::MAX)]
            {
                check_table(pages * PAGE_SIZE, max_order, max_segment)?;
            }
        }
        Ok(())
    }
}
