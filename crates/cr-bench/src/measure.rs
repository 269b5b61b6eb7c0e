//! Wall time and peak resident memory of a piece of work, and the machine it ran on.
//!
//! Peak memory is the process's high-water mark `VmHWM` from `/proc/self/status` after the
//! work, with the mark reset before it by writing `5` to `/proc/self/clear_refs` (Linux);
//! where either is unavailable it is `None`. The reset sets the mark to what the process
//! holds at that moment, so the peak includes memory kept from earlier work.

use std::time::Instant;

/// CPU model name and logical core count, from `/proc/cpuinfo`.
pub fn machine() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} logical cores")
}

/// Resets the memory high-water mark; `false` where the system has none to reset.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The memory high-water mark since the last [`reset_peak`], bytes.
pub fn peak_rss() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// The memory resident now, bytes (what a [`reset_peak`] sets the mark to).
pub fn current_rss() -> Option<u64> {
    status_bytes("VmRSS:")
}

/// A `kB` field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `f(true)` once untimed (a warm-up), then `f(false)` timed with the memory high-water
/// mark reset: its value, wall seconds and peak resident bytes.
pub fn measure<T, E>(mut f: impl FnMut(bool) -> Result<T, E>) -> Result<(T, f64, Option<u64>), E> {
    f(true)?;
    let reset = reset_peak();
    let start = Instant::now();
    let out = f(false)?;
    let secs = start.elapsed().as_secs_f64();
    let peak = if reset { peak_rss() } else { None };
    Ok((out, secs, peak))
}
