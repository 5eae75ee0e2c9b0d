// SPDX-License-Identifier: GPL-2.0

//! vdmabuf: a virtual dma-buf exporter for testing dma-buf importers.

use kernel::prelude::*;

mod buffer;
// The dma-buf layer is shared source: each module compiles the parts it uses.
#[path = "../../rust/dma_buf/dma_buf.rs"]
mod dma_buf;
mod fences;
mod file;
mod format;
mod modes;
mod registry;
mod stats;
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
        max_total_mb: u32 {
            default: 1024,
            description: "Most memory in live buffers, in MiB",
        },
        max_buffers: u32 {
            default: 4096,
            description: "Most live buffers",
        },
        show_phys: u32 {
            default: 0,
            description: "1: debugfs buffers/list shows physical addresses (test kernels only)",
        },
        fence_timeout_ms: u32 {
            default: 10000,
            description: "Fences signal with -ETIMEDOUT after this many milliseconds (at most 10000)",
        },
    },
}

/// The limits set by the module parameters, in bytes and buffers.
pub(crate) struct Limits {
    max_size: usize,
    max_total: usize,
    max_buffers: usize,
    fence_timeout_ms: u32,
}

impl Limits {
    #[inline]
    fn get() -> Self {
        // CAST: A `u32` fits in `usize` on every architecture the kernel supports.
        let mib = |v: u32| (v as usize).saturating_mul(1 << 20);
        Self {
            max_size: mib(*module_parameters::max_size_mb.value()),
            max_total: mib(*module_parameters::max_total_mb.value()),
            // CAST: As above.
            max_buffers: *module_parameters::max_buffers.value() as usize,
            fence_timeout_ms: *module_parameters::fence_timeout_ms.value(),
        }
    }
}

/// The file operations of `/dev/vdmabuf`, owned by this module.
static FOPS: dma_buf::misc::MiscFops<file::VdmabufFile> =
    dma_buf::misc::MiscFops::new(&THIS_MODULE);

/// The module: the `/dev/vdmabuf` control device and the debugfs directory.
struct VdmabufModule {
    _misc: dma_buf::misc::MiscRegistration<file::VdmabufFile>,
    _debugfs: Pin<KBox<stats::Debugfs>>,
}

impl Drop for VdmabufModule {
    fn drop(&mut self) {
        // Every fence has signalled: each file signalled its fences when it closed, and no file
        // is open. Wait until no RCU reader can still be in our fence operations.
        dma_buf::fence::synchronize_rcu();
    }
}

impl kernel::Module for VdmabufModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let timeout = *module_parameters::fence_timeout_ms.value();
        if timeout > fences::MAX_TIMEOUT_MS {
            pr_err!(
                "fence_timeout_ms={} is above {}: fences on shared buffers must signal in bounded time\n",
                timeout,
                fences::MAX_TIMEOUT_MS
            );
            return Err(EINVAL);
        }
        let registry = registry::Registry::new(*module_parameters::show_phys.value() != 0)?;
        let debugfs = KBox::pin_init(stats::Debugfs::new(registry.clone()), GFP_KERNEL)?;
        let misc = dma_buf::misc::MiscRegistration::register(c"vdmabuf", &FOPS, registry)?;
        Ok(Self {
            _misc: misc,
            _debugfs: debugfs,
        })
    }
}

#[kunit_tests(vdmabuf_module)]
mod tests {
    use super::*;

    /// The control device's file operations must pin this module, or unloading it with
    /// `/dev/vdmabuf` open would leave the VFS calling freed code.
    #[test]
    fn control_device_pins_module() -> Result {
        let registry = registry::Registry::new(false)?;
        let misc = dma_buf::misc::MiscRegistration::<file::VdmabufFile>::register(
            c"vdmabuf-kunit",
            &FOPS,
            registry.clone(),
        )?;
        // Open files find the registration's shared data: the registry it was given.
        assert!(kernel::sync::Arc::ptr_eq(misc.data(), &registry));
        assert_eq!(misc.fops().owner, THIS_MODULE.as_ptr());
        assert!(misc.fops().open.is_some());
        assert!(misc.fops().release.is_some());
        assert!(misc.fops().unlocked_ioctl.is_some());
        assert!(misc.minor() > 0);
        Ok(())
    }
}
