//! The probe engine against 200 endpoints on loopback, a quarter of them
//! slow (they answer after 0.2 to 1 s): how long the whole run takes,
//! against the slowest single probe and against the sum of all probes,
//! measured in the same run. Each probe is what `homelab status` sends a
//! name (an HTTP request by name at a chosen address, plain here: no
//! certificate is needed to measure concurrency).
//!
//! Run: `cargo bench -p homelab-operate --bench probes`.

use operate::probe::http::{Request, get};
use operate::probe::run::{Job, all};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

const ENDPOINTS: usize = 200;
const ROUNDS: usize = 5;

/// A loopback server that answers 200 after `delay`.
fn serve(delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            });
        }
    });
    port
}

fn main() {
    // Every fourth endpoint is slow: 0.2 s to 1 s, spread evenly.
    let slow = ENDPOINTS / 4;
    let ports: Vec<u16> = (0..ENDPOINTS)
        .map(|n| {
            let delay = if n % 4 == 0 {
                let k = (n / 4) as u64;
                Duration::from_millis(200 + 800 * k / (slow as u64 - 1))
            } else {
                Duration::ZERO
            };
            serve(delay)
        })
        .collect();
    let mut rows = Vec::new();
    for round in 1..=ROUNDS {
        let jobs: Vec<Job<'static, Duration>> = ports
            .iter()
            .map(|&port| {
                Box::new(move || {
                    let started = Instant::now();
                    let answer = get(&Request {
                        name: "app.home.example.org",
                        address: Some("127.0.0.1"),
                        port,
                        path: "/health",
                        tls: false,
                        limit: Duration::from_secs(5),
                    });
                    assert_eq!(answer.map(|a| a.status), Ok(200));
                    started.elapsed()
                }) as Job<'static, Duration>
            })
            .collect();
        let started = Instant::now();
        let took: Vec<Duration> = all(jobs, Duration::from_secs(30))
            .into_iter()
            .map(|t| t.expect("every probe answers within the run"))
            .collect();
        let total = started.elapsed().as_secs_f64();
        let slowest = took.iter().max().unwrap().as_secs_f64();
        let sum: f64 = took.iter().map(Duration::as_secs_f64).sum();
        println!(
            "round {round}: {ENDPOINTS} probes in {total:.3} s; slowest probe {slowest:.3} s \
             ({:.3}x); sum of probes {sum:.1} s ({:.4}x)",
            total / slowest,
            total / sum
        );
        rows.push((total, slowest, sum));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (total, slowest, sum) = rows[ROUNDS / 2];
    println!(
        "median: {total:.3} s for {ENDPOINTS} probes = {:.3}x the slowest probe ({slowest:.3} s), \
         {:.4}x their sum ({sum:.1} s)",
        total / slowest,
        total / sum
    );
}
