//! The terminal's progress display: one [`MultiProgress`] that every bar of the process joins
//! (grid runs, concurrent workers, training epochs, attacks), so bars drawn by different
//! threads stack instead of overwriting each other, and log lines can be printed above them
//! with [`suspend`] without tearing a bar.
//!
//! Bars are hidden until [`enable`] is called (the CLI does so when stderr is a terminal and
//! `--quiet` is off); library users and tests see no drawing.

use std::sync::OnceLock;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::hidden()))
}

/// Draws the bars on stderr from now on.
pub fn enable() {
    bars().set_draw_target(ProgressDrawTarget::stderr());
}

/// Whether bars are drawn.
pub fn enabled() -> bool {
    !bars().is_hidden()
}

/// Runs `f` with the bars cleared from the terminal (then redraws them): for log lines.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    bars().suspend(f)
}

/// A bar of `len` steps with an indicatif `template`, joined to the display (hidden when the
/// display is).
pub fn bar(len: u64, template: &str) -> ProgressBar {
    let b = bars().add(ProgressBar::new(len));
    b.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b
}

/// A spinner line with an indicatif `template` (e.g. one per worker), joined to the display.
pub fn spinner(template: &str) -> ProgressBar {
    let b = bars().add(ProgressBar::new_spinner());
    b.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    b
}

/// Removes a finished bar from the display.
pub fn remove(bar: &ProgressBar) {
    bar.finish_and_clear();
    bars().remove(bar);
}

/// A `std::io::Write` for log output (e.g. `tracing_subscriber`'s writer) that prints each
/// buffer to stderr with the bars suspended, so log lines never tear a bar.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        suspend(|| std::io::Write::write_all(&mut std::io::stderr(), buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::Write::flush(&mut std::io::stderr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_by_default_and_bars_count_steps() {
        assert!(!enabled());
        let b = bar(3, "{pos}/{len}");
        b.inc(2);
        assert_eq!(b.position(), 2);
        assert_eq!(b.length(), Some(3));
        remove(&b);
        assert!(b.is_finished());
        let mut w = LogWriter;
        assert_eq!(std::io::Write::write(&mut w, b"").unwrap(), 0);
    }
}
