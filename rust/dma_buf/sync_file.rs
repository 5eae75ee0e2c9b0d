// SPDX-License-Identifier: GPL-2.0

//! sync_file: a fence as a file descriptor.
//!
//! C header: [`include/linux/sync_file.h`](srctree/include/linux/sync_file.h)

use crate::dma_buf::{
    fence::Fence,
    helpers, //
};
use core::ptr::NonNull;
use kernel::{
    fs::File,
    prelude::*,
    sync::aref::ARef, //
};

/// Wraps `fence` in a new sync_file and returns its file, to be installed as a descriptor
/// (see [`kernel::fs::file::FileDescriptorReservation`]).
pub(crate) fn export(fence: &Fence) -> Result<ARef<File>> {
    // SAFETY: The fence is valid; `sync_file_create` takes its own reference.
    let file = NonNull::new(unsafe { helpers::sync_file_create(fence.as_raw()) }).ok_or(ENOMEM)?;
    // SAFETY: The new sync_file's file comes with one reference, which we now own.
    Ok(unsafe { ARef::from_raw(file.cast()) })
}
