// SPDX-License-Identifier: GPL-2.0

//! An ordered workqueue owned by a driver: its work items run one at a time, in queue order, and
//! dropping it waits for all of them.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)

use crate::dma_buf::helpers;
use core::{
    ops::Deref,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    prelude::*,
    workqueue::Queue, //
};

/// An ordered workqueue (`alloc_ordered_workqueue`), destroyed on drop once its work is done.
///
/// # Invariants
///
/// `wq` is a workqueue allocated by `alloc_ordered_workqueue`, owned by this object.
///
/// # Examples
///
/// ```ignore
/// let queue = OrderedQueue::new(c"mydriver-jobs")?; // WQ_MEM_RECLAIM
/// let _ = queue.enqueue::<Arc<Job>, 0>(job);
/// queue.drain(); // every queued job has run
/// ```
pub(crate) struct OrderedQueue {
    wq: NonNull<bindings::workqueue_struct>,
}

// SAFETY: Workqueues may be used and destroyed from any thread.
unsafe impl Send for OrderedQueue {}

// SAFETY: Enqueueing and draining are thread-safe.
unsafe impl Sync for OrderedQueue {}

impl OrderedQueue {
    /// Allocates an ordered workqueue called `name`.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a valid string that outlives the queue.
        let wq = unsafe { helpers::alloc_ordered_workqueue(name.as_char_ptr()) };
        // INVARIANT: A non-NULL result is a new ordered workqueue.
        Ok(Self {
            wq: NonNull::new(wq).ok_or(ENOMEM)?,
        })
    }

    /// Waits until every queued work item has run and returned.
    #[cfg(dma_buf_importer)]
    pub(crate) fn drain(&self) {
        // SAFETY: By the type invariants the queue is valid.
        unsafe { bindings::drain_workqueue(self.wq.as_ptr()) };
    }
}

impl Deref for OrderedQueue {
    type Target = Queue;

    fn deref(&self) -> &Queue {
        // SAFETY: By the type invariants the queue is valid for as long as `self`.
        unsafe { Queue::from_raw(self.wq.as_ptr()) }
    }
}

impl Drop for OrderedQueue {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the queue is owned; `destroy_workqueue` drains it first.
        unsafe { bindings::destroy_workqueue(self.wq.as_ptr()) };
    }
}
