// SPDX-License-Identifier: GPL-2.0

//! The virtual DMA engine: copy jobs that run one at a time on an ordered workqueue, ordered by
//! fences like a device's.
//!
//! Everything that can fail, allocate or take a reservation lock happens when a job is
//! submitted: the kernel mappings of both buffers, the job's fence and its dependencies. From
//! the moment the fence is in a reservation object the job is in the fence signalling critical
//! section (`Documentation/driver-api/dma-buf.rst`), and it only waits for its dependencies
//! (bounded by [`DEPENDENCY_TIMEOUT`]), copies through the kernel mappings (the virtual device is
//! cache coherent: it is the CPU) and signals.

use crate::dma_buf::{
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
    resv::Usage,
    sync_file,
};
use kernel::{
    fs::File,
    impl_has_work, new_mutex, new_work,
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        Mutex, //
    },
    time::Delta,
    workqueue::{
        Work,
        WorkItem, //
    },
};

/// How long a job waits for its dependencies before giving up with `-ETIMEDOUT`, so that its
/// own fence is never indefinite.
pub(crate) const DEPENDENCY_TIMEOUT: Delta = Delta::from_millis(10_000);

/// The engine: one fence timeline and one ordered queue.
#[pin_data(PinnedDrop)]
pub(crate) struct Engine {
    queue: OrderedQueue,
    ctx: FenceContext,
    /// Serialises fence creation and queueing, so sequence numbers follow queue order.
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
    /// Creates the engine and its queue.
    pub(crate) fn new() -> Result<impl PinInit<Self, Error>> {
        let queue = OrderedQueue::new(c"vdmabuf-importer")?;
        Ok(pin_init!(Self {
            queue,
            ctx: FenceContext::new(c"vdmabuf_importer", c"vdmabuf_importer-copy"),
            submit <- new_mutex!(()),
        }? Error))
    }

    /// Queues a copy. `report(fd)` tells userspace the sync_file descriptor before the fence
    /// becomes visible; the returned file is to be installed at that descriptor.
    pub(crate) fn submit(
        &self,
        req: CopyRequest,
        report: impl FnOnce() -> Result,
    ) -> Result<ARef<File>> {
        let src_map = Import::vmap(&req.src)?;
        let dst_map = Import::vmap(&req.dst)?;
        // Dependencies, as implicit sync orders a read of `src` and a write of `dst`.
        let mut deps = req.src.resv().fences(Usage::to_wait_for(false))?;
        for f in req.dst.resv().fences(Usage::to_wait_for(true))? {
            deps.push(f, GFP_KERNEL)?;
        }

        let _order = self.submit.lock();
        let job = Arc::pin_init(
            pin_init!(Job {
                work <- new_work!("vdmabuf_importer::Job::work"),
                fence: self.ctx.new_fence()?,
                deps,
                src: src_map,
                dst: dst_map,
                src_offset: req.src_offset,
                dst_offset: req.dst_offset,
                length: req.length,
            }? Error),
            GFP_KERNEL,
        )?;
        let published = sync_file::export(job.fence.fence()).and_then(|file| {
            report()?;
            Self::publish(&req, job.fence.fence())?;
            Ok(file)
        });
        match published {
            Ok(file) => {
                // The job is new, so it cannot be queued already.
                let _ = self.queue.enqueue(job);
                Ok(file)
            }
            Err(e) => {
                // The fence may already be in the source's reservation object: it must signal.
                job.fence.signal(Err(e));
                Err(e)
            }
        }
    }

    /// Adds the job's fence: READ on the source, WRITE on the destination.
    fn publish(req: &CopyRequest, fence: &Fence) -> Result {
        req.src.resv().lock()?.add_fence(fence, Usage::Read)?;
        req.dst.resv().lock()?.add_fence(fence, Usage::Write)
    }
}

#[pinned_drop]
impl PinnedDrop for Engine {
    fn drop(self: Pin<&mut Self>) {
        // Every job has run and signalled when this returns.
        self.queue.drain();
        crate::dma_buf::fence::synchronize_rcu();
    }
}

/// A queued copy.
#[pin_data]
struct Job {
    #[pin]
    work: Work<Job>,
    fence: DriverFence,
    deps: KVec<ARef<Fence>>,
    src: ImportVmap,
    dst: ImportVmap,
    src_offset: usize,
    dst_offset: usize,
    length: usize,
}

impl_has_work! {
    impl HasWork<Self> for Job { self.work }
}

impl WorkItem for Job {
    type Pointer = Arc<Job>;

    fn run(this: Arc<Job>) {
        let section = SignallingSection::begin();
        let result = this.wait_for_dependencies().and_then(|()| {
            this.dst
                .copy_from(this.dst_offset, &this.src, this.src_offset, this.length)
        });
        this.fence.signal(result);
        drop(section);
        // Dropping the job (and maybe the last reference to an import) takes reservation locks,
        // which is fine now that the fence has signalled.
    }
}

impl Job {
    fn wait_for_dependencies(&self) -> Result {
        for dep in self.deps.iter() {
            if !dep.wait_timeout(false, DEPENDENCY_TIMEOUT)? {
                return Err(ETIMEDOUT);
            }
            dep.status()?;
        }
        Ok(())
    }
}
