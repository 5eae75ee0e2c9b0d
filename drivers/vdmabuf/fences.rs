// SPDX-License-Identifier: GPL-2.0

//! Fences that userspace attaches to vdmabuf's buffers through `/dev/vdmabuf` and signals by
//! handle.
//!
//! Each fence gets a context of its own, as vgem's do, because userspace signals them in any
//! order. Every fence signals at the latest when its timer fires (`fence_timeout_ms`, at most
//! [`MAX_TIMEOUT_MS`]) or when the file that made it is closed: there are no indefinite fences.
//! As with vgem, they go only on the driver's own buffers: `Documentation/driver-api/dma-buf.rst`
//! forbids userspace-controlled fences on other drivers' buffers. A test that wants such a fence
//! on a foreign buffer exports it as a sync_file and imports that into the buffer with the
//! standard `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`, which is the dma-buf core's decision, not ours.

use crate::dma_buf::uapi::{
    install_new_fd,
    Handles, //
};
use crate::{
    buffer::VdmaBuffer,
    dma_buf::{
        buffer::DmaBuf,
        errno,
        fence::{
            DriverFence,
            Fence,
            FenceContext, //
        },
        resv::Usage,
        sync_file,
    },
};
use kernel::{
    fs::file::flags::O_CLOEXEC,
    impl_has_hr_timer, new_mutex,
    prelude::*,
    rbtree::RBTreeNodeReservation,
    sync::{
        aref::ARef,
        Arc,
        ArcBorrow,
        Mutex, //
    },
    time::{
        hrtimer::{
            ArcHrTimerHandle,
            HrTimer,
            HrTimerCallback,
            HrTimerCallbackContext,
            HrTimerPointer,
            HrTimerRestart,
            RelativeMode, //
        },
        Delta,
        Monotonic, //
    },
    uaccess::UserSliceWriter,
};

/// The longest `fence_timeout_ms` the module accepts, vgem's fixed timeout.
pub(crate) const MAX_TIMEOUT_MS: u32 = 10_000;

/// A fence with a timer that signals it if nobody does first: with `-ETIMEDOUT`, or, for a fence
/// that signals by itself (`struct vdmabuf_modes.fence_delay_ms`), with the status it was given.
#[pin_data]
pub(crate) struct TimedFence {
    #[pin]
    timer: HrTimer<TimedFence>,
    fence: DriverFence,
    /// What the timer signals the fence with.
    expiry: Result,
}

impl TimedFence {
    /// Creates an unsignalled fence on a context of its own, its timer not yet started, which
    /// signals with `-ETIMEDOUT` when the timer fires.
    pub(crate) fn new(timeline: &'static CStr) -> Result<Arc<Self>> {
        Self::with_expiry(timeline, Err(ETIMEDOUT))
    }

    /// Like [`TimedFence::new`], signalling with `expiry` when the timer fires.
    pub(crate) fn with_expiry(timeline: &'static CStr, expiry: Result) -> Result<Arc<Self>> {
        let ctx = FenceContext::new(c"vdmabuf", timeline);
        let fence = ctx.alloc_fence()?;
        Arc::pin_init(
            pin_init!(TimedFence {
                timer <- HrTimer::new(),
                fence: fence.init(&ctx),
                expiry,
            }),
            GFP_KERNEL,
        )
    }
}

impl TimedFence {
    /// Returns the consumer side of the fence.
    pub(crate) fn fence(&self) -> &ARef<Fence> {
        self.fence.fence()
    }
}

impl HrTimerCallback for TimedFence {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        // Hard interrupt context: signalling takes only the fence's own irq-safe lock.
        this.fence.signal(this.expiry);
        HrTimerRestart::NoRestart
    }
}

impl_has_hr_timer! {
    impl HasHrTimer<Self> for TimedFence {
        mode: RelativeMode<Monotonic>, field: self.timer
    }
}

/// A live fence of a file: the fence and its running timer (dropping the handle cancels it).
struct Entry {
    timed: Arc<TimedFence>,
    _timer: ArcHrTimerHandle<TimedFence>,
}

/// The fences of one open `/dev/vdmabuf`, by handle.
#[pin_data(PinnedDrop)]
pub(crate) struct FenceTable {
    #[pin]
    inner: Mutex<Handles<Entry>>,
}

/// What [`FenceTable::attach`] needs from the ioctl.
pub(crate) struct AttachRequest {
    /// The dma-buf to fence: one of vdmabuf's (`EINVAL` for others).
    pub(crate) fd: i32,
    /// How the fence uses the buffer: `Read` or `Write`.
    pub(crate) usage: Usage,
    /// Whether to return a sync_file.
    pub(crate) sync_file: bool,
    /// Signal after this long at the latest.
    pub(crate) timeout: Delta,
}

impl FenceTable {
    /// Creates an empty table.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- new_mutex!(Handles::new()),
        })
    }

    /// Attaches a new fence to a buffer; `report(handle, sync_file_fd)` writes the results to
    /// userspace before anything becomes visible, so a failed copy leaves no trace.
    pub(crate) fn attach(
        &self,
        req: AttachRequest,
        report: impl FnOnce(u32, i32) -> Result,
    ) -> Result {
        let buf = DmaBuf::get(req.fd)?;
        let vbuf = buf.downcast::<VdmaBuffer>().ok_or(EINVAL)?;
        if !matches!(req.usage, Usage::Read | Usage::Write) {
            return Err(EINVAL);
        }
        // A buffer in the self-signalling mode sets when and how its fences signal by themselves.
        let (timeout, expiry) = vbuf
            .data()
            .modes()
            .fence()
            .unwrap_or((req.timeout, Err(ETIMEDOUT)));
        // Everything that can fail or allocate happens before the fence is visible.
        let timed = TimedFence::with_expiry(c"vdmabuf-user", expiry)?;
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let handle = self.inner.lock().take_next()?;
        // Reports to userspace, then makes the fence visible; `sync_fd` is -1 without a
        // sync_file.
        let finish = |sync_fd: i32| -> Result {
            // The timer runs before the fence can be seen, so its completion never depends on
            // the rest of this ioctl.
            let timer = timed.clone().start(timeout);
            let res = report(handle, sync_fd).and_then(|()| Self::publish(&buf, &timed, req.usage));
            if let Err(e) = res {
                // Nobody saw the fence; it goes quietly, and dropping `timer` cancels the timer.
                timed.fence.signal(Err(errno::canceled()));
                return Err(e);
            }
            // Visible now: from here the fence must and will signal, by handle, timer or close.
            let entry = Entry {
                timed: timed.clone(),
                _timer: timer,
            };
            self.inner.lock().insert(node, handle, entry);
            Ok(())
        };
        if req.sync_file {
            let file = sync_file::export(timed.fence.fence())?;
            install_new_fd(O_CLOEXEC, |fd| finish(fd).map(|()| file))
        } else {
            finish(-1)
        }
    }

    /// Adds the fence to the buffer's reservation object unless it conflicts (`EBUSY`).
    fn publish(buf: &DmaBuf, timed: &TimedFence, usage: Usage) -> Result {
        let resv = buf.resv().lock()?;
        if !resv
            .resv()
            .test_signaled(Usage::for_access(usage == Usage::Write))
        {
            return Err(EBUSY);
        }
        resv.add_fence(timed.fence.fence(), usage)
    }

    /// Signals the fence `handle` with `result` and releases the handle. `ENOENT` if there is no
    /// such handle, `ETIMEDOUT` if the fence had timed out already.
    pub(crate) fn signal(&self, handle: u32, result: Result) -> Result {
        let entry = self.inner.lock().remove(handle).ok_or(ENOENT)?;
        if entry.timed.fence.signal(result) {
            Ok(())
        } else {
            Err(ETIMEDOUT)
        }
    }
}

#[pinned_drop]
impl PinnedDrop for FenceTable {
    fn drop(self: Pin<&mut Self>) {
        let fences = self.inner.lock().take_all();
        for (_, entry) in fences.iter() {
            entry.timed.fence.signal(Err(errno::canceled()));
        }
        // Dropping the entries cancels their timers.
    }
}

/// Writes `args` back with the handle and sync_file descriptor filled in.
pub(crate) fn report(
    writer: &mut UserSliceWriter,
    mut args: crate::uapi::FenceAttach,
) -> impl FnOnce(u32, i32) -> Result + '_ {
    move |handle, sync_file| {
        args.handle = handle;
        args.sync_file = sync_file;
        writer.write(&args)
    }
}

/// Returns the time after which fences signal on their own, from the module parameter, which
/// module init checked against [`MAX_TIMEOUT_MS`].
pub(crate) fn timeout(ms: u32) -> Delta {
    Delta::from_millis(i64::from(ms.min(MAX_TIMEOUT_MS)))
}

#[kunit_tests(vdmabuf_fences)]
mod tests {
    use super::*;

    fn timed_fence() -> Result<Arc<TimedFence>> {
        TimedFence::new(c"vdmabuf-kunit")
    }

    #[test]
    fn fences_time_out_with_etimedout() -> Result {
        let timed = timed_fence()?;
        let consumer = timed.fence.fence().clone();
        let _timer = timed.clone().start(Delta::from_millis(20));
        assert!(consumer.wait_timeout(false, Delta::from_millis(5000))?);
        assert_eq!(consumer.status(), Err(ETIMEDOUT));
        // The producer finds its fence taken by the timer.
        assert!(!timed.fence.signal(Ok(())));
        Ok(())
    }

    #[test]
    fn cancelled_timers_leave_the_fence_to_its_producer() -> Result {
        let timed = timed_fence()?;
        let timer = timed.clone().start(Delta::from_millis(20));
        drop(timer);
        assert!(!timed
            .fence
            .fence()
            .wait_timeout(false, Delta::from_millis(100))?);
        assert!(timed.fence.signal(Ok(())));
        assert_eq!(timed.fence.fence().status(), Ok(true));
        Ok(())
    }
}
