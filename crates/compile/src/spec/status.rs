//! `[status]`: how `homelab status`, `homelab verify exposure` and the
//! deploy health gate probe the homelab, where the defaults do not fit: a
//! slow service's time limit, a whole run's, how many days a certificate
//! must still be valid, the user SSH logs in as (the administrator by
//! default), and the home's public address (to prove from the
//! internet that no port is forwarded to it).

use super::model::Status;
use super::reader::{Sink, Sp, Table};
use crate::diagnostic::Diagnostic;

/// The defaults: a family-sized gate (ENGINES.md) probes every 2 s with
/// 5 s per probe; a whole run of `status` ends within 30 s; Uptime Kuma
/// warns at 14 days before a certificate expires, and so do we.
pub const PROBE_TIMEOUT_MS: u64 = 5_000;
pub const RUN_TIMEOUT_MS: u64 = 30_000;
pub const CERTIFICATE_DAYS: u32 = 14;

pub fn status(t: &mut Table, sink: &mut Sink) -> Status {
    let probe_timeout = duration(t, sink, "probe_timeout");
    let timeout = duration(t, sink, "timeout");
    let certificate_days = t
        .int(sink, "certificate_days", 1, 365)
        .map(|d| Sp::new(d.value as u32, d.span));
    let ssh_user = t.str(sink, "ssh_user");
    if let Some(u) = &ssh_user {
        super::grammar::USER_NAME.check(sink, u);
    }
    let public_address = t.str(sink, "public_address");
    if let Some(a) = &public_address {
        ip_literal(sink, a, "the home's public address");
    }
    if let (Some(p), Some(r)) = (&probe_timeout, &timeout)
        && p.value > r.value
    {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                "a probe may take longer than the whole run it is part of",
            )
            .at(p.span.clone(), "the time limit of each probe")
            .also(r.span.clone(), "the time limit of the whole run")
            .help("make `probe_timeout` at most `timeout`"),
        );
    }
    Status {
        probe_timeout,
        timeout,
        certificate_days,
        ssh_user,
        public_address,
    }
}

/// A time limit: `"5s"`, `"1500ms"` or `"2m"`, between 100 ms and 10 min.
fn duration(t: &mut Table, sink: &mut Sink, key: &'static str) -> Option<Sp<u64>> {
    let text = t.str(sink, key)?;
    match parse_duration(&text.value) {
        Some(ms) if (100..=600_000).contains(&ms) => Some(Sp::new(ms, text.span)),
        parsed => {
            let what = if parsed.is_some() {
                "is out of range"
            } else {
                "is not a time limit"
            };
            sink.push(
                Diagnostic::error("invalid-value", format!("`{}` {what}", text.value))
                    .at(text.span, "expected a time such as \"5s\", \"1500ms\" or \"2m\"")
                    .help("give seconds (`s`), milliseconds (`ms`) or minutes (`m`), from 100ms to 10m"),
            );
            None
        }
    }
}

/// Milliseconds of `<digits>ms`, `<digits>s` or `<digits>m`.
pub(crate) fn parse_duration(s: &str) -> Option<u64> {
    let (digits, factor) = if let Some(d) = s.strip_suffix("ms") {
        (d, 1)
    } else if let Some(d) = s.strip_suffix('s') {
        (d, 1_000)
    } else if let Some(d) = s.strip_suffix('m') {
        (d, 60_000)
    } else {
        return None;
    };
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

/// An IP address literal (the address is connected to as given).
pub(crate) fn ip_literal(sink: &mut Sink, s: &Sp<String>, what: &str) {
    if s.value.parse::<core::net::IpAddr>().is_err() {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` is not an IP address", s.value),
            )
            .at(s.span.clone(), format!("{what}, as an IP address"))
            .help("write the address itself, such as \"100.101.102.103\" or \"203.0.113.7\""),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(parse_duration("5s"), Some(5_000));
        assert_eq!(parse_duration("1500ms"), Some(1_500));
        assert_eq!(parse_duration("2m"), Some(120_000));
        for bad in ["", "s", "5", "5 s", "-5s", "5h", "1.5s", "99999999999s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
