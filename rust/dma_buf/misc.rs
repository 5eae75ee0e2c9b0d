// SPDX-License-Identifier: GPL-2.0

//! Misc device registration whose open files keep the module loaded, with data shared by all
//! files of the device.
//!
//! C header: [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h)
//!
//! [`kernel::miscdevice::MiscDeviceRegistration`] in Linux 7.2 registers file operations without an
//! `owner`, so an open `/dev` file does not hold a reference on the module: unloading the module
//! while a file is open would leave the VFS calling `release` in freed module text (the fix for
//! the kernel crate is `patches/upstream/0002-rust-miscdevice-set-the-owner-of-the-file-operations.patch`).
//! Until that lands, a driver declares its file operations once, as a static that names its
//! module ([`MiscFops`]), and registers the device with them through [`MiscRegistration`]. The
//! VFS's `fops_get()` in `misc_open()` then pins the module for as long as any file is open, and
//! `replace_fops()` leaves every open file pointing at that static, which outlives them all.
//! Everything else (the `open`, `ioctl`, `release` trampolines and the [`MiscDevice`] trait) is
//! the kernel crate's.
//!
//! The kernel crate's `open` trampoline passes `T::open` the registered `struct miscdevice` as a
//! `&MiscDeviceRegistration<T>` (a `#[repr(transparent)]` wrapper of it). This registration embeds
//! the `miscdevice` next to the shared data, which [`MiscRegistration::data_of`] finds from there.

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
///
/// # Safety
///
/// The type must be registered only through [`MiscRegistration`], never through
/// [`MiscDeviceRegistration`] or by other means: [`MiscRegistration::data_of`] relies on every
/// `struct miscdevice` that reaches `T::open` being embedded in a [`MiscRegistration`]'s
/// allocation.
pub(crate) unsafe trait SharedData: MiscDevice + 'static {
    /// The shared data; `()` for none.
    type Data: Send + Sync;
}

/// The file operations of misc device type `T`, owned by the module that declares them.
///
/// Declared once per device type, as a static: `static FOPS: MiscFops<MyFile> =
/// MiscFops::new(&THIS_MODULE);`. Open files of the device point at it, so it must outlive them;
/// as a static of the module, which every open file pins, it does.
///
/// # Examples
///
/// ```ignore
/// static FOPS: MiscFops<MyFile> = MiscFops::new(&THIS_MODULE);
///
/// // In the module's init:
/// let misc = MiscRegistration::register(c"mydevice", &FOPS, shared_data)?;
/// // In `MyFile::open`:
/// let shared = MiscRegistration::<MyFile>::data_of(misc).clone();
/// ```
pub(crate) struct MiscFops<T>(bindings::file_operations, PhantomData<T>);

// SAFETY: The table is never written after initialisation; it holds function pointers and the
// module pointer, which may be read from any thread.
unsafe impl<T> Sync for MiscFops<T> {}

impl<T: MiscDevice> MiscFops<T> {
    /// Builds the kernel crate's file operations for `T` with `owner` set to `module`.
    pub(crate) const fn new(module: &'static ThisModule) -> Self {
        let raw = MiscDeviceOptions { name: c"" }.into_raw::<T>();
        // SAFETY: `into_raw` sets `fops` to the kernel crate's table for `T`, a reference to a
        // constant, which is valid for reads, also at compile time.
        let fops = unsafe { *raw.fops };
        Self(
            bindings::file_operations {
                owner: module.as_ptr(),
                ..fops
            },
            PhantomData,
        )
    }

    /// Returns the table.
    pub(crate) fn raw(&'static self) -> &'static bindings::file_operations {
        &self.0
    }
}

/// The registered `miscdevice` and the device's shared data, in one pinned allocation.
#[pin_data]
struct MiscBox<D> {
    #[pin]
    misc: Opaque<bindings::miscdevice>,
    data: D,
}

/// A registered misc device whose file operations are a module's static [`MiscFops`].
///
/// # Invariants
///
/// `boxed.misc` holds a `struct miscdevice` registered with `misc_register()` whose `fops` is a
/// `'static` [`MiscFops<T>`]; `boxed.data` was initialised before the registration; it is
/// deregistered exactly once, in [`Drop`].
pub(crate) struct MiscRegistration<T: SharedData> {
    boxed: Pin<KBox<MiscBox<T::Data>>>,
    fops: &'static MiscFops<T>,
}

// SAFETY: `misc_deregister()` may be called from any thread; the shared data is `Send + Sync`.
unsafe impl<T: SharedData> Send for MiscRegistration<T> {}

// SAFETY: `&self` methods only read; the shared data is `Sync`.
unsafe impl<T: SharedData> Sync for MiscRegistration<T> {}

impl<T: SharedData> MiscRegistration<T> {
    /// Registers a misc device called `name` (`/dev/<name>`) with the file operations `fops`,
    /// with `data` shared by all of its files.
    pub(crate) fn register(
        name: &'static CStr,
        fops: &'static MiscFops<T>,
        data: T::Data,
    ) -> Result<Self> {
        let raw = MiscDeviceOptions { name }.into_raw::<T>();
        let fops_ptr: *const bindings::file_operations = fops.raw();
        // pin-init initialises the fields in the order written: `data` is in place before the
        // device goes live, so an `open` racing with registration finds it.
        let boxed = KBox::try_pin_init(
            try_pin_init!(MiscBox {
                data,
                misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                    // SAFETY: The initializer may write to `slot`.
                    unsafe { slot.write(bindings::miscdevice { fops: fops_ptr, ..raw }) };
                    // SAFETY: `slot` holds a fully initialised `miscdevice`. Its memory is pinned
                    // and is only freed after `misc_deregister()` in `Drop`; `fops_ptr` is a
                    // static.
                    // INVARIANT: On success `slot` is registered with `fops`, after `data`.
                    to_result(unsafe { bindings::misc_register(slot) })
                }),
            }? Error),
            GFP_KERNEL,
        )?;
        Ok(Self { boxed, fops })
    }

    /// Returns the file operations the device was registered with.
    pub(crate) fn fops(&self) -> &'static bindings::file_operations {
        self.fops.raw()
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
    /// to.
    pub(crate) fn data_of(misc: &MiscDeviceRegistration<T>) -> &T::Data {
        let raw = misc.as_raw();
        // SAFETY: By the safety requirements of `SharedData`, `T` is registered only by
        // `MiscRegistration<T>`, which embeds the `miscdevice` in a `MiscBox<T::Data>` whose
        // `data` is initialised before registration and lives until after deregistration, so as
        // long as `misc` is registered, which it is while `T::open` runs.
        let boxed = unsafe {
            &*kernel::container_of!(
                raw.cast::<Opaque<bindings::miscdevice>>(),
                MiscBox<T::Data>,
                misc
            )
        };
        &boxed.data
    }
}

impl<T: SharedData> Drop for MiscRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `misc` is registered and this is the only place that
        // deregisters it. Open files keep pointing at the static `fops`, which outlives them.
        unsafe { bindings::misc_deregister(self.boxed.misc.get()) };
    }
}
