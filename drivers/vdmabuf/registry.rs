// SPDX-License-Identifier: GPL-2.0

//! The live buffers, for `/sys/kernel/debug/vdmabuf/buffers`: where each one's memory is, so a
//! test can check that an importer's DMA addresses are the exporter's own pages.

use core::fmt;
use kernel::{
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

/// What the listing shows of one buffer; kept current by the buffer.
pub(crate) struct Tracked {
    /// The dma-buf's inode number, as `fstat()` and `bufinfo` show it.
    pub(crate) ino: Atomic<i64>,
    size: usize,
    /// Physical address of the first byte.
    pub(crate) first_phys: Atomic<i64>,
    /// Number of page blocks.
    pub(crate) blocks: Atomic<i64>,
}

impl Tracked {
    /// A record for a buffer of `size` bytes; the rest is set once known.
    pub(crate) fn new(size: usize) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                ino: Atomic::new(0),
                size,
                first_phys: Atomic::new(0),
                blocks: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    /// Records where the buffer's memory now is.
    pub(crate) fn set_backing(&self, first_pfn: usize, blocks: usize) {
        // CAST: Physical addresses and block counts fit in an `i64`.
        self.first_phys
            .store((first_pfn * PAGE_SIZE) as i64, Relaxed);
        self.blocks.store(blocks as i64, Relaxed);
    }
}

/// The live buffers of the module.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    list: Mutex<KVec<Arc<Tracked>>>,
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                list <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )
    }

    /// Adds a buffer.
    pub(crate) fn add(&self, t: Arc<Tracked>) -> Result {
        Ok(self.list.lock().push(t, GFP_KERNEL)?)
    }

    /// Removes a buffer.
    pub(crate) fn remove(&self, t: &Arc<Tracked>) {
        let mut list = self.list.lock();
        if let Some(i) = list.iter().position(|x| Arc::ptr_eq(x, t)) {
            let _ = list.remove(i);
        }
    }

    /// Writes one line per buffer: inode, size, blocks, first physical address.
    pub(crate) fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ino size blocks first_phys")?;
        for t in self.list.lock().iter() {
            writeln!(
                f,
                "{} {} {} {:#x}",
                t.ino.load(Relaxed),
                t.size,
                t.blocks.load(Relaxed),
                t.first_phys.load(Relaxed)
            )?;
        }
        Ok(())
    }
}
