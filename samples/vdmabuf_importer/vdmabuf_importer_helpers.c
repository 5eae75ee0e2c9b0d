// SPDX-License-Identifier: GPL-2.0
/* This module's copy of the dma-buf layer's C helpers (see rust/dma_buf/helpers.c). */
#define VDMABUF_RS_PREFIX vdmabuf_importer_rs
#include "../../rust/dma_buf/helpers.c"
