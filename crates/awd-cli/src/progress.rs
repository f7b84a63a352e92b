//! A progress bar on stderr (hidden when stderr is not a terminal).

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// Epochs done, with the fits done in the message.
pub struct Bar {
    bar: ProgressBar,
    fits_total: AtomicU64,
    fits_done: AtomicU64,
}

impl Bar {
    /// A bar of `total` units.
    pub fn new(total: u64, unit: &str) -> Self {
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit} {{msg}} (eta {{eta}})"
        ))
        .expect("valid template")
        .progress_chars("=> ");
        bar.set_style(style);
        Bar { bar, fits_total: AtomicU64::new(0), fits_done: AtomicU64::new(0) }
    }
    /// Show fits done out of `total` in the message.
    pub fn set_fits(&self, total: u64) {
        self.fits_total.store(total, Ordering::Relaxed);
        self.bar.set_message(format!("| 0/{total} grid points"));
    }
    /// Replace the message.
    pub fn set_message(&self, msg: String) {
        self.bar.set_message(msg);
    }
    /// Advance by `n` units.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }
    /// One more fit finished.
    pub fn fit_finished(&self) {
        let total = self.fits_total.load(Ordering::Relaxed);
        if total > 0 {
            let done = self.fits_done.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_message(format!("| {done}/{total} grid points"));
        }
    }
    /// Clear the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
