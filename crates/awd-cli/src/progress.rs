//! Progress on stderr: a bar on a terminal; plain lines (one per stage, grid
//! point and message) when stderr is a log file.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use awd::distill::{EpochRecord, Flow, Progress};
use indicatif::{ProgressBar, ProgressStyle};

/// Epochs done, with the fits done and the last loss in the message.
pub struct Bar {
    bar: ProgressBar,
    terminal: bool,
    fits_total: AtomicU64,
    fits_done: AtomicU64,
}

impl Bar {
    /// A bar of `total` units (0: set later by the run's plan).
    pub fn new(total: u64, unit: &str) -> Self {
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit} {{msg}} (eta {{eta}})"
        ))
        .expect("valid template")
        .progress_chars("=> ");
        bar.set_style(style);
        Bar {
            bar,
            terminal: std::io::stderr().is_terminal(),
            fits_total: AtomicU64::new(0),
            fits_done: AtomicU64::new(0),
        }
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
    /// One more fit finished (a plain line in logs).
    pub fn fit_finished(&self) {
        let total = self.fits_total.load(Ordering::Relaxed);
        if total > 0 {
            let done = self.fits_done.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_message(format!("| {done}/{total} grid points"));
            if !self.terminal {
                eprintln!("awd: {done}/{total} grid points done ({:.0} s)", self.bar.elapsed().as_secs_f64());
            }
        }
    }
    /// Clear the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
    /// A line above the bar (or in the log).
    fn line(&self, text: &str) {
        if self.terminal {
            self.bar.println(format!("awd: {text}"));
        } else {
            eprintln!("awd: {text}");
        }
    }
}

impl Progress for Bar {
    fn epoch_done(&self, record: &EpochRecord) -> Flow {
        self.inc(1);
        if self.fits_total.load(Ordering::Relaxed) == 0 {
            self.bar.set_message(format!("loss {:.4e}", record.terms.total));
        }
        Flow::Continue
    }
    fn fit_done(&self, skipped_epochs: usize) {
        self.inc(skipped_epochs as u64);
        self.fit_finished();
    }
    fn planned(&self, fits: usize, epochs: usize) {
        let before = self.fits_total.load(Ordering::Relaxed);
        self.bar.set_length(self.bar.length().unwrap_or(0) + (fits * epochs) as u64);
        self.set_fits(before + fits as u64);
    }
    fn stage(&self, name: &str, seconds: f64) {
        self.line(&format!("{name}: done in {seconds:.1} s"));
    }
    fn message(&self, text: &str) {
        self.line(text);
    }
}
