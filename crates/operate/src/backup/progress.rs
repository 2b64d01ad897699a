//! Progress of long work: a spinner with the current step on a terminal,
//! plain timestamped lines otherwise (logs, CI, systemd's journal).

use indicatif::{ProgressBar, ProgressStyle};
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
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed}] {msg}").expect("a valid template"),
        );
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

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}
