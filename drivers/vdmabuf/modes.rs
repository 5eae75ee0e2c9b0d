// SPDX-License-Identifier: GPL-2.0

//! Importer-testing modes: a buffer that misbehaves on purpose, the way real exporters and
//! hardware do (`struct vdmabuf_modes`): scatter-gather layouts, injected failures, slow maps and
//! fences that signal by themselves.

use crate::{
    stats::Stats,
    uapi, //
};
use kernel::{
    fmt,
    page::PAGE_SIZE,
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    time::Delta,
};

/// The longest `map_delay_ms`.
pub(crate) const MAX_MAP_DELAY_MS: u32 = 1000;
/// The range of `move_interval_ms`.
pub(crate) const MOVE_INTERVAL_MS: core::ops::RangeInclusive<u32> = 10..=10_000;

/// The layout of the tables that map_dma_buf returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SgLayout {
    /// The largest blocks; adjacent ones share entries.
    Largest,
    /// One entry per page.
    PerPage,
    /// Single pages, none followed by its physical successor, shuffled.
    Scattered,
    /// One physically contiguous run.
    Contiguous,
    /// As `Largest`, entries of at most this many bytes.
    Capped(usize),
}

impl SgLayout {
    /// The longest entry this layout allows, before the device's own limit.
    pub(crate) fn max_entry(self) -> usize {
        match self {
            Self::PerPage => PAGE_SIZE,
            Self::Capped(max) => max,
            Self::Largest | Self::Scattered | Self::Contiguous => usize::MAX,
        }
    }
}

/// An operation whose calls can be made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailOp {
    /// `attach`.
    Attach = 0,
    /// `map_dma_buf`.
    Map = 1,
    /// `begin_cpu_access`.
    BeginCpuAccess = 2,
    /// `mmap`.
    Mmap = 3,
}

const FAIL_OPS: usize = 4;
const FAIL_NAMES: [&str; FAIL_OPS] = ["attach", "map", "begin_cpu_access", "mmap"];

/// Which call of an operation fails, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FailSpec {
    op: FailOp,
    /// The failing call, from 1.
    nth: u32,
    /// Every `nth`-th call, not only the `nth`.
    every: bool,
    error: Error,
}

/// A buffer's modes; the default is a well-behaved buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Modes {
    /// The table layout.
    pub(crate) sg: SgLayout,
    /// The failing calls, if any.
    fail: Option<FailSpec>,
    /// How long each map sleeps first, in milliseconds.
    map_delay_ms: u32,
    /// Fences attached to the buffer signal by themselves after this long, with this status.
    fence: Option<(u32, Result)>,
    /// While dynamic importers are attached, migrate every this many milliseconds.
    move_interval_ms: u32,
    /// Separate CPU and device views, synchronised where the DMA API maintains caches.
    pub(crate) noncoherent: bool,
}

impl Default for Modes {
    fn default() -> Self {
        Self {
            sg: SgLayout::Largest,
            fail: None,
            map_delay_ms: 0,
            fence: None,
            move_interval_ms: 0,
            noncoherent: false,
        }
    }
}

fn errno(e: i32) -> Result<Error> {
    if (-4095..0).contains(&e) {
        Ok(Error::from_errno(e))
    } else {
        Err(EINVAL)
    }
}

impl Modes {
    /// Checks `struct vdmabuf_modes`; fences may wait at most `fence_timeout_ms`.
    pub(crate) fn from_uapi(m: &uapi::Modes, fence_timeout_ms: u32) -> Result<Self> {
        if m.pad != 0
            || m.flags & !uapi::MODE_NONCOHERENT != 0
            || m.fail_flags & !uapi::FAIL_EVERY != 0
        {
            return Err(EINVAL);
        }
        if m.move_interval_ms != 0 && !MOVE_INTERVAL_MS.contains(&m.move_interval_ms) {
            return Err(EINVAL);
        }
        let sg = match (m.sg_layout, m.sg_max_entry) {
            (uapi::SG_LARGEST, 0) => SgLayout::Largest,
            (uapi::SG_PER_PAGE, 0) => SgLayout::PerPage,
            (uapi::SG_SCATTERED, 0) => SgLayout::Scattered,
            (uapi::SG_CONTIGUOUS, 0) => SgLayout::Contiguous,
            // CAST: A `u32` fits in `usize` on every architecture the kernel supports.
            (uapi::SG_CAPPED, max) if max != 0 && max as usize % PAGE_SIZE == 0 => {
                SgLayout::Capped(max as usize)
            }
            _ => return Err(EINVAL),
        };
        let op = match m.fail_op {
            uapi::FAIL_NONE => None,
            uapi::FAIL_ATTACH => Some(FailOp::Attach),
            uapi::FAIL_MAP => Some(FailOp::Map),
            uapi::FAIL_BEGIN_CPU_ACCESS => Some(FailOp::BeginCpuAccess),
            uapi::FAIL_MMAP => Some(FailOp::Mmap),
            _ => return Err(EINVAL),
        };
        let fail = match op {
            None if m.fail_nth != 0 || m.fail_errno != 0 || m.fail_flags != 0 => {
                return Err(EINVAL)
            }
            None => None,
            Some(_) if m.fail_nth == 0 => return Err(EINVAL),
            Some(op) => Some(FailSpec {
                op,
                nth: m.fail_nth,
                every: m.fail_flags & uapi::FAIL_EVERY != 0,
                error: errno(m.fail_errno)?,
            }),
        };
        if m.map_delay_ms > MAX_MAP_DELAY_MS {
            return Err(EINVAL);
        }
        let fence = match (m.fence_delay_ms, m.fence_error) {
            (0, 0) => None,
            (0, _) => return Err(EINVAL),
            (ms, _) if ms > fence_timeout_ms => return Err(EINVAL),
            (ms, 0) => Some((ms, Ok(()))),
            (ms, e) => Some((ms, Err(errno(e)?))),
        };
        Ok(Self {
            sg,
            fail,
            map_delay_ms: m.map_delay_ms,
            fence,
            move_interval_ms: m.move_interval_ms,
            noncoherent: m.flags & uapi::MODE_NONCOHERENT != 0,
        })
    }

    /// How often the buffer migrates by itself while dynamic importers are attached.
    pub(crate) fn move_interval_ms(&self) -> Option<u32> {
        (self.move_interval_ms > 0).then_some(self.move_interval_ms)
    }

    /// The delay before each map.
    pub(crate) fn map_delay(&self) -> Option<Delta> {
        (self.map_delay_ms > 0).then(|| Delta::from_millis(self.map_delay_ms.into()))
    }

    /// When and how fences on the buffer signal by themselves, if they do.
    pub(crate) fn fence(&self) -> Option<(Delta, Result)> {
        self.fence
            .map(|(ms, result)| (Delta::from_millis(ms.into()), result))
    }
}

impl fmt::Display for Modes {
    /// `-` for the defaults, else the modes set, comma-separated (no spaces), e.g.
    /// `sg=capped:65536,fail=map@3:-5,map_delay=10,fence=50:-5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::default() {
            return f.write_str("-");
        }
        let sg = match self.sg {
            SgLayout::Largest => "largest",
            SgLayout::PerPage => "per_page",
            SgLayout::Scattered => "scattered",
            SgLayout::Contiguous => "contiguous",
            SgLayout::Capped(_) => "capped",
        };
        f.write_fmt(fmt!("sg={sg}"))?;
        if let SgLayout::Capped(max) = self.sg {
            f.write_fmt(fmt!(":{max}"))?;
        }
        if let Some(fail) = &self.fail {
            let every = if fail.every { "every" } else { "" };
            f.write_fmt(fmt!(
                ",fail={}@{every}{}:{}",
                FAIL_NAMES[fail.op as usize],
                fail.nth,
                fail.error.to_errno()
            ))?;
        }
        if self.map_delay_ms > 0 {
            f.write_fmt(fmt!(",map_delay={}", self.map_delay_ms))?;
        }
        if let Some((ms, result)) = self.fence {
            let status = result.err().map_or(0, |e| e.to_errno());
            f.write_fmt(fmt!(",fence={ms}:{status}"))?;
        }
        if self.move_interval_ms > 0 {
            f.write_fmt(fmt!(",move={}", self.move_interval_ms))?;
        }
        if self.noncoherent {
            f.write_str(",noncoherent")?;
        }
        Ok(())
    }
}

/// A buffer's modes and its count of calls of the operation that fails, if one does.
pub(crate) struct Injector {
    modes: Modes,
    calls: Atomic<u32>,
}

impl Injector {
    /// Counts calls for `modes`.
    pub(crate) fn new(modes: Modes) -> Self {
        Self {
            modes,
            calls: Atomic::new(0),
        }
    }

    /// The buffer's modes.
    pub(crate) fn modes(&self) -> &Modes {
        &self.modes
    }

    /// Counts a call of `op`; fails it if the modes say so, counting it in `stats`. Inline, so
    /// that the calls of a buffer without a failing operation (attach and map on every import,
    /// `make bench`) cost one comparison and no call.
    #[inline]
    pub(crate) fn call(&self, op: FailOp, stats: &Stats) -> Result {
        match self.modes.fail {
            Some(fail) if fail.op == op => self.count(fail, stats),
            _ => Ok(()),
        }
    }

    /// Counts a call of the failing operation; fails it if it is the one `fail` names.
    fn count(&self, fail: FailSpec, stats: &Stats) -> Result {
        let n = self.calls.fetch_add(1, Relaxed).wrapping_add(1);
        // `nth` is at least 1 (`from_uapi` checks); `max` keeps a panic path out.
        if n == fail.nth || (fail.every && n % fail.nth.max(1) == 0) {
            stats.injected.add(1, Relaxed);
            return Err(fail.error);
        }
        Ok(())
    }
}

#[kunit_tests(vdmabuf_modes)]
mod tests {
    use super::*;

    fn zero() -> uapi::Modes {
        uapi::Modes {
            sg_layout: 0,
            sg_max_entry: 0,
            fail_op: 0,
            fail_nth: 0,
            fail_errno: 0,
            fail_flags: 0,
            map_delay_ms: 0,
            fence_delay_ms: 0,
            fence_error: 0,
            move_interval_ms: 0,
            flags: 0,
            pad: 0,
        }
    }

    #[test]
    fn zero_is_the_default() -> Result {
        assert_eq!(Modes::from_uapi(&zero(), 10_000)?, Modes::default());
        Ok(())
    }

    #[test]
    fn invalid_modes_are_refused() {
        let bad = [
            uapi::Modes {
                sg_layout: 5,
                ..zero()
            },
            uapi::Modes {
                sg_layout: uapi::SG_CAPPED,
                ..zero()
            },
            uapi::Modes {
                sg_layout: uapi::SG_CAPPED,
                sg_max_entry: 100,
                ..zero()
            },
            uapi::Modes {
                sg_max_entry: 4096,
                ..zero()
            },
            uapi::Modes {
                fail_op: 5,
                fail_nth: 1,
                fail_errno: -5,
                ..zero()
            },
            uapi::Modes {
                fail_op: uapi::FAIL_MAP,
                fail_errno: -5,
                ..zero()
            },
            uapi::Modes {
                fail_op: uapi::FAIL_MAP,
                fail_nth: 1,
                fail_errno: 0,
                ..zero()
            },
            uapi::Modes {
                fail_op: uapi::FAIL_MAP,
                fail_nth: 1,
                fail_errno: -4096,
                ..zero()
            },
            uapi::Modes {
                fail_op: uapi::FAIL_MAP,
                fail_nth: 1,
                fail_errno: 5,
                ..zero()
            },
            uapi::Modes {
                fail_nth: 1,
                ..zero()
            },
            uapi::Modes {
                fail_flags: 2,
                ..zero()
            },
            uapi::Modes {
                map_delay_ms: MAX_MAP_DELAY_MS + 1,
                ..zero()
            },
            uapi::Modes {
                fence_error: -5,
                ..zero()
            },
            uapi::Modes {
                fence_delay_ms: 10_001,
                ..zero()
            },
            uapi::Modes {
                fence_delay_ms: 10,
                fence_error: 1,
                ..zero()
            },
            uapi::Modes { pad: 1, ..zero() },
            uapi::Modes { flags: 2, ..zero() },
            uapi::Modes {
                move_interval_ms: 9,
                ..zero()
            },
            uapi::Modes {
                move_interval_ms: 10_001,
                ..zero()
            },
        ];
        for m in bad {
            assert_eq!(Modes::from_uapi(&m, 10_000), Err(EINVAL));
        }
    }

    #[test]
    fn the_nth_call_fails() -> Result {
        static STATS: Stats = Stats::new();
        let once = Modes::from_uapi(
            &uapi::Modes {
                fail_op: uapi::FAIL_MAP,
                fail_nth: 2,
                fail_errno: -5,
                ..zero()
            },
            10_000,
        )?;
        let inj = Injector::new(once);
        assert!(inj.call(FailOp::Map, &STATS).is_ok());
        assert_eq!(inj.call(FailOp::Map, &STATS), Err(EIO));
        assert!(inj.call(FailOp::Map, &STATS).is_ok());
        assert!(inj.call(FailOp::Map, &STATS).is_ok());
        // Other operations are not counted or failed.
        assert!(inj.call(FailOp::Attach, &STATS).is_ok());
        let every = Modes::from_uapi(
            &uapi::Modes {
                fail_op: uapi::FAIL_ATTACH,
                fail_nth: 2,
                fail_errno: -12,
                fail_flags: uapi::FAIL_EVERY,
                ..zero()
            },
            10_000,
        )?;
        let inj = Injector::new(every);
        let fails = (0..6)
            .filter(|_| inj.call(FailOp::Attach, &STATS).is_err())
            .count();
        assert_eq!(fails, 3);
        assert_eq!(STATS.injected.load(Relaxed), 4);
        Ok(())
    }

    #[test]
    fn modes_print_without_spaces() -> Result {
        let m = Modes::from_uapi(
            &uapi::Modes {
                sg_layout: uapi::SG_CAPPED,
                sg_max_entry: 65536,
                fail_op: uapi::FAIL_MAP,
                fail_nth: 3,
                fail_errno: -5,
                map_delay_ms: 10,
                fence_delay_ms: 50,
                fence_error: -5,
                flags: uapi::MODE_NONCOHERENT,
                ..zero()
            },
            10_000,
        )?;
        let text = kernel::str::CString::try_from_fmt(fmt!("{m}"))?;
        assert_eq!(
            text.to_bytes(),
            b"sg=capped:65536,fail=map@3:-5,map_delay=10,fence=50:-5,noncoherent"
        );
        let text = kernel::str::CString::try_from_fmt(fmt!("{}", Modes::default()))?;
        assert_eq!(text.to_bytes(), b"-");
        Ok(())
    }
}
