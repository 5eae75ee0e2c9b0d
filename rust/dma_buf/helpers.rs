// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C helpers in `helpers.c`: static inline functions and macros of the C
//! headers that bindgen cannot see, each wrapped in a plain function.

#[cfg(dma_buf_exporter)]
use kernel::ffi::{
    c_uint,
    c_ulong, //
};
use kernel::{
    bindings,
    ffi::{
        c_int,
        c_void, //
    },
};

// The structs are only passed by pointer; bindgen's opaque stand-ins for some of their nested
// types trip this lint.
#[allow(improper_ctypes)]
extern "C" {
    pub(crate) fn vdmabuf_rs_get_dma_buf(dmabuf: *mut bindings::dma_buf);
    pub(crate) fn vdmabuf_rs_dma_resv_lock_interruptible(
        obj: *mut bindings::dma_resv,
        ctx: *mut bindings::ww_acquire_ctx,
    ) -> c_int;
    pub(crate) fn vdmabuf_rs_dma_resv_lock_slow(
        obj: *mut bindings::dma_resv,
        ctx: *mut bindings::ww_acquire_ctx,
    );
    pub(crate) fn vdmabuf_rs_dma_resv_lock_slow_interruptible(
        obj: *mut bindings::dma_resv,
        ctx: *mut bindings::ww_acquire_ctx,
    ) -> c_int;
    pub(crate) fn vdmabuf_rs_resv_acquire_init(ctx: *mut bindings::ww_acquire_ctx);
    pub(crate) fn vdmabuf_rs_ww_acquire_done(ctx: *mut bindings::ww_acquire_ctx);
    pub(crate) fn vdmabuf_rs_ww_acquire_fini(ctx: *mut bindings::ww_acquire_ctx);
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_dma_resv_assert_held(obj: *mut bindings::dma_resv);
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_dma_get_max_seg_size(dev: *mut bindings::device) -> c_uint;
    pub(crate) fn vdmabuf_rs_dma_coerce_mask_64(dev: *mut bindings::device) -> c_int;
    pub(crate) fn vdmabuf_rs_dma_set_parms(
        dev: *mut bindings::device,
        parms: *mut bindings::device_dma_parameters,
    );
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_dma_sync_sgtable_for_cpu(
        dev: *mut bindings::device,
        sgt: *mut bindings::sg_table,
        dir: bindings::dma_data_direction,
    );
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_dma_sync_sgtable_for_device(
        dev: *mut bindings::device,
        sgt: *mut bindings::sg_table,
        dir: bindings::dma_data_direction,
    );
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_sg_set_page(
        sg: *mut bindings::scatterlist,
        page: *mut bindings::page,
        len: c_uint,
    );
    pub(crate) fn vdmabuf_rs_sg_next(sg: *mut bindings::scatterlist) -> *mut bindings::scatterlist;
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_sg_page(sg: *mut bindings::scatterlist) -> *mut bindings::page;
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_page_to_pfn(page: *mut bindings::page) -> c_ulong;
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_alloc_user_pages(order: c_uint) -> *mut bindings::page;
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_vmap(pages: *mut *mut bindings::page, count: c_uint) -> *mut c_void;
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_vunmap(addr: *mut c_void);
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_flush_kernel_vmap_range(addr: *mut c_void, size: c_int);
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_invalidate_kernel_vmap_range(addr: *mut c_void, size: c_int);
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_fatal_signal_pending() -> bool;
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_vma_is_shared(vma: *mut bindings::vm_area_struct) -> bool;
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_vma_set_pfnmap(vma: *mut bindings::vm_area_struct);
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_vma_insert_pfn_run(
        vma: *mut bindings::vm_area_struct,
        addr: c_ulong,
        pfn: c_ulong,
        len: c_ulong,
    ) -> c_int;
    pub(crate) fn vdmabuf_rs_memcpy_shared(dst: *mut c_void, src: *const c_void, len: usize);
    #[cfg(dma_buf_importer)]
    pub(crate) fn vdmabuf_rs_memmove_shared(dst: *mut c_void, src: *const c_void, len: usize);
    #[cfg(dma_buf_exporter)]
    pub(crate) fn vdmabuf_rs_iosys_map_set_vaddr(map: *mut bindings::iosys_map, vaddr: *mut c_void);
    pub(crate) fn vdmabuf_rs_iosys_map_vaddr(map: *const bindings::iosys_map) -> *mut c_void;
    pub(crate) fn vdmabuf_rs_dma_fence_get(
        fence: *mut bindings::dma_fence,
    ) -> *mut bindings::dma_fence;
    pub(crate) fn vdmabuf_rs_dma_fence_put(fence: *mut bindings::dma_fence);
    pub(crate) fn vdmabuf_rs_dma_fence_is_signaled(fence: *mut bindings::dma_fence) -> bool;
    pub(crate) fn vdmabuf_rs_dma_fence_set_error(fence: *mut bindings::dma_fence, error: c_int);
    #[cfg(dma_buf_importer)]
    pub(crate) fn vdmabuf_rs_dma_fence_begin_signalling() -> bool;
    #[cfg(dma_buf_importer)]
    pub(crate) fn vdmabuf_rs_dma_fence_end_signalling(cookie: bool);
    pub(crate) fn vdmabuf_rs_sync_file_create(
        fence: *mut bindings::dma_fence,
    ) -> *mut bindings::file;
    #[cfg(dma_buf_importer)]
    pub(crate) fn vdmabuf_rs_alloc_ordered_workqueue(
        name: *const kernel::ffi::c_char,
    ) -> *mut bindings::workqueue_struct;
}
