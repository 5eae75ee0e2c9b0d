// SPDX-License-Identifier: GPL-2.0

//! vdmabuf_importer: a sample dma-buf importer written on the Rust dma-buf layer.

use kernel::prelude::*;

// The dma-buf layer is shared source: each module compiles the parts it uses.
#[allow(dead_code)]
#[path = "../../rust/dma_buf/dma_buf.rs"]
mod dma_buf;
mod file;
// The ioctls that use it land with the importer; until then only its KUnit suite does.
#[allow(dead_code)]
mod uapi;

module! {
    type: ImporterModule,
    name: "vdmabuf_importer",
    authors: ["The vdmabuf authors"],
    description: "Sample dma-buf importer",
    license: "GPL",
    imports_ns: ["DMA_BUF"],
}

/// The module: the `/dev/vdmabuf-importer` control device.
struct ImporterModule {
    _misc: dma_buf::misc::MiscRegistration<file::ImporterFile>,
}

impl kernel::Module for ImporterModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let misc = dma_buf::misc::MiscRegistration::register(c"vdmabuf-importer", module)?;
        pr_info!("registered /dev/vdmabuf-importer (minor {})\n", misc.minor());
        Ok(Self { _misc: misc })
    }
}

impl Drop for ImporterModule {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
