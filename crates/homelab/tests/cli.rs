//! The real binary, run as a user would: exact exit codes and exact output
//! (source line, caret, help) for broken specs, and the behaviour of `init`,
//! `check`, `build` and `show` around files.

use std::path::Path;

#[path = "support/bin.rs"]
mod bin;
use bin::run_in as run;

/// `check` on a spec from the corpus, copied to `homelab.toml` so that the
/// path in the output is stable.
fn check_corpus(name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bad-specs")
        .join(format!("{name}.toml"));
    std::fs::copy(src, dir.path().join("homelab.toml")).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["check"]);
    format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
}

/// Broken specs whose full output is pinned (snapshots in `tests/snapshots/`).
const PINNED: [&str; 28] = [
    "syntax-unclosed-string",
    "syntax-duplicate-key",
    "wrong-type-ram",
    "out-of-range-port",
    "unknown-key-top",
    "unknown-key-service",
    "missing-domain",
    "missing-ram",
    "invalid-exposure",
    "invalid-subdomain",
    "invalid-size",
    "unknown-service-typo",
    "unknown-service-far",
    "not-a-service",
    "unknown-host",
    "missing-host",
    "port-clash-services",
    "port-clash-infra",
    "duplicate-name",
    "missing-dependency",
    "missing-homelab-header",
    "port-clash-extra",
    "replica-unknown-host",
    "replica-without-pool",
    "requests-without-arr",
    "torrent-without-vpn",
    "media-split",
    "two-metrics-stores",
];

#[test]
fn broken_specs_print_exactly_this() {
    for name in PINNED {
        insta::assert_snapshot!(name, check_corpus(name));
    }
}

#[test]
fn policy_findings_print_exactly_this() {
    for name in [
        "admin-public",
        "literal-secret",
        "no-offsite",
        "silenced-replica",
        "unknown-rule",
        "critical-without-daily",
        "dataset-path-clash-datasets",
        "torrent-outside-vpn",
        "vpn-not-optional",
        "duplicate-boot-disk",
        "public-page-internals",
    ] {
        insta::assert_snapshot!(name, check_corpus(name));
    }
}

fn assert_tail(text: &str, tail: &str) {
    assert!(
        text.ends_with(tail),
        "expected the output to end with:\n{tail}\ngot:\n{text}"
    );
}

#[test]
fn a_missing_spec_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["check"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        "error: homelab.toml not found; run `homelab init` to create one, or try `--example frame1`\n"
    );
}

#[test]
fn an_unknown_example_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(dir.path(), &["check", "--example", "nope"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: there is no example `nope`; examples: family, forge, frame1, nuc\n"
    );
}

#[test]
fn init_writes_a_spec_that_checks_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["init"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("wrote ./homelab.toml\n"), "{stdout}");
    let written = std::fs::read_to_string(dir.path().join("homelab.toml")).unwrap();
    assert_eq!(written, compile::examples::STARTER);

    let (code, stdout, stderr) = run(dir.path(), &["check"]);
    assert_eq!(code, 0, "the starter spec checks clean:\n{stderr}");
    assert!(stdout.contains("homelab.toml: ok"), "{stdout}");

    std::fs::write(dir.path().join("homelab.toml"), "# mine\n").unwrap();
    let (code, _, stderr) = run(dir.path(), &["init"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: ./homelab.toml already exists; homelab init never overwrites a spec\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("homelab.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn json_diagnostics_carry_code_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-specs/unknown-service-typo.toml");
    std::fs::copy(src, dir.path().join("homelab.toml")).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["check", "--format", "json"]);
    assert_eq!((code, stderr.as_str()), (1, ""));
    let diags: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let d = &diags[0];
    assert_eq!(d["code"], "unknown-service");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "homelab.toml");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(24), Some(11))
    );
    assert_eq!(d["help"], "did you mean `vaultwarden`?");
}

#[test]
fn a_build_with_errors_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-specs/port-clash-services.toml");
    std::fs::copy(src, dir.path().join("homelab.toml")).unwrap();
    let (code, _, stderr) = run(dir.path(), &["build", "--out", "flake"]);
    assert_eq!(code, 1);
    assert!(stderr.ends_with("nothing was written\n"), "{stderr}");
    assert!(!dir.path().join("flake").exists());
}

#[test]
fn a_hand_edited_file_stops_the_build_until_forced() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(
        dir.path(),
        &["build", "--example", "frame1", "--out", "flake"],
    );
    assert_eq!(code, 0);
    assert!(stdout.starts_with("wrote flake: "), "{stdout}");
    let (_, stdout, _) = run(
        dir.path(),
        &["build", "--example", "frame1", "--out", "flake"],
    );
    assert!(stdout.contains("0 created, 0 updated"), "{stdout}");

    // User-owned files are never rewritten.
    let hardware = dir.path().join("flake/hosts/frame1/hardware.nix");
    std::fs::write(
        &hardware,
        "{ ... }: { boot.kernelModules = [ \"kvm-intel\" ]; }\n",
    )
    .unwrap();
    let core = dir.path().join("flake/hosts/frame1/core.nix");
    let edited = std::fs::read_to_string(&core)
        .unwrap()
        .replace("Europe/Prague", "UTC");
    std::fs::write(&core, &edited).unwrap();

    let (code, _, stderr) = run(
        dir.path(),
        &["build", "--example", "frame1", "--out", "flake"],
    );
    assert_eq!(code, 1);
    // The example's warnings come first; the refusal closes the output,
    // counted with them.
    assert_tail(
        &stderr,
        "error[edited-by-hand]: generated files were edited by hand\n = flake/hosts/frame1/core.nix\n = help: move your changes into the spec (or hosts/<host>/extra.nix), then build again; or run `homelab build --force` to overwrite them\n\nexamples/frame1/homelab.toml: 1 error, 6 warnings\nnothing was written\n",
    );
    assert_eq!(std::fs::read_to_string(&core).unwrap(), edited);

    let (code, _, _) = run(
        dir.path(),
        &["build", "--example", "frame1", "--out", "flake", "--force"],
    );
    assert_eq!(code, 0);
    assert!(
        std::fs::read_to_string(&core)
            .unwrap()
            .contains("Europe/Prague")
    );
    assert!(
        std::fs::read_to_string(&hardware)
            .unwrap()
            .contains("kvm-intel")
    );
}

#[test]
fn a_hand_edit_is_a_diagnostic_in_json_too() {
    let dir = tempfile::tempdir().unwrap();
    let build = [
        "build",
        "--example",
        "nuc",
        "--out",
        "flake",
        "--format",
        "json",
    ];
    assert_eq!(run(dir.path(), &build).0, 0);
    let flake = dir.path().join("flake/flake.nix");
    let text = std::fs::read_to_string(&flake).unwrap();
    std::fs::write(&flake, format!("{text}# mine\n")).unwrap();

    let (code, stdout, stderr) = run(dir.path(), &build);
    assert_eq!((code, stderr.as_str()), (1, "nothing was written\n"));
    let diags: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let last = diags.as_array().unwrap().last().unwrap();
    assert_eq!(last["code"], "edited-by-hand");
    assert_eq!(last["severity"], "error");
    assert_eq!(last["files"], serde_json::json!(["flake/flake.nix"]));
    assert!(last.get("line").is_none(), "{last}");
    assert!(last["help"].as_str().unwrap().contains("--force"));
    // Diagnostics about a place in the spec carry no `files`.
    assert!(diags[0].get("files").is_none(), "{}", diags[0]);
    assert!(diags[0]["line"].is_u64());
}

#[test]
fn show_prints_tables_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["show", "ports", "--example", "frame1"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("frame1  grafana          3001   127.0.0.1    lan             https://grafana.local.kaifer.dev"), "{stdout}");
    // Tailscale's WireGuard port is UDP on every interface.
    assert!(
        stdout.contains("frame1  Tailscale        41641  0.0.0.0 udp  infrastructure"),
        "{stdout}"
    );
    // A client confined to the VPN is reached at its namespace's address.
    let (code, stdout, _) = run(dir.path(), &["show", "ports", "--example", "family"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("server  qbittorrent        8090   192.168.15.1  lan"),
        "{stdout}"
    );
    let (code, stdout, _) = run(
        dir.path(),
        &["show", "exposure", "--example", "nuc", "--json"],
    );
    assert_eq!(code, 0);
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // One row per service: the seed's fifteen.
    assert_eq!(rows.as_array().unwrap().len(), 15);
    let (code, _, stderr) = run(dir.path(), &["show", "nonsense", "--example", "nuc"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid value 'nonsense'"), "{stderr}");
}

#[test]
fn a_repository_on_the_host_itself_is_not_offsite() {
    let dir = tempfile::tempdir().unwrap();
    let spec = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/bad-specs/no-offsite-local-repository.toml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("homelab.toml"), &spec).unwrap();
    let (_, stdout, _) = run(dir.path(), &["show", "backups", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let vault = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["owner"] == "vaultwarden")
        .unwrap();
    assert_eq!(vault["offsite"], false, "{vault}");
    let (_, stdout, _) = run(dir.path(), &["show", "backups"]);
    assert!(
        stdout.contains(
            "[backup] repository is a folder on each host itself: a copy there is not offsite"
        ),
        "{stdout}"
    );
    let (code, _, stderr) = run(dir.path(), &["check"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("error[no-offsite]: `vaultwarden` has critical data with no offsite copy")
            && stderr.contains("a folder on each host itself, not another machine"),
        "{stderr}"
    );

    // The plan the host reads agrees: its repository is not offsite.
    let fleet = compile::analyze(&spec).fleet.unwrap();
    let plan = compile::plan::plan(&fleet, &fleet.hosts[0]);
    let repositories: Vec<_> = plan.services.iter().flat_map(|s| &s.repositories).collect();
    assert!(!repositories.is_empty());
    assert!(repositories.iter().all(|r| !r.offsite), "{repositories:?}");

    // Another machine off the fleet is offsite.
    let remote = spec.replace("/backups/restic", "sftp:restic@backup.example.net:/restic");
    std::fs::write(dir.path().join("homelab.toml"), &remote).unwrap();
    let (_, stdout, _) = run(dir.path(), &["show", "backups", "--json"]);
    assert!(stdout.contains("\"offsite\": true"), "{stdout}");
}

#[test]
fn a_word_for_an_allowed_value_is_suggested() {
    let dir = tempfile::tempdir().unwrap();
    let spec = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/bad-specs/no-offsite-local-repository.toml"),
    )
    .unwrap()
    .replace(
        "[services.vaultwarden]\n",
        "[services.vaultwarden]\nexposure = \"internet\"\n",
    );
    std::fs::write(dir.path().join("homelab.toml"), spec).unwrap();
    let (code, _, stderr) = run(dir.path(), &["check"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`services.vaultwarden.exposure` cannot be `internet`")
            && stderr.contains("= help: did you mean `public`?"),
        "{stderr}"
    );
}

#[test]
fn show_prints_errors_and_only_counts_the_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(dir.path(), &["show", "ports", "--example", "nuc"]);
    assert_eq!(code, 0);
    assert!(!stderr.contains("warning["), "{stderr}");
    assert!(
        stderr.ends_with(" warnings (`homelab check` lists them)\n"),
        "{stderr}"
    );
    // An error is still shown in full before the table.
    let spec = compile::examples::get("frame1")
        .unwrap()
        .replacen("ram_gb = ", "ram_gb = 1 #", 1);
    std::fs::write(dir.path().join("homelab.toml"), spec).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["show", "resources"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("error[ram-over]"), "{stderr}");
    assert!(!stdout.is_empty());
}
