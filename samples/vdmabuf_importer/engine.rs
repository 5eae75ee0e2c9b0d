// SPDX-License-Identifier: GPL-2.0

//! The virtual DMA engine: copy jobs that run one at a time on an ordered workqueue, ordered by
//! fences like a device's.
//!
//! Submission is one critical section over both buffers' reservation objects, locked together
//! with a ww acquire context ([`ResvSet`]): reserve a fence slot on each, collect the
//! dependencies, create the job and its fence, add the fence (READ on the source, WRITE on the
//! destination), unlock, queue. Everything that can fail, allocate or wait for a lock happens
//! before the fence is added; from there on only infallible steps follow, inside a fence
//! signalling section (`dma_fence_begin_signalling`) so that lockdep checks the whole path from
//! publication to signal (`Documentation/driver-api/dma-buf.rst`).
//!
//! A job waits for its dependencies (one deadline, [`DEPENDENCY_TIMEOUT`], for all of them), copies
//! through the kernel mappings (the virtual device is cache coherent: it is the CPU) and signals.
//! The queue has `WQ_MEM_RECLAIM`, as a queue on the fence-completion path must make progress
//! under memory pressure. A job's teardown (vunmap and, with the last reference to an import,
//! detach) takes reservation locks, so it runs on a second queue: the next job's fence must
//! never wait behind it, or a thread that holds a reservation lock and waits for that fence
//! would deadlock.

use crate::dma_buf::{
    errno,
    fence::{
        DriverFence,
        Fence,
        FenceContext,
        SignallingSection, //
    },
    import::{
        Import,
        ImportVmap, //
    },
    queue::OrderedQueue,
    resv::{
        ResvSet,
        Usage, //
    },
    sync_file,
};
use kernel::{
    fs::File,
    impl_has_work, new_mutex, new_work,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex,
        UniqueArc, //
    },
    time::{
        Delta,
        Instant,
        Monotonic, //
    },
    workqueue::{
        Work,
        WorkItem, //
    },
};

/// How long a job waits for all of its dependencies together before giving up with
/// `-ETIMEDOUT`, so that its own fence is never indefinite.
pub(crate) const DEPENDENCY_TIMEOUT: Delta = Delta::from_millis(10_000);

/// The engine: one fence timeline, the queue its jobs run on and the queue they are freed on.
#[pin_data(PinnedDrop)]
pub(crate) struct Engine {
    queue: OrderedQueue,
    teardown: Arc<OrderedQueue>,
    ctx: FenceContext,
    /// Serialises submissions from fence creation to queueing, so sequence numbers follow queue
    /// order, and fences of the timeline signal in order.
    #[pin]
    submit: Mutex<()>,
}

/// A copy to submit.
pub(crate) struct CopyRequest {
    /// The source buffer.
    pub(crate) src: Arc<Import>,
    /// The destination buffer.
    pub(crate) dst: Arc<Import>,
    /// First byte of the source.
    pub(crate) src_offset: usize,
    /// First byte of the destination.
    pub(crate) dst_offset: usize,
    /// Bytes.
    pub(crate) length: usize,
}

impl Engine {
    /// Creates the engine and its queues.
    pub(crate) fn new() -> Result<impl PinInit<Self, Error>> {
        let queue = OrderedQueue::new(c"vdmabuf-importer")?;
        let teardown = Arc::new(OrderedQueue::new(c"vdmabuf-importer-free")?, GFP_KERNEL)?;
        Ok(pin_init!(Self {
            queue,
            teardown,
            ctx: FenceContext::new(c"vdmabuf_importer", c"vdmabuf_importer-copy"),
            submit <- new_mutex!(()),
        }? Error))
    }

    /// Queues a copy. `report()` tells userspace the sync_file descriptor; it runs before any
    /// lock is taken (it copies to userspace, which may fault) and before the fence exists. The
    /// returned file is to be installed at that descriptor.
    pub(crate) fn submit(
        &self,
        req: CopyRequest,
        report: impl FnOnce() -> Result,
    ) -> Result<ARef<File>> {
        // These take the reservation locks themselves.
        let src_map = Import::vmap(&req.src)?;
        let dst_map = Import::vmap(&req.dst)?;
        // The memory of the fence and of the job now; the fence's sequence number only where
        // nothing can fail any more. The job is initialised under the locks, infallibly: a failed
        // initialiser would drop the kernel mappings, which take the reservation locks, while
        // they are held.
        let fence = self.ctx.alloc_fence()?;
        let job = UniqueArc::<Job>::new_uninit(GFP_KERNEL)?;
        report()?;

        let (src, dst) = (req.src.resv(), req.dst.resv());
        let _order = self.submit.lock();
        let mut locked = ResvSet::lock(&[src, dst], true)?;
        // A copy within one buffer adds the fence to one object twice.
        if core::ptr::eq(src, dst) {
            locked.reserve_fences(src, 2)?;
        } else {
            locked.reserve_fences(src, 1)?;
            locked.reserve_fences(dst, 1)?;
        }
        // Dependencies, as implicit sync orders a read of `src` and a write of `dst`, collected
        // under the locks: no fence can be added to either until the job's own is in.
        let mut deps = src.fences(Usage::for_access(false))?;
        for f in dst.fences(Usage::for_access(true))? {
            deps.push(f, GFP_KERNEL)?;
        }
        let job = job.pin_init_with(pin_init!(Job {
            work <- new_work!("vdmabuf_importer::Job::work"),
            free <- new_work!("vdmabuf_importer::Job::free"),
            // Runs only once the job's memory is allocated: a failed allocation costs the
            // timeline no sequence number.
            fence: fence.init(&self.ctx),
            error: Atomic::new(0),
            deps,
            src: src_map,
            dst: dst_map,
            src_offset: req.src_offset,
            dst_offset: req.dst_offset,
            length: req.length,
            teardown: self.teardown.clone(),
        }));
        // `pin_init!` without `?` cannot fail.
        let job: Arc<Job> = match job {
            Ok(job) => job.into(),
            Err(never) => match never {},
        };
        let file = match sync_file::export(job.fence.fence()) {
            Ok(file) => file,
            Err(e) => {
                // Nobody has seen the fence, nor can: it ends quietly, and its number is lost to
                // the timeline, which nobody can tell.
                job.fence.signal(Err(errno::canceled()));
                // The job's kernel mappings take the reservation locks to go away: unlock first.
                drop(locked);
                drop(job);
                return Err(e);
            }
        };

        // The fence becomes visible here. From now until it signals nothing may fail, allocate
        // or take a reservation lock: lockdep checks that from here to the signal in `run`.
        let section = SignallingSection::begin();
        let published = locked
            .add_fence(src, job.fence.fence(), Usage::Read)
            .and_then(|()| locked.add_fence(dst, job.fence.fence(), Usage::Write));
        drop(locked);
        if let Err(e) = published {
            // Only a bug could get here (the slots were reserved above), and the fence may be
            // in the source already: the job runs in order and signals with the error.
            job.error.store(e.to_errno(), Relaxed);
        }
        // A new job is not queued yet, so this cannot fail.
        let _ = self.queue.enqueue::<_, 0>(job);
        drop(section);
        Ok(file)
    }
}

#[pinned_drop]
impl PinnedDrop for Engine {
    fn drop(self: Pin<&mut Self>) {
        // Every job has run and signalled when the first returns, and has been freed (and so
        // unmapped and detached from the engine's device) when the second does.
        self.queue.drain();
        self.teardown.drain();
        crate::dma_buf::fence::synchronize_rcu();
    }
}

/// A queued copy.
#[pin_data]
struct Job {
    /// Runs the copy on the engine's ordered queue.
    #[pin]
    work: Work<Job, 0>,
    /// Frees the job on the teardown queue.
    #[pin]
    free: Work<Job, 1>,
    fence: DriverFence,
    /// An error of submission after the fence was published (a negative errno), or 0.
    error: Atomic<i32>,
    deps: KVec<ARef<Fence>>,
    src: ImportVmap,
    dst: ImportVmap,
    src_offset: usize,
    dst_offset: usize,
    length: usize,
    teardown: Arc<OrderedQueue>,
}

impl_has_work! {
    impl HasWork<Self, 0> for Job { self.work }
    impl HasWork<Self, 1> for Job { self.free }
}

impl WorkItem<0> for Job {
    type Pointer = Arc<Job>;

    fn run(this: Arc<Job>) {
        let section = SignallingSection::begin();
        let result = this
            .submission_result()
            .and_then(|()| this.wait_for_dependencies())
            .and_then(|()| {
                this.dst
                    .copy_from(this.dst_offset, &this.src, this.src_offset, this.length)
            });
        this.fence.signal(result);
        drop(section);
        // Dropping the job may vunmap and detach, which take reservation locks: not here,
        // where the next job's fence waits behind it. The job is not on the teardown queue yet,
        // so this cannot fail.
        let teardown = this.teardown.clone();
        let _ = teardown.enqueue::<Arc<Job>, 1>(this);
    }
}

impl WorkItem<1> for Job {
    type Pointer = Arc<Job>;

    fn run(this: Arc<Job>) {
        drop(this);
    }
}

impl Job {
    fn submission_result(&self) -> Result {
        match self.error.load(Relaxed) {
            0 => Ok(()),
            e => Err(Error::from_errno(e)),
        }
    }

    /// Waits for every dependency, all within one [`DEPENDENCY_TIMEOUT`] from now; fails with
    /// `ETIMEDOUT` past it, and with a dependency's error if one failed.
    fn wait_for_dependencies(&self) -> Result {
        let start = Instant::<Monotonic>::now();
        for dep in self.deps.iter() {
            let left = DEPENDENCY_TIMEOUT - start.elapsed();
            if left.as_nanos() <= 0 || !dep.wait_timeout(false, left)? {
                return Err(ETIMEDOUT);
            }
            dep.status()?;
        }
        Ok(())
    }
}
