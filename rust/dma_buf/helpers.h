/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers of the Rust dma-buf layer: out-of-line wrappers for static inline functions and
 * macros that bindgen cannot see. Rust declares them in rust/dma_buf/ffi.rs.
 */
#ifndef VDMABUF_RUST_DMA_BUF_HELPERS_H
#define VDMABUF_RUST_DMA_BUF_HELPERS_H

#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>

void vdmabuf_rs_get_dma_buf(struct dma_buf *dmabuf);
int vdmabuf_rs_dma_resv_lock_interruptible(struct dma_resv *obj, struct ww_acquire_ctx *ctx);
void vdmabuf_rs_dma_resv_lock_slow(struct dma_resv *obj, struct ww_acquire_ctx *ctx);
int vdmabuf_rs_dma_resv_lock_slow_interruptible(struct dma_resv *obj, struct ww_acquire_ctx *ctx);
void vdmabuf_rs_resv_acquire_init(struct ww_acquire_ctx *ctx);
void vdmabuf_rs_ww_acquire_done(struct ww_acquire_ctx *ctx);
void vdmabuf_rs_ww_acquire_fini(struct ww_acquire_ctx *ctx);
void vdmabuf_rs_dma_resv_assert_held(struct dma_resv *obj);
unsigned int vdmabuf_rs_dma_get_max_seg_size(struct device *dev);
int vdmabuf_rs_dma_coerce_mask_64(struct device *dev);
void vdmabuf_rs_dma_set_parms(struct device *dev, struct device_dma_parameters *parms);
void vdmabuf_rs_dma_sync_sgtable_for_cpu(struct device *dev, struct sg_table *sgt,
					 enum dma_data_direction dir);
void vdmabuf_rs_dma_sync_sgtable_for_device(struct device *dev, struct sg_table *sgt,
					    enum dma_data_direction dir);
void vdmabuf_rs_sg_set_page(struct scatterlist *sg, struct page *page, unsigned int len);
struct scatterlist *vdmabuf_rs_sg_next(struct scatterlist *sg);
struct page *vdmabuf_rs_sg_page(struct scatterlist *sg);
unsigned long vdmabuf_rs_page_to_pfn(struct page *page);
struct page *vdmabuf_rs_alloc_user_pages(unsigned int order);
void *vdmabuf_rs_vmap(struct page **pages, unsigned int count);
void vdmabuf_rs_vunmap(void *addr);
void vdmabuf_rs_flush_kernel_vmap_range(void *addr, int size);
void vdmabuf_rs_invalidate_kernel_vmap_range(void *addr, int size);
bool vdmabuf_rs_fatal_signal_pending(void);
bool vdmabuf_rs_vma_is_shared(struct vm_area_struct *vma);
void vdmabuf_rs_vma_set_pfnmap(struct vm_area_struct *vma);
int vdmabuf_rs_vma_insert_pfn_run(struct vm_area_struct *vma, unsigned long addr,
				  unsigned long pfn, unsigned long len);
void vdmabuf_rs_memcpy_shared(void *dst, const void *src, size_t len);
void vdmabuf_rs_memmove_shared(void *dst, const void *src, size_t len);
void vdmabuf_rs_iosys_map_set_vaddr(struct iosys_map *map, void *vaddr);
void *vdmabuf_rs_iosys_map_vaddr(const struct iosys_map *map);
struct dma_fence *vdmabuf_rs_dma_fence_get(struct dma_fence *fence);
void vdmabuf_rs_dma_fence_put(struct dma_fence *fence);
bool vdmabuf_rs_dma_fence_is_signaled(struct dma_fence *fence);
void vdmabuf_rs_dma_fence_set_error(struct dma_fence *fence, int error);
bool vdmabuf_rs_dma_fence_begin_signalling(void);
void vdmabuf_rs_dma_fence_end_signalling(bool cookie);
struct file *vdmabuf_rs_sync_file_create(struct dma_fence *fence);
struct workqueue_struct *vdmabuf_rs_alloc_ordered_workqueue(const char *name);

#endif
