// SPDX-License-Identifier: GPL-2.0

//! Several reservation objects locked together under one ww acquire context ([`ResvSet`]).
//!
//! C header: [`include/linux/ww_mutex.h`](srctree/include/linux/ww_mutex.h)

use super::{
    Resv,
    Usage, //
};
use crate::dma_buf::{
    errno,
    fence::Fence,
    helpers, //
};
use kernel::{
    bindings,
    error::to_result,
    prelude::*,
    types::{
        NotThreadSafe,
        Opaque, //
    },
};

/// One reservation object locked by a [`ResvSet`], with the fence slots reserved on it.
struct Held<'a> {
    resv: &'a Resv,
    /// Fence slots reserved since the last `add_fence`s, by `dma_resv_reserve_fences`.
    slots: u32,
}

/// Several reservation objects locked together under one ww acquire context, in any order,
/// without deadlocking against other tasks locking an overlapping set in another order: the
/// shape of C's `drm_exec`.
///
/// [`ResvSet::lock`] takes the locks one by one. When the ww_mutex class reports `-EDEADLK` (an
/// older context holds one of them and this one must back off), it drops every lock it holds,
/// sleeps on the contended lock with `dma_resv_lock_slow`, and starts over with that one held.
/// Once all are held, the set adds fences only into slots reserved beforehand, so that adding,
/// the step that makes a fence visible, cannot fail or allocate.
///
/// It is not `Send`: the locks and the acquire context belong to the task that took them.
///
/// # Invariants
///
/// `ctx` is an initialised acquire context of `reservation_ww_class`, marked done; every entry
/// of `held` is locked with it by this task; the objects are distinct.
///
/// # Examples
///
/// ```ignore
/// // A copy job's submission: both buffers locked together, in any order, deadlock-free.
/// let mut locked = ResvSet::lock(&[src, dst], true)?;
/// locked.reserve_fences(src, 1)?;
/// locked.reserve_fences(dst, 1)?;
/// let deps = src.fences(Usage::for_access(false))?; // collected under the locks
/// let job = alloc.init(&ctx);
/// // Visible from here: no allocation, no lock, until it signals.
/// let _section = SignallingSection::begin();
/// locked.add_fence(src, job.fence(), Usage::Read)?;
/// locked.add_fence(dst, job.fence(), Usage::Write)?;
/// ```
pub(crate) struct ResvSet<'a> {
    ctx: Pin<KBox<Opaque<bindings::ww_acquire_ctx>>>,
    held: KVec<Held<'a>>,
    backoffs: u32,
    _not_send: NotThreadSafe,
}

impl<'a> ResvSet<'a> {
    /// Locks every object of `resvs` (an object listed twice is locked once), interruptibly if
    /// `interruptible` (then a signal fails it with `EINTR` or `ERESTARTSYS`, and nothing stays
    /// locked).
    pub(crate) fn lock(resvs: &[&'a Resv], interruptible: bool) -> Result<Self> {
        let ctx = KBox::pin_init(
            Opaque::ffi_init(|ctx| {
                // SAFETY: `ctx` is memory for an acquire context, which stays pinned until
                // `ww_acquire_fini` in `drop` (or below on failure).
                unsafe { helpers::resv_acquire_init(ctx) }
            }),
            GFP_KERNEL,
        )?;
        let held = match KVec::with_capacity(resvs.len(), GFP_KERNEL) {
            Ok(held) => held,
            Err(e) => {
                // SAFETY: Initialised above; nothing is locked with it.
                unsafe { helpers::ww_acquire_fini(ctx.get()) };
                return Err(e.into());
            }
        };
        let mut set = Self {
            ctx,
            held,
            backoffs: 0,
            _not_send: NotThreadSafe,
        };
        // On failure, dropping `set` unlocks what it holds and finishes the context.
        set.acquire(resvs, interruptible)?;
        // SAFETY: The context is initialised and every lock of the set is held.
        // INVARIANT: The acquire phase is over.
        unsafe { helpers::ww_acquire_done(set.ctx.get()) };
        Ok(set)
    }

    /// The acquire loop of [`ResvSet::lock`].
    fn acquire(&mut self, resvs: &[&'a Resv], interruptible: bool) -> Result {
        let ctx = self.ctx.get();
        let mut contended: Option<&'a Resv> = None;
        'retry: loop {
            if let Some(resv) = contended.take() {
                if interruptible {
                    // SAFETY: The object is valid and this context holds no lock after the
                    // back-off, as `dma_resv_lock_slow` requires.
                    to_result(unsafe {
                        helpers::dma_resv_lock_slow_interruptible(resv.as_raw(), ctx)
                    })?;
                } else {
                    // SAFETY: As above.
                    unsafe { helpers::dma_resv_lock_slow(resv.as_raw(), ctx) };
                }
                self.push(resv);
            }
            for &resv in resvs {
                if self.find(resv).is_some() {
                    continue;
                }
                let ret = if interruptible {
                    // SAFETY: The object and the context are valid.
                    unsafe { helpers::dma_resv_lock_interruptible(resv.as_raw(), ctx) }
                } else {
                    // SAFETY: The object and the context are valid.
                    unsafe { bindings::dma_resv_lock(resv.as_raw(), ctx) }
                };
                if ret == 0 {
                    self.push(resv);
                } else if ret == errno::deadlock().to_errno() {
                    // An older context holds `resv`: drop everything and wait for it.
                    self.unlock_all();
                    self.backoffs += 1;
                    contended = Some(resv);
                    continue 'retry;
                } else {
                    return Err(Error::from_errno(ret));
                }
            }
            return Ok(());
        }
    }

    fn push(&mut self, resv: &'a Resv) {
        // There is room for every object of the list (`with_capacity`), and each is held once.
        let _ = self.held.push_within_capacity(Held { resv, slots: 0 });
    }

    fn find(&mut self, resv: &Resv) -> Option<&mut Held<'a>> {
        self.held.iter_mut().find(|h| core::ptr::eq(h.resv, resv))
    }

    fn unlock_all(&mut self) {
        while let Some(h) = self.held.pop() {
            // SAFETY: By the type invariants this set holds the lock.
            unsafe { bindings::dma_resv_unlock(h.resv.as_raw()) };
        }
    }

    /// Returns how many times [`ResvSet::lock`] had to back off.
    #[cfg(vdmabuf_layer_tests)]
    pub(crate) fn backoffs(&self) -> u32 {
        self.backoffs
    }

    /// Reserves `n` fence slots on `resv` (`dma_resv_reserve_fences`), which may allocate: call
    /// it before any fence becomes visible. `EINVAL` if `resv` is not locked by this set.
    pub(crate) fn reserve_fences(&mut self, resv: &Resv, n: u32) -> Result {
        let held = self.find(resv).ok_or(EINVAL)?;
        // SAFETY: The object is locked by this set, as `dma_resv_reserve_fences` requires.
        to_result(unsafe { bindings::dma_resv_reserve_fences(held.resv.as_raw(), n) })?;
        held.slots = n;
        Ok(())
    }

    /// Adds `fence` to `resv` with `usage`, into a slot reserved by
    /// [`ResvSet::reserve_fences`]; never allocates. Fails with `ENOSPC`, adding nothing, if no
    /// slot is left, and with `EINVAL` if `resv` is not locked by this set: both are bugs of
    /// the caller, which reserves first.
    ///
    /// Once added, the fence is visible to every waiter: its producer is in the signalling
    /// critical section from here on and must signal it.
    pub(crate) fn add_fence(&mut self, resv: &Resv, fence: &Fence, usage: Usage) -> Result {
        let held = self.find(resv).ok_or(EINVAL)?;
        if held.slots == 0 {
            return Err(ENOSPC);
        }
        held.slots -= 1;
        // SAFETY: The object is locked by this set, a slot was reserved under this same lock
        // and the fence is a valid single fence.
        unsafe { bindings::dma_resv_add_fence(held.resv.as_raw(), fence.as_raw(), usage.raw()) };
        Ok(())
    }
}

impl Drop for ResvSet<'_> {
    fn drop(&mut self) {
        self.unlock_all();
        // SAFETY: By the type invariants the context is initialised, this task took it, and it
        // holds no lock any more.
        unsafe { helpers::ww_acquire_fini(self.ctx.get()) };
    }
}
