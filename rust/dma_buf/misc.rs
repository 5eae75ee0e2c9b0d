// SPDX-License-Identifier: GPL-2.0

//! Misc device registration whose open files keep the module loaded.
//!
//! C header: [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h)
//!
//! [`kernel::miscdevice::MiscDeviceRegistration`] in Linux 7.2 registers file operations without an
//! `owner`, so an open `/dev` file does not hold a reference on the module: unloading the module
//! while a file is open would leave the VFS calling `release` in freed module text. This
//! registration copies the kernel crate's file operations for `T`, sets `owner` to the registering
//! module and registers that copy, so the VFS's `fops_get()` in `misc_open()` pins the module for
//! as long as any file is open. Everything else (the `open`, `ioctl`, `release` trampolines and the
//! [`MiscDevice`] trait) is the kernel crate's.

use core::marker::PhantomData;
use kernel::{
    bindings,
    error::to_result,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions, //
    },
    prelude::*,
    types::Opaque, //
};

/// A registered misc device whose file operations are owned by a module.
///
/// # Invariants
///
/// - `misc` holds a `struct miscdevice` registered with `misc_register()` whose `fops` points to
///   `fops`; it is deregistered exactly once, in [`Drop`], before `fops` is freed.
/// - `fops` is the kernel crate's file operations table for `T` with `owner` set to the module
///   that created the registration.
pub(crate) struct MiscRegistration<T: MiscDevice> {
    misc: Pin<KBox<Opaque<bindings::miscdevice>>>,
    fops: KBox<bindings::file_operations>,
    _t: PhantomData<T>,
}

// SAFETY: `misc_deregister()` may be called from any thread, and the registration has no other
// state than the two allocations, which are never mutated after registration.
unsafe impl<T: MiscDevice> Send for MiscRegistration<T> {}

// SAFETY: No `&self` method mutates anything.
unsafe impl<T: MiscDevice> Sync for MiscRegistration<T> {}

impl<T: MiscDevice> MiscRegistration<T> {
    /// Registers a misc device called `name` (`/dev/<name>`) whose open files pin `module`.
    pub(crate) fn register(name: &'static CStr, module: &'static ThisModule) -> Result<Self> {
        let raw = MiscDeviceOptions { name }.into_raw::<T>();
        // SAFETY: `into_raw` sets `fops` to the kernel crate's static file operations table for
        // `T`, which is valid for reads forever.
        let mut fops = KBox::new(unsafe { *raw.fops }, GFP_KERNEL)?;
        fops.owner = module.as_ptr();
        let fops_ptr: *const bindings::file_operations = &*fops;

        let misc = KBox::pin_init(
            Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                // SAFETY: The initializer may write to `slot`.
                unsafe { slot.write(bindings::miscdevice { fops: fops_ptr, ..raw }) };
                // SAFETY: `slot` holds a fully initialised `miscdevice`. Its memory is pinned and
                // is only freed after `misc_deregister()` in `Drop`; `fops_ptr` points into a box
                // that is freed after that too.
                // INVARIANT: On success `slot` is registered with our owned `fops`.
                to_result(unsafe { bindings::misc_register(slot) })
            }),
            GFP_KERNEL,
        )?;

        Ok(Self {
            misc,
            fops,
            _t: PhantomData,
        })
    }

    /// Returns the file operations the device was registered with.
    pub(crate) fn fops(&self) -> &bindings::file_operations {
        &self.fops
    }

    /// Returns the device node's minor number, a positive number once registered.
    pub(crate) fn minor(&self) -> i32 {
        // SAFETY: By the type invariants `misc` is a registered `miscdevice`, whose `minor` field
        // is set by `misc_register()` and not written afterwards.
        unsafe { (*self.misc.get()).minor }
    }
}

impl<T: MiscDevice> Drop for MiscRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `misc` is registered and this is the only place that
        // deregisters it. `fops` is dropped only after this returns.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}
