// SPDX-License-Identifier: GPL-2.0

//! Kernel mappings of imported buffers ([`ImportVmap`]).
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h)

use super::Import;
use crate::dma_buf::helpers;
use core::ptr::NonNull;
use kernel::{
    bindings,
    prelude::*,
    sync::Arc, //
};

/// A kernel mapping of an imported buffer; unmapped on drop. Access goes through copies made by
/// C `memcpy`, as the buffer may change under it (devices, userspace): bytes written concurrently
/// may be read or written torn, which callers order with fences and CPU access brackets.
///
/// # Invariants
///
/// `map` is a live `dma_buf_vmap` mapping of the import's buffer; `addr` is its system-memory
/// address, valid for the buffer's size.
///
/// # Examples
///
/// ```ignore
/// let vmap = Import::vmap(&import)?; // `dma_buf_vmap`; unmapped on drop
/// vmap.write(0, b"hello")?;
/// let mut back = [0u8; 5];
/// vmap.read(0, &mut back)?;
/// ```
pub(crate) struct ImportVmap {
    pub(super) import: Arc<Import>,
    pub(super) map: bindings::iosys_map,
    pub(super) addr: NonNull<u8>,
}

// SAFETY: The mapping may be used and removed from any thread.
unsafe impl Send for ImportVmap {}

// SAFETY: `&ImportVmap` only copies in and out through the mapping.
unsafe impl Sync for ImportVmap {}

impl ImportVmap {
    fn check(&self, offset: usize, len: usize) -> Result {
        match offset.checked_add(len) {
            Some(end) if end <= self.import.buf.size() => Ok(()),
            _ => Err(EINVAL),
        }
    }

    /// Copies `out.len()` bytes at `offset` out of the buffer.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        self.check(offset, out.len())?;
        // SAFETY: By the type invariants `addr` maps the whole buffer; the range was checked and
        // `out` is ours. C `memcpy`: concurrent writers of the buffer tear bytes, no more.
        unsafe {
            helpers::memcpy_shared(
                out.as_mut_ptr().cast(),
                self.addr.as_ptr().add(offset).cast(),
                out.len(),
            )
        };
        Ok(())
    }

    /// Copies `len` bytes at `from` in `src` to `to` in this buffer (the same buffer too: the
    /// ranges may overlap).
    #[cfg(dma_buf_importer)]
    pub(crate) fn copy_from(&self, to: usize, src: &ImportVmap, from: usize, len: usize) -> Result {
        self.check(to, len)?;
        src.check(from, len)?;
        // SAFETY: Both mappings cover their buffers; the ranges were checked. `memmove` allows
        // overlap, and being C's, concurrent writers tear bytes rather than race a Rust access.
        unsafe {
            helpers::memmove_shared(
                self.addr.as_ptr().add(to).cast(),
                src.addr.as_ptr().add(from).cast(),
                len,
            )
        };
        Ok(())
    }

    /// Calls `f` with consecutive chunks of `[offset, offset + len)` copied out of the buffer
    /// into `buf`, each at most `buf.len()` bytes. Fails with `EINVAL` if `buf` is empty.
    #[cfg(dma_buf_importer)]
    pub(crate) fn read_chunks(
        &self,
        offset: usize,
        len: usize,
        buf: &mut [u8],
        mut f: impl FnMut(&[u8]),
    ) -> Result {
        self.check(offset, len)?;
        if buf.is_empty() && len > 0 {
            return Err(EINVAL);
        }
        let mut pos = 0;
        while pos < len {
            let n = core::cmp::min(buf.len(), len - pos);
            self.read(offset + pos, &mut buf[..n])?;
            f(&buf[..n]);
            pos += n;
        }
        Ok(())
    }

    /// Copies `data` into the buffer at `offset`.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) -> Result {
        self.check(offset, data.len())?;
        // SAFETY: By the type invariants `addr` maps the whole buffer; the range was checked.
        // C `memcpy`, as in `read`.
        unsafe {
            helpers::memcpy_shared(
                self.addr.as_ptr().add(offset).cast(),
                data.as_ptr().cast(),
                data.len(),
            )
        };
        Ok(())
    }
}

impl Drop for ImportVmap {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `map` is a live mapping of the buffer.
        unsafe { bindings::dma_buf_vunmap_unlocked(self.import.buf.as_raw(), &mut self.map) };
    }
}
