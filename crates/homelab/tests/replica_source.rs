//! What a source host grants the replica host that pulls its critical
//! datasets: the `syncoid` login holds `send` and `hold` on exactly the
//! replicated datasets (what `zfs send -I` needs; no `destroy`, no
//! `snapshot`, since the replica pulls existing snapshots with
//! `--no-sync-snap`), and the replica's key opens only a forced command,
//! from the replica's address, without a terminal or forwarding.
//!
//! The forced command is run here as the source's sshd would run it: its
//! Nix text is evaluated by the real `nix-instantiate` (with nixpkgs'
//! `lib.escapeShellArg`, lib/strings.nix), the script is run by `sh`
//! (dash) and by `bash` with `SSH_ORIGINAL_COMMAND` set, and stubs of
//! `zfs` and `zpool` record what reaches them. The admitted commands are
//! the ones syncoid 2.3.0 (the sanoid of the pinned nixpkgs) sends to the
//! source of a pull, quoted as it quotes them (`escapeshellparam`, a second
//! time for remote hosts). Needs `nix-instantiate`, `sh` and `bash`.

#[path = "support/argv_stub.rs"]
mod argv_stub;
#[path = "support/examples.rs"]
mod examples;
#[path = "support/modules.rs"]
mod modules;

use compile::nix::{Nix, print};
use examples::{example, text};
use modules::{at, module};
use std::path::Path;
use std::process::Command;

use argv_stub::{ESCAPE_SHELL_ARG, eval_string};

/// The datasets the family example's NAS pulls from `server`.
const SERVER_DATASETS: [&str; 2] = ["tank/vaultwarden/data", "tank/immich/library"];

/// The one authorized key of the `syncoid` login on `host`.
fn replica_key(files: &[compile::render::File], host: &str) -> Vec<Nix> {
    let body = module(files, &format!("hosts/{host}/infrastructure.nix"));
    match at(
        &body,
        &[
            "users",
            "users",
            "syncoid",
            "openssh",
            "authorizedKeys",
            "keys",
        ],
    ) {
        Nix::List(keys) => {
            assert_eq!(keys.len(), 1, "{keys:?}");
            match &keys[0] {
                Nix::Interp(parts) => parts.clone(),
                other => panic!("the key is not a string with its command: {other:?}"),
            }
        }
        other => panic!("not a list of keys: {other:?}"),
    }
}

#[test]
fn a_source_grants_the_replica_only_what_a_pull_needs() {
    let (fleet, files) = example("family");
    let server = text(&files, "hosts/server/infrastructure.nix");
    let pulled: Vec<String> = fleet
        .pulled()
        .iter()
        .filter(|p| p.target.contains("/server/"))
        .map(|p| p.source.clone())
        .collect();
    assert!(!pulled.is_empty());
    let lines: Vec<&str> = server.lines().map(str::trim).collect();
    for dataset in &pulled {
        // Whatever an earlier generation granted goes first.
        let name = format!("${{lib.escapeShellArg \"{dataset}\"}}");
        let unallow = format!("zfs unallow -u syncoid {name}");
        let n = lines
            .iter()
            .position(|l| *l == unallow)
            .unwrap_or_else(|| panic!("{unallow} in\n{server}"));
        assert_eq!(
            lines[n + 1],
            format!("zfs allow -u syncoid hold,send {name}")
        );
    }
    for right in ["destroy", "snapshot", "bookmark", "mount", "rollback"] {
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("zfs allow") && l.contains(right)),
            "{right} is granted on server"
        );
    }
    // The replica pulls existing snapshots and pipes nothing after the
    // stream on the source.
    let nas = text(&files, "hosts/nas/infrastructure.nix");
    assert!(
        nas.contains("commonArgs = [ \"--no-sync-snap\" \"--compress=none\" ];"),
        "{nas}"
    );
}

#[test]
fn the_replica_key_runs_only_its_command_and_only_from_the_replica() {
    let (_, files) = example("family");
    let parts = replica_key(&files, "server");
    let [Nix::Str(before), Nix::Call { func, args }, Nix::Str(after)] = parts.as_slice() else {
        panic!("options, the command, the key: {parts:?}");
    };
    // The NAS's address from the spec; `restrict` takes the terminal and
    // every forwarding away.
    assert_eq!(before, "restrict,from=\"192.168.1.20\",command=\"");
    assert_eq!(func, "pkgs.writeShellScript");
    assert_eq!(args[0], Nix::str("homelab-replica-command"));
    assert_eq!(
        after,
        "\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII65ANq94G89AIZbW5FfU6va1Rc8N90YjcxZQAuKG2TX syncoid@nas"
    );
    // Every host the NAS pulls from has the same restriction.
    for host in ["server", "hub"] {
        let body = module(&files, &format!("hosts/{host}/infrastructure.nix"));
        if let Nix::Attrs(users) = at(&body, &["users", "users"])
            && users.contains_key("syncoid")
        {
            let parts = replica_key(&files, host);
            assert!(matches!(&parts[0], Nix::Str(s) if s.starts_with("restrict,from=")));
        }
    }
}

/// The forced command's text, as NixOS writes it, with `zfs` and `zpool`
/// taken from `<package>/bin`.
fn command_script(files: &[compile::render::File], host: &str, package: &Path) -> String {
    let parts = replica_key(files, host);
    let Some(Nix::Call { args, .. }) = parts.iter().find(|p| matches!(p, Nix::Call { .. })) else {
        panic!("no command in {parts:?}");
    };
    let expr = format!(
        "let lib = {{ escapeShellArg = {ESCAPE_SHELL_ARG}; }}; config = {{ boot.zfs.package = {}; }}; in {}",
        serde_json::to_string(&package.to_string_lossy()).unwrap(),
        print(&args[1])
    );
    eval_string(&expr)
}

/// Runs the forced command for `asked` under `shell`: its exit status, and
/// the argv of every `zfs`/`zpool` it ran.
fn run(shell: &str, script: &Path, package: &Path, asked: &str) -> (i32, Vec<Vec<String>>) {
    let log = package.join("argv.log");
    let _ = std::fs::remove_file(&log);
    let out = Command::new(shell)
        .arg(script)
        .env_clear()
        .env("SSH_ORIGINAL_COMMAND", asked)
        .env("ARGV_LOG", &log)
        .output()
        .expect("the shell runs");
    (out.status.code().unwrap_or(-1), argv_stub::calls(&log))
}

/// `escapeshellparam` of syncoid: the whole word in single quotes.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

#[test]
fn the_forced_command_admits_a_pull_and_refuses_everything_else() {
    let (_, files) = example("family");
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("zfs");
    let bin = package.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in ["zfs", "zpool"] {
        argv_stub::argv_stub(&bin, name, 0);
    }
    let script = dir.path().join("homelab-replica-command");
    std::fs::write(&script, command_script(&files, "server", &package)).unwrap();

    let ds = SERVER_DATASETS[0];
    let (snap_a, snap_b) = (
        "autosnap_2026-01-01_00:00:00_hourly",
        "autosnap_2026-01-01_00:15:00_frequently",
    );
    // Remote words are quoted twice (the second time for the ssh command
    // line), so the source sees each name in single quotes; the stream
    // command is quoted as one word and arrives with its own spacing.
    let q = quoted(ds);
    let (at_a, at_b, mark_a) = (
        format!("{ds}@{snap_a}"),
        format!("{ds}@{snap_b}"),
        format!("{ds}#{snap_a}"),
    );
    let (at_a, at_b, mark_a) = (at_a.as_str(), at_b.as_str(), mark_a.as_str());
    let token = "1-10a2c6b9f1-e8-789c636064000310a500c4ec50360710e72765a52697";
    let admitted: Vec<(String, Option<Vec<&str>>)> = vec![
        // getssh: the master connection and its test.
        ("exit".into(), None),
        ("echo -n".into(), None),
        // checkcommands: resume support (mbuffer: below).
        (
            "zpool get -o value -H feature@extensible_dataset 'tank'".into(),
            Some(vec![
                "zpool",
                "get",
                "-o",
                "value",
                "-H",
                "feature@extensible_dataset",
                "tank",
            ]),
        ),
        // syncdataset: getzfsvalue, getsnaps (and its fallback), getbookmarks.
        (
            format!("zfs get -H syncoid:sync {q}"),
            Some(vec!["zfs", "get", "-H", "syncoid:sync", ds]),
        ),
        (
            format!("zfs get -Hpd 1 -t snapshot guid,creation {q}"),
            Some(vec![
                "zfs",
                "get",
                "-Hpd",
                "1",
                "-t",
                "snapshot",
                "guid,creation",
                ds,
            ]),
        ),
        (
            format!("zfs get -Hpd 1 type,guid,creation {q}"),
            Some(vec!["zfs", "get", "-Hpd", "1", "type,guid,creation", ds]),
        ),
        (
            format!("zfs get -Hpd 1 -t bookmark guid,creation {q}"),
            Some(vec![
                "zfs",
                "get",
                "-Hpd",
                "1",
                "-t",
                "bookmark",
                "guid,creation",
                ds,
            ]),
        ),
        // getsendsize, then syncfull: the oldest snapshot in full.
        (
            format!("zfs send  -nvP {}", quoted(at_a)),
            Some(vec!["zfs", "send", "-nvP", at_a]),
        ),
        (
            format!(" zfs send  {q}@{}", quoted(snap_a)),
            Some(vec!["zfs", "send", at_a]),
        ),
        // syncincremental: every snapshot since the last one received.
        (
            format!("zfs send  -nvP -I {} {}", quoted(at_a), quoted(at_b)),
            Some(vec!["zfs", "send", "-nvP", "-I", at_a, at_b]),
        ),
        (
            format!(
                " zfs send  -I {q}@{} {q}@{}",
                quoted(snap_a),
                quoted(snap_b)
            ),
            Some(vec!["zfs", "send", "-I", at_a, at_b]),
        ),
        // syncbookmark: from a bookmark when the snapshot is gone.
        (
            format!(
                " zfs send  -i {q}#{} {q}@{}",
                quoted(snap_a),
                quoted(snap_b)
            ),
            Some(vec!["zfs", "send", "-i", mark_a, at_b]),
        ),
        // syncresume: the rest of an interrupted stream.
        (
            format!("zfs send  -nvP -t {token}"),
            Some(vec!["zfs", "send", "-nvP", "-t", token]),
        ),
        (
            format!(" zfs send  -t {token}"),
            Some(vec!["zfs", "send", "-t", token]),
        ),
        // The second dataset of the host.
        (
            format!("zfs get -H syncoid:sync {}", quoted(SERVER_DATASETS[1])),
            Some(vec!["zfs", "get", "-H", "syncoid:sync", SERVER_DATASETS[1]]),
        ),
    ];
    let other = "tank/postgresql";
    let refused: Vec<String> = vec![
        // What the old grant allowed and a pull does not need.
        format!("zfs destroy {q}@{}", quoted(snap_a)),
        format!("zfs destroy -r {q}"),
        format!("zfs snapshot {q}@{}", quoted("syncoid_nas_2026")),
        format!("zfs bookmark {q}@{} {q}#{}", quoted(snap_a), quoted(snap_a)),
        format!("zfs hold keep {q}@{}", quoted(snap_a)),
        format!("zfs rollback -r {q}@{}", quoted(snap_a)),
        format!("zfs set mountpoint=/tmp {q}"),
        // Sending what is not replicated, or all of it at once.
        format!("zfs send {}", quoted(&format!("{other}@{snap_a}"))),
        format!("zfs send -R {q}@{}", quoted(snap_a)),
        format!("zfs send -I {q}@{} tank@{}", quoted(snap_a), quoted(snap_b)),
        format!("zfs get -H syncoid:sync {}", quoted(other)),
        format!("zfs get all {q}"),
        "zpool get -o value -H feature@extensible_dataset 'rpool'".into(),
        "zpool destroy tank".into(),
        // A stream piped on, a chained, substituted or redirected command.
        format!(" zfs send  {q}@{} | sh", quoted(snap_a)),
        format!("zfs get -H syncoid:sync {q}; id"),
        format!("zfs get -H syncoid:sync {q} && id"),
        "zfs get -H syncoid:sync $(id)".into(),
        "zfs get -H syncoid:sync `id`".into(),
        format!("zfs get -H syncoid:sync {q} > /etc/passwd"),
        format!("zfs get -H syncoid:sync {q}\nid"),
        // Anything else, and a login without a command.
        "id".into(),
        "sh -c id".into(),
        "rm -rf /".into(),
        "command -v sh; id".into(),
        "exit 0; id".into(),
        "echo hello".into(),
        "'".into(),
        "zfs".into(),
        String::new(),
    ];
    for shell in ["sh", "bash"] {
        for (asked, expected) in &admitted {
            let (status, calls) = run(shell, &script, &package, asked);
            assert_eq!(status, 0, "{shell}: `{asked}` is admitted");
            let expected: Vec<Vec<String>> = expected
                .iter()
                .map(|argv| argv.iter().map(|a| a.to_string()).collect())
                .collect();
            assert_eq!(calls, expected, "{shell}: `{asked}`");
        }
        // syncoid asks whether mbuffer is on the source: it is not (an
        // empty answer), so nothing is piped after `zfs send`.
        let (status, calls) = run(shell, &script, &package, "command -v mbuffer");
        assert_ne!(status, 0, "{shell}: mbuffer is not offered");
        assert!(calls.is_empty());
        for asked in &refused {
            let (status, calls) = run(shell, &script, &package, asked);
            assert_ne!(status, 0, "{shell}: `{asked}` is refused");
            assert!(calls.is_empty(), "{shell}: `{asked}` ran {calls:?}");
        }
    }
}
