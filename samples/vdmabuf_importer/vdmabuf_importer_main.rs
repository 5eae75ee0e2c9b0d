// SPDX-License-Identifier: GPL-2.0

//! vdmabuf_importer: a sample dma-buf importer written on the Rust dma-buf layer.

use kernel::{
    prelude::*,
    sync::Arc, //
};

// The dma-buf layer is shared source: each module compiles the parts it uses.
#[path = "../../rust/dma_buf/dma_buf.rs"]
mod dma_buf;
mod engine;
mod file;
mod uapi;

module! {
    type: ImporterModule,
    name: "vdmabuf_importer",
    authors: ["The vdmabuf authors"],
    description: "Sample dma-buf importer",
    license: "GPL",
    imports_ns: ["DMA_BUF"],
}

/// What every open file of `/dev/vdmabuf-importer` uses: the engine and the device.
#[pin_data]
pub(crate) struct Shared {
    // Drop order: the engine finishes its jobs (which hold imports, and so DMA mappings for the
    // device) before the device goes away.
    #[pin]
    engine: engine::Engine,
    dev: dma_buf::device::DmaDevice,
}

impl Shared {
    /// Returns the importing device: a faux device with a 64-bit DMA mask.
    pub(crate) fn device(&self) -> &kernel::device::Device {
        self.dev.device()
    }

    /// Returns the virtual DMA engine.
    pub(crate) fn engine(&self) -> &engine::Engine {
        &self.engine
    }
}

/// The file operations of `/dev/vdmabuf-importer`, owned by this module.
static FOPS: dma_buf::misc::MiscFops<file::ImporterFile> =
    dma_buf::misc::MiscFops::new(&THIS_MODULE);

/// The module: `/dev/vdmabuf-importer` and what it shares.
struct ImporterModule {
    _misc: dma_buf::misc::MiscRegistration<file::ImporterFile>,
}

impl kernel::Module for ImporterModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let dev = dma_buf::device::DmaDevice::new(c"vdmabuf-importer")?;
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                engine <- engine::Engine::new()?,
                dev,
            }? Error),
            GFP_KERNEL,
        )?;
        let misc = dma_buf::misc::MiscRegistration::register(c"vdmabuf-importer", &FOPS, shared)?;
        pr_info!(
            "registered /dev/vdmabuf-importer (minor {})\n",
            misc.minor()
        );
        Ok(Self { _misc: misc })
    }
}

#[kunit_tests(vdmabuf_importer_module)]
mod tests {
    use super::*;

    /// The device node's file operations pin this module, and open files find the shared data.
    #[test]
    fn device_pins_module_and_shares_data() -> Result {
        let misc = dma_buf::misc::MiscRegistration::<file::ImporterFile>::register(
            c"vdmabuf-importer-kunit",
            &FOPS,
            Arc::pin_init(
                try_pin_init!(Shared {
                    engine <- engine::Engine::new()?,
                    dev: dma_buf::device::DmaDevice::new(c"vdmabuf-importer-kunit")?,
                }? Error),
                GFP_KERNEL,
            )?,
        )?;
        assert_eq!(misc.fops().owner, THIS_MODULE.as_ptr());
        assert!(misc.fops().unlocked_ioctl.is_some());
        assert!(misc.minor() > 0);
        assert_eq!(misc.data().device().name(), c"vdmabuf-importer-kunit");
        Ok(())
    }
}
