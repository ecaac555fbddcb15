//! The process allocator's one setting: freed memory stays mapped.
//!
//! Training frees and allocates the same large tensor buffers every step (an E1 activation is
//! 3500 × 2000 f32, 28 MB). mimalloc gives freed memory back to the kernel after a delay ("purge");
//! the next step then faults every page in again and the kernel zeroes it. In one
//! `cargo xtask bench train --steps-only` on a 2-core Intel Xeon (family 6 model 207) that was
//! 336,151 page faults, against 958 with purging off (docs/performance.md).

use std::os::raw::{c_int, c_long};

/// `mi_option_purge_delay`'s position in mimalloc.h's `mi_option_e` (the same in mimalloc 2 and 3).
const MI_OPTION_PURGE_DELAY: c_int = 15;

unsafe extern "C" {
    /// mimalloc's option setter, linked with the `mimalloc` crate (this binary's global allocator).
    fn mi_option_set(option: c_int, value: c_long);
}

/// Never give freed memory back to the kernel while the process runs, unless the user chose a purge
/// delay (`MIMALLOC_PURGE_DELAY`). The cost: the process keeps its peak memory mapped until it exits.
/// Call at the start of `main`, in a process whose global allocator is `mimalloc::MiMalloc`.
pub fn keep_freed_memory_mapped() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting an option is a plain store in mimalloc, valid at any time from any thread.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
    }
}
