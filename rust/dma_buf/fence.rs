// SPDX-License-Identifier: GPL-2.0

//! dma-fences: producer-side [`DriverFence`]s, consumer-side [`Fence`]s, callbacks.
//!
//! C header: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h)
//!
//! The design follows Linux 7.2's rules for fences (`drivers/dma-buf/dma-fence.c`):
//!
//! - Fences use the per-fence inline lock (a NULL lock at init) and operations with neither
//!   `release` nor `wait`, so the core drops its pointer to the operations when the fence
//!   signals and frees the memory itself with `kfree_rcu()`. A fence is therefore a plain
//!   allocation with the `struct dma_fence` at offset 0 and no Rust payload that needs dropping.
//! - A fence's memory is allocated when the [`DriverFence`] is created, before anybody can see
//!   it, so signalling never allocates.
//! - Only the producer's [`DriverFence`] can signal, once, optionally with an error. It must
//!   signal: dropping it unsignalled signals `-ECANCELED` and warns, as an indefinite fence would
//!   block its consumers forever.
//! - `dma_fence_signal` annotates itself. What lockdep needs from a producer is the annotation of
//!   the path *to* the signal, from the moment the fence is visible (in a reservation object or
//!   a sync_file) until it is signalled: producers open a [`SignallingSection`] around that path
//!   where it runs in process context (in hard interrupt context the annotations are no-ops).
//! - A [`DriverFence`] that is leaked (`mem::forget` is safe) never signals: its consumers wait
//!   until their own timeouts, and its `ops` keep pointing into the module, which therefore must
//!   not be unloaded. The upstream Rust dma_fence series has the same limitation; nothing in this
//!   project leaks one.
//! - Until every fence of a module has signalled and an RCU grace period has passed
//!   ([`synchronize_rcu`]), readers may still call the module's `get_*_name` operations; module
//!   exit must wait for both.

use crate::dma_buf::{
    errno,
    helpers, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    ffi::c_char,
    prelude::*,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        atomic::{
            Atomic,
            Relaxed, //
        },
    },
    time::{
        msecs_to_jiffies,
        Delta, //
    },
    types::Opaque,
};

/// A dma-fence of any producer (`struct dma_fence`).
///
/// # Invariants
///
/// The object is a valid, initialised `struct dma_fence`, kept alive by its reference count.
///
/// # Examples
///
/// ```ignore
/// let fence: ARef<Fence> = driver_fence.fence().clone();
/// if !fence.wait_timeout(true, Delta::from_millis(100))? {
///     return Err(ETIMEDOUT);
/// }
/// fence.status()?; // the error it signalled with, if any
/// ```
#[repr(transparent)]
pub(crate) struct Fence(Opaque<bindings::dma_fence>);

// SAFETY: Fences are reference counted and locked by the C side; usable from any thread.
unsafe impl Send for Fence {}

// SAFETY: All `&Fence` methods are thread-safe C calls.
unsafe impl Sync for Fence {}

// SAFETY: `dma_fence_get` and `dma_fence_put` keep the fence alive while references exist.
unsafe impl AlwaysRefCounted for Fence {
    fn inc_ref(&self) {
        // SAFETY: By the type invariants the fence is valid.
        unsafe { helpers::dma_fence_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference, which this gives back.
        unsafe { helpers::dma_fence_put(obj.as_ptr().cast()) };
    }
}

impl Fence {
    /// Takes over a reference the caller owns.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid fence on which the caller owns a reference.
    pub(crate) unsafe fn from_owned(ptr: NonNull<bindings::dma_fence>) -> ARef<Self> {
        // SAFETY: As required by the function.
        unsafe { ARef::from_raw(ptr.cast()) }
    }

    /// Returns the raw `struct dma_fence`.
    pub(crate) fn as_raw(&self) -> *mut bindings::dma_fence {
        self.0.get()
    }

    /// Returns the fence's context.
    pub(crate) fn context(&self) -> u64 {
        // SAFETY: `context` is set at init and never changes.
        unsafe { (*self.as_raw()).context }
    }

    /// Returns the fence's sequence number in its context.
    pub(crate) fn seqno(&self) -> u64 {
        // SAFETY: `seqno` is set at init and never changes.
        unsafe { (*self.as_raw()).seqno }
    }

    /// Returns whether the fence has signalled.
    pub(crate) fn is_signaled(&self) -> bool {
        // SAFETY: By the type invariants the fence is valid.
        unsafe { helpers::dma_fence_is_signaled(self.as_raw()) }
    }

    /// Returns `Ok(false)` while pending, `Ok(true)` once signalled without error, and the error
    /// a signalled fence carries.
    pub(crate) fn status(&self) -> Result<bool> {
        // SAFETY: By the type invariants the fence is valid.
        let status = unsafe { bindings::dma_fence_get_status(self.as_raw()) };
        if status < 0 {
            Err(Error::from_errno(status))
        } else {
            Ok(status > 0)
        }
    }

    /// Waits up to `timeout` for the fence to signal; returns whether it did. Fails with
    /// `ERESTARTSYS` if `interruptible` and a signal arrives.
    pub(crate) fn wait_timeout(&self, interruptible: bool, timeout: Delta) -> Result<bool> {
        let ms = u32::try_from(timeout.as_millis().max(0)).unwrap_or(u32::MAX);
        // CAST: `msecs_to_jiffies` saturates at `MAX_JIFFY_OFFSET`, which fits a `c_long`.
        let jiffies = msecs_to_jiffies(ms) as kernel::ffi::c_long;
        // SAFETY: By the type invariants the fence is valid.
        let ret =
            unsafe { bindings::dma_fence_wait_timeout(self.as_raw(), interruptible, jiffies) };
        if ret < 0 {
            // CAST: Errors are small negative numbers.
            Err(Error::from_errno(ret as i32))
        } else {
            Ok(ret > 0 || self.is_signaled())
        }
    }
}

/// A fence timeline: a context id and strictly increasing sequence numbers. Fences of one
/// context must signal in order; producers that signal out of order need a context per fence.
///
/// # Examples
///
/// ```ignore
/// let ctx = FenceContext::new(c"mydriver", c"mydriver-ring0");
/// let alloc = ctx.alloc_fence()?; // may fail: before anything is published
/// // ... lock, reserve, collect dependencies ...
/// let fence = alloc.init(&ctx); // cannot fail: takes the next sequence number
/// // ... publish `fence.fence()`, run the job ...
/// fence.signal(Ok(()));
/// ```
pub(crate) struct FenceContext {
    id: u64,
    seqno: Atomic<i64>,
    driver: &'static CStr,
    timeline: &'static CStr,
}

impl FenceContext {
    /// Allocates a new context whose fences report the given driver and timeline names.
    pub(crate) fn new(driver: &'static CStr, timeline: &'static CStr) -> Self {
        // SAFETY: Allocating a context has no preconditions.
        let id = unsafe { bindings::dma_fence_context_alloc(1) };
        Self {
            id,
            seqno: Atomic::new(0),
            driver,
            timeline,
        }
    }

    /// Returns the context id.
    #[cfg(vdmabuf_layer_tests)]
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Creates the next fence of this context: [`FenceContext::alloc_fence`] and
    /// [`FenceAllocation::init`] in one go.
    #[cfg(vdmabuf_layer_tests)]
    pub(crate) fn new_fence(&self) -> Result<DriverFence> {
        Ok(FenceAllocation::new()?.init(self))
    }

    /// Allocates the memory of a fence of this context, before anything may be published: the
    /// allocation is the only step that can fail; [`FenceAllocation::init`], which gives the
    /// fence its sequence number, cannot. (The upstream Rust dma_fence series splits fences
    /// the same way.)
    pub(crate) fn alloc_fence(&self) -> Result<FenceAllocation> {
        FenceAllocation::new()
    }
}

/// The memory of a fence not yet initialised, from [`FenceContext::alloc_fence`]: so that a
/// producer can allocate before it takes locks or commits to anything, and give the fence its
/// place in the timeline only at the point of no return, where nothing can fail any more.
pub(crate) struct FenceAllocation(KBox<RawFence>);

impl FenceAllocation {
    fn new() -> Result<Self> {
        Ok(Self(KBox::new(
            RawFence {
                base: Opaque::uninit(),
                driver: core::ptr::null(),
                timeline: core::ptr::null(),
            },
            GFP_KERNEL,
        )?))
    }

    /// Makes the fence the next one of `ctx`; never fails and never allocates.
    pub(crate) fn init(self, ctx: &FenceContext) -> DriverFence {
        let mut raw = self.0;
        raw.driver = ctx.driver.as_char_ptr();
        raw.timeline = ctx.timeline.as_char_ptr();
        let raw = KBox::into_raw(raw);
        // CAST: Sequence numbers count up from 1 and stay far below `i64::MAX`.
        let seqno = (ctx.seqno.fetch_add(1, Relaxed) + 1) as u64;
        // SAFETY: `raw` is a fresh allocation with the fence at offset 0; a NULL lock selects the
        // inline lock; `FENCE_OPS` has the mandatory name callbacks, which read the names set
        // above.
        unsafe {
            bindings::dma_fence_init64(
                (*raw).base.get(),
                &FENCE_OPS,
                core::ptr::null_mut(),
                ctx.id,
                seqno,
            )
        };
        // SAFETY: The fence was just initialised with a reference, which the `DriverFence` owns;
        // from now on C owns the memory and frees it with `kfree_rcu()`.
        let fence = unsafe { Fence::from_owned(NonNull::new_unchecked((*raw).base.get())) };
        // INVARIANT: Nobody but this `DriverFence` can signal the new fence.
        DriverFence {
            fence,
            done: Atomic::new(0),
        }
    }
}

/// The allocation behind a fence of this layer. C frees it with `kfree_rcu()` on the embedded
/// fence, so it must start with the fence and hold nothing that needs dropping.
#[repr(C)]
struct RawFence {
    base: Opaque<bindings::dma_fence>,
    driver: *const c_char,
    timeline: *const c_char,
}

/// The operations of this layer's fences: names only, so the core detaches them on signal.
static FENCE_OPS: bindings::dma_fence_ops = bindings::dma_fence_ops {
    get_driver_name: Some(driver_name),
    get_timeline_name: Some(timeline_name),
    ..pin_init::zeroed()
};

/// # Safety
///
/// Called by the fence core for an unsignalled fence initialised by [`FenceAllocation::init`].
unsafe extern "C" fn driver_name(fence: *mut bindings::dma_fence) -> *const c_char {
    // SAFETY: The fence is at offset 0 of a `RawFence`.
    unsafe { (*fence.cast::<RawFence>()).driver }
}

/// # Safety
///
/// Called by the fence core for an unsignalled fence initialised by [`FenceAllocation::init`].
unsafe extern "C" fn timeline_name(fence: *mut bindings::dma_fence) -> *const c_char {
    // SAFETY: The fence is at offset 0 of a `RawFence`.
    unsafe { (*fence.cast::<RawFence>()).timeline }
}

/// The producer's handle of a fence: the only thing that can signal it, once.
///
/// # Invariants
///
/// `fence` was initialised by [`FenceAllocation::init`]; `done` becomes 1 exactly once, by the
/// caller that signals it.
pub(crate) struct DriverFence {
    fence: ARef<Fence>,
    done: Atomic<i32>,
}

impl DriverFence {
    /// Returns the consumer side of the fence.
    pub(crate) fn fence(&self) -> &ARef<Fence> {
        &self.fence
    }

    /// Signals the fence, with `Err` recording an error for its consumers. Returns `false` if it
    /// was signalled already (by another holder of a shared `DriverFence`). Safe in any context,
    /// including interrupt context; it never allocates.
    pub(crate) fn signal(&self, result: Result) -> bool {
        if self.done.xchg(1, Relaxed) != 0 {
            return false;
        }
        if let Err(e) = result {
            // SAFETY: The fence is valid and not yet signalled: `done` was 0.
            unsafe { helpers::dma_fence_set_error(self.fence.as_raw(), e.to_errno()) };
        }
        // SAFETY: The fence is valid.
        unsafe { bindings::dma_fence_signal(self.fence.as_raw()) };
        true
    }

    /// Returns whether this handle has signalled the fence.
    #[cfg(vdmabuf_layer_tests)]
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Relaxed) != 0
    }
}

impl Drop for DriverFence {
    fn drop(&mut self) {
        if self.signal(Err(errno::canceled())) {
            pr_warn!(
                "fence {}:{} dropped unsignalled, signalled with -ECANCELED\n",
                self.fence.context(),
                self.fence.seqno()
            );
        }
    }
}

#[cfg(dma_buf_importer)]
/// A fence signalling critical section (`dma_fence_begin_signalling`), so lockdep checks that
/// nothing in it takes a lock that fence waiters may hold or allocates with `GFP_KERNEL`. Not
/// `Send`: the annotation belongs to the task that opened it.
pub(crate) struct SignallingSection {
    cookie: bool,
    _not_send: kernel::types::NotThreadSafe,
}

#[cfg(dma_buf_importer)]
impl SignallingSection {
    /// Begins a section; it ends when the value is dropped.
    pub(crate) fn begin() -> Self {
        Self {
            // SAFETY: Beginning a section has no preconditions.
            cookie: unsafe { helpers::dma_fence_begin_signalling() },
            _not_send: kernel::types::NotThreadSafe,
        }
    }
}

#[cfg(dma_buf_importer)]
impl Drop for SignallingSection {
    fn drop(&mut self) {
        // SAFETY: `cookie` came from the matching `begin` on this thread.
        unsafe { helpers::dma_fence_end_signalling(self.cookie) };
    }
}

/// Waits for an RCU grace period: afterwards no RCU reader can still be inside fence
/// operations it found before. Module exit calls it after its last fence signalled.
pub(crate) fn synchronize_rcu() {
    // SAFETY: Called from process context, which is all `synchronize_rcu` needs.
    unsafe { bindings::synchronize_rcu() };
}

#[cfg(vdmabuf_layer_tests)]
#[kunit_tests(dma_buf_fence)]
mod tests {
    use super::*;

    fn context() -> FenceContext {
        FenceContext::new(c"dma_buf_test", c"dma_buf_test-timeline")
    }

    #[test]
    fn seqnos_increase_within_a_context() -> Result {
        let (a, b) = (context(), context());
        assert_ne!(a.id(), b.id());
        let f: KVec<DriverFence> = {
            let mut v = KVec::new();
            for _ in 0..3 {
                v.push(a.new_fence()?, GFP_KERNEL)?;
            }
            v
        };
        for (i, fence) in f.iter().enumerate() {
            assert_eq!(fence.fence().context(), a.id());
            assert_eq!(fence.fence().seqno(), i as u64 + 1);
        }
        let other = b.new_fence()?;
        assert_eq!(other.fence().seqno(), 1);
        other.signal(Ok(()));
        for fence in f.iter() {
            fence.signal(Ok(()));
        }
        Ok(())
    }

    #[test]
    fn signals_once() -> Result {
        let f = context().new_fence()?;
        assert!(!f.fence().is_signaled());
        assert_eq!(f.fence().status(), Ok(false));
        assert!(f.signal(Ok(())));
        assert!(f.is_done());
        assert!(f.fence().is_signaled());
        assert!(!f.signal(Err(EIO)));
        // The second signal changed nothing.
        assert_eq!(f.fence().status(), Ok(true));
        Ok(())
    }

    #[test]
    fn errors_reach_consumers() -> Result {
        let f = context().new_fence()?;
        let consumer = f.fence().clone();
        f.signal(Err(EIO));
        drop(f);
        assert_eq!(consumer.status(), Err(EIO));
        Ok(())
    }

    #[test]
    fn dropped_producers_signal_canceled() -> Result {
        let f = context().new_fence()?;
        let consumer = f.fence().clone();
        drop(f);
        assert_eq!(consumer.status(), Err(errno::canceled()));
        Ok(())
    }

    #[test]
    fn waits_time_out_and_complete() -> Result {
        let f = context().new_fence()?;
        assert_eq!(
            f.fence().wait_timeout(false, Delta::from_millis(10)),
            Ok(false)
        );
        f.signal(Ok(()));
        assert_eq!(
            f.fence().wait_timeout(true, Delta::from_millis(10)),
            Ok(true)
        );
        Ok(())
    }
}
