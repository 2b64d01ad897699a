//! `[alerts]`: where alert mail goes and the SMTP relay that carries it;
//! the other channels and the routes are `spec::channels`.
//! The addresses and the relay's name end up in Alertmanager's and Gatus'
//! configuration files (after `envsubst`, which would expand a `$`), so
//! each is checked against its grammar here; the password is only ever
//! named, as an agenix secret.

use super::channels::{Channel, ChannelKind, MAIL};
use super::grammar::{self, Grammar};
use super::model::{Alerts, Homelab, Smtp};
use super::reader::{Sink, Sp, Table};
use crate::diagnostic::Diagnostic;

/// The submission port with STARTTLS, which every relay offers.
const SUBMISSION_PORT: u16 = 587;

pub fn alerts(t: &mut Table, sink: &mut Sink, homelab: Option<&Homelab>) -> Option<Alerts> {
    let email = t.str(sink, "email");
    if let Some(e) = &email {
        EMAIL.check(sink, e);
    }
    let smtp = t.table(sink, "smtp").and_then(|mut s| {
        let span = s.span.clone();
        let smtp = smtp(&mut s, sink);
        s.finish(sink);
        smtp.map(|smtp| (span, smtp))
    });
    let has_smtp = t.key_span("smtp").is_some();
    let mut channels = Vec::new();
    if let Some((span, _)) = &smtp {
        channels.push(Channel {
            name: Sp::new(MAIL.into(), span.clone()),
            kind: ChannelKind::Mail,
        });
    }
    channels.extend(super::channels::channels(t, sink));
    let has_channels = t.key_span("channels").is_some();
    let routes = t.table(sink, "routes").map(|mut r| {
        let routes = super::channels::routes(&mut r, sink);
        r.finish(sink);
        routes
    });
    if !has_smtp && !has_channels {
        sink.push(
            Diagnostic::error("missing-key", "`[alerts]` has no `[alerts.smtp]` relay and no channel")
                .at(t.span.clone(), "alerts need somewhere to go")
                .help("add `[alerts.smtp]` with `host`, `from`, and `username` and `password_secret` if the relay wants a login, or a channel such as `[alerts.channels.phone]` with `type = \"ntfy\"` (see docs/alerts.md)"),
        );
        return None;
    }
    if let (Some(e), false) = (&email, has_smtp) {
        sink.push(
            Diagnostic::error(
                "missing-key",
                "`[alerts]` has an `email` but no `[alerts.smtp]` relay",
            )
            .at(e.span.clone(), "mail needs a relay to carry it")
            .also(t.span.clone(), "`[alerts.smtp]` is required here")
            .help("add `[alerts.smtp]` with `host` and `from`, or remove `email`"),
        );
    }
    let email = email.or_else(|| homelab.map(|h| h.admin_email.clone()))?;
    if has_smtp && smtp.is_none() {
        return None;
    }
    let alerts = Alerts {
        span: t.span.clone(),
        email,
        smtp: smtp.map(|(_, s)| s),
        channels,
        routes,
    };
    super::channels::unknown_channels(&alerts, sink);
    Some(alerts)
}

fn smtp(t: &mut Table, sink: &mut Sink) -> Option<Smtp> {
    let host = t.req_str(sink, "host", "\"smtp.example.org\"");
    if let Some(h) = &host {
        RELAY.check(sink, h);
    }
    let port = t
        .int(sink, "port", 1, 65535)
        .map(|p| Sp::new(p.value as u16, p.span));
    let from = t.req_str(sink, "from", "\"homelab@example.org\"");
    if let Some(f) = &from {
        EMAIL.check(sink, f);
    }
    let username = t.str(sink, "username");
    if let Some(u) = &username {
        LOGIN.check(sink, u);
    }
    let password_secret = t.str(sink, "password_secret");
    if let Some(p) = &password_secret {
        super::parse::secret_name(sink, p);
    }
    login_pair(t, sink, &username, &password_secret);
    Some(Smtp {
        host: host?,
        port: port.unwrap_or_else(|| Sp::new(SUBMISSION_PORT, t.span.clone())),
        from: from?,
        username,
        password_secret,
    })
}

/// A login needs its password and a password its login: a relay that
/// takes mail without one gets neither.
fn login_pair(
    t: &Table,
    sink: &mut Sink,
    username: &Option<Sp<String>>,
    password: &Option<Sp<String>>,
) {
    match (username, password) {
        (Some(u), None) => sink.push(
            Diagnostic::error("missing-key", "`[alerts.smtp]` has a `username` but no `password_secret`")
                .at(u.span.clone(), "the relay's login")
                .also(t.span.clone(), "`password_secret` is required here")
                .help("add `password_secret = \"smtp-password\"` and store it with `homelab secrets set smtp-password`"),
        ),
        (None, Some(p)) => sink.push(
            Diagnostic::error("missing-key", "`[alerts.smtp]` has a `password_secret` but no `username`")
                .at(p.span.clone(), "a password without a login")
                .also(t.span.clone(), "`username` is required here")
                .help("add the relay's login: `username = \"alerts@example.org\"`"),
        ),
        _ => {}
    }
}

/// An e-mail address: `local@domain`, nothing a mail header, YAML or
/// `envsubst` would read as more than an address.
pub(crate) const EMAIL: Grammar = Grammar {
    what: "e-mail address",
    accepts: is_email,
    expected: "`name@domain`",
    help: "write one plain address, e.g. `admin@example.org`",
};

/// The relay: a DNS name or an IP address.
pub(crate) const RELAY: Grammar = Grammar {
    what: "SMTP relay",
    accepts: grammar::is_address,
    expected: "a DNS name or an IP address, without a port",
    help: "write the relay's name, e.g. `smtp.example.org`, and its port as `port = 587`",
};

/// The relay login: printable characters without spaces, quotes, `\` or
/// `$` (which `envsubst` would expand).
pub const LOGIN: Grammar = Grammar {
    what: "SMTP login",
    accepts: is_login,
    expected: "printable characters without spaces, quotes, `\\` or `$`",
    help: "write the login the relay gives, e.g. `alerts@example.org` or `apikey`",
};

pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
    local_ok && domain.contains('.') && grammar::is_dns_name(domain)
}

fn is_login(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.chars()
            .all(|c| c.is_ascii_graphic() && !"\"'\\$`".contains(c))
}

#[cfg(test)]
mod tests {
    use super::{is_email, is_login};

    #[test]
    fn plain_addresses_are_emails() {
        assert!(is_email("admin@example.org"));
        assert!(is_email("first.last+alerts@mail.example.co.uk"));
        assert!(!is_email("admin"));
        assert!(!is_email("admin@localhost"));
        assert!(!is_email("a b@example.org"));
        assert!(!is_email("$USER@example.org"));
        assert!(!is_email("Admin <admin@example.org>"));
        assert!(!is_email("admin@-example.org"));
    }

    #[test]
    fn logins_refuse_what_envsubst_or_yaml_would_read() {
        assert!(is_login("alerts@example.org"));
        assert!(is_login("AKIA0123456789"));
        assert!(!is_login("me $HOME"));
        assert!(!is_login("a\"b"));
        assert!(!is_login(""));
    }
}
