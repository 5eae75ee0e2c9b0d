// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C helpers in `helpers.c`: static inline functions and macros of the C
//! headers that bindgen cannot see, each wrapped in a plain function.
//!
//! Each module links its own copy of the helpers under its own symbol prefix (`helpers.h`), so
//! that two modules built into one kernel define no symbol twice; its Kbuild names the prefix
//! with `--cfg dma_buf_helpers_vdmabuf` or `--cfg dma_buf_helpers_importer`, and [`c_helpers!`]
//! gives every declaration the matching `link_name`.

/// Declares C helpers named `<prefix><name>` as Rust functions named `<name>`.
macro_rules! c_helpers {
    ($($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;)*) => {
        #[cfg(not(any(dma_buf_helpers_vdmabuf, dma_buf_helpers_importer)))]
        compile_error!("the module's Kbuild must name its C helpers' prefix");

        // The structs are only passed by pointer; bindgen's opaque stand-ins for some of their
        // nested types trip this lint.
        #[allow(improper_ctypes)]
        extern "C" {
            $(
                $(#[$attr])*
                #[cfg_attr(
                    dma_buf_helpers_vdmabuf,
                    link_name = concat!("vdmabuf_rs_", stringify!($name))
                )]
                #[cfg_attr(
                    dma_buf_helpers_importer,
                    link_name = concat!("vdmabuf_importer_rs_", stringify!($name))
                )]
                pub(crate) fn $name($($arg: $ty),*) $(-> $ret)?;
            )*
        }
    };
}

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

c_helpers! {
    fn get_dma_buf(dmabuf: *mut bindings::dma_buf);
    fn dma_resv_lock_interruptible(
        obj: *mut bindings::dma_resv,
        ctx: *mut bindings::ww_acquire_ctx,
    ) -> c_int;
    fn dma_resv_lock_slow(
        obj: *mut bindings::dma_resv,
        ctx: *mut bindings::ww_acquire_ctx,
    );
    fn dma_resv_lock_slow_interruptible(
        obj: *mut bindings::dma_resv,
        ctx: *mut bindings::ww_acquire_ctx,
    ) -> c_int;
    fn resv_acquire_init(ctx: *mut bindings::ww_acquire_ctx);
    fn ww_acquire_done(ctx: *mut bindings::ww_acquire_ctx);
    fn ww_acquire_fini(ctx: *mut bindings::ww_acquire_ctx);
    #[cfg(dma_buf_exporter)]
    fn dma_resv_assert_held(obj: *mut bindings::dma_resv);
    #[cfg(dma_buf_exporter)]
    fn dma_get_max_seg_size(dev: *mut bindings::device) -> c_uint;
    fn dma_coerce_mask_64(dev: *mut bindings::device) -> c_int;
    fn dma_set_parms(
        dev: *mut bindings::device,
        parms: *mut bindings::device_dma_parameters,
    );
    #[cfg(dma_buf_exporter)]
    fn dma_sync_sgtable_for_cpu(
        dev: *mut bindings::device,
        sgt: *mut bindings::sg_table,
        dir: bindings::dma_data_direction,
    );
    #[cfg(dma_buf_exporter)]
    fn dma_sync_sgtable_for_device(
        dev: *mut bindings::device,
        sgt: *mut bindings::sg_table,
        dir: bindings::dma_data_direction,
    );
    #[cfg(dma_buf_exporter)]
    fn sg_fill(
        sg: *mut bindings::scatterlist,
        page: *mut bindings::page,
        len: c_uint,
    );
    #[cfg(dma_buf_exporter)]
    fn sg_page(sg: *mut bindings::scatterlist) -> *mut bindings::page;
    #[cfg(dma_buf_exporter)]
    fn page_to_pfn(page: *mut bindings::page) -> c_ulong;
    #[cfg(dma_buf_exporter)]
    fn alloc_user_pages(order: c_uint) -> *mut bindings::page;
    #[cfg(dma_buf_exporter)]
    fn vmap(pages: *mut *mut bindings::page, count: c_uint) -> *mut c_void;
    #[cfg(dma_buf_exporter)]
    fn vunmap(addr: *mut c_void);
    #[cfg(dma_buf_exporter)]
    fn flush_kernel_vmap_range(addr: *mut c_void, size: c_int);
    #[cfg(dma_buf_exporter)]
    fn invalidate_kernel_vmap_range(addr: *mut c_void, size: c_int);
    #[cfg(dma_buf_exporter)]
    fn fatal_signal_pending() -> bool;
    #[cfg(dma_buf_exporter)]
    fn vma_is_shared(vma: *mut bindings::vm_area_struct) -> bool;
    #[cfg(dma_buf_exporter)]
    fn vma_set_pfnmap(vma: *mut bindings::vm_area_struct);
    #[cfg(dma_buf_exporter)]
    fn vma_insert_pfn_run(
        vma: *mut bindings::vm_area_struct,
        addr: c_ulong,
        pfn: c_ulong,
        len: c_ulong,
    ) -> c_int;
    fn memcpy_shared(dst: *mut c_void, src: *const c_void, len: usize);
    #[cfg(dma_buf_importer)]
    fn memmove_shared(dst: *mut c_void, src: *const c_void, len: usize);
    #[cfg(dma_buf_exporter)]
    fn iosys_map_set_vaddr(map: *mut bindings::iosys_map, vaddr: *mut c_void);
    fn iosys_map_vaddr(map: *const bindings::iosys_map) -> *mut c_void;
    fn dma_fence_get(
        fence: *mut bindings::dma_fence,
    ) -> *mut bindings::dma_fence;
    fn dma_fence_put(fence: *mut bindings::dma_fence);
    fn dma_fence_is_signaled(fence: *mut bindings::dma_fence) -> bool;
    fn dma_fence_set_error(fence: *mut bindings::dma_fence, error: c_int);
    #[cfg(dma_buf_importer)]
    fn dma_fence_begin_signalling() -> bool;
    #[cfg(dma_buf_importer)]
    fn dma_fence_end_signalling(cookie: bool);
    fn sync_file_create(
        fence: *mut bindings::dma_fence,
    ) -> *mut bindings::file;
    fn alloc_ordered_workqueue(
        name: *const kernel::ffi::c_char,
    ) -> *mut bindings::workqueue_struct;
    #[cfg(dma_buf_exporter)]
    fn alloc_contig_user_pages(nr_pages: c_ulong) -> *mut bindings::page;
    #[cfg(dma_buf_exporter)]
    fn dma_buf_set_name(
        dmabuf: *mut bindings::dma_buf,
        name: *const kernel::ffi::c_char,
    ) -> c_int;
    #[cfg(dma_buf_exporter)]
    fn dma_buf_has_attachments(dmabuf: *mut bindings::dma_buf) -> bool;
    fn dma_direct_page(dev: *mut bindings::device, addr: bindings::dma_addr_t)
        -> *mut bindings::page;
    #[cfg(all(dma_buf_exporter, CONFIG_DRM))]
    fn drm_format_describe(
        format: u32,
        char_per_block: *mut c_uint,
        block_w: *mut c_uint,
        block_h: *mut c_uint,
        hsub: *mut c_uint,
        vsub: *mut c_uint,
    ) -> c_uint;
}
