// SPDX-License-Identifier: GPL-2.0

//! The live buffers, for `/sys/kernel/debug/vdmabuf/buffers`: where each one's memory is, so a
//! test can check that an importer's DMA addresses are the exporter's own pages.
//!
//! Physical addresses are kernel addresses, which upstream keeps out of debugfs too: the listing
//! shows them only if the module was loaded with `show_phys=1` (test kernels), and `-` otherwise.

use crate::{
    dma_buf::{
        pages::Pages,
        queue::OrderedQueue, //
    },
    format::Image,
    modes::Modes, //
};
use core::fmt;
use kernel::{
    impl_list_arc_safe, impl_list_item,
    list::{
        List,
        ListArc,
        ListLinks, //
    },
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
};

/// What the listing shows of one buffer; kept current by the buffer. It is listed through its
/// own links, so listing a buffer allocates nothing.
#[pin_data]
pub(crate) struct Tracked {
    /// The dma-buf's inode number, as `fstat()` and `bufinfo` show it.
    pub(crate) ino: Atomic<i64>,
    size: usize,
    /// Physical address of the first byte.
    pub(crate) first_phys: Atomic<i64>,
    /// Number of page blocks.
    pub(crate) blocks: Atomic<i64>,
    /// The image layout of a format-aware buffer.
    image: Option<Image>,
    /// The buffer's modes.
    modes: Modes,
    /// The address of the registry whose list holds the record, or 0; changed only under that
    /// registry's lock.
    listed_in: Atomic<usize>,
    #[pin]
    links: ListLinks,
}

impl_list_arc_safe! {
    impl ListArcSafe<0> for Tracked { untracked; }
}

impl_list_item! {
    impl ListItem<0> for Tracked { using ListLinks { self.links }; }
}

impl Tracked {
    /// A record for a buffer of `size` bytes, with its layout if it has one; the rest is set
    /// once known. The record's one [`ListArc`], which [`Registry::add`] takes.
    pub(crate) fn new(size: usize, image: Option<Image>, modes: Modes) -> Result<ListArc<Self>> {
        ListArc::pin_init(
            try_pin_init!(Self {
                ino: Atomic::new(0),
                size,
                first_phys: Atomic::new(0),
                blocks: Atomic::new(0),
                image,
                modes,
                listed_in: Atomic::new(0),
                links <- ListLinks::new(),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Returns the image layout of a format-aware buffer.
    pub(crate) fn image(&self) -> Option<&Image> {
        self.image.as_ref()
    }

    /// Records where the buffer's memory now is.
    #[inline]
    pub(crate) fn set_backing(&self, pages: &Pages) {
        // CAST: Page frame numbers fit in a `u64` on every architecture; physical addresses
        // (`phys_addr_t`) are at most 64 bits, so the product does not overflow, unlike a
        // `usize` product on 32-bit kernels with more than 4 GiB of memory.
        let phys = (pages.first_pfn() as u64).wrapping_mul(PAGE_SIZE as u64);
        // CAST: Bit-for-bit: the listing prints it back as unsigned hexadecimal.
        self.first_phys.store(phys as i64, Relaxed);
        // CAST: A block count is far below `i64::MAX`.
        self.blocks.store(pages.blocks().len() as i64, Relaxed);
    }
}

/// The live buffers of the module.
///
/// # Invariants
///
/// A record is on `list` exactly when its `listed_in` is this registry's address.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    /// In the order they were made; adding and removing cost no allocation and no search.
    list: Mutex<List<Tracked>>,
    /// Whether the listing shows physical addresses.
    show_phys: bool,
    /// Where buffers under move pressure migrate by themselves (`struct vdmabuf_modes`): the
    /// module's own queue, drained when the last buffer and the module are gone, so no work item
    /// runs module code after unload.
    movers: OrderedQueue,
}

impl Registry {
    /// An empty registry, whose listing shows physical addresses if `show_phys`.
    pub(crate) fn new(show_phys: bool) -> Result<Arc<Self>> {
        let movers = OrderedQueue::new(c"vdmabuf-movers")?;
        Arc::pin_init(
            pin_init!(Self {
                list <- new_mutex!(List::new()),
                show_phys,
                movers,
            }),
            GFP_KERNEL,
        )
    }

    /// The queue of buffers under move pressure.
    pub(crate) fn movers(&self) -> &OrderedQueue {
        &self.movers
    }

    /// Adds a buffer's record, which the list then holds.
    pub(crate) fn add(&self, t: ListArc<Tracked>) {
        let mut list = self.list.lock();
        // INVARIANT: The record has one `ListArc`, this one, so it is on no list yet.
        t.listed_in.store(self.address(), Relaxed);
        list.push_back(t);
    }

    /// Removes a buffer's record if this registry lists it.
    pub(crate) fn remove(&self, t: &Tracked) {
        let mut list = self.list.lock();
        if t.listed_in.load(Relaxed) != self.address() {
            return;
        }
        // INVARIANT: Off the list, and marked so.
        t.listed_in.store(0, Relaxed);
        // SAFETY: By the type invariants the record is on this list.
        drop(unsafe { list.remove(t) });
    }

    /// Identifies this registry in its records' `listed_in`.
    fn address(&self) -> usize {
        // CAST: Only compared: the registry is pinned, so its address does not change.
        core::ptr::from_ref(self) as usize
    }

    /// Writes one line per buffer: inode, size, blocks, first physical address (or `-`), and
    /// the layout (`-` for a buffer made without a format, else as [`ShowLayout`] writes it) and
    /// the modes (`-` for the defaults, else as [`Modes`] prints them).
    ///
    /// [`ShowLayout`]: crate::format::ShowLayout
    pub(crate) fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ino size blocks first_phys layout modes")?;
        for t in self.list.lock().iter() {
            write!(
                f,
                "{} {} {} ",
                t.ino.load(Relaxed),
                t.size,
                t.blocks.load(Relaxed)
            )?;
            if self.show_phys {
                // CAST: Bit-for-bit, see `set_backing`.
                write!(f, "{:#x} ", t.first_phys.load(Relaxed) as u64)?;
            } else {
                write!(f, "- ")?;
            }
            match &t.image {
                Some(image) => f.write_fmt(fmt!("{image} "))?,
                None => write!(f, "- ")?,
            }
            f.write_fmt(fmt!("{}\n", t.modes))?;
        }
        Ok(())
    }
}
