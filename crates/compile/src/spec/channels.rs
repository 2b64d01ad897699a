//! `[alerts.channels.<name>]` and `[alerts.routes]`: where alerts go
//! besides mail, and which severity reaches which channel. A channel
//! names the secrets that hold its token, key or webhook address, never
//! their values. With `[alerts.smtp]` the e-mail channel `mail` exists
//! too, and routes name it like any other.

use super::grammar::Grammar;
use super::model::Alerts;
use super::reader::{Sink, Sp, Table};
use crate::diagnostic::{Diagnostic, Span, did_you_mean, name_list};

/// The name of the e-mail channel that `[alerts.smtp]` makes.
pub const MAIL: &str = "mail";

/// The ntfy server a channel publishes to unless it names another.
pub const NTFY_SERVER: &str = "https://ntfy.sh";

/// One place alerts are sent.
#[derive(Debug, Clone)]
pub struct Channel {
    /// The table key (`phone` in `[alerts.channels.phone]`), or `mail`.
    pub name: Sp<String>,
    pub kind: ChannelKind,
}

/// What a channel is, with the secrets it reads.
#[derive(Debug, Clone)]
pub enum ChannelKind {
    /// The e-mail channel of `[alerts.smtp]`, to `[alerts] email`.
    Mail,
    /// An ntfy topic. The topic name is the secret: on a public server
    /// whoever knows it can read the alerts.
    Ntfy {
        server: Sp<String>,
        topic_secret: Sp<String>,
        /// An access token, for a topic the server protects.
        token_secret: Option<Sp<String>>,
    },
    Pushover {
        user_key_secret: Sp<String>,
        /// The application's API token.
        token_secret: Sp<String>,
    },
    /// A Discord channel's webhook, whose address is the secret.
    Discord { webhook_secret: Sp<String> },
    Telegram {
        /// The bot token from @BotFather.
        token_secret: Sp<String>,
        /// The chat the bot writes to (negative for a group).
        chat_id: Sp<i64>,
    },
    /// Any HTTP endpoint that takes Alertmanager's webhook JSON.
    Webhook { url_secret: Sp<String> },
}

/// The routes of alerts: metric alerts by their `severity` label, and the
/// status page's failing checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Critical,
    Warning,
    Status,
}

impl Route {
    pub const ALL: [Route; 3] = [Route::Critical, Route::Warning, Route::Status];

    /// The key in `[alerts.routes]`, and the `severity` label it matches.
    pub fn key(self) -> &'static str {
        match self {
            Route::Critical => "critical",
            Route::Warning => "warning",
            Route::Status => "status",
        }
    }
}

/// `[alerts.routes]`: each key the channels of one route. A key left out
/// sends that severity nowhere, but `status` follows `critical`.
#[derive(Debug, Clone)]
pub struct Routes {
    pub span: Span,
    pub critical: Option<Vec<Sp<String>>>,
    pub warning: Option<Vec<Sp<String>>>,
    pub status: Option<Vec<Sp<String>>>,
}

impl Routes {
    /// The list the spec wrote for `route`, if it wrote one.
    pub fn given(&self, route: Route) -> Option<&Vec<Sp<String>>> {
        match route {
            Route::Critical => self.critical.as_ref(),
            Route::Warning => self.warning.as_ref(),
            Route::Status => self.status.as_ref(),
        }
    }

    /// The list that decides `route`: the one given, and for `status`
    /// without one, `critical`'s, which it follows.
    pub fn effective(&self, route: Route) -> Option<&Vec<Sp<String>>> {
        self.given(route).or(match route {
            Route::Status => self.critical.as_ref(),
            _ => None,
        })
    }
}

impl ChannelKind {
    /// The type as the spec writes it.
    pub fn type_name(&self) -> &'static str {
        match self {
            ChannelKind::Mail => "email",
            ChannelKind::Ntfy { .. } => "ntfy",
            ChannelKind::Pushover { .. } => "pushover",
            ChannelKind::Discord { .. } => "discord",
            ChannelKind::Telegram { .. } => "telegram",
            ChannelKind::Webhook { .. } => "webhook",
        }
    }

    /// Every secret the channel names, with the key that names it.
    pub fn secrets(&self) -> Vec<(&'static str, &Sp<String>)> {
        match self {
            ChannelKind::Mail => vec![],
            ChannelKind::Ntfy {
                topic_secret,
                token_secret,
                ..
            } => {
                let mut s = vec![("topic_secret", topic_secret)];
                s.extend(token_secret.iter().map(|t| ("token_secret", t)));
                s
            }
            ChannelKind::Pushover {
                user_key_secret,
                token_secret,
            } => vec![
                ("user_key_secret", user_key_secret),
                ("token_secret", token_secret),
            ],
            ChannelKind::Discord { webhook_secret } => vec![("webhook_secret", webhook_secret)],
            ChannelKind::Telegram { token_secret, .. } => vec![("token_secret", token_secret)],
            ChannelKind::Webhook { url_secret } => vec![("url_secret", url_secret)],
        }
    }
}

impl Alerts {
    /// The channel called `name`.
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name.value == name)
    }

    /// The channels `route` reaches, in the order the spec lists them.
    /// Without `[alerts.routes]` every channel takes every alert.
    pub fn routed(&self, route: Route) -> Vec<&Channel> {
        let Some(routes) = &self.routes else {
            return self.channels.iter().collect();
        };
        let list = routes.effective(route);
        let mut out: Vec<&Channel> = Vec::new();
        for name in list.into_iter().flatten() {
            if let Some(c) = self.channel(&name.value)
                && !out.iter().any(|o| o.name.value == c.name.value)
            {
                out.push(c);
            }
        }
        out
    }

    /// Whether `channel` takes metric alerts of some severity.
    pub fn takes_metric_alerts(&self, channel: &str) -> bool {
        [Route::Critical, Route::Warning]
            .into_iter()
            .any(|r| self.routed(r).iter().any(|c| c.name.value == channel))
    }

    /// Whether `channel` takes the status page's alerts.
    pub fn takes_status_alerts(&self, channel: &str) -> bool {
        self.routed(Route::Status)
            .iter()
            .any(|c| c.name.value == channel)
    }
}

/// The channel types the spec accepts.
const TYPES: [&str; 5] = ["ntfy", "pushover", "discord", "telegram", "webhook"];

/// `[alerts.channels.<name>]`, each checked on its own.
pub(super) fn channels(t: &mut Table, sink: &mut Sink) -> Vec<Channel> {
    let mut out = Vec::new();
    for (name, mut c) in t.named_tables(sink, "channels") {
        if let Some(ch) = channel(name, &mut c, sink) {
            out.push(ch);
        }
        c.finish(sink);
    }
    out
}

fn channel(name: Sp<String>, t: &mut Table, sink: &mut Sink) -> Option<Channel> {
    // Read on, so the table's keys are checked; it just does not count.
    let reserved = name.value == MAIL;
    if reserved {
        sink.push(
            Diagnostic::error(
                "invalid-name",
                "`mail` is the e-mail channel of `[alerts.smtp]`",
            )
            .at(name.span.clone(), "a name of its own is needed here")
            .help("call this channel after where it reaches, e.g. `[alerts.channels.phone]`"),
        );
    } else {
        super::parse::dns_label(sink, &name, "channel name");
    }
    if t.key_span("type").is_none() {
        sink.push(
            Diagnostic::error(
                "missing-key",
                format!("channel `{}` has no `type`", name.value),
            )
            .at(name.span.clone(), "what kind of channel is it?")
            .help(format!(
                "add `type = \"pushover\"`; the types are {}",
                name_list(&TYPES)
            )),
        );
        return None;
    }
    let kind = t.choice(sink, "type", &TYPES)?;
    let ch = name.value.as_str();
    let kind = match kind.value.as_str() {
        "ntfy" => ntfy(t, sink, ch, &name.span),
        "pushover" => pushover(t, sink, ch),
        "discord" => discord(t, sink, ch),
        "telegram" => telegram(t, sink, ch, &name.span),
        _ => webhook(t, sink, ch),
    }?;
    (!reserved).then_some(Channel { name, kind })
}

fn ntfy(t: &mut Table, sink: &mut Sink, ch: &str, at: &Span) -> Option<ChannelKind> {
    let r = Required::new(
        t,
        sink,
        ch,
        &[("topic", "topic_secret"), ("token", "token_secret")],
    );
    let server = t.str(sink, "server");
    if let Some(s) = &server {
        SERVER.check(sink, s);
    }
    let topic_secret = r.secret(t, sink, "topic_secret", "ntfy-topic", "the topic");
    Some(ChannelKind::Ntfy {
        server: server.unwrap_or_else(|| Sp::new(NTFY_SERVER.into(), at.clone())),
        topic_secret: topic_secret?,
        token_secret: optional_secret(t, sink, "token_secret"),
    })
}

fn pushover(t: &mut Table, sink: &mut Sink, ch: &str) -> Option<ChannelKind> {
    let r = Required::new(
        t,
        sink,
        ch,
        &[("user_key", "user_key_secret"), ("token", "token_secret")],
    );
    let user = r.secret(
        t,
        sink,
        "user_key_secret",
        "pushover-user-key",
        "your user key",
    );
    let token = r.secret(
        t,
        sink,
        "token_secret",
        "pushover-token",
        "the application's API token",
    );
    Some(ChannelKind::Pushover {
        user_key_secret: user?,
        token_secret: token?,
    })
}

fn discord(t: &mut Table, sink: &mut Sink, ch: &str) -> Option<ChannelKind> {
    let literal = [
        ("webhook_url", "webhook_secret"),
        ("webhook", "webhook_secret"),
        ("url", "webhook_secret"),
    ];
    let r = Required::new(t, sink, ch, &literal);
    let webhook = r.secret(
        t,
        sink,
        "webhook_secret",
        "discord-webhook",
        "the channel's webhook URL",
    );
    Some(ChannelKind::Discord {
        webhook_secret: webhook?,
    })
}

fn telegram(t: &mut Table, sink: &mut Sink, ch: &str, at: &Span) -> Option<ChannelKind> {
    let r = Required::new(
        t,
        sink,
        ch,
        &[("token", "token_secret"), ("bot_token", "token_secret")],
    );
    let token = r.secret(
        t,
        sink,
        "token_secret",
        "telegram-bot-token",
        "the bot token",
    );
    let chat_id = chat_id(t, sink, ch, at);
    Some(ChannelKind::Telegram {
        token_secret: token?,
        chat_id: chat_id?,
    })
}

fn webhook(t: &mut Table, sink: &mut Sink, ch: &str) -> Option<ChannelKind> {
    let r = Required::new(t, sink, ch, &[("url", "url_secret")]);
    let url = r.secret(
        t,
        sink,
        "url_secret",
        "alert-webhook-url",
        "the webhook's URL",
    );
    Some(ChannelKind::Webhook { url_secret: url? })
}

/// The channel being read, and the secret keys whose values were written
/// in their place (`literal`), which are then not also reported missing.
struct Required<'a> {
    channel: &'a str,
    literal: Vec<&'static str>,
}

impl<'a> Required<'a> {
    /// Reads a channel whose secrets' values may have been written in
    /// place of their names under the `literal` keys.
    fn new(
        t: &mut Table,
        sink: &mut Sink,
        channel: &'a str,
        literal: &[(&'static str, &'static str)],
    ) -> Self {
        Required {
            channel,
            literal: self::literal(t, sink, channel, literal),
        }
    }

    /// A key that names a secret, required.
    fn secret(
        &self,
        t: &mut Table,
        sink: &mut Sink,
        key: &'static str,
        example: &str,
        what: &str,
    ) -> Option<Sp<String>> {
        if t.key_span(key).is_none() {
            if !self.literal.contains(&key) {
                sink.push(
                    Diagnostic::error(
                        "missing-key",
                        format!("channel `{}` has no `{key}`", self.channel),
                    )
                    .at(
                        t.span.clone(),
                        format!("`{key}` (the secret holding {what}) is required here"),
                    )
                    .help(format!(
                        "add `{key} = \"{example}\"` and store the value with `homelab secrets set {example}`"
                    )),
                );
            }
            return None;
        }
        optional_secret(t, sink, key)
    }
}

fn optional_secret(t: &mut Table, sink: &mut Sink, key: &'static str) -> Option<Sp<String>> {
    let s = t.str(sink, key)?;
    super::parse::secret_name(sink, &s);
    Some(s)
}

/// Keys that would put a token, key or address into the spec itself;
/// returns the keys of the secrets they stand for, which are then not
/// also reported missing.
fn literal(
    t: &mut Table,
    sink: &mut Sink,
    channel: &str,
    keys: &[(&'static str, &'static str)],
) -> Vec<&'static str> {
    let mut found = Vec::new();
    for (key, instead) in keys {
        let Some(span) = t.key_span(key) else {
            continue;
        };
        found.push(*instead);
        sink.push(
            Diagnostic::error(
                "literal-secret",
                format!("channel `{channel}` has its `{key}` in plain text"),
            )
            .at(span, "it would be in the Nix store and in every copy of the spec")
            .help(format!(
                "write `{instead} = \"{name}\"` instead, and store the value with `homelab secrets set {name}`",
                name = format!("{channel}-{}", key.replace('_', "-"))
            )),
        );
    }
    found
}

/// A Telegram chat: a user's id, or a group's (negative).
fn chat_id(t: &mut Table, sink: &mut Sink, channel: &str, at: &Span) -> Option<Sp<i64>> {
    const LIMIT: i64 = 10_i64.pow(15);
    if t.key_span("chat_id").is_none() {
        sink.push(
            Diagnostic::error("missing-key", format!("channel `{channel}` has no `chat_id`"))
                .at(at.clone(), "`chat_id` (the chat the bot writes to) is required here")
                .help("add `chat_id = 123456789`: the id @userinfobot tells you, or the group's (negative) id"),
        );
        return None;
    }
    let id = t.int(sink, "chat_id", -LIMIT, LIMIT)?;
    if id.value == 0 {
        sink.push(
            Diagnostic::error("invalid-value", "`chat_id` cannot be 0")
                .at(id.span.clone(), "no chat has this id")
                .help("write the chat's id, e.g. `chat_id = 123456789`"),
        );
        return None;
    }
    Some(id)
}

/// `[alerts.routes]`: lists of channel names; the names are checked once
/// every channel is known ([`unknown_channels`]).
pub(super) fn routes(t: &mut Table, sink: &mut Sink) -> Routes {
    Routes {
        span: t.span.clone(),
        critical: t.str_list(sink, "critical"),
        warning: t.str_list(sink, "warning"),
        status: t.str_list(sink, "status"),
    }
}

/// Every name a route lists must be a channel.
pub(super) fn unknown_channels(alerts: &Alerts, sink: &mut Sink) {
    let Some(routes) = &alerts.routes else { return };
    let known: Vec<&str> = alerts
        .channels
        .iter()
        .map(|c| c.name.value.as_str())
        .collect();
    for route in Route::ALL {
        for name in routes.given(route).into_iter().flatten() {
            if known.contains(&name.value.as_str()) {
                continue;
            }
            let mut d = Diagnostic::error(
                "unknown-channel",
                format!("`{}` names no channel `{}`", route.key(), name.value),
            )
            .at(name.span.clone(), "not a channel of `[alerts]`");
            d = if name.value == MAIL {
                d.help("`mail` is the e-mail channel: add `[alerts.smtp]` with the relay that carries it")
            } else if let Some(m) = did_you_mean(&name.value, known.iter().copied()) {
                d.help(format!("did you mean `{m}`?"))
            } else if known.is_empty() {
                d.help(format!(
                    "declare it: `[alerts.channels.{}]` with its `type`",
                    name.value
                ))
            } else {
                d.help(format!(
                    "the channels are {}; declare others as `[alerts.channels.<name>]`",
                    name_list(&known)
                ))
            };
            sink.push(d);
        }
    }
}

/// An ntfy server: an `http(s)://` address without query, fragment, login
/// or anything `envsubst` or YAML would read.
const SERVER: Grammar = Grammar {
    what: "ntfy server",
    accepts: is_server,
    expected: "`https://` and a host name, with a port or path if the server needs them",
    help: "write the server's address as the ntfy app shows it, e.g. `https://ntfy.example.org`",
};

fn is_server(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', ':']).next().unwrap_or("");
    s.len() <= 200
        && super::grammar::is_address(host)
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~/:".contains(c))
}

#[cfg(test)]
mod tests {
    use super::{Route, is_server};
    use crate::spec::Alerts;

    const CHANNELS: &str = r#"
[alerts.smtp]
host = "smtp.example.org"
from = "homelab@example.org"

[alerts.channels.phone]
type = "pushover"
user_key_secret = "pushover-user-key"
token_secret = "pushover-token"

[alerts.channels.chat]
type = "discord"
webhook_secret = "discord-webhook"
"#;

    fn alerts(more: &str) -> Alerts {
        let (_, spec) = crate::fleet::testing::spec(&format!("{CHANNELS}{more}"));
        spec.alerts.unwrap()
    }

    fn names(a: &Alerts, route: Route) -> Vec<&str> {
        a.routed(route)
            .iter()
            .map(|c| c.name.value.as_str())
            .collect()
    }

    #[test]
    fn without_routes_every_channel_takes_every_alert() {
        let a = alerts("");
        for route in Route::ALL {
            assert_eq!(names(&a, route), ["mail", "phone", "chat"]);
        }
    }

    #[test]
    fn status_follows_critical_and_a_left_out_severity_reaches_nobody() {
        let a = alerts("[alerts.routes]\ncritical = [\"phone\", \"mail\", \"phone\"]\n");
        assert_eq!(names(&a, Route::Critical), ["phone", "mail"]);
        assert_eq!(names(&a, Route::Status), ["phone", "mail"]);
        assert!(names(&a, Route::Warning).is_empty());
        assert!(a.takes_metric_alerts("phone") && !a.takes_metric_alerts("chat"));
        let a = alerts("[alerts.routes]\ncritical = [\"phone\"]\nstatus = [\"chat\"]\n");
        assert_eq!(names(&a, Route::Status), ["chat"]);
        assert!(a.takes_status_alerts("chat") && !a.takes_status_alerts("phone"));
    }

    #[test]
    fn servers_are_plain_web_addresses() {
        assert!(is_server("https://ntfy.sh"));
        assert!(is_server("https://ntfy.example.org:8443/base"));
        assert!(is_server("http://192.168.1.10"));
        assert!(!is_server("ntfy.sh"));
        assert!(!is_server("https://ntfy.sh/${TOPIC}"));
        assert!(!is_server("https://user:pw@ntfy.sh"));
        assert!(!is_server("https://ntfy.sh/?x=1"));
        assert!(!is_server("https://"));
    }
}
