// SPDX-License-Identifier: GPL-2.0
/*
 * vdmabuf_floor: the least a dynamic dma-buf exporter can do, for make bench only.
 *
 * One allocation holds its state and the list of its blocks; the blocks are zeroed pages of at
 * most order 8, as the system heap's; then dma_buf_export() and an fd. Every map builds a fresh
 * sg_table of one entry per block and maps it for the importer's device; unmap frees it again.
 * pin and unpin do nothing but make it a dynamic exporter, so that the core pins around every
 * map of a static importer, as it does for vdmabuf. No limits, no accounting, no listing, no
 * CPU access, no mmap: make bench prints its figures next to vdmabuf's and the peers', to show
 * how close to a peer any exporter can come on this machine.
 *
 * The device is /dev/vdmabuf-floor; its one ioctl takes struct vdmabuf_floor_create (defined in
 * vdmabuf_bench.c, its only user).
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

struct vdmabuf_floor_create {
	__u64 size;
	__s32 fd;
	__u32 pad;
};

#define VDMABUF_FLOOR_IOCTL_CREATE _IOWR('F', 1, struct vdmabuf_floor_create)
#define FLOOR_MAX_ORDER 8
#define FLOOR_MAX_SIZE SZ_1G

struct floor_buf {
	unsigned int nblocks;
	struct page *blocks[];
};

static struct sg_table *floor_map(struct dma_buf_attachment *attach,
				  enum dma_data_direction dir)
{
	struct floor_buf *buf = attach->dmabuf->priv;
	struct scatterlist *sg;
	struct sg_table *table;
	unsigned int i;
	int ret;

	table = kmalloc_obj(*table);
	if (!table)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(table, buf->nblocks, GFP_KERNEL);
	if (ret)
		goto free;
	for_each_sgtable_sg(table, sg, i)
		sg_set_page(sg, buf->blocks[i], page_size(buf->blocks[i]), 0);
	ret = dma_map_sgtable(attach->dev, table, dir, 0);
	if (!ret)
		return table;
	sg_free_table(table);
free:
	kfree(table);
	return ERR_PTR(ret);
}

static void floor_unmap(struct dma_buf_attachment *attach, struct sg_table *table,
			enum dma_data_direction dir)
{
	dma_unmap_sgtable(attach->dev, table, dir, 0);
	sg_free_table(table);
	kfree(table);
}

static void floor_free(struct floor_buf *buf)
{
	unsigned int i;

	for (i = 0; i < buf->nblocks; i++)
		__free_pages(buf->blocks[i], compound_order(buf->blocks[i]));
	kfree(buf);
}

static void floor_release(struct dma_buf *dmabuf)
{
	floor_free(dmabuf->priv);
}

static int floor_pin(struct dma_buf_attachment *attach)
{
	return 0;
}

static void floor_unpin(struct dma_buf_attachment *attach)
{
}

static const struct dma_buf_ops floor_ops = {
	.map_dma_buf = floor_map,
	.unmap_dma_buf = floor_unmap,
	.release = floor_release,
	.pin = floor_pin,
	.unpin = floor_unpin,
};

/*
 * Zeroed blocks of at most FLOOR_MAX_ORDER for @npages pages, into one allocation; an ERR_PTR
 * (-ENOMEM, or -EINTR for a killed caller, as the system heap) on failure.
 */
static struct floor_buf *floor_alloc(unsigned long npages)
{
	/* The most blocks: whole ones of the largest order, then one per bit of the rest. */
	unsigned long most = (npages >> FLOOR_MAX_ORDER) + FLOOR_MAX_ORDER;
	struct floor_buf *buf;
	int ret = -ENOMEM;

	buf = kzalloc_flex(*buf, blocks, most);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	while (npages) {
		unsigned int order = min_t(unsigned int, FLOOR_MAX_ORDER, ilog2(npages));
		struct page *page;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto fail;
		}
		page = alloc_pages(GFP_HIGHUSER | __GFP_ZERO | __GFP_COMP |
				   (order ? __GFP_NOWARN | __GFP_NORETRY : 0), order);
		/* No smaller blocks instead, which would need more room than @most. */
		if (!page)
			goto fail;
		buf->blocks[buf->nblocks++] = page;
		npages -= 1UL << order;
	}
	return buf;
fail:
	floor_free(buf);
	return ERR_PTR(ret);
}

static long floor_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct vdmabuf_floor_create args;
	struct dma_buf *dmabuf;
	struct floor_buf *buf;
	int fd;

	if (cmd != VDMABUF_FLOOR_IOCTL_CREATE)
		return -ENOTTY;
	if (copy_from_user(&args, (void __user *)arg, sizeof(args)))
		return -EFAULT;
	if (args.pad || !args.size || args.size > FLOOR_MAX_SIZE || !PAGE_ALIGNED(args.size))
		return -EINVAL;
	buf = floor_alloc(args.size >> PAGE_SHIFT);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	info.ops = &floor_ops;
	info.size = args.size;
	info.flags = O_RDWR;
	info.priv = buf;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		floor_free(buf);
		return PTR_ERR(dmabuf);
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(dmabuf);
		return fd;
	}
	args.fd = fd;
	if (copy_to_user((void __user *)arg, &args, sizeof(args))) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);
		return -EFAULT;
	}
	/* What dma_buf_fd() does, once userspace has the number. */
	fd_install(fd, dmabuf->file);
	return 0;
}

static const struct file_operations floor_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = floor_ioctl,
};

static struct miscdevice floor_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vdmabuf-floor",
	.fops = &floor_fops,
};
module_misc_device(floor_dev);

MODULE_DESCRIPTION("The least a dynamic dma-buf exporter does, for make bench");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF");
