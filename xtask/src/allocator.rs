//! The process's memory allocator, told to keep the memory it frees.
//!
//! glibc's `malloc` hands large freed blocks back to the kernel: blocks above a threshold that
//! moves with the sizes seen (at most 32 MiB) are unmapped, and the heap is trimmed when its free
//! top passes twice that. A training step allocates and frees hundreds of megabytes of
//! activations and gradients, so every step touched fresh pages, and each first touch is a page
//! fault and a zeroed page: 9% of the ResNet18 step's profile. Keeping freed memory makes the
//! step 10–15% faster (`bench/RESULTS.md`); the peak resident memory stays what the largest step
//! needs, but it is not returned until the process exits.
//!
//! A caller who sets any of glibc's malloc variables (a name starting `MALLOC_`, or
//! `GLIBC_TUNABLES`) keeps their choice. Values never depend on it; only where memory comes
//! from.

/// Whether the caller tuned glibc's allocator through its environment.
fn caller_tuned() -> bool {
    std::env::vars_os().any(|(name, _)| {
        let name = name.to_string_lossy();
        name.starts_with("MALLOC_") || name == "GLIBC_TUNABLES"
    })
}

/// Tells glibc's allocator to keep freed memory: blocks up to 1 GiB come from the heap, and
/// the heap is trimmed only past 2 GiB of free top. Call first thing in `main`. Returns whether
/// it changed anything (not where the caller tuned the allocator, and not off glibc).
pub fn keep_freed_memory() -> bool {
    if caller_tuned() {
        return false;
    }
    set_glibc_thresholds()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_glibc_thresholds() -> bool {
    // SAFETY: `mallopt` only sets two of the allocator's parameters, under its own lock; it
    // reads and writes no memory of ours. Both values are within glibc's documented ranges.
    let (mmap, trim) = unsafe {
        (
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30),
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX),
        )
    };
    mmap == 1 && trim == 1
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_glibc_thresholds() -> bool {
    false
}
