// SPDX-License-Identifier: GPL-2.0

//! Reservation objects (`struct dma_resv`): the fences that guard a buffer.
//!
//! C header: [`include/linux/dma-resv.h`](srctree/include/linux/dma-resv.h)

use crate::dma_buf::{
    fence::Fence, //
    helpers,
};
use core::{
    cell::UnsafeCell,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    error::to_result,
    prelude::*,
    sync::aref::ARef,
    time::{
        msecs_to_jiffies,
        Delta, //
    },
    types::{
        NotThreadSafe,
        Opaque, //
    },
};

/// Data that only the holder of a buffer's reservation lock may touch: the lock the dma-buf core
/// already holds around `map_dma_buf`, `unmap_dma_buf` and the importers' `invalidate_mappings`
/// guards it, so it needs no lock of its own.
///
/// # Invariants
///
/// The value is accessed only with the reservation lock of its buffer held (or by the only
/// code that can still reach it), and no reference to it is kept across a call into the dma-buf
/// core or the exporter (which may call back into the same buffer on the same task).
pub(crate) struct ResvCell<T>(UnsafeCell<T>);

// SAFETY: By the type invariants every access holds the reservation lock, which serialises them.
unsafe impl<T: Send> Sync for ResvCell<T> {}

impl<T> ResvCell<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// # Safety
    ///
    /// The reservation lock of the value's buffer must be held, or nothing else can reach the
    /// value; the returned reference must not live across a call into the dma-buf core or the
    /// exporter, or another call of this method.
    #[expect(clippy::mut_from_ref)]
    #[inline]
    pub(crate) unsafe fn get(&self) -> &mut T {
        // SAFETY: As required by the function, nothing else accesses the value meanwhile.
        unsafe { &mut *self.0.get() }
    }
}

/// How a fence in a reservation object uses the buffer; the order is that of the C enum and
/// of strictness: a fence found by a usage is also found by every later one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(
    not(dma_buf_exporter),
    expect(
        dead_code,
        reason = "importers add and wait for READ and WRITE fences only"
    )
)]
pub(crate) enum Usage {
    /// Kernel memory management (moves, clears); everybody waits for these.
    Kernel,
    /// Implicit-sync writers.
    Write,
    /// Implicit-sync readers.
    Read,
    /// Bookkeeping only; implicit sync ignores these.
    Bookkeep,
}

impl Usage {
    fn raw(self) -> bindings::dma_resv_usage {
        match self {
            Usage::Kernel => bindings::dma_resv_usage_DMA_RESV_USAGE_KERNEL,
            Usage::Write => bindings::dma_resv_usage_DMA_RESV_USAGE_WRITE,
            Usage::Read => bindings::dma_resv_usage_DMA_RESV_USAGE_READ,
            Usage::Bookkeep => bindings::dma_resv_usage_DMA_RESV_USAGE_BOOKKEEP,
        }
    }

    /// The usage that implicit sync waits for before an access (`dma_resv_usage_rw`): a write
    /// waits for readers and writers, a read for writers only.
    pub(crate) fn for_access(write: bool) -> Self {
        if write {
            Usage::Read
        } else {
            Usage::Write
        }
    }

    /// Converts the uAPI number (the C enum's value).
    #[cfg(dma_buf_exporter)]
    pub(crate) fn from_u32(v: u32) -> Result<Self> {
        [Usage::Kernel, Usage::Write, Usage::Read, Usage::Bookkeep]
            .into_iter()
            .find(|u| u.raw() == v)
            .ok_or(EINVAL)
    }
}

/// A reservation object.
///
/// # Invariants
///
/// The object is a valid, initialised `struct dma_resv`.
#[repr(transparent)]
pub(crate) struct Resv(Opaque<bindings::dma_resv>);

// SAFETY: The reservation object is locked by the C side.
unsafe impl Send for Resv {}

// SAFETY: All `&Resv` methods are thread-safe C calls.
unsafe impl Sync for Resv {}

impl Resv {
    /// # Safety
    ///
    /// `ptr` must be a valid reservation object that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::dma_resv) -> &'a Self {
        // SAFETY: `Resv` is `repr(transparent)` over `Opaque<dma_resv>`.
        unsafe { &*ptr.cast() }
    }

    fn as_raw(&self) -> *mut bindings::dma_resv {
        self.0.get()
    }

    /// Takes the lock, interruptibly; it is released when the guard drops.
    pub(crate) fn lock(&self) -> Result<ResvGuard<'_>> {
        // SAFETY: By the type invariants the object is valid.
        to_result(unsafe {
            helpers::dma_resv_lock_interruptible(self.as_raw(), core::ptr::null_mut())
        })?;
        // INVARIANT: The lock was taken above, on this thread.
        Ok(ResvGuard {
            resv: self,
            _not_send: NotThreadSafe,
        })
    }

    /// Takes the lock uninterruptibly, for paths a signal must not skip (a cache flush at the end
    /// of CPU access, tearing down a mapping); it is released when the guard drops.
    pub(crate) fn lock_uninterruptible(&self) -> ResvGuard<'_> {
        // SAFETY: By the type invariants the object is valid; without a ww acquire context the
        // lock cannot fail.
        unsafe { bindings::dma_resv_lock(self.as_raw(), core::ptr::null_mut()) };
        // INVARIANT: The lock was taken above, on this thread.
        ResvGuard {
            resv: self,
            _not_send: NotThreadSafe,
        }
    }

    /// Returns whether every fence found by `usage` has signalled.
    pub(crate) fn test_signaled(&self, usage: Usage) -> bool {
        // SAFETY: By the type invariants the object is valid; no lock is needed.
        unsafe { bindings::dma_resv_test_signaled(self.as_raw(), usage.raw()) }
    }

    /// Waits up to `timeout` for every fence found by `usage`; returns whether they all
    /// signalled. Fails with `ERESTARTSYS` if `interruptible` and a signal arrives.
    pub(crate) fn wait_timeout(
        &self,
        usage: Usage,
        interruptible: bool,
        timeout: Delta,
    ) -> Result<bool> {
        let ms = u32::try_from(timeout.as_millis().max(0)).unwrap_or(u32::MAX);
        // SAFETY: By the type invariants the object is valid; no lock is needed.
        let ret = unsafe {
            bindings::dma_resv_wait_timeout(
                self.as_raw(),
                usage.raw(),
                interruptible,
                msecs_to_jiffies(ms),
            )
        };
        if ret < 0 {
            // CAST: Errors are small negative numbers.
            Err(Error::from_errno(ret as i32))
        } else {
            Ok(ret > 0 || self.test_signaled(usage))
        }
    }

    /// Waits, without a time limit, for every fence found by `usage`, as the core's own waits for
    /// CPU access do. Fails with `ERESTARTSYS` if `interruptible` and a signal arrives.
    #[cfg(dma_buf_exporter)]
    pub(crate) fn wait(&self, usage: Usage, interruptible: bool) -> Result {
        // CAST: `MAX_SCHEDULE_TIMEOUT` is `LONG_MAX`, passed as the `unsigned long` C takes.
        let forever = kernel::ffi::c_long::MAX as kernel::ffi::c_ulong;
        // SAFETY: By the type invariants the object is valid; no lock is needed.
        let ret = unsafe {
            bindings::dma_resv_wait_timeout(self.as_raw(), usage.raw(), interruptible, forever)
        };
        if ret < 0 {
            // CAST: Errors are small negative numbers.
            Err(Error::from_errno(ret as i32))
        } else {
            Ok(())
        }
    }

    /// Returns references to the fences found by `usage` (`dma_resv_get_fences`).
    pub(crate) fn fences(&self, usage: Usage) -> Result<KVec<ARef<Fence>>> {
        let mut count: u32 = 0;
        let mut array: *mut *mut bindings::dma_fence = core::ptr::null_mut();
        // SAFETY: The object is valid; on success `array` holds `count` referenced fences in a
        // `kmalloc`ed array that the caller frees.
        to_result(unsafe {
            bindings::dma_resv_get_fences(self.as_raw(), usage.raw(), &mut count, &mut array)
        })?;
        let mut out = KVec::new();
        let mut res = Ok(());
        // CAST: `count` is a `u32`, which fits in `usize`.
        for i in 0..count as usize {
            // SAFETY: `array` has `count` valid entries, each with a reference we now own.
            let fence = unsafe { Fence::from_owned(NonNull::new_unchecked(*array.add(i))) };
            if res.is_ok() {
                res = out.push(fence, GFP_KERNEL).map_err(Error::from);
            }
        }
        // SAFETY: `array` was allocated by `dma_resv_get_fences` with `kmalloc` (or is NULL).
        unsafe { bindings::kfree(array.cast()) };
        res.map(|()| out)
    }
}

mod set;

pub(crate) use set::ResvSet;

/// Holds a reservation object's lock; unlocks on drop.
///
/// The one guard of a single reservation lock in this layer: the exporter's
/// [`LockedExport`](crate::dma_buf::exporter::LockedExport) and the importer's
/// [`LockedImport`](crate::dma_buf::import::LockedImport) are views that own one. Not `Send`: a
/// ww_mutex must be released by the task that took it. (Several locks together: [`ResvSet`].)
///
/// # Invariants
///
/// The lock of `resv` is held by this guard, on this thread.
///
/// # Examples
///
/// ```ignore
/// let guard = buf.resv().lock()?; // interruptible: ERESTARTSYS on a signal
/// guard.add_fence(fence.fence(), Usage::Write)?;
/// // Unlocked when `guard` drops, on this task (it is not `Send`).
/// ```
pub(crate) struct ResvGuard<'a> {
    resv: &'a Resv,
    _not_send: NotThreadSafe,
}

impl ResvGuard<'_> {
    /// Adds `fence` with `usage`. A fence of the same context is replaced if the new one is
    /// later and its usage at least as strict; usages are promoted, never demoted.
    ///
    /// Once added, the fence is visible to every waiter: its producer is in the signalling
    /// critical section from here on and must signal it.
    #[cfg(dma_buf_exporter)]
    pub(crate) fn add_fence(&self, fence: &Fence, usage: Usage) -> Result {
        // SAFETY: By the type invariants the lock is held; a slot is reserved first.
        to_result(unsafe { bindings::dma_resv_reserve_fences(self.resv.as_raw(), 1) })?;
        // SAFETY: The lock is held, a slot is reserved (under this same lock) and the fence is
        // a valid single fence, not a container.
        unsafe { bindings::dma_resv_add_fence(self.resv.as_raw(), fence.as_raw(), usage.raw()) };
        Ok(())
    }

    /// Returns the locked object.
    #[cfg(dma_buf_exporter)]
    pub(crate) fn resv(&self) -> &Resv {
        self.resv
    }
}

impl Drop for ResvGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the lock is held by this guard.
        unsafe { bindings::dma_resv_unlock(self.resv.as_raw()) };
    }
}

#[cfg(vdmabuf_layer_tests)]
#[kunit_tests(dma_buf_resv)]
mod tests {
    use super::*;
    use crate::dma_buf::fence::{
        DriverFence,
        FenceContext, //
    };

    use kernel::{
        sync::{
            atomic::{
                Atomic,
                Relaxed, //
            },
            Arc,
        },
        time::delay::fsleep,
        workqueue, //
    };

    /// A reservation object of its own, for tests.
    struct TestResv(Pin<KBox<Opaque<bindings::dma_resv>>>);

    // SAFETY: A reservation object may be used and freed from any thread; it locks itself.
    unsafe impl Send for TestResv {}

    // SAFETY: As above; `&TestResv` only hands out `&Resv`, which is `Sync`.
    unsafe impl Sync for TestResv {}

    impl TestResv {
        fn new() -> Result<Self> {
            let obj = KBox::pin_init(
                Opaque::ffi_init(|slot| {
                    // SAFETY: `slot` is valid memory for a reservation object.
                    unsafe { bindings::dma_resv_init(slot) }
                }),
                GFP_KERNEL,
            )?;
            Ok(Self(obj))
        }

        fn resv(&self) -> &Resv {
            // SAFETY: The object was initialised in `new` and lives as long as `self`.
            unsafe { Resv::from_raw(self.0.get()) }
        }
    }

    impl Drop for TestResv {
        fn drop(&mut self) {
            // SAFETY: Initialised in `new`, unlocked and no longer used.
            unsafe { bindings::dma_resv_fini(self.0.get()) };
        }
    }

    fn holds(resv: &Resv, usage: Usage, fence: &DriverFence) -> Result<bool> {
        let fences = resv.fences(usage)?;
        Ok(fences
            .iter()
            .any(|f| core::ptr::eq(f.as_raw(), fence.fence().as_raw())))
    }

    #[test]
    fn usages_are_promoted_never_demoted() -> Result {
        let obj = TestResv::new()?;
        let resv = obj.resv();
        let ctx = FenceContext::new(c"dma_buf_test", c"dma_buf_test-resv");
        let f = ctx.new_fence()?;

        resv.lock()?.add_fence(f.fence(), Usage::Read)?;
        assert!(!holds(resv, Usage::Write, &f)?);
        assert!(holds(resv, Usage::Read, &f)?);
        // Promoted to a writer: now found by writers' waits, and only once.
        resv.lock()?.add_fence(f.fence(), Usage::Write)?;
        assert!(holds(resv, Usage::Write, &f)?);
        assert_eq!(resv.fences(Usage::Bookkeep)?.len(), 1);
        // Adding it as a reader again does not demote it.
        resv.lock()?.add_fence(f.fence(), Usage::Read)?;
        assert!(holds(resv, Usage::Write, &f)?);
        f.signal(Ok(()));
        Ok(())
    }

    #[test]
    fn implicit_sync_sees_only_its_usages() -> Result {
        let obj = TestResv::new()?;
        let resv = obj.resv();
        let (a, b) = (
            FenceContext::new(c"dma_buf_test", c"dma_buf_test-a"),
            FenceContext::new(c"dma_buf_test", c"dma_buf_test-b"),
        );
        let (writer, bookkeep) = (a.new_fence()?, b.new_fence()?);
        {
            let lock = resv.lock()?;
            lock.add_fence(writer.fence(), Usage::Write)?;
            lock.add_fence(bookkeep.fence(), Usage::Bookkeep)?;
        }
        assert!(resv.test_signaled(Usage::Kernel));
        assert!(!resv.test_signaled(Usage::for_access(false)));
        assert!(!resv.wait_timeout(Usage::Read, true, Delta::from_millis(10))?);
        writer.signal(Ok(()));
        assert!(resv.test_signaled(Usage::Read));
        assert!(resv.wait_timeout(Usage::Read, true, Delta::from_millis(10))?);
        // Bookkeeping fences only count for those who ask for them.
        assert!(!resv.test_signaled(Usage::Bookkeep));
        bookkeep.signal(Ok(()));
        assert!(resv.test_signaled(Usage::Bookkeep));
        Ok(())
    }

    #[test]
    fn sets_lock_each_object_once_and_add_only_into_reserved_slots() -> Result {
        let (a, b) = (TestResv::new()?, TestResv::new()?);
        let ctx = FenceContext::new(c"dma_buf_test", c"dma_buf_test-set");
        let f = ctx.new_fence()?;
        {
            // The same object twice, as a copy within one buffer asks: locked once.
            let mut set = ResvSet::lock(&[a.resv(), b.resv(), a.resv()], true)?;
            assert_eq!(set.backoffs(), 0);
            assert_eq!(set.add_fence(a.resv(), f.fence(), Usage::Read), Err(ENOSPC));
            set.reserve_fences(a.resv(), 1)?;
            set.reserve_fences(b.resv(), 1)?;
            set.add_fence(a.resv(), f.fence(), Usage::Read)?;
            set.add_fence(b.resv(), f.fence(), Usage::Write)?;
            assert_eq!(
                set.add_fence(b.resv(), f.fence(), Usage::Write),
                Err(ENOSPC)
            );
            let other = TestResv::new()?;
            assert_eq!(set.reserve_fences(other.resv(), 1), Err(EINVAL));
        }
        // Both are unlocked again: a plain lock succeeds at once.
        drop(a.resv().lock()?);
        drop(b.resv().lock()?);
        assert!(holds(b.resv(), Usage::Write, &f)?);
        assert!(!holds(a.resv(), Usage::Write, &f)?);
        f.signal(Ok(()));
        Ok(())
    }

    /// Forces the ww_mutex back-off: an older context holds `x` while this (younger) one holds
    /// `y` and wants `x`, so wait-die makes it drop `y`, sleep on `x` and start over.
    #[test]
    fn sets_back_off_on_deadlock_and_retry() -> Result {
        let x = Arc::new(TestResv::new()?, GFP_KERNEL)?;
        let y = Arc::new(TestResv::new()?, GFP_KERNEL)?;
        // 0: starting, 1: the older context holds `x`, 2: it let go, -1: it failed.
        let stage = Arc::new(Atomic::<i32>::new(0), GFP_KERNEL)?;
        let (wx, wstage) = (x.clone(), stage.clone());
        workqueue::system().try_spawn(GFP_KERNEL, move || {
            match ResvSet::lock(&[wx.resv()], false) {
                Ok(set) => {
                    wstage.store(1, Relaxed);
                    fsleep(Delta::from_millis(100));
                    wstage.store(2, Relaxed);
                    drop(set);
                }
                Err(_) => wstage.store(-1, Relaxed),
            }
        })?;
        let mut waited = 0;
        while stage.load(Relaxed) == 0 && waited < 5000 {
            fsleep(Delta::from_millis(1));
            waited += 1;
        }
        assert_eq!(stage.load(Relaxed), 1);
        // This context is younger: it was initialised after the worker's.
        let set = ResvSet::lock(&[y.resv(), x.resv()], true)?;
        assert!(set.backoffs() >= 1);
        // It could only get `x` once the older context let go of it.
        assert_eq!(stage.load(Relaxed), 2);
        drop(set);
        Ok(())
    }

    #[test]
    fn usage_numbers_match_the_c_enum() -> Result {
        assert_eq!(Usage::from_u32(0)?, Usage::Kernel);
        assert_eq!(Usage::from_u32(1)?, Usage::Write);
        assert_eq!(Usage::from_u32(2)?, Usage::Read);
        assert_eq!(Usage::from_u32(3)?, Usage::Bookkeep);
        assert_eq!(Usage::from_u32(4), Err(EINVAL));
        assert_eq!(Usage::for_access(true), Usage::Read);
        assert_eq!(Usage::for_access(false), Usage::Write);
        Ok(())
    }
}
