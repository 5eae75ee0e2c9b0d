// SPDX-License-Identifier: GPL-2.0

//! Misc device registration whose open files keep the module loaded, with data shared by all
//! files of the device.
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
//!
//! The kernel crate's `open` trampoline passes `T::open` the registered `struct miscdevice` as a
//! `&MiscDeviceRegistration<T>` (a `#[repr(transparent)]` wrapper of it). This registration embeds
//! the `miscdevice` next to `T::Data`, which [`MiscRegistration::data_of`] finds from there.

use core::marker::PhantomData;
use kernel::{
    bindings,
    error::to_result,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    prelude::*,
    types::Opaque, //
};

/// A misc device type with data shared by all its open files.
pub(crate) trait SharedData: MiscDevice {
    /// The shared data; `()` for none.
    type Data: Send + Sync;
}

/// The registered `miscdevice` and the device's shared data, in one pinned allocation.
#[pin_data]
struct MiscBox<D> {
    #[pin]
    misc: Opaque<bindings::miscdevice>,
    data: D,
}

/// A registered misc device whose file operations are owned by a module.
///
/// # Invariants
///
/// - `boxed.misc` holds a `struct miscdevice` registered with `misc_register()` whose `fops`
///   points to `fops`; it is deregistered exactly once, in [`Drop`], before `fops` is freed.
/// - `fops` is the kernel crate's file operations table for `T` with `owner` set to the module
///   that created the registration; so it is never the kernel crate's own table.
pub(crate) struct MiscRegistration<T: SharedData> {
    boxed: Pin<KBox<MiscBox<T::Data>>>,
    fops: KBox<bindings::file_operations>,
    _t: PhantomData<T>,
}

// SAFETY: `misc_deregister()` may be called from any thread; the shared data is `Send + Sync`.
unsafe impl<T: SharedData> Send for MiscRegistration<T> {}

// SAFETY: `&self` methods only read; the shared data is `Sync`.
unsafe impl<T: SharedData> Sync for MiscRegistration<T> {}

/// The kernel crate's file operations table for `T`.
fn kernel_fops<T: MiscDevice>() -> *const bindings::file_operations {
    MiscDeviceOptions { name: c"" }.into_raw::<T>().fops
}

impl<T: SharedData> MiscRegistration<T> {
    /// Registers a misc device called `name` (`/dev/<name>`) whose open files pin `module`, with
    /// `data` shared by all of them.
    pub(crate) fn register(
        name: &'static CStr,
        module: &'static ThisModule,
        data: T::Data,
    ) -> Result<Self> {
        let raw = MiscDeviceOptions { name }.into_raw::<T>();
        // SAFETY: `into_raw` sets `fops` to the kernel crate's static file operations table for
        // `T`, which is valid for reads forever.
        let mut fops = KBox::new(unsafe { *raw.fops }, GFP_KERNEL)?;
        fops.owner = module.as_ptr();
        let fops_ptr: *const bindings::file_operations = &*fops;

        let boxed = KBox::try_pin_init(
            try_pin_init!(MiscBox {
                misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                    // SAFETY: The initializer may write to `slot`.
                    unsafe { slot.write(bindings::miscdevice { fops: fops_ptr, ..raw }) };
                    // SAFETY: `slot` holds a fully initialised `miscdevice`. Its memory is pinned
                    // and is only freed after `misc_deregister()` in `Drop`; `fops_ptr` points
                    // into a box that is freed after that too.
                    // INVARIANT: On success `slot` is registered with our owned `fops`.
                    to_result(unsafe { bindings::misc_register(slot) })
                }),
                data,
            }? Error),
            GFP_KERNEL,
        )?;

        Ok(Self {
            boxed,
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
        unsafe { (*self.boxed.misc.get()).minor }
    }

    /// Returns the shared data.
    pub(crate) fn data(&self) -> &T::Data {
        &self.boxed.data
    }

    /// Returns the shared data of the registration that `misc` (as passed to `T::open`) belongs
    /// to, or `None` if the device was registered by another kind of registration.
    pub(crate) fn data_of(misc: &MiscDeviceRegistration<T>) -> Option<&T::Data> {
        let raw = misc.as_raw();
        // SAFETY: `misc` is a registered misc device; `fops` is set before registration.
        if core::ptr::eq(unsafe { (*raw).fops }, kernel_fops::<T>()) {
            return None;
        }
        // SAFETY: Only `MiscRegistration<T>` registers `T`'s trampolines with another table than
        // the kernel crate's (by the type invariants), and it embeds the `miscdevice` in a
        // `MiscBox<T::Data>`, which lives as long as the registration, so as long as `misc`.
        let boxed = unsafe {
            &*kernel::container_of!(
                raw.cast::<Opaque<bindings::miscdevice>>(),
                MiscBox<T::Data>,
                misc
            )
        };
        Some(&boxed.data)
    }

    /// Like [`MiscRegistration::data_of`], for `T::open`: a copy of the shared data (typically an
    /// `Arc`), or `ENODEV`.
    pub(crate) fn open_data(misc: &MiscDeviceRegistration<T>) -> Result<T::Data>
    where
        T::Data: Clone,
    {
        Self::data_of(misc).cloned().ok_or(ENODEV)
    }
}

impl<T: SharedData> Drop for MiscRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `misc` is registered and this is the only place that
        // deregisters it. `fops` is dropped only after this returns.
        unsafe { bindings::misc_deregister(self.boxed.misc.get()) };
    }
}
