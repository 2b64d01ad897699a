//! Progress of long work: a spinner with the current step on a terminal,
//! plain timestamped lines otherwise (logs, CI, systemd's journal).

use indicatif::{ProgressBar, ProgressStyle};
use std::cell::Cell;
use std::io::IsTerminal;
use std::time::Duration;

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A spinner when stderr is a terminal, lines otherwise.
    pub fn new() -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(spinner_style());
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    /// No output at all (JSON on stdout, or a library caller).
    pub fn silent() -> Progress {
        Progress {
            bar: Some(ProgressBar::hidden()),
        }
    }

    /// The step now under way.
    pub fn step(&self, message: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.set_message(message.as_ref().to_string()),
            None => eprintln!("{}", message.as_ref()),
        }
    }

    /// A line that stays (a result), above the spinner.
    pub fn line(&self, message: impl AsRef<str>) {
        match &self.bar {
            Some(bar) if !bar.is_hidden() => bar.println(message.as_ref()),
            Some(_) => {}
            None => eprintln!("{}", message.as_ref()),
        }
    }

    /// Runs `f` (printing a result on stdout) with the spinner out of the way.
    pub fn suspend(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// A byte count towards `total` (a restore under way): a bar on a
    /// terminal, a line at each quarter otherwise.
    pub fn bytes(&self, total: u64) -> Bytes<'_> {
        if let Some(bar) = self.bar.as_ref().filter(|b| !b.is_hidden()) {
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed}] {msg} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec})",
                )
                .expect("a valid template"),
            );
            bar.set_length(total);
            bar.set_position(0);
        }
        Bytes {
            progress: self,
            total: total.max(1),
            next_quarter: Cell::new(1),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// See [`Progress::bytes`].
pub struct Bytes<'p> {
    progress: &'p Progress,
    total: u64,
    next_quarter: Cell<u64>,
}

impl Bytes<'_> {
    pub fn set(&self, done: u64) {
        match &self.progress.bar {
            Some(bar) => bar.set_position(done),
            None => {
                let quarter = self.next_quarter.get();
                if quarter <= 4 && done * 4 >= self.total * quarter {
                    eprintln!("  {}% ({done} of {} bytes)", quarter * 25, self.total);
                    self.next_quarter.set(quarter + 1);
                }
            }
        }
    }

    /// Back to the spinner for the steps that follow.
    pub fn finish(&self) {
        if let Some(bar) = self.progress.bar.as_ref().filter(|b| !b.is_hidden()) {
            bar.set_style(spinner_style());
            bar.unset_length();
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} [{elapsed}] {msg}").expect("a valid template")
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}
