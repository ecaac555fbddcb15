//! `xtask::keep_freed_memory_mapped`: a large buffer freed and allocated again after mimalloc's purge
//! delay is not faulted in again (Linux: minor page faults from /proc/self/stat).
#![cfg(target_os = "linux")]

use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The process's minor page faults so far (field 10 of /proc/self/stat).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat is readable on Linux");
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    let after_name = &stat[stat.rfind(')').expect("stat has the command name in parentheses") + 2..];
    after_name.split(' ').nth(7).and_then(|f| f.parse().ok()).expect("field 10 is the minor fault count")
}

/// Page faults taken while writing one byte per 4 KiB page of a new `bytes`-long buffer, then freeing it.
fn faults_writing_a_new_buffer(bytes: usize) -> u64 {
    let mut buffer = Vec::<u8>::with_capacity(bytes);
    let before = minor_faults();
    for offset in (0..bytes).step_by(4096) {
        // SAFETY: within the buffer's capacity; written, never read.
        unsafe { buffer.as_mut_ptr().add(offset).write_volatile(1) }
    }
    let faults = minor_faults() - before;
    drop(buffer);
    faults
}

#[test]
fn a_freed_buffer_is_reused_without_faulting_its_pages_in_again() {
    xtask::keep_freed_memory_mapped();
    let bytes = 64 << 20;
    let first = faults_writing_a_new_buffer(bytes);
    // Longer than mimalloc's default purge delay (10 ms in mimalloc 2, 1 s in mimalloc 3), then other
    // allocations, as the next training step makes: mimalloc purges from within its calls.
    std::thread::sleep(Duration::from_millis(1500));
    for size in [1 << 20, 8 << 20, 1 << 20] {
        faults_writing_a_new_buffer(size);
    }
    let again = faults_writing_a_new_buffer(bytes);
    assert!(first >= 16, "the first 64 MiB buffer took only {first} page faults: the test cannot tell purging apart");
    assert!(again * 4 < first, "the buffer allocated again took {again} page faults, the first {first}: freed memory was given back");
}
