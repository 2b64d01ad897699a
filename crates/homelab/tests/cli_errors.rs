//! Error messages of the real binary, pinned in full: each case writes a
//! broken spec, derived from one valid base spec, into a temporary folder,
//! runs `homelab` there with the spec given as `homelab.toml`, and compares
//! the exact exit code, stdout and stderr (source line, carets, help).

/// One host with a pool, three services, the reverse proxy, Tailscale and
/// a backup repository; the host's boot disk last, so the lines above keep
/// their numbers. It checks clean, without warnings.
const BASE: &str = r#"[homelab]
name = "home"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEBTIGiXnUDiGk9cY1PIrmdVLGAqMXOkUmnI4w2GTgRN me@laptop"]

[hosts.server]
address = "192.168.1.10"
ram_gb = 16

[hosts.server.pools.tank]
mode = "mirror"
disks = ["/dev/disk/by-id/ata-A", "/dev/disk/by-id/ata-B"]
size = "4T"

[services.grafana]

[services.victoriametrics]

[services.homepage]

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "acme-dns"

[access.tailscale]
auth_key_secret = "tailscale-authkey"

[backup]
repository = "s3:https://s3.example.org/home"
password_secret = "restic-password"

[hosts.server.boot]
disk = "/dev/disk/by-id/nvme-SSD"
"#;

#[path = "support/bin.rs"]
mod bin;
use bin::run_in;

/// Writes `spec` to `homelab.toml` in a fresh folder and runs `homelab`
/// there with `args`.
fn run(spec: &str, args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("homelab.toml"), spec).unwrap();
    run_in(dir.path(), args)
}

/// The base spec with each `(from, to)` replacement applied. Each `from`
/// must occur exactly once, so that an edit cannot silently miss.
fn edit(edits: &[(&str, &str)]) -> String {
    let mut spec = BASE.to_string();
    for (from, to) in edits {
        assert_eq!(
            spec.matches(from).count(),
            1,
            "`{from}` must occur exactly once in the spec"
        );
        spec = spec.replacen(from, to, 1);
    }
    spec
}

/// The base spec with `lines` added right below the table `header`.
fn under(header: &str, lines: &str) -> String {
    edit(&[(&format!("{header}\n"), &format!("{header}\n{lines}\n"))])
}

/// `homelab check homelab.toml` fails with exit code 1, prints nothing on
/// stdout and exactly `stderr` on stderr.
fn assert_check_fails(spec: &str, stderr: &str) {
    let (code, out, err) = run(spec, &["check", "homelab.toml"]);
    assert_eq!(err, stderr);
    assert_eq!((code, out.as_str()), (1, ""));
}

#[test]
fn the_base_spec_checks_clean() {
    let (code, stdout, stderr) = run(BASE, &["check", "homelab.toml"]);
    assert_eq!(stderr, "");
    assert_eq!(stdout, "homelab.toml: ok — 1 host(s), 3 service(s)\n");
    assert_eq!(code, 0);
}

/// A string without its closing quote.
#[test]
fn unclosed_string_is_a_syntax_error() {
    assert_check_fails(
        &edit(&[("name = \"home\"", "name = \"home")]),
        r#"error[syntax]: the spec is not valid TOML
  ┌─ homelab.toml:2:13
  │
2 │ name = "home
  │             ^ invalid basic string, expected `"`
  │
  = help: close the string on the same line; multi-line text goes between `"""` and `"""`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// The same service table twice.
#[test]
fn duplicate_table_is_a_syntax_error() {
    assert_check_fails(
        &under("[services.homepage]", "\n[services.grafana]"),
        r#"error[syntax]: the spec is not valid TOML
   ┌─ homelab.toml:23:11
   │
17 │ [services.grafana]
   │ ------------------ first opened here
   ·
23 │ [services.grafana]
   │           ^ duplicate key
   │
   = help: a table may be opened once; merge the two into one

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// Quotes around a number.
#[test]
fn string_where_an_integer_belongs() {
    assert_check_fails(
        &edit(&[("ram_gb = 16", "ram_gb = \"16\"")]),
        r#"error[wrong-type]: `hosts.server.ram_gb` must be an integer
   ┌─ homelab.toml:10:10
   │
10 │ ram_gb = "16"
   │          ^^^^ this is a string
   │
   = help: remove the quotes: `ram_gb = 16`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// `[service.x]` for `[services.x]`.
#[test]
fn unknown_top_level_key_suggests_the_close_one() {
    assert_check_fails(
        &edit(&[("[services.homepage]", "[service.homepage]")]),
        r#"error[unknown-key]: unknown key `service` at the top level
   ┌─ homelab.toml:21:2
   │
21 │ [service.homepage]
   │  ^^^^^^^ not a known key
   │
   = help: did you mean `services`?

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A key with no close match lists what the top level accepts.
#[test]
fn unknown_top_level_key_lists_the_known_ones() {
    assert_check_fails(
        &edit(&[("[homelab]\n", "version = 2\n\n[homelab]\n")]),
        r#"error[unknown-key]: unknown key `version` at the top level
  ┌─ homelab.toml:1:1
  │
1 │ version = 2
  │ ^^^^^^^ not a known key
  │
  = help: known keys here: `homelab`, `hosts`, `services`, `access`, `backup`, `secrets`, `media`, `external`, `alerts`, `status`, `network` and `deploy`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// `expose` for `exposure`.
#[test]
fn unknown_key_in_a_service_table() {
    assert_check_fails(
        &under("[services.homepage]", "expose = \"lan\""),
        r#"error[unknown-key]: unknown key `expose` in `[services.homepage]`
   ┌─ homelab.toml:22:1
   │
22 │ expose = "lan"
   │ ^^^^^^ not a known key
   │
   = help: did you mean `exposure`?

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A typo in a service name.
#[test]
fn unknown_service_suggests_the_close_one() {
    assert_check_fails(
        &edit(&[("[services.homepage]", "[services.hompage]")]),
        r#"error[unknown-service]: the catalog has no service `hompage`
   ┌─ homelab.toml:21:11
   │
21 │ [services.hompage]
   │           ^^^^^^^ not in the catalog
   │
   = help: did you mean `homepage`?

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A service the catalog does not have at all.
#[test]
fn unknown_service_lists_the_catalog() {
    assert_check_fails(
        &under("[services.homepage]", "\n[services.wikijs]"),
        r#"error[unknown-service]: the catalog has no service `wikijs`
   ┌─ homelab.toml:23:11
   │
23 │ [services.wikijs]
   │           ^^^^^^ not in the catalog
   │
   = help: known services: `adguardhome`, `alertmanager`, `alloy`, `audiobookshelf`, `bazarr`, `cooklang`, `cross-seed`, `deluge`, `enclosed`, `esphome`, `frigate`, `gatus`, `grafana`, `home-assistant`, `homepage`, `immich`, `jellyfin`, `jellyseerr`, `keycloak`, `litellm`, `loki`, `mealie`, `microbin`, `mosquitto`, `navidrome`, `nextcloud`, `node-exporter`, `open-webui`, `paperless`, `plex`, `pocket-id`, `prometheus`, `prowlarr`, `qbittorrent`, `radarr`, `radicale`, `sonarr`, `tautulli`, `tdarr`, `vaultwarden`, `victoriametrics`, `zigbee2mqtt` and `zwave-js-ui`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// Caddy is placed by the tool, never listed as a service.
#[test]
fn infrastructure_is_not_a_service() {
    assert_check_fails(
        &under("[services.homepage]", "\n[services.caddy]"),
        r#"error[not-a-service]: `caddy` is infrastructure, not a service
   ┌─ homelab.toml:23:11
   │
23 │ [services.caddy]
   │           ^^^^^ placed by the tool itself
   │
   = help: remove this table; `caddy` is added when the spec needs it (see `[access]`)

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// Homepage set to Grafana's default port.
#[test]
fn port_clash_between_services_shows_both() {
    assert_check_fails(
        &under("[services.homepage]", "port = 3000"),
        r#"error[port-clash]: port 3000 is used twice on host `server`
   ┌─ homelab.toml:22:8
   │
17 │ [services.grafana]
   │           ------- `grafana` uses port 3000 here
   ·
22 │ port = 3000
   │        ^^^^ `homepage` set to port 3000 here
   │
   = help: give `homepage` another port with `port = …`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A service on the SSH port.
#[test]
fn port_clash_with_ssh() {
    assert_check_fails(
        &under("[services.homepage]", "port = 22"),
        r#"error[port-clash]: port 22 is used twice on host `server`
   ┌─ homelab.toml:22:8
   │
22 │ port = 22
   │        ^^ `homepage` set to port 22 here
   │
   = help: port 22 belongs to OpenSSH on this host; give `homepage` another port with `port = …`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A service on the HTTPS port of the reverse proxy.
#[test]
fn port_clash_with_the_proxy() {
    assert_check_fails(
        &under("[services.homepage]", "port = 443"),
        r#"error[port-clash]: port 443 is used twice on host `server`
   ┌─ homelab.toml:22:8
   │
22 │ port = 443
   │        ^^^ `homepage` set to port 443 here
   │
   = help: port 443 belongs to Caddy on this host; give `homepage` another port with `port = …`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A port above 65535.
#[test]
fn out_of_range_port() {
    assert_check_fails(
        &under("[services.homepage]", "port = 70000"),
        r#"error[out-of-range]: `services.homepage.port` must be between 1 and 65535
   ┌─ homelab.toml:22:8
   │
22 │ port = 70000
   │        ^^^^^ out of range
   │
   = help: use a whole number from 1 to 65535

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// Homepage served under Grafana's name.
#[test]
fn duplicate_subdomain_shows_both() {
    assert_check_fails(
        &under("[services.homepage]", "subdomain = \"grafana\""),
        r#"error[duplicate-name]: `grafana.home.example.org` is served twice
   ┌─ homelab.toml:22:13
   │
17 │ [services.grafana]
   │           ------- `grafana` is already served there
   ·
22 │ subdomain = "grafana"
   │             ^^^^^^^^^ `homepage` is served at `grafana.home.example.org`
   │
   = help: give `homepage` another `subdomain`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A typo in a host name.
#[test]
fn dangling_host_suggests_the_close_one() {
    assert_check_fails(
        &under("[services.homepage]", "host = \"sever\""),
        r#"error[unknown-host]: there is no host `sever`
   ┌─ homelab.toml:22:8
   │
22 │ host = "sever"
   │        ^^^^^^^ not a host of this spec
   │
   = help: did you mean `server`? hosts: `server`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A host name with no close match.
#[test]
fn dangling_host_lists_the_hosts() {
    assert_check_fails(
        &under("[services.homepage]", "host = \"nas\""),
        r#"error[unknown-host]: there is no host `nas`
   ┌─ homelab.toml:22:8
   │
22 │ host = "nas"
   │        ^^^^^ not a host of this spec
   │
   = help: hosts: `server`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// `[homelab]` misses a required key.
#[test]
fn homelab_without_domain() {
    assert_check_fails(
        &edit(&[("domain = \"example.org\"\n", "")]),
        r#"error[missing-key]: `[homelab]` has no `domain`
  ┌─ homelab.toml:1:2
  │
1 │ [homelab]
  │  ^^^^^^^ `domain` (a string) is required here
  │
  = help: add `domain = "example.org"`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// No `[homelab]` at all.
#[test]
fn spec_without_homelab_table() {
    assert_check_fails(
        &BASE[BASE.find("[hosts.server]").unwrap()..],
        r#"error[missing-key]: the spec has no `[homelab]` table
  ┌─ homelab.toml:1:1
  │
1 │ [hosts.server]
  │ ^ expected `[homelab]` with the name, domains and time zone
  │
  = help: run `homelab init` for a commented starter spec

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A host without `ram_gb`.
#[test]
fn host_without_ram() {
    assert_check_fails(
        &edit(&[("ram_gb = 16\n", "")]),
        r#"error[missing-key]: `[hosts.server]` has no `ram_gb`
  ┌─ homelab.toml:8:8
  │
8 │ [hosts.server]
  │        ^^^^^^ `ram_gb` (an integer) is required here
  │
  = help: add `ram_gb = 16`: the RAM budget of the host's services is checked against it

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A typo in an exposure.
#[test]
fn invalid_exposure_suggests_the_close_one() {
    assert_check_fails(
        &under("[services.homepage]", "exposure = \"tailnett\""),
        r#"error[invalid-value]: `services.homepage.exposure` cannot be `tailnett`
   ┌─ homelab.toml:22:12
   │
22 │ exposure = "tailnett"
   │            ^^^^^^^^^^ expected one of `host`, `lan`, `admins`, `tailnet` and `public`
   │
   = help: did you mean `tailnet`?

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// Capitals and an underscore in a subdomain.
#[test]
fn invalid_dns_label_as_subdomain() {
    assert_check_fails(
        &under("[services.homepage]", "subdomain = \"Start_Page\""),
        r#"error[invalid-name]: `Start_Page` is not a valid subdomain
   ┌─ homelab.toml:22:13
   │
22 │ subdomain = "Start_Page"
   │             ^^^^^^^^^^^^ not a DNS label
   │
   = help: use 1 to 63 lowercase letters, digits and inner hyphens, e.g. `photos`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A quota ZFS would not understand.
#[test]
fn bad_size_for_quota() {
    assert_check_fails(
        &under(
            "[services.grafana]",
            "\n[services.grafana.data.data]\nquota = \"10 gigs\"",
        ),
        r#"error[invalid-value]: `10 gigs` is not a size
   ┌─ homelab.toml:20:9
   │
20 │ quota = "10 gigs"
   │         ^^^^^^^^^ expected a number and a unit
   │
   = help: write sizes like ZFS does: "500G", "2T", "3.5T" ("4TB" and "4 TB" mean 4T too)

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A state directory Grafana does not keep.
#[test]
fn unknown_state_directory() {
    assert_check_fails(
        &under(
            "[services.grafana]",
            "\n[services.grafana.data.dashboards]\nquota = \"10G\"",
        ),
        r#"error[unknown-state]: Grafana keeps no state directory `dashboards`
   ┌─ homelab.toml:19:24
   │
19 │ [services.grafana.data.dashboards]
   │                        ^^^^^^^^^^ not a state directory of this service
   │
   = help: Grafana keeps `data`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A typo in one of Jellyfin's state directories.
#[test]
fn unknown_state_directory_suggests_the_close_one() {
    assert_check_fails(
        &under(
            "[services.homepage]",
            "\n[services.jellyfin]\n\n[services.jellyfin.data.metdata]\nquota = \"80G\"",
        ),
        r#"error[unknown-state]: Jellyfin keeps no state directory `metdata`
   ┌─ homelab.toml:25:25
   │
25 │ [services.jellyfin.data.metdata]
   │                         ^^^^^^^ not a state directory of this service
   │
   = help: did you mean `metadata`? (Jellyfin keeps `config`, `metadata` and `cache`)

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A state directory placed on a pool the host does not have.
#[test]
fn unknown_pool() {
    assert_check_fails(
        &under(
            "[services.grafana]",
            "\n[services.grafana.data.data]\npool = \"fast\"",
        ),
        r#"error[unknown-pool]: host `server` has no pool `fast`
   ┌─ homelab.toml:20:8
   │
20 │ pool = "fast"
   │        ^^^^^^ not a pool of this host
   │
   = help: pools of `server`: `tank`

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A public service needs `[access.tunnel]`.
#[test]
fn public_without_tunnel() {
    assert_check_fails(
        &under(
            "[services.homepage]",
            "\n[services.jellyfin]\nexposure = \"public\"\nexposure_reason = \"friends watch from their homes\"",
        ),
        r#"error[missing-access]: `jellyfin` is `public` but the spec does not set up the tunnel
   ┌─ homelab.toml:24:12
   │
24 │ exposure = "public"
   │            ^^^^^^^^ `public` exposure needs the tunnel
   │
   = help: add `[access.tunnel]` with `id` and `credentials_secret`, or narrow the exposure

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// A tailnet service needs `[access.tailscale]`.
#[test]
fn tailnet_without_tailscale() {
    assert_check_fails(
        &edit(&[
            (
                "[services.homepage]\n",
                r#"[services.homepage]
exposure = "tailnet"
exposure_reason = "the family opens it on their phones"
"#,
            ),
            (
                "\n[access.tailscale]\nauth_key_secret = \"tailscale-authkey\"\n",
                "",
            ),
        ]),
        r#"error[missing-access]: `homepage` is `tailnet` but the spec does not set up the tailnet
   ┌─ homelab.toml:22:12
   │
22 │ exposure = "tailnet"
   │            ^^^^^^^^^ `tailnet` exposure needs the tailnet
   │
   = help: add `[access.tailscale]` with `auth_key_secret`, or narrow the exposure

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// With a second host, a service must say where it runs.
#[test]
fn two_hosts_need_a_host_per_service() {
    assert_check_fails(
        &edit(&[
            (
                "[services.grafana]\n",
                r#"[hosts.nas]
address = "192.168.1.11"
ram_gb = 8
boot.disk = "/dev/disk/by-id/ata-SSD"

[services.grafana]
host = "server"
"#,
            ),
            (
                "[services.victoriametrics]\n",
                "[services.victoriametrics]\nhost = \"server\"\n",
            ),
        ]),
        r#"error[missing-host]: `homepage` does not say which host runs it
   ┌─ homelab.toml:28:11
   │
28 │ [services.homepage]
   │           ^^^^^^^^ several hosts could run this
   │
   = help: add `host = "server"` (hosts: `server` and `nas`)

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// Jellyfin's port is not a NixOS option.
#[test]
fn fixed_port_cannot_move() {
    assert_check_fails(
        &under("[services.homepage]", "\n[services.jellyfin]\nport = 8097"),
        r#"error[fixed-port]: Jellyfin cannot listen on another port
   ┌─ homelab.toml:24:8
   │
24 │ port = 8097
   │        ^^^^ the NixOS module fixes the port at 8096
   │
   = help: remove `port`; the proxy reaches the service on its own port

homelab.toml: 1 error, 0 warnings
"#,
    );
}

/// Diagnostics as JSON on stdout: one object per diagnostic, with the
/// position of the primary span flattened into it.
#[test]
fn json_format_of_one_error() {
    let (code, stdout, stderr) = run(
        &edit(&[("ram_gb = 16", "ram_gb = \"16\"")]),
        &["check", "homelab.toml", "--format", "json"],
    );
    assert_eq!((code, stderr.as_str()), (1, ""));
    let diags: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(diags.as_array().map(Vec::len), Some(1), "{stdout}");
    let d = &diags[0];
    assert_eq!(d["code"], "wrong-type");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["message"], "`hosts.server.ram_gb` must be an integer");
    assert_eq!(d["file"], "homelab.toml");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(10), Some(10))
    );
    assert_eq!(
        (d["end_line"].as_u64(), d["end_column"].as_u64()),
        (Some(10), Some(14))
    );
    assert_eq!(d["note"], "this is a string");
    assert_eq!(d["related"], serde_json::json!([]));
    assert_eq!(d["help"], "remove the quotes: `ram_gb = 16`");
}

/// The second place of a port clash is a related position in JSON.
#[test]
fn json_format_lists_the_other_place() {
    let (code, stdout, stderr) = run(
        &under("[services.homepage]", "port = 3000"),
        &["check", "homelab.toml", "--format", "json"],
    );
    assert_eq!((code, stderr.as_str()), (1, ""));
    let diags: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let d = &diags[0];
    assert_eq!(d["code"], "port-clash");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(22), Some(8))
    );
    assert_eq!(
        d["related"],
        serde_json::json!([{
            "line": 17, "column": 11, "end_line": 17, "end_column": 18,
            "note": "`grafana` uses port 3000 here",
        }])
    );
    assert_eq!(d["help"], "give `homepage` another port with `port = …`");
}

#[test]
fn build_with_an_error_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("homelab.toml"),
        under("[services.homepage]", "port = 22"),
    )
    .unwrap();
    let expected = r#"error[port-clash]: port 22 is used twice on host `server`
   ┌─ homelab.toml:22:8
   │
22 │ port = 22
   │        ^^ `homepage` set to port 22 here
   │
   = help: port 22 belongs to OpenSSH on this host; give `homepage` another port with `port = …`

homelab.toml: 1 error, 0 warnings
nothing was written
"#;
    let (code, stdout, stderr) = run_in(dir.path(), &["build", "homelab.toml", "--out", "out"]);
    assert_eq!(stderr, expected);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(!dir.path().join("out").exists());

    // Without --out the flake would go next to the spec.
    let (code, stdout, stderr) = run_in(dir.path(), &["build", "homelab.toml"]);
    assert_eq!(stderr, expected);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(!dir.path().join("flake").exists());
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["homelab.toml"]);
}

#[test]
fn missing_spec_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["check", "homelab.toml"]);
    assert_eq!(
        stderr,
        "error: homelab.toml not found; run `homelab init` to create one, or try `--example frame1`\n"
    );
    assert_eq!((code, stdout.as_str()), (2, ""));
}

#[test]
fn unknown_example_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["check", "--example", "nope"]);
    assert_eq!(
        stderr,
        "error: there is no example `nope`; examples: family, forge, frame1, nuc\n"
    );
    assert_eq!((code, stdout.as_str()), (2, ""));

    let (code, stdout, stderr) =
        run_in(dir.path(), &["build", "--example", "nope", "--out", "out"]);
    assert_eq!(
        stderr,
        "error: there is no example `nope`; examples: family, forge, frame1, nuc\n"
    );
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(!dir.path().join("out").exists());
}

#[test]
fn init_refuses_to_overwrite_a_spec() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("homelab.toml"), BASE).unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["init"]);
    assert_eq!(
        stderr,
        "error: ./homelab.toml already exists; homelab init never overwrites a spec\n"
    );
    assert_eq!((code, stdout.as_str()), (2, ""));

    std::fs::create_dir(dir.path().join("lab")).unwrap();
    std::fs::write(dir.path().join("lab/homelab.toml"), "# mine\n").unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["init", "lab"]);
    assert_eq!(
        stderr,
        "error: lab/homelab.toml already exists; homelab init never overwrites a spec\n"
    );
    assert_eq!((code, stdout.as_str()), (2, ""));

    assert_eq!(
        std::fs::read_to_string(dir.path().join("homelab.toml")).unwrap(),
        BASE
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lab/homelab.toml")).unwrap(),
        "# mine\n"
    );
}

/// A host without `[hosts.<name>.boot]`: its flake would have no root file
/// system, so the check stops before anything is built.
#[test]
fn host_without_boot_disk() {
    let spec = edit(&[(
        "\n[hosts.server.boot]\ndisk = \"/dev/disk/by-id/nvme-SSD\"\n",
        "",
    )]);
    assert_check_fails(
        &spec,
        r#"error[missing-boot-disk]: host `server` has no boot disk
  ┌─ homelab.toml:8:8
  │
8 │ [hosts.server]
  │        ^^^^^^ without one its flake has no root file system and cannot build
  │
  = help: add `[hosts.server.boot]` with `disk = "/dev/disk/by-id/…"` (`ls -l /dev/disk/by-id` on the machine lists them); the disk is erased at install

homelab.toml: 1 error, 0 warnings
"#,
    );
    let (code, _, _) = run(&spec, &["build"]);
    assert_eq!(code, 1);
}

/// Every operating command that reads a host plan says which file it could
/// not read and where a plan comes from, exits 2 and writes nothing.
#[test]
fn an_operating_command_without_its_plan_says_where_plans_come_from() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("missing/plan.json");
    let plan = plan.to_str().unwrap();
    for args in [
        vec!["backup", "run", "--plan", plan],
        vec!["backup", "drill", "--all", "--plan", plan],
        vec!["backup", "preseed", "--plan", plan],
        vec!["backup", "status", "--plan", plan],
        vec!["restore", "app", "--plan", plan],
    ] {
        let (code, out, err) = run_in(dir.path(), &args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(
            err.contains(&format!("cannot read the host plan {plan}")),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("`homelab build` writes hosts/<host>/plan.json"),
            "{args:?}: {err}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{args:?} wrote"
        );
    }
}
