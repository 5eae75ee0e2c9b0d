/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers of the Rust dma-buf layer: out-of-line wrappers for static inline functions and
 * macros that bindgen cannot see. Rust declares them in rust/dma_buf/ffi.rs.
 */
#ifndef VDMABUF_RUST_DMA_BUF_HELPERS_H
#define VDMABUF_RUST_DMA_BUF_HELPERS_H

/*
 * Every module that uses the layer links its own copy of these helpers, under its own symbol
 * prefix (VDMABUF_RS_PREFIX, set by the module's wrapper file, and the matching --cfg of its
 * Rust crate, see helpers.rs), so that modules built into one kernel do not define the same
 * symbols twice.
 */
#ifndef VDMABUF_RS_PREFIX
#error "VDMABUF_RS_PREFIX must name this module's prefix for the dma-buf layer's C helpers"
#endif
#define VDMABUF_RS_CAT2(a, b) a##b
#define VDMABUF_RS_CAT(a, b) VDMABUF_RS_CAT2(a, b)
/* "_##name" first, so that a helper named after a macro (page_to_pfn) is not expanded. */
#define VDMABUF_RS(name) VDMABUF_RS_CAT(VDMABUF_RS_PREFIX, _##name)

#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>

void VDMABUF_RS(get_dma_buf)(struct dma_buf *dmabuf);
int VDMABUF_RS(dma_resv_lock_interruptible)(struct dma_resv *obj, struct ww_acquire_ctx *ctx);
void VDMABUF_RS(dma_resv_lock_slow)(struct dma_resv *obj, struct ww_acquire_ctx *ctx);
int VDMABUF_RS(dma_resv_lock_slow_interruptible)(struct dma_resv *obj, struct ww_acquire_ctx *ctx);
void VDMABUF_RS(resv_acquire_init)(struct ww_acquire_ctx *ctx);
void VDMABUF_RS(ww_acquire_done)(struct ww_acquire_ctx *ctx);
void VDMABUF_RS(ww_acquire_fini)(struct ww_acquire_ctx *ctx);
void VDMABUF_RS(dma_resv_assert_held)(struct dma_resv *obj);
unsigned int VDMABUF_RS(dma_get_max_seg_size)(struct device *dev);
int VDMABUF_RS(dma_coerce_mask_64)(struct device *dev);
void VDMABUF_RS(dma_set_parms)(struct device *dev, struct device_dma_parameters *parms);
void VDMABUF_RS(dma_sync_sgtable_for_cpu)(struct device *dev, struct sg_table *sgt,
					 enum dma_data_direction dir);
void VDMABUF_RS(dma_sync_sgtable_for_device)(struct device *dev, struct sg_table *sgt,
					    enum dma_data_direction dir);
void VDMABUF_RS(sg_fill)(struct scatterlist *sg, struct page *page, unsigned int len);
struct page *VDMABUF_RS(sg_page)(struct scatterlist *sg);
unsigned long VDMABUF_RS(page_to_pfn)(struct page *page);
struct page *VDMABUF_RS(alloc_user_pages)(unsigned int order);
void *VDMABUF_RS(vmap)(struct page **pages, unsigned int count);
void VDMABUF_RS(vunmap)(void *addr);
void VDMABUF_RS(flush_kernel_vmap_range)(void *addr, int size);
void VDMABUF_RS(invalidate_kernel_vmap_range)(void *addr, int size);
bool VDMABUF_RS(fatal_signal_pending)(void);
bool VDMABUF_RS(vma_is_shared)(struct vm_area_struct *vma);
void VDMABUF_RS(vma_set_pfnmap)(struct vm_area_struct *vma);
int VDMABUF_RS(vma_insert_pfn_run)(struct vm_area_struct *vma, unsigned long addr,
				  unsigned long pfn, unsigned long len);
void VDMABUF_RS(memcpy_shared)(void *dst, const void *src, size_t len);
void VDMABUF_RS(memmove_shared)(void *dst, const void *src, size_t len);
void VDMABUF_RS(iosys_map_set_vaddr)(struct iosys_map *map, void *vaddr);
void *VDMABUF_RS(iosys_map_vaddr)(const struct iosys_map *map);
struct dma_fence *VDMABUF_RS(dma_fence_get)(struct dma_fence *fence);
void VDMABUF_RS(dma_fence_put)(struct dma_fence *fence);
bool VDMABUF_RS(dma_fence_is_signaled)(struct dma_fence *fence);
void VDMABUF_RS(dma_fence_set_error)(struct dma_fence *fence, int error);
bool VDMABUF_RS(dma_fence_begin_signalling)(void);
void VDMABUF_RS(dma_fence_end_signalling)(bool cookie);
struct file *VDMABUF_RS(sync_file_create)(struct dma_fence *fence);
struct workqueue_struct *VDMABUF_RS(alloc_ordered_workqueue)(const char *name);
struct page *VDMABUF_RS(alloc_contig_user_pages)(unsigned long nr_pages);
int VDMABUF_RS(dma_buf_set_name)(struct dma_buf *dmabuf, const char *name);
struct page *VDMABUF_RS(dma_direct_page)(struct device *dev, dma_addr_t addr);
bool VDMABUF_RS(dma_buf_has_attachments)(struct dma_buf *dmabuf);
#if IS_ENABLED(CONFIG_DRM)
unsigned int VDMABUF_RS(drm_format_describe)(u32 format, unsigned int *char_per_block,
					     unsigned int *block_w, unsigned int *block_h,
					     unsigned int *hsub, unsigned int *vsub);
#endif

#endif
