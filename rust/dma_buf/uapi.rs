// SPDX-License-Identifier: GPL-2.0

//! Declaring uAPI structs that mirror a C header.

/// Declares `#[repr(C)]` uAPI structs that can be read from and written to userspace.
///
/// Each struct implements [`FromBytes`] and [`AsBytes`]; the macro checks at compile time that
/// every field type does too and that the struct has no padding (its size is the sum of its
/// fields' sizes), which is what makes those implementations sound.
///
/// [`FromBytes`]: kernel::transmute::FromBytes
/// [`AsBytes`]: kernel::transmute::AsBytes
macro_rules! uapi_struct {
    ($($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident: $ty:ty,)* })*) => {$(
        $(#[$m])*
        #[repr(C)]
        #[derive(Clone, Copy)]
        pub(crate) struct $name {
            $($(#[$fm])* pub(crate) $field: $ty,)*
        }

        const _: () = {
            const fn fields_are_plain<T: ::kernel::transmute::FromBytes + ::kernel::transmute::AsBytes>() {}
            $(fields_are_plain::<$ty>();)*
            ::core::assert!(
                ::core::mem::size_of::<$name>() == 0 $(+ ::core::mem::size_of::<$ty>())*,
                "uAPI structs must not have implicit padding"
            );
        };

        // SAFETY: The struct is `repr(C)`, every field is `FromBytes` and there is no padding
        // (both checked above), so every bit pattern is a valid value.
        unsafe impl ::kernel::transmute::FromBytes for $name {}
        // SAFETY: As above: every field is `AsBytes` and there are no padding bytes to leak.
        unsafe impl ::kernel::transmute::AsBytes for $name {}
    )*};
}

pub(crate) use uapi_struct;

/// Gives userspace a new file descriptor for a file, without ever leaving one behind that
/// userspace was not told about: reserves a descriptor with `flags` (`O_CLOEXEC` or 0), calls
/// `make(fd)`, which reports the number to userspace (a copy that may fault) and makes the file,
/// and installs the file only if `make` succeeded; otherwise the number is released unused.
pub(crate) fn install_new_fd(
    flags: u32,
    make: impl FnOnce(i32) -> kernel::error::Result<kernel::sync::aref::ARef<kernel::fs::File>>,
) -> kernel::error::Result {
    install_new_fds::<1>(flags, 1, |fds| Ok([Some(make(fds[0])?)]))
}

/// Like [`install_new_fd`] for `count` files at once (at most `N`): all are installed, or none.
/// `make` gets the `count` numbers and returns the files, the first `count` of its array; the
/// rest are unused.
pub(crate) fn install_new_fds<const N: usize>(
    flags: u32,
    count: usize,
    make: impl FnOnce(
        &[i32],
    )
        -> kernel::error::Result<[Option<kernel::sync::aref::ARef<kernel::fs::File>>; N]>,
) -> kernel::error::Result {
    use kernel::fs::file::FileDescriptorReservation;
    if count > N {
        return Err(kernel::error::code::EINVAL);
    }
    let mut reserved: [Option<FileDescriptorReservation>; N] = [const { None }; N];
    let mut fds = [-1; N];
    for (slot, fd) in reserved.iter_mut().zip(fds.iter_mut()).take(count) {
        let r = FileDescriptorReservation::get_unused_fd_flags(flags)?;
        // CAST: File descriptors are below `INT_MAX`, the limit of the `int` they are in C.
        *fd = r.reserved_fd() as i32;
        *slot = Some(r);
    }
    let files = make(&fds[..count])?;
    if files.iter().take(count).any(Option::is_none) {
        return Err(kernel::error::code::EINVAL);
    }
    for (r, file) in reserved.into_iter().zip(files) {
        if let (Some(r), Some(file)) = (r, file) {
            r.fd_install(file);
        }
    }
    Ok(())
}

/// Objects that a file hands to userspace by number: handles count up from 1 and are not reused
/// while the file is open (`ENOSPC` once they run out). The owner keeps it under its own lock.
///
/// # Examples
///
/// ```ignore
/// let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
/// let mut handles = self.handles.lock();
/// let handle = handles.take_next()?;
/// handles.insert(node, handle, object);
/// // Later, from another ioctl:
/// let object = self.handles.lock().remove(handle).ok_or(ENOENT)?;
/// ```
pub(crate) struct Handles<T> {
    next: u32,
    map: kernel::rbtree::RBTree<u32, T>,
}

impl<T> Handles<T> {
    /// An empty table.
    pub(crate) fn new() -> Self {
        Self {
            next: 1,
            map: kernel::rbtree::RBTree::new(),
        }
    }

    /// Takes the next handle number; it stays unused unless something is inserted under it.
    pub(crate) fn take_next(&mut self) -> kernel::error::Result<u32> {
        let handle = self.next;
        self.next = handle.checked_add(1).ok_or(kernel::error::code::ENOSPC)?;
        Ok(handle)
    }

    /// Stores `value` under `handle`, from [`Handles::take_next`], in a node allocated
    /// beforehand, so that storing cannot fail.
    pub(crate) fn insert(
        &mut self,
        node: kernel::rbtree::RBTreeNodeReservation<u32, T>,
        handle: u32,
        value: T,
    ) {
        self.map.insert(node.into_node(handle, value));
    }

    /// Returns the object of `handle`.
    #[cfg(dma_buf_importer)]
    pub(crate) fn get(&self, handle: u32) -> Option<&T> {
        self.map.get(&handle)
    }

    /// Removes and returns the object of `handle`.
    pub(crate) fn remove(&mut self, handle: u32) -> Option<T> {
        self.map.remove(&handle)
    }

    /// Removes every object, for the owner's teardown.
    #[cfg(dma_buf_exporter)]
    pub(crate) fn take_all(&mut self) -> kernel::rbtree::RBTree<u32, T> {
        core::mem::take(&mut self.map)
    }
}
