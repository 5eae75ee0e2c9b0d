// SPDX-License-Identifier: GPL-2.0

//! Live counts of the exporter, shown in debugfs (`/sys/kernel/debug/vdmabuf/`), and the limits
//! on live buffers.

use crate::registry::Registry;
use kernel::{
    debugfs::{
        Dir,
        Scope, //
    },
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    },
};

/// Counters of the whole module.
pub(crate) struct Stats {
    /// Live buffers.
    pub(crate) buffers: Atomic<i64>,
    /// Bytes of live buffers.
    pub(crate) bytes: Atomic<i64>,
    /// Live attachments.
    pub(crate) attachments: Atomic<i64>,
    /// Live DMA mappings.
    pub(crate) maps: Atomic<i64>,
    /// Migrations done since load.
    pub(crate) migrations: Atomic<i64>,
}

/// The module's counters.
pub(crate) static STATS: Stats = Stats {
    buffers: Atomic::new(0),
    bytes: Atomic::new(0),
    attachments: Atomic::new(0),
    maps: Atomic::new(0),
    migrations: Atomic::new(0),
};

/// The debugfs directory `/sys/kernel/debug/vdmabuf/`: one file per counter under `counts/`,
/// and `buffers/list`, the live buffers with where their memory is. Removed on drop.
#[pin_data]
pub(crate) struct Debugfs {
    // Drop order: the files before their directory.
    #[pin]
    _counts: Scope<&'static Stats>,
    #[pin]
    _buffers: Scope<Arc<Registry>>,
    _dir: Dir,
}

impl Debugfs {
    /// Creates the directory and its files.
    pub(crate) fn new(registry: Arc<Registry>) -> impl PinInit<Self> {
        let dir = Dir::new(c"vdmabuf");
        pin_init!(Self {
            _counts <- dir.scope(&STATS, c"counts", |stats, d| {
                d.read_only_file(c"buffers", &stats.buffers);
                d.read_only_file(c"bytes", &stats.bytes);
                d.read_only_file(c"attachments", &stats.attachments);
                d.read_only_file(c"maps", &stats.maps);
                d.read_only_file(c"migrations", &stats.migrations);
            }),
            _buffers <- dir.scope(registry, c"buffers", |registry, d| {
                d.read_callback_file(c"list", registry, &|r: &Arc<Registry>, f| r.show(f));
            }),
            _dir: dir,
        })
    }
}

/// One live buffer counted against the limits; uncounted on drop.
pub(crate) struct BufferAccount {
    size: usize,
}

impl BufferAccount {
    /// Counts a new buffer of `size` bytes, or fails with `ENOSPC` if that would exceed
    /// `max_buffers` buffers or `max_total` bytes.
    pub(crate) fn new(size: usize, max_buffers: usize, max_total: usize) -> Result<Self> {
        let size_i = i64::try_from(size).map_err(|_| EINVAL)?;
        let account = Self { size };
        let buffers = STATS.buffers.fetch_add(1, Relaxed) + 1;
        let bytes = STATS.bytes.fetch_add(size_i, Relaxed) + size_i;
        // Dropping `account` on failure takes the buffer out of the counts again.
        if buffers as usize > max_buffers || bytes as usize > max_total {
            return Err(ENOSPC);
        }
        Ok(account)
    }
}

impl Drop for BufferAccount {
    fn drop(&mut self) {
        STATS.buffers.add(-1, Relaxed);
        // CAST: `new` checked that the size fits in an `i64`.
        STATS.bytes.add(-(self.size as i64), Relaxed);
    }
}

/// Counts one live attachment or mapping in `counter` while it lives.
pub(crate) struct Live(&'static Atomic<i64>);

impl Live {
    /// Counts one more in `counter`.
    pub(crate) fn new(counter: &'static Atomic<i64>) -> Self {
        counter.add(1, Relaxed);
        Self(counter)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.add(-1, Relaxed);
    }
}
