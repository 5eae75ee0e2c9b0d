// SPDX-License-Identifier: GPL-2.0

//! Safe Rust abstractions over dma-buf, dma-fence, dma-resv and sync_file, shared by the vdmabuf exporter and the sample importer.
//!
//! C headers: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h),
//! [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h),
//! [`include/linux/dma-resv.h`](srctree/include/linux/dma-resv.h),
//! [`include/linux/sync_file.h`](srctree/include/linux/sync_file.h),
//! [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h).
//!
//! Linux 7.2 has no Rust abstraction for dma-buf. This layer is written as if it lived in the
//! `kernel` crate: it is the only code of the project that calls `bindings::` or the C helper file
//! (`helpers.c`), and every driver module includes it with `#[path]`, because two out-of-tree Rust
//! modules cannot link against each other's crates.

// The exporter side is compiled only into modules that export (`--cfg dma_buf_exporter` in
// their Kbuild); the rest serves exporters and importers alike.
#[cfg(dma_buf_exporter)]
pub(crate) mod attachment;
pub(crate) mod buffer;
pub(crate) mod device;
pub(crate) mod errno;
#[cfg(dma_buf_exporter)]
pub(crate) mod exporter;
pub(crate) mod fence;
#[cfg(dma_buf_exporter)]
pub(crate) mod fourcc;
mod helpers;
pub(crate) mod import;
pub(crate) mod misc;
#[cfg(dma_buf_exporter)]
pub(crate) mod pages;
pub(crate) mod queue;
pub(crate) mod resv;
pub(crate) mod sg_table;
pub(crate) mod sync_file;
pub(crate) mod uapi;
#[cfg(dma_buf_exporter)]
pub(crate) mod vma;
#[cfg(dma_buf_exporter)]
pub(crate) mod vmap;
