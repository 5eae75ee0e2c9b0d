// SPDX-License-Identifier: GPL-2.0

//! Error codes the `kernel` crate of Linux 7.2 does not name.

use kernel::{
    bindings,
    error::Error, //
};

fn errno(code: u32) -> Error {
    // CAST: Errno constants are small positive numbers.
    Error::from_errno(-(code as i32))
}

/// `ECANCELED`: what a fence reports when it was abandoned rather than completed.
pub(crate) fn canceled() -> Error {
    errno(bindings::ECANCELED)
}

/// `EOPNOTSUPP`.
pub(crate) fn not_supported() -> Error {
    errno(bindings::EOPNOTSUPP)
}

/// `EDEADLK`: a ww_mutex acquire context must back off.
pub(crate) fn deadlock() -> Error {
    errno(bindings::EDEADLK)
}

/// `ENODATA`: the object has no such information attached.
pub(crate) fn no_data() -> Error {
    errno(bindings::ENODATA)
}
