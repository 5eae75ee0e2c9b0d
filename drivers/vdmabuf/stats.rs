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
    /// Bytes of live buffers, plus the second copy of buffers being migrated.
    pub(crate) bytes: Atomic<i64>,
    /// Live attachments.
    pub(crate) attachments: Atomic<i64>,
    /// Live DMA mappings.
    pub(crate) maps: Atomic<i64>,
    /// Migrations done since load.
    pub(crate) migrations: Atomic<i64>,
    /// Calls failed on purpose (`struct vdmabuf_modes`) since load.
    pub(crate) injected: Atomic<i64>,
}

impl Stats {
    /// All counters at zero.
    pub(crate) const fn new() -> Self {
        Self {
            buffers: Atomic::new(0),
            bytes: Atomic::new(0),
            attachments: Atomic::new(0),
            maps: Atomic::new(0),
            migrations: Atomic::new(0),
            injected: Atomic::new(0),
        }
    }
}

/// The module's counters: userspace's buffers only. KUnit tests count theirs elsewhere, so a
/// fresh load shows zeros.
pub(crate) static STATS: Stats = Stats::new();

/// The debugfs directory `/sys/kernel/debug/vdmabuf/`: one file per counter under `counts/`,
/// `buffers/list`, the live buffers with where their memory is, and `buffers/fdinfo_lines`.
/// Removed on drop.
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
                d.read_only_file(c"injected", &stats.injected);
            }),
            _buffers <- dir.scope(registry, c"buffers", |registry, d| {
                d.read_callback_file(c"list", registry, &|r: &Arc<Registry>, f| r.show(f));
                // `y` when the kernel has the exporter fdinfo hook, so the fdinfo of each
                // buffer also shows its format, planes and modes.
                d.read_callback_file(c"fdinfo_lines", registry, &|_: &Arc<Registry>, f| {
                    f.write_str(if cfg!(dma_buf_show_fdinfo) { "y\n" } else { "n\n" })
                });
            }),
            _dir: dir,
        })
    }
}

/// One live buffer counted against the limits; uncounted on drop.
pub(crate) struct BufferAccount {
    /// The buffer's bytes; uncounted when this drops.
    bytes: ByteAccount,
}

impl BufferAccount {
    /// Counts a new buffer of `size` bytes in `stats`, or fails with `ENOSPC` if that would
    /// exceed `max_buffers` buffers or `max_total` bytes.
    #[inline]
    pub(crate) fn new(
        stats: &'static Stats,
        size: usize,
        max_buffers: usize,
        max_total: usize,
    ) -> Result<Self> {
        let bytes = ByteAccount::new(stats, size, max_total)?;
        if !add_within(&stats.buffers, 1, max_buffers) {
            // Dropping `bytes` takes the bytes out of the count again.
            return Err(ENOSPC);
        }
        Ok(Self { bytes })
    }
}

impl Drop for BufferAccount {
    fn drop(&mut self) {
        self.bytes.stats.buffers.add(-1, Relaxed);
    }
}

/// Adds `n` to `counter` unless that would take it past `max`; returns whether it did. The
/// counter never shows a value past `max`, not even for a moment.
#[inline]
fn add_within(counter: &Atomic<i64>, n: i64, max: usize) -> bool {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    let mut old = counter.load(Relaxed);
    loop {
        let new = match old.checked_add(n) {
            Some(new) if new <= max => new,
            _ => return false,
        };
        match counter.cmpxchg(old, new, Relaxed) {
            Ok(_) => return true,
            Err(current) => old = current,
        }
    }
}

/// Bytes counted against the total: a live buffer's, or a migration's second copy while it
/// exists; uncounted on drop.
pub(crate) struct ByteAccount {
    stats: &'static Stats,
    size: i64,
}

impl ByteAccount {
    /// Counts `size` more bytes in `stats`, or fails with `ENOSPC` past `max_total`.
    #[inline]
    pub(crate) fn new(stats: &'static Stats, size: usize, max_total: usize) -> Result<Self> {
        let size = i64::try_from(size).map_err(|_| EINVAL)?;
        if !add_within(&stats.bytes, size, max_total) {
            return Err(ENOSPC);
        }
        Ok(Self { stats, size })
    }
}

impl Drop for ByteAccount {
    fn drop(&mut self) {
        self.stats.bytes.add(-self.size, Relaxed);
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
