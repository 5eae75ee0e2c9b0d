// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers of the Rust dma-buf layer. Each module that uses the layer compiles this file once,
 * through a wrapper that sets its symbol prefix (see helpers.h), so no object is linked into two
 * modules and two modules built into one kernel define no symbol twice. Every function is a plain
 * wrapper of a static inline function or macro, or of a few of them with the checks C needs
 * around them (dma_direct_page); no other logic lives here.
 */
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/highmem.h>
#include <linux/iommu-dma.h>
#include <linux/iosys-map.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sync_file.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#if IS_ENABLED(CONFIG_DRM)
#include <drm/drm_fourcc.h>
#endif

#include "helpers.h"

void VDMABUF_RS(get_dma_buf)(struct dma_buf *dmabuf)
{
	get_dma_buf(dmabuf);
}

int VDMABUF_RS(dma_resv_lock_interruptible)(struct dma_resv *obj, struct ww_acquire_ctx *ctx)
{
	return dma_resv_lock_interruptible(obj, ctx);
}

void VDMABUF_RS(dma_resv_lock_slow)(struct dma_resv *obj, struct ww_acquire_ctx *ctx)
{
	dma_resv_lock_slow(obj, ctx);
}

int VDMABUF_RS(dma_resv_lock_slow_interruptible)(struct dma_resv *obj, struct ww_acquire_ctx *ctx)
{
	return dma_resv_lock_slow_interruptible(obj, ctx);
}

/* An acquire context of the reservation objects' ww class. */
void VDMABUF_RS(resv_acquire_init)(struct ww_acquire_ctx *ctx)
{
	ww_acquire_init(ctx, &reservation_ww_class);
}

void VDMABUF_RS(ww_acquire_done)(struct ww_acquire_ctx *ctx)
{
	ww_acquire_done(ctx);
}

void VDMABUF_RS(ww_acquire_fini)(struct ww_acquire_ctx *ctx)
{
	ww_acquire_fini(ctx);
}

void VDMABUF_RS(dma_resv_assert_held)(struct dma_resv *obj)
{
	dma_resv_assert_held(obj);
}

unsigned int VDMABUF_RS(dma_get_max_seg_size)(struct device *dev)
{
	return dma_get_max_seg_size(dev);
}

int VDMABUF_RS(dma_coerce_mask_64)(struct device *dev)
{
	return dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
}

/* Gives @dev DMA parameters (NULL to take them away) with no segment size limit. */
void VDMABUF_RS(dma_set_parms)(struct device *dev, struct device_dma_parameters *parms)
{
	dev->dma_parms = parms;
	if (parms)
		dma_set_max_seg_size(dev, UINT_MAX);
}

void VDMABUF_RS(dma_sync_sgtable_for_cpu)(struct device *dev, struct sg_table *sgt,
					 enum dma_data_direction dir)
{
	dma_sync_sgtable_for_cpu(dev, sgt, dir);
}

void VDMABUF_RS(dma_sync_sgtable_for_device)(struct device *dev, struct sg_table *sgt,
					    enum dma_data_direction dir)
{
	dma_sync_sgtable_for_device(dev, sgt, dir);
}

/*
 * Sets a table entry to @len bytes from the start of @page and clears everything else in it: the
 * DMA address, length and flags of an earlier mapping, when a table's entries are filled again.
 * Only the end mark stays. Never called on a chain entry: sg_next() steps over them.
 */
void VDMABUF_RS(sg_fill)(struct scatterlist *sg, struct page *page, unsigned int len)
{
	unsigned long end = sg->page_link & SG_END;

	memset(sg, 0, sizeof(*sg));
	sg->page_link = end;
	sg_set_page(sg, page, len, 0);
}

struct page *VDMABUF_RS(sg_page)(struct scatterlist *sg)
{
	return sg_page(sg);
}

unsigned long VDMABUF_RS(page_to_pfn)(struct page *page)
{
	return page_to_pfn(page);
}

/*
 * Zeroed pages for userspace-visible buffers. Orders above 0 are opportunistic, as in the system
 * heap: no reclaim, no retry, no warning, so a fragmented system falls back to smaller orders
 * quickly instead of stalling.
 */
struct page *VDMABUF_RS(alloc_user_pages)(unsigned int order)
{
	if (!order)
		return alloc_pages(GFP_HIGHUSER | __GFP_ZERO, 0);
	return alloc_pages((GFP_HIGHUSER | __GFP_ZERO | __GFP_NOWARN | __GFP_NORETRY) &
			   ~__GFP_RECLAIM, order);
}

void *VDMABUF_RS(vmap)(struct page **pages, unsigned int count)
{
	return vmap(pages, count, VM_MAP, PAGE_KERNEL);
}

void VDMABUF_RS(vunmap)(void *addr)
{
	vunmap(addr);
}

void VDMABUF_RS(flush_kernel_vmap_range)(void *addr, int size)
{
	flush_kernel_vmap_range(addr, size);
}

void VDMABUF_RS(invalidate_kernel_vmap_range)(void *addr, int size)
{
	invalidate_kernel_vmap_range(addr, size);
}

bool VDMABUF_RS(fatal_signal_pending)(void)
{
	return fatal_signal_pending(current);
}

/*
 * Linux 7.2's rust/bindings/bindings_helper.h defines the Rust constant VM_MAYSHARE as
 * VM_MAYEXEC, so the flag is tested here.
 */
bool VDMABUF_RS(vma_is_shared)(struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_MAYSHARE;
}

/*
 * Makes a VMA being set up in ->mmap a page-frame mapping, whose entries only its fault handler
 * installs; installing page frames BUG()s without VM_PFNMAP, which Rust's VmaNew cannot set.
 */
void VDMABUF_RS(vma_set_pfnmap)(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_PFNMAP);
}

struct vdmabuf_rs_pfn_run {
	struct mm_struct *mm;
	unsigned long start;
	unsigned long end;
	unsigned long pfn;
	pgprot_t prot;
};

/* Returned by vdmabuf_rs_set_pfns() to end apply_to_page_range()'s walk: not an error. */
#define VDMABUF_RS_TABLE_FILLED 1

/*
 * apply_to_page_range() calls this for the first entry of [@addr, run->end), a range inside one
 * page table (one PMD's range), with that table's lock held: fill in every entry of the range
 * here, in one loop, and end the walk, instead of being called back once per entry.
 */
static int vdmabuf_rs_set_pfns(pte_t *pte, unsigned long addr, void *data)
{
	struct vdmabuf_rs_pfn_run *run = data;
	unsigned long pfn = run->pfn + ((addr - run->start) >> PAGE_SHIFT);

	for (; addr != run->end; pte++, pfn++, addr += PAGE_SIZE) {
		/* Another fault of the same mapping may have been first. */
		if (pte_none(ptep_get(pte)))
			set_pte_at(run->mm, addr, pte, pte_mkspecial(pfn_pte(pfn, run->prot)));
	}
	return VDMABUF_RS_TABLE_FILLED;
}

/*
 * Installs page-table entries for @len bytes of physically contiguous page frames from @pfn at
 * @addr of @vma, from the VMA's fault handler: what vmf_insert_pfn() does page by page, with one
 * page-table walk per page table instead of one per page and a loop over each table's entries,
 * as remap_pfn_range() does at mmap time. apply_to_page_range() allocates the tables and takes
 * each one's lock; its callback fills the whole table's part of the range and stops it.
 * Entries already present are left alone. The caller guarantees what vmf_insert_pfn() checks or
 * BUG()s on: @vma is VM_PFNMAP and not copy-on-write, the range is inside it, and the frames are
 * ordinary write-back RAM, so vm_page_prot needs no cache-mode adjustment. Returns 0, -EINVAL
 * (a range outside @vma) or -ENOMEM.
 */
int VDMABUF_RS(vma_insert_pfn_run)(struct vm_area_struct *vma, unsigned long addr,
				  unsigned long pfn, unsigned long len)
{
	struct vdmabuf_rs_pfn_run run = {
		.mm = vma->vm_mm, .start = addr, .pfn = pfn, .prot = vma->vm_page_prot,
	};
	unsigned long end = addr + len;
	int ret;

	if (!(vma->vm_flags & VM_PFNMAP) || addr < vma->vm_start || len > vma->vm_end - addr)
		return -EINVAL;
	for (; addr != end; addr = run.end) {
		/* The part of the range that one page table maps. */
		run.end = pmd_addr_end(addr, end);
		ret = apply_to_page_range(run.mm, addr, run.end - addr, vdmabuf_rs_set_pfns, &run);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * Copies between memory that userspace or devices may write at the same time (an mmap of the
 * buffer, a DMA engine). The bytes may be torn; C's memcpy makes no promise either way, but unlike
 * a Rust copy it is not undefined behaviour under Rust's memory model.
 */
void VDMABUF_RS(memcpy_shared)(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
}

void VDMABUF_RS(memmove_shared)(void *dst, const void *src, size_t len)
{
	memmove(dst, src, len);
}

void VDMABUF_RS(iosys_map_set_vaddr)(struct iosys_map *map, void *vaddr)
{
	iosys_map_set_vaddr(map, vaddr);
}

void *VDMABUF_RS(iosys_map_vaddr)(const struct iosys_map *map)
{
	return map->is_iomem ? NULL : map->vaddr;
}

struct dma_fence *VDMABUF_RS(dma_fence_get)(struct dma_fence *fence)
{
	return dma_fence_get(fence);
}

void VDMABUF_RS(dma_fence_put)(struct dma_fence *fence)
{
	dma_fence_put(fence);
}

bool VDMABUF_RS(dma_fence_is_signaled)(struct dma_fence *fence)
{
	return dma_fence_is_signaled(fence);
}

void VDMABUF_RS(dma_fence_set_error)(struct dma_fence *fence, int error)
{
	dma_fence_set_error(fence, error);
}

/* Real functions only with CONFIG_LOCKDEP; the wrappers work either way. */
bool VDMABUF_RS(dma_fence_begin_signalling)(void)
{
	return dma_fence_begin_signalling();
}

void VDMABUF_RS(dma_fence_end_signalling)(bool cookie)
{
	dma_fence_end_signalling(cookie);
}

/* Returns the new sync_file's file, holding the only reference, or NULL. */
struct file *VDMABUF_RS(sync_file_create)(struct dma_fence *fence)
{
	struct sync_file *sync_file = sync_file_create(fence);

	return sync_file ? sync_file->file : NULL;
}

struct workqueue_struct *VDMABUF_RS(alloc_ordered_workqueue)(const char *name)
{
	return alloc_ordered_workqueue("%s", WQ_MEM_RECLAIM, name);
}

/*
 * Allocates @nr_pages zeroed, physically contiguous pages (at most 2^MAX_PAGE_ORDER) and returns
 * the first, or NULL. The block is split, so each page is freed on its own with __free_page();
 * the pages beyond @nr_pages are freed here. Unlike alloc_user_pages(), this may reclaim and
 * compact: contiguity is what the caller asked for.
 */
struct page *VDMABUF_RS(alloc_contig_user_pages)(unsigned long nr_pages)
{
	unsigned int order = get_order(nr_pages << PAGE_SHIFT);
	struct page *page;
	unsigned long i;

	if (!nr_pages || order > MAX_PAGE_ORDER)
		return NULL;
	page = alloc_pages(GFP_HIGHUSER | __GFP_ZERO | __GFP_NOWARN | __GFP_RETRY_MAYFAIL, order);
	if (!page)
		return NULL;
	split_page(page, order);
	for (i = nr_pages; i < (1UL << order); i++)
		__free_page(page + i);
	return page;
}

/*
 * Sets the dma-buf's name, as DMA_BUF_SET_NAME does (fdinfo and debugfs show it). Returns 0 or
 * -ENOMEM.
 */
int VDMABUF_RS(dma_buf_set_name)(struct dma_buf *dmabuf, const char *name)
{
	/* DMA_BUF_NAME_LEN of <uapi/linux/dma-buf.h>, with the terminating NUL. */
	const char *copy = kstrndup(name, 31, GFP_KERNEL), *old;

	if (!copy)
		return -ENOMEM;
	spin_lock(&dmabuf->name_lock);
	old = dmabuf->name;
	dmabuf->name = copy;
	spin_unlock(&dmabuf->name_lock);
	kfree(old);
	return 0;
}

#if IS_ENABLED(CONFIG_DRM)
/*
 * Describes @format from the kernel's format table: for each of the DRM_FORMAT_MAX_PLANES
 * planes, bytes per block and block width and height (at least 1, as
 * drm_format_info_block_width() gives them; 0 bytes for planes the format does not have), and
 * the chroma subsampling. Returns the number of planes. @format must be in the table:
 * drm_format_info() WARNs otherwise.
 */
unsigned int VDMABUF_RS(drm_format_describe)(u32 format, unsigned int *char_per_block,
					     unsigned int *block_w, unsigned int *block_h,
					     unsigned int *hsub, unsigned int *vsub)
{
	const struct drm_format_info *info = drm_format_info(format);
	int i;

	if (!info)
		return 0;
	for (i = 0; i < DRM_FORMAT_MAX_PLANES; i++) {
		char_per_block[i] = i < info->num_planes ? info->char_per_block[i] : 0;
		block_w[i] = info->block_w[i] ?: 1;
		block_h[i] = info->block_h[i] ?: 1;
	}
	*hsub = info->hsub;
	*vsub = info->vsub;
	return info->num_planes;
}
#endif

/*
 * The page behind a DMA address of @dev, for a virtual device that reaches memory through its
 * DMA mappings as hardware would; NULL unless @dev maps directly (no IOMMU, no DMA ops, no
 * offset ranges), where the DMA address is the physical one.
 */
struct page *VDMABUF_RS(dma_direct_page)(struct device *dev, dma_addr_t addr)
{
	phys_addr_t phys;

	if (get_dma_ops(dev) || use_dma_iommu(dev) || device_iommu_mapped(dev) ||
	    dev->dma_range_map)
		return NULL;
	phys = dma_to_phys(dev, addr);
	if (!pfn_valid(PHYS_PFN(phys)))
		return NULL;
	return pfn_to_page(PHYS_PFN(phys));
}

/* Whether @dmabuf has attachments, without its lock (list_empty() reads with READ_ONCE). */
bool VDMABUF_RS(dma_buf_has_attachments)(struct dma_buf *dmabuf)
{
	return !list_empty(&dmabuf->attachments);
}
