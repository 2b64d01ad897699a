//! Alert channels beyond mail, with the real programs: family's spec with
//! one channel of every type (Pushover, Discord, Telegram, ntfy, a
//! webhook, and mail) is rendered, its Alertmanager module evaluated by
//! the real `nix-instantiate`, its secrets wired as systemd wires them
//! (`LoadCredential`, `EnvironmentFile`, the module's `envsubst`), and
//! the real Alertmanager sends a critical and a warning alert to stand-ins
//! on loopback for each channel's API (the internet is not reachable from
//! the tests), which check what each API documents it takes.
//!
//! Gatus is not packaged in Debian, so it cannot run here: its rendered
//! settings are checked against the keys its README documents for each
//! provider (Gatus v5.36.0, the version the pinned nixpkgs builds), and
//! every `${VAR}` in them against the environment files Gatus loads.
//!
//! Tools: Debian's `prometheus-alertmanager` (0.25, older than the pinned
//! 0.33: `alertmanager::for_debian` says what that changes), `amtool`,
//! `nix-bin`, `envsubst` (gettext-base) and `openssl`.

#[path = "support/alertmanager.rs"]
mod alertmanager;
#[path = "support/channel_apis.rs"]
mod channel_apis;
#[path = "support/http.rs"]
mod http;

use alertmanager::{eval, for_debian, run, smtp_sink, write};
use compile::catalog::Generator;
use compile::fleet::Fleet;
use compile::render::{File, render};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every channel type, and routes that send each severity somewhere
/// different; the status page alerts through all of them.
const CHANNELS: &str = r#"
[alerts.channels.phone]
type = "pushover"
user_key_secret = "pushover-user-key"
token_secret = "pushover-token"

[alerts.channels.chat]
type = "discord"
webhook_secret = "discord-webhook"

[alerts.channels.family]
type = "telegram"
token_secret = "telegram-bot-token"
chat_id = -1001234567890

[alerts.channels.topic]
type = "ntfy"
server = "https://ntfy.example.org"
topic_secret = "ntfy-topic"
token_secret = "ntfy-token"

[alerts.channels.hook]
type = "webhook"
url_secret = "alert-webhook-url"

[alerts.routes]
critical = ["phone", "topic", "hook", "mail"]
warning = ["chat", "family", "mail"]
status = ["phone", "chat", "family", "topic", "hook", "mail"]
"#;

/// Family's spec (mail through its relay) with the channels above.
fn rendered() -> (Fleet, Vec<File>) {
    let text = format!("{}{CHANNELS}", compile::examples::get("family").unwrap());
    let (fleet, _) = compile::compile(&text).unwrap_or_else(|d| panic!("{d:?}"));
    let files = render(&fleet);
    (fleet, files)
}

/// The values a user would store with `homelab secrets set`; the Discord
/// and webhook addresses point at the stand-ins on `port`.
fn values(port: u16) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("pushover-user-key", "uQiRzpo4DXghDmr9QzzfQu27cmVRsG".into()),
        ("pushover-token", "azGDORePK8gMaC0QOYAMyEEuzJnyUi".into()),
        (
            "discord-webhook",
            format!("http://127.0.0.1:{port}/api/webhooks/1234567890/discord-webhook-token"),
        ),
        (
            "telegram-bot-token",
            "123456:telegram-bot-token-for-the-test".into(),
        ),
        ("ntfy-topic", "family-alerts-7f3k9q".into()),
        ("ntfy-token", "tk_alertmanager0test0token00001".into()),
        ("alert-webhook-url", format!("http://127.0.0.1:{port}/hook")),
        ("smtp-password", "relay-password-for-the-test".into()),
    ])
}

/// The decrypted secrets, as agenix leaves them: the stored values, and
/// the machine-made copies filled in as `homelab secrets generate` fills
/// them. Returns the folder.
fn decrypted(fleet: &Fleet, dir: &Path, values: &BTreeMap<&str, String>) -> std::path::PathBuf {
    let secrets = dir.join("run-agenix");
    std::fs::create_dir_all(&secrets).unwrap();
    for s in fleet.secrets.values() {
        let value = match &s.generator {
            Some(Generator::Copy { from, template }) => values
                .get(from.as_str())
                .map(|v| template.replace("@value@", v)),
            _ => values.get(s.name.as_str()).cloned(),
        };
        if let Some(v) = value {
            std::fs::write(secrets.join(&s.name), v).unwrap();
        }
    }
    secrets
}

/// Evaluates `attr` of a generated module with each agenix secret's
/// `path` in `secrets` (the rest of `config` empty).
fn eval_with_secrets(fleet: &Fleet, file: &Path, attr: &str, secrets: &Path) -> Value {
    let names = serde_json::to_string(&fleet.secrets.keys().collect::<Vec<_>>()).unwrap();
    let expr = format!(
        "let secrets = builtins.listToAttrs (map (n: {{ name = n; value.path = \"{}/\" + n; }}) (builtins.fromJSON ''{names}'')); in (import {} {{ config.age.secrets = secrets; lib = {{ }}; pkgs = {{ }}; inputs = {{ }}; }}).{attr}",
        secrets.display(),
        file.display()
    );
    let out =
        run(Command::new("nix-instantiate").args(["--eval", "--strict", "--json", "-E", &expr]));
    serde_json::from_str(&out).unwrap()
}

/// Alertmanager's unit as systemd runs it: each `LoadCredential` copied
/// into a credentials folder (returned), the variables of every
/// `EnvironmentFile` (returned), and the configuration through
/// `envsubst` with them, as the module's `preStart` does.
fn as_systemd_runs_it(
    fleet: &Fleet,
    module: &Path,
    secrets: &Path,
    dir: &Path,
) -> (Value, std::path::PathBuf, Vec<(String, String)>) {
    let unit = eval_with_secrets(
        fleet,
        module,
        "systemd.services.alertmanager.serviceConfig",
        secrets,
    );
    let credentials = dir.join("credentials");
    std::fs::create_dir_all(&credentials).unwrap();
    for c in unit["LoadCredential"].as_array().unwrap() {
        let (id, path) = c.as_str().unwrap().split_once(':').unwrap();
        std::fs::copy(path, credentials.join(id)).unwrap();
    }
    let mut env = Vec::new();
    for f in unit["EnvironmentFile"].as_array().into_iter().flatten() {
        let text = std::fs::read_to_string(f.as_str().unwrap()).unwrap();
        for line in text.lines() {
            let (k, v) = line.split_once('=').unwrap();
            env.push((k.to_string(), v.to_string()));
        }
    }
    let config = eval(module, "services.prometheus.alertmanager.configuration");
    let mut envsubst = Command::new("envsubst")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("envsubst runs (gettext-base)");
    use std::io::Write;
    envsubst
        .stdin
        .take()
        .unwrap()
        .write_all(config.to_string().as_bytes())
        .unwrap();
    let out = envsubst.wait_with_output().unwrap();
    assert!(out.status.success());
    let config = serde_json::from_slice(&out.stdout).unwrap();
    (config, credentials, env)
}

/// Replaces `from` by `to` at the start of every string in `v`.
fn repoint(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s.starts_with(from) => *s = s.replacen(from, to, 1),
        Value::Array(a) => a.iter_mut().for_each(|x| repoint(x, from, to)),
        Value::Object(o) => o.values_mut().for_each(|x| repoint(x, from, to)),
        _ => {}
    }
}

/// The integrations of one kind in the receiver `name`.
fn integrations<'a>(config: &'a mut Value, receiver: &str, key: &str) -> Vec<&'a mut Value> {
    config["receivers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter(|r| r["name"] == receiver)
        .flat_map(|r| r[key].as_array_mut().into_iter().flatten())
        .collect()
}

/// Form fields of a query string (`+` and `%XX` decoded).
fn form(query: &str) -> BTreeMap<String, String> {
    http::form(query).into_iter().collect()
}

fn json_body(r: &http::Request) -> Value {
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&r.body)))
}

/// The rendered configuration, run by the real Alertmanager: a critical
/// alert reaches Pushover, ntfy, the webhook and the mailbox, a warning
/// Discord, Telegram and the mailbox, each as its API documents; no
/// channel gets the other severity's alert.
#[test]
fn each_channel_gets_the_alerts_of_its_routes_as_its_api_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, files) = rendered();
    write(&files, dir.path());
    let apis = channel_apis::start(dir.path());
    let values = values(apis.port);
    let secrets = decrypted(&fleet, dir.path(), &values);
    let am = fleet.instance_of("alertmanager").unwrap();
    let module = dir
        .path()
        .join(format!("hosts/{}/services/alertmanager.nix", am.host));
    let (mut config, credentials, env) = as_systemd_runs_it(&fleet, &module, &secrets, dir.path());
    // The topic came from its environment file, never from the store.
    assert_eq!(
        env,
        [("ALERT_NTFY_TOPIC".to_string(), values["ntfy-topic"].clone())]
    );
    repoint(
        &mut config,
        "/run/credentials/alertmanager.service",
        credentials.to_str().unwrap(),
    );
    // What cannot be the same here, the test's overrides: the relay on
    // loopback (no TLS), every API's address at the stand-ins (Telegram's
    // `api_url`, the ntfy server's), Pushover through the stand-ins as
    // its proxy, trusting their authority; a 1 s group wait.
    let (smtp_port, mails) = smtp_sink();
    config["global"]["smtp_smarthost"] = format!("127.0.0.1:{smtp_port}").into();
    config["global"]["smtp_require_tls"] = false.into();
    let stand_ins = format!("http://127.0.0.1:{}", apis.port);
    for t in integrations(&mut config, "warning", "telegram_configs") {
        t["api_url"] = stand_ins.clone().into();
    }
    repoint(
        &mut config,
        "https://ntfy.example.org/",
        &format!("{stand_ins}/"),
    );
    for p in integrations(&mut config, "critical", "pushover_configs") {
        p["http_config"] = json!({
            "proxy_url": stand_ins,
            "tls_config": { "ca_file": apis.ca },
        });
    }
    config["route"]["group_wait"] = "1s".into();
    for_debian(&mut config, |_, path| {
        std::fs::read_to_string(path).unwrap()
    });
    let (_server, port) = alertmanager::start(dir.path(), &config);
    assert!(alertmanager::add_alert(
        port,
        &[
            "DrillFailed",
            "severity=critical",
            "host=server",
            "service=immich",
            "--annotation=summary=The restore drill of immich failed",
        ],
    ));
    assert!(alertmanager::add_alert(
        port,
        &[
            "DiskAlmostFull",
            "severity=warning",
            "host=server",
            "mountpoint=/srv",
            "--annotation=summary=/srv on server is 91 % full",
        ],
    ));

    // Every API's request, by who it was for.
    let mut got: BTreeMap<&str, Vec<http::Request>> = BTreeMap::new();
    let who = |r: &channel_apis::Recorded| -> &'static str {
        match r.request.path.as_str() {
            _ if r.host == channel_apis::PUSHOVER_HOST => "pushover",
            p if p.starts_with("/api/webhooks/") => "discord",
            p if p.starts_with("/bot") => "telegram",
            "/hook" => "webhook",
            _ => "ntfy",
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < 5 || got.values().any(Vec::is_empty) {
        let left = deadline.saturating_duration_since(Instant::now());
        let r = apis
            .requests
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("only {:?} were reached", got.keys()));
        got.entry(who(&r)).or_default().push(r.request);
    }
    // Anything late, to catch an alert sent where it does not belong.
    while let Ok(r) = apis.requests.recv_timeout(Duration::from_secs(3)) {
        got.entry(who(&r)).or_default().push(r.request);
    }
    for (channel, requests) in &got {
        assert_eq!(requests.len(), 1, "{channel}: {requests:#?}");
    }

    // Pushover: a POST to /1/messages.json with the token, the user key,
    // the title, the message and the priority (high, for critical).
    let p = &got["pushover"][0];
    assert_eq!(
        (p.method.as_str(), p.path.as_str()),
        ("POST", "/1/messages.json")
    );
    let fields = form(&p.query);
    assert_eq!(fields["token"], values["pushover-token"]);
    assert_eq!(fields["user"], values["pushover-user-key"]);
    assert_eq!(fields["priority"], "1", "{fields:?}");
    assert!(fields["title"].contains("DrillFailed"), "{fields:?}");
    assert!(
        fields["message"].contains("The restore drill of immich failed"),
        "{fields:?}"
    );

    // ntfy: Alertmanager's webhook JSON posted to the topic, with ntfy's
    // `alertmanager` template and a high priority asked for in the query,
    // and the access token as a bearer token.
    let n = &got["ntfy"][0];
    assert_eq!(n.method, "POST");
    assert_eq!(n.path, format!("/{}", values["ntfy-topic"]));
    let query = form(&n.query);
    assert_eq!(query["template"], "alertmanager");
    assert_eq!(query["priority"], "high");
    assert_eq!(
        n.header("authorization"),
        Some(format!("Bearer {}", values["ntfy-token"]).as_str())
    );
    // The fields ntfy's template reads.
    let body = json_body(n);
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "critical");
    assert_eq!(body["alerts"][0]["labels"]["alertname"], "DrillFailed");
    assert_eq!(body["alerts"][0]["labels"]["severity"], "critical");
    assert_eq!(
        body["alerts"][0]["annotations"]["summary"],
        "The restore drill of immich failed"
    );
    assert!(body["alerts"][0]["startsAt"].is_string(), "{body}");

    // The webhook: Alertmanager's webhook JSON (version 4).
    let w = &got["webhook"][0];
    assert_eq!((w.method.as_str(), w.path.as_str()), ("POST", "/hook"));
    let body = json_body(w);
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["alerts"][0]["labels"]["alertname"], "DrillFailed");

    // Discord: JSON with an embed, posted to the webhook's address.
    let d = &got["discord"][0];
    assert_eq!(d.method, "POST");
    assert_eq!(d.path, "/api/webhooks/1234567890/discord-webhook-token");
    let body = json_body(d);
    let title = body["embeds"][0]["title"].as_str().unwrap();
    assert!(title.contains("[FIRING:1] DiskAlmostFull"), "{body}");

    // Telegram: sendMessage of the bot, to the chat, with the text.
    let t = &got["telegram"][0];
    assert_eq!(t.method, "POST");
    assert_eq!(
        t.path,
        format!("/bot{}/sendMessage", values["telegram-bot-token"])
    );
    let body = json_body(t);
    let chat = match &body["chat_id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    assert_eq!(chat, "-1001234567890", "{body}");
    assert!(
        body["text"].as_str().unwrap().contains("DiskAlmostFull"),
        "{body}"
    );

    // Mail takes both severities.
    let mut subjects: Vec<String> = (0..2)
        .map(|_| {
            let mail = mails
                .recv_timeout(Duration::from_secs(30))
                .expect("two mails");
            assert!(mail.contains("RCPT TO:<admin@example.org>"), "{mail}");
            mail.lines()
                .find(|l| l.starts_with("Subject:"))
                .unwrap()
                .to_string()
        })
        .collect();
    subjects.sort();
    assert!(subjects[0].contains("DiskAlmostFull"), "{subjects:?}");
    assert!(subjects[1].contains("DrillFailed"), "{subjects:?}");
}

/// The keys the Gatus README (v5.36.0) documents for each provider this
/// renders, and those it requires; `default-alert` is every provider's.
const GATUS_PROVIDERS: [(&str, &[&str], &[&str]); 6] = [
    (
        "ntfy",
        &[
            "topic",
            "url",
            "token",
            "email",
            "click",
            "priority",
            "disable-firebase",
            "disable-cache",
            "default-alert",
            "overrides",
        ],
        &["topic"],
    ),
    (
        "pushover",
        &[
            "application-token",
            "user-key",
            "title",
            "priority",
            "resolved-priority",
            "sound",
            "ttl",
            "device",
            "default-alert",
        ],
        &["application-token", "user-key"],
    ),
    (
        "discord",
        &[
            "webhook-url",
            "title",
            "message-content",
            "default-alert",
            "overrides",
        ],
        &["webhook-url"],
    ),
    (
        "telegram",
        &[
            "token",
            "id",
            "topic-id",
            "api-url",
            "client",
            "default-alert",
            "overrides",
        ],
        &["token", "id"],
    ),
    (
        "custom",
        &[
            "url",
            "method",
            "body",
            "headers",
            "placeholders",
            "client",
            "default-alert",
            "overrides",
        ],
        &["url"],
    ),
    (
        "email",
        &[
            "from",
            "username",
            "password",
            "host",
            "port",
            "to",
            "client",
            "default-alert",
            "overrides",
        ],
        &["from", "host", "port", "to"],
    ),
];

/// Gatus' settings: a provider for each channel of the status route,
/// with only the keys its README documents and the ones it requires;
/// every `${VAR}` defined by an environment file Gatus loads; the
/// webhook's body Alertmanager's webhook JSON once Gatus fills it in;
/// and every check alerting through each provider.
#[test]
fn gatus_alerts_every_status_channel_with_the_keys_it_documents() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, files) = rendered();
    write(&files, dir.path());
    let status = fleet.host_of("gatus").unwrap();
    let module = dir
        .path()
        .join(format!("hosts/{status}/services/gatus.nix"));
    let secrets = dir.path().join("run-agenix");
    let settings = eval_with_secrets(&fleet, &module, "services.gatus.settings", &secrets);
    let alerting = settings["alerting"].as_object().unwrap();
    let mut providers: Vec<&str> = alerting.keys().map(String::as_str).collect();
    providers.sort();
    assert_eq!(
        providers,
        ["custom", "discord", "email", "ntfy", "pushover", "telegram"]
    );
    for (name, documented, required) in GATUS_PROVIDERS {
        let p = alerting[name].as_object().unwrap();
        for key in p.keys() {
            assert!(documented.contains(&key.as_str()), "{name}.{key}");
        }
        for key in required {
            assert!(p.contains_key(*key), "{name} has no {key}");
        }
        assert_eq!(p["default-alert"]["send-on-resolved"], true, "{name}");
        assert_eq!(p["default-alert"]["failure-threshold"], 3, "{name}");
    }
    assert_eq!(alerting["telegram"]["id"], "-1001234567890");
    assert_eq!(alerting["ntfy"]["url"], "https://ntfy.example.org");
    assert_eq!(alerting["pushover"]["priority"], 1);

    // Every variable comes from an environment file Gatus loads, made
    // from the secret the channel names.
    let unit = eval_with_secrets(
        &fleet,
        &module,
        "systemd.services.gatus.serviceConfig",
        &secrets,
    );
    let mut defined = Vec::new();
    for f in unit["EnvironmentFile"].as_array().unwrap() {
        let name = f.as_str().unwrap().rsplit('/').next().unwrap();
        let Some(Generator::Copy { template, .. }) = &fleet.secrets[name].generator else {
            panic!("{name} is not a machine-made copy");
        };
        defined.push(template.split('=').next().unwrap().to_string());
    }
    let text = serde_json::to_string(&settings["alerting"]).unwrap();
    let used: Vec<&str> = text
        .split("${")
        .skip(1)
        .map(|rest| &rest[..rest.find('}').unwrap()])
        .collect();
    assert_eq!(used.len(), 8, "{used:?}");
    for var in used {
        assert!(defined.iter().any(|d| d == var), "{var} of {defined:?}");
    }
    assert!(!text.contains("$$"), "{text}");

    // What Gatus posts to the webhook, its placeholders filled in.
    let custom = &alerting["custom"];
    assert_eq!(custom["method"], "POST");
    let states = &custom["placeholders"]["ALERT_TRIGGERED_OR_RESOLVED"];
    let body = custom["body"]
        .as_str()
        .unwrap()
        .replace(
            "[ALERT_TRIGGERED_OR_RESOLVED]",
            states["TRIGGERED"].as_str().unwrap(),
        )
        .replace("[ENDPOINT_NAME]", "immich")
        .replace("[ENDPOINT_GROUP]", "Photos")
        .replace("[RESULT_ERRORS]", "connection refused");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "firing");
    assert_eq!(
        body["alerts"][0]["labels"]["alertname"],
        "StatusCheckFailing"
    );
    assert_eq!(body["alerts"][0]["labels"]["service"], "immich");

    // Each check alerts through every provider, once.
    for e in settings["endpoints"].as_array().unwrap() {
        let types: Vec<&str> = e["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            ["pushover", "discord", "telegram", "ntfy", "custom", "email"],
            "{e}"
        );
    }
}

/// Alertmanager's configuration names files and variables only: no value
/// of a channel secret, and no inline field of one, is in any generated
/// file; `amtool` accepts it (fitted to Debian's 0.25).
#[test]
fn no_generated_file_holds_a_channel_secret_and_amtool_accepts_the_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, files) = rendered();
    for f in &files {
        let t = f.text();
        for inline in ["user_key", "bot_token", "webhook_url"] {
            assert!(!t.contains(&format!("{inline} =")), "{}: {inline}", f.path);
        }
        // Gatus' settings take each secret as a variable (its own, or
        // the heartbeat's).
        for line in t.lines().map(str::trim) {
            let key = line.split(" = ").next().unwrap();
            if [
                "token",
                "user-key",
                "application-token",
                "webhook-url",
                "topic",
            ]
            .contains(&key)
            {
                assert!(line.contains(" = \"\\${"), "{}: {line}", f.path);
            }
        }
    }
    write(&files, dir.path());
    let am = fleet.instance_of("alertmanager").unwrap();
    let module = dir
        .path()
        .join(format!("hosts/{}/services/alertmanager.nix", am.host));
    let mut config = eval(&module, "services.prometheus.alertmanager.configuration");
    let text = config.to_string();
    for file in [
        "user_key_file",
        "token_file",
        "bot_token_file",
        "webhook_url_file",
        "url_file",
    ] {
        assert!(
            text.contains(&format!(
                "\"{file}\":\"/run/credentials/alertmanager.service/"
            )),
            "{file}: {text}"
        );
    }
    for_debian(&mut config, |field, _| match field {
        "webhook_url" | "url" => "https://hooks.example.org/stand-in".into(),
        _ => "stand-in-secret".into(),
    });
    let yml = dir.path().join("alertmanager.yml");
    std::fs::write(&yml, config.to_string()).unwrap();
    run(Command::new("amtool").arg("check-config").arg(&yml));
    // amtool's own routing: each severity to its receiver, an unknown
    // one where critical alerts go.
    for (labels, receiver) in [
        ("severity=critical", "critical"),
        ("severity=warning", "warning"),
        ("severity=info", "critical"),
    ] {
        let out = run(Command::new("amtool")
            .args(["config", "routes", "test"])
            .arg(format!("--config.file={}", yml.display()))
            .args(["alertname=Test", labels]));
        // Its answer, then a note on stderr about the flags.
        assert_eq!(out.lines().next(), Some(receiver), "{labels}: {out}");
    }
}
