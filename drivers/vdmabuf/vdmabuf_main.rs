// SPDX-License-Identifier: GPL-2.0

//! vdmabuf: a virtual dma-buf exporter for testing dma-buf importers.

use kernel::prelude::*;

// The dma-buf layer is shared source: each module compiles the parts it uses.
#[allow(dead_code)]
#[path = "../../rust/dma_buf/dma_buf.rs"]
mod dma_buf;
mod file;
// The ioctls that use it land with the exporter; until then only its KUnit suite does.
#[allow(dead_code)]
mod uapi;

module! {
    type: VdmabufModule,
    name: "vdmabuf",
    authors: ["The vdmabuf authors"],
    description: "Virtual dma-buf exporter",
    license: "GPL",
    imports_ns: ["DMA_BUF"],
    params: {
        max_size_mb: u32 {
            default: 256,
            description: "Largest buffer, in MiB",
        },
    },
}

/// The module: the `/dev/vdmabuf` control device.
struct VdmabufModule {
    _misc: dma_buf::misc::MiscRegistration<file::VdmabufFile>,
}

impl kernel::Module for VdmabufModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let misc = dma_buf::misc::MiscRegistration::register(c"vdmabuf", module)?;
        pr_info!("registered /dev/vdmabuf (minor {})\n", misc.minor());
        Ok(Self { _misc: misc })
    }
}

impl Drop for VdmabufModule {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}

#[kunit_tests(vdmabuf_module)]
mod tests {
    use super::*;

    /// The control device's file operations must pin this module, or unloading it with
    /// `/dev/vdmabuf` open would leave the VFS calling freed code.
    #[test]
    fn control_device_pins_module() -> Result {
        let misc = dma_buf::misc::MiscRegistration::<file::VdmabufFile>::register(
            c"vdmabuf-kunit",
            &THIS_MODULE,
        )?;
        assert_eq!(misc.fops().owner, THIS_MODULE.as_ptr());
        assert!(misc.fops().open.is_some());
        assert!(misc.fops().release.is_some());
        assert!(misc.fops().unlocked_ioctl.is_some());
        assert!(misc.minor() > 0);
        Ok(())
    }
}
