//! The health gate: after a switch, the host's probes run every
//! `interval` until `passes` rounds in a row pass, within `window`. A
//! deploy-rs "magic rollback" proves only that a new SSH login works; this
//! proves that every unit is active and every name answers, several times
//! over, so a service that crash-loops a few seconds after starting fails
//! the gate.

use compile::fleet::Gate;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// One round of probes: what failed, and what each saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    pub failing: Vec<(String, String)>,
}

/// How the gate ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    pub rounds: u32,
    pub seconds: f64,
    /// The probe that failed last, and what it saw (when it did not pass).
    pub failed: Option<(String, String)>,
}

/// Time, as the gate sees it (tests give it their own).
pub trait Clock {
    fn now(&self) -> Instant;
    fn sleep(&self, d: Duration);
}

/// The machine's clock.
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Runs `probe` until the gate passes or its window ends; `round` is told
/// each round's number and how many passed in a row so far (progress).
pub fn gate(
    settings: Gate,
    mut probe: impl FnMut() -> Round,
    clock: &dyn Clock,
    mut round: impl FnMut(u32, u32),
) -> Verdict {
    let start = clock.now();
    let window = Duration::from_millis(settings.window_ms);
    let interval = Duration::from_millis(settings.interval_ms);
    let (mut rounds, mut in_a_row) = (0, 0);
    let mut failed = None;
    loop {
        let began = clock.now();
        let r = probe();
        rounds += 1;
        if r.failing.is_empty() {
            in_a_row += 1;
        } else {
            in_a_row = 0;
            failed = r.failing.into_iter().next();
        }
        round(rounds, in_a_row);
        let elapsed = clock.now().duration_since(start);
        if in_a_row >= settings.passes {
            return Verdict {
                passed: true,
                rounds,
                seconds: elapsed.as_secs_f64(),
                failed: None,
            };
        }
        if elapsed + interval > window {
            return Verdict {
                passed: false,
                rounds,
                seconds: elapsed.as_secs_f64(),
                failed: failed.or_else(|| {
                    Some((
                        "the gate".into(),
                        format!("{in_a_row} of {} passes in a row", settings.passes),
                    ))
                }),
            };
        }
        // Every `interval` from the start of the last round.
        clock.sleep(interval.saturating_sub(clock.now().duration_since(began)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A clock that moves only when the gate sleeps, and by a second per
    /// round of probes.
    struct Fake {
        at: Cell<Instant>,
    }

    impl Clock for Fake {
        fn now(&self) -> Instant {
            self.at.get()
        }
        fn sleep(&self, d: Duration) {
            self.at.set(self.at.get() + d);
        }
    }

    const GATE: Gate = Gate {
        window_ms: 20_000,
        interval_ms: 2_000,
        passes: 3,
    };

    fn run(results: &[bool]) -> Verdict {
        let clock = Fake {
            at: Cell::new(Instant::now()),
        };
        let mut n = 0;
        gate(
            GATE,
            || {
                let ok = results.get(n).copied().unwrap_or(false);
                n += 1;
                clock.sleep(Duration::from_secs(1));
                if ok {
                    Round::default()
                } else {
                    Round {
                        failing: vec![("unit app.service".into(), "failed (exit-code)".into())],
                    }
                }
            },
            &clock,
            |_, _| {},
        )
    }

    #[test]
    fn three_passes_in_a_row_open_the_gate() {
        let v = run(&[true, true, true]);
        assert!(v.passed);
        assert_eq!(v.rounds, 3);
        assert_eq!(v.seconds, 5.0, "rounds every 2 s, each taking 1 s");
    }

    #[test]
    fn a_failure_starts_the_count_again() {
        let v = run(&[true, true, false, true, true, true]);
        assert!(v.passed);
        assert_eq!(v.rounds, 6);
    }

    #[test]
    fn a_service_that_keeps_failing_closes_the_gate_at_the_window() {
        let v = run(&[true, false, true, true, false, true, true]);
        assert!(!v.passed);
        assert_eq!(v.rounds, 10, "a round every 2 s within 20 s");
        assert_eq!(
            v.failed,
            Some(("unit app.service".into(), "failed (exit-code)".into()))
        );
    }
}
