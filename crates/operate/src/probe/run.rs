//! Probes run together: one thread each, every probe bounded by its own
//! time limit (its sockets' timeouts, ssh's connect timeout), the whole
//! run by a deadline. A probe still running at the deadline is reported
//! as not answering in time; its thread ends on its own limit.

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A probe to run: anything that returns its result.
pub type Job<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// Runs every job at once and returns their results in order; `None` for
/// a job that had not finished `within` the run's time limit.
pub fn all<T: Send + 'static>(jobs: Vec<Job<'static, T>>, within: Duration) -> Vec<Option<T>> {
    let deadline = Instant::now() + within;
    let count = jobs.len();
    let (tx, rx) = mpsc::channel();
    for (n, job) in jobs.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send((n, job()));
        });
    }
    drop(tx);
    let mut out: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let mut done = 0;
    while done < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((n, result)) => {
                out[n] = Some(result);
                done += 1;
            }
            Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_together_and_the_deadline_bounds_the_run() {
        let jobs: Vec<Job<u32>> = (0..50u32)
            .map(|n| {
                Box::new(move || {
                    std::thread::sleep(Duration::from_millis(if n == 7 { 3_000 } else { 200 }));
                    n
                }) as Job<u32>
            })
            .collect();
        let out = all(jobs, Duration::from_millis(1_000));
        // The run returned without the slow job's result: the deadline
        // ended it. Every other job finished within it: they ran together
        // (50 jobs of 200 ms one after another would take 10 s).
        assert_eq!(out[7], None, "the slow job missed the deadline");
        assert_eq!(out.iter().flatten().count(), 49);
        assert_eq!(out[49], Some(49));
    }
}
