//! `homelab verify exposure` against real parts: an example's hosts as
//! network namespaces on a LAN, a tailnet and the internet
//! (`support/lab.rs`), each proxy the real Caddy serving its virtual hosts
//! over HTTPS with a certificate from a test authority, a stub at every
//! bind, each host behind the firewall its modules configure. The command
//! runs on a client of each network, as a person there would run it, and
//! tries every route: a correct homelab proves clean from everywhere; a
//! port opened by hand on a host (as a published container port opens
//! one) is an error naming the service and the route; a service that does
//! not answer where it must is a warning.
//!
//! Needs root, iproute2, iptables, curl, python3, openssl and Debian's
//! caddy.

#[path = "support/bin.rs"]
mod bin;
#[path = "support/examples.rs"]
#[allow(dead_code)]
mod examples;
#[path = "support/lab.rs"]
mod lab;
#[path = "support/netns.rs"]
mod netns;
#[path = "support/sshd.rs"]
mod sshd;
#[path = "support/standins.rs"]
mod standins;

use lab::{Lab, Serve};
use netns::Netns;
use serde_json::Value;
use std::path::PathBuf;

/// `homelab verify exposure SPEC --from FROM args` on `client`.
fn verify(
    lab: &Lab,
    client: &Netns,
    spec: &std::path::Path,
    from: &str,
    args: &[&str],
) -> (i32, String, String) {
    let mut all = vec!["verify", "exposure", spec.to_str().unwrap(), "--from", from];
    all.extend(args);
    lab.homelab(client, &all)
}

/// The proofs of `--json`, parsed.
fn proofs(
    lab: &Lab,
    client: &Netns,
    spec: &std::path::Path,
    from: &str,
    args: &[&str],
) -> (i32, Vec<Value>) {
    let mut all = vec!["--json"];
    all.extend(args);
    let (code, out, err) = verify(lab, client, spec, from, &all);
    let proofs: Vec<Value> = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("--json does not parse: {e}\n{out}\n{err}"));
    (code, proofs)
}

/// The lines of the text that start with `label:`.
fn labelled<'a>(out: &'a str, label: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| l.starts_with(&format!("{label}:")))
        .collect()
}

/// Proves clean: exit 0, nothing reachable that must not be, everything
/// declared answering, every route as declared in the JSON; returns the
/// proofs.
fn clean(
    lab: &Lab,
    client: &Netns,
    spec: &std::path::Path,
    from: &str,
    args: &[&str],
) -> Vec<Value> {
    let (code, out, err) = verify(lab, client, spec, from, args);
    assert_eq!(code, 0, "from {from}:\n{out}{err}");
    assert_eq!(labelled(&out, "error"), Vec::<&str>::new(), "{out}");
    assert_eq!(labelled(&out, "warning"), Vec::<&str>::new(), "{out}");
    assert!(
        out.contains("nothing reachable that must not be, everything declared answers"),
        "{out}"
    );
    let (code, proofs) = proofs(lab, client, spec, from, args);
    assert_eq!(code, 0);
    assert!(!proofs.is_empty());
    for p in &proofs {
        assert_eq!(p["verdict"], "as-declared", "{p:#}");
        assert_eq!(p["reached"], p["check"]["open"], "{p:#}");
    }
    proofs
}

/// The routes of `proofs` of a kind (`proxy-name`, `port`), and how many
/// of them must answer.
fn routes(proofs: &[Value], kind: &str) -> (usize, usize) {
    let of_kind: Vec<&Value> = proofs
        .iter()
        .filter(|p| p["check"]["route"]["kind"] == kind)
        .collect();
    let open = of_kind
        .iter()
        .filter(|p| p["check"]["open"] == true)
        .count();
    (of_kind.len(), open)
}

/// frame1: one host, every service `lan`, behind the proxy; the home's
/// public address is the host's internet address.
fn frame1() -> (Lab, PathBuf) {
    let lab = Lab::start("frame1", Serve::Https { days: 90 });
    let public = lab.internet_address["frame1"].clone();
    let mut status = toml::Table::new();
    status.insert("public_address".into(), public.into());
    let spec = lab.write_spec(status, false);
    (lab, spec)
}

#[test]
fn a_correct_homelab_proves_clean_from_the_lan_the_tailnet_and_the_internet() {
    let (lab, spec) = frame1();
    // From the LAN every name answers; no port does: each service is
    // behind the proxy.
    let proofs = clean(&lab, &lab.lan, &spec, "lan", &[]);
    let (names, open) = routes(&proofs, "proxy-name");
    assert_eq!((names, open), (4, 4), "{proofs:#?}");
    let (ports, open) = routes(&proofs, "port");
    assert!(ports >= 4, "{proofs:#?}");
    assert_eq!(open, 0);
    // From the tailnet, by the host's tailnet address: the proxy refuses
    // every name (each service is `lan`), no port answers.
    let via = lab.tailnet_address["frame1"].clone();
    let proofs = clean(&lab, &lab.tailnet, &spec, "tailnet", &["--via", &via]);
    assert_eq!(routes(&proofs, "proxy-name"), (4, 0));
    let refused = proofs
        .iter()
        .filter(|p| p["saw"] == "the proxy refused: not reachable from this network")
        .count();
    assert_eq!(refused, 4, "{proofs:#?}");
    // From the internet, at the home's public address.
    let proofs = clean(&lab, &lab.internet, &spec, "public", &[]);
    assert_eq!(routes(&proofs, "proxy-name"), (4, 0));
    assert_eq!(routes(&proofs, "port").1, 0);
}

#[test]
fn a_port_opened_by_hand_is_an_error_naming_the_service_and_the_route() {
    let (lab, spec) = frame1();
    // homepage listens on every address, behind the proxy: a rule like
    // the one a published container port adds lets everyone in.
    let homepage = lab
        .ports
        .iter()
        .find(|p| p.service == "homepage" && p.bind == "0.0.0.0")
        .expect("homepage listens on every address");
    let mut c = lab.hosts["frame1"].command("iptables");
    c.args(["-w", "-I", "nixos-fw", "-p", "tcp", "--dport"])
        .arg(homepage.port.to_string())
        .args(["-j", "nixos-fw-accept"]);
    lab::run(c, "a port opened by hand");

    let via = lab.tailnet_address["frame1"].clone();
    for (client, from, address, args) in [
        (&lab.lan, "lan", &lab.lan_address["frame1"], vec![]),
        (&lab.tailnet, "tailnet", &via, vec!["--via", via.as_str()]),
        (
            &lab.internet,
            "public",
            &lab.internet_address["frame1"],
            vec![],
        ),
    ] {
        let (code, out, err) = verify(&lab, client, &spec, from, &args);
        assert_eq!(code, 1, "from {from}:\n{out}{err}");
        let errors = labelled(&out, "error");
        let route = format!("{address}:{}", homepage.port);
        assert_eq!(errors.len(), 1, "{out}");
        assert!(
            errors[0].starts_with(&format!("error: homepage on frame1: {route} answers from ")),
            "{out}"
        );
        assert!(
            errors[0].ends_with(
                "(a connection was accepted), but a service behind the proxy is reached through it only"
            ),
            "{out}"
        );
        assert!(out.contains("1 reachable that must not be"), "{out}");

        let (code, proofs) = proofs(&lab, client, &spec, from, &args);
        assert_eq!(code, 1);
        let exposed: Vec<&Value> = proofs
            .iter()
            .filter(|p| p["verdict"] == "exposed")
            .collect();
        assert_eq!(exposed.len(), 1, "{proofs:#?}");
        assert_eq!(exposed[0]["check"]["service"], "homepage");
        assert_eq!(exposed[0]["check"]["route"]["port"], homepage.port);
    }
}

#[test]
fn a_service_that_does_not_answer_where_it_must_is_a_warning() {
    let (mut lab, spec) = frame1();
    lab.stop("frame1", "grafana");
    let (code, out, err) = verify(&lab, &lab.lan, &spec, "lan", &[]);
    assert_eq!(code, 0, "a warning only:\n{out}{err}");
    assert_eq!(labelled(&out, "error"), Vec::<&str>::new(), "{out}");
    let warnings = labelled(&out, "warning");
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(
        warnings[0].starts_with(
            "warning: grafana on frame1: https://grafana.local.kaifer.dev does not answer from the LAN ("
        ),
        "{out}"
    );
    assert!(warnings[0].contains("502"), "{out}");
    assert!(
        warnings[0].ends_with("though exposure `lan` reaches the LAN"),
        "{out}"
    );
    assert!(out.contains("1 declared but not answering"), "{out}");

    let (code, proofs) = proofs(&lab, &lab.lan, &spec, "lan", &[]);
    assert_eq!(code, 0);
    let unreachable: Vec<&Value> = proofs
        .iter()
        .filter(|p| p["verdict"] == "unreachable")
        .collect();
    assert_eq!(unreachable.len(), 1, "{proofs:#?}");
    assert_eq!(unreachable[0]["check"]["service"], "grafana");
    assert_eq!(unreachable[0]["check"]["route"]["kind"], "proxy-name");
}

/// family: three hosts, `tailnet` services beside `lan` ones, a service
/// confined to the VPN; from the tailnet each host is tried at its own
/// `tailnet_address`.
#[test]
fn each_host_is_tried_at_its_own_address_from_the_lan_and_the_tailnet() {
    let lab = Lab::start("family", Serve::Https { days: 90 });
    let spec = lab.write_spec(toml::toml! { probe_timeout = "2s" }, true);
    let proofs = clean(&lab, &lab.lan, &spec, "lan", &[]);
    let (names, open) = routes(&proofs, "proxy-name");
    assert!(names > 10 && open == names, "{proofs:#?}");
    let proofs = clean(&lab, &lab.tailnet, &spec, "tailnet", &[]);
    // The `tailnet` names answer from the tailnet, the others are refused.
    let open: Vec<&str> = proofs
        .iter()
        .filter(|p| p["check"]["open"] == true)
        .map(|p| p["check"]["service"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["immich", "vaultwarden", "nextcloud"], "{proofs:#?}");
    for host in ["server", "nas", "hub"] {
        let at = &lab.tailnet_address[host];
        let tried = proofs
            .iter()
            .filter(|p| p["check"]["route"]["kind"] == "port" && p["check"]["host"] == host)
            .inspect(|p| assert_eq!(&p["check"]["route"]["address"], at.as_str(), "{p:#}"))
            .count();
        assert!(tried > 0, "{host}'s ports are tried at {at}");
    }

    // jellyfin listens on every address of the server: opened by hand, it
    // answers from the tailnet at the server's tailnet address.
    let mut c = lab.hosts["server"].command("iptables");
    c.args([
        "-w",
        "-I",
        "nixos-fw",
        "-p",
        "tcp",
        "--dport",
        "8096",
        "-j",
        "nixos-fw-accept",
    ]);
    lab::run(c, "a port opened by hand");
    let (code, out, err) = verify(&lab, &lab.tailnet, &spec, "tailnet", &[]);
    assert_eq!(code, 1, "{out}{err}");
    let errors = labelled(&out, "error");
    assert_eq!(
        errors,
        [format!(
            "error: jellyfin on server: {}:8096 answers from the tailnet (a connection was accepted), \
             but a service behind the proxy is reached through it only",
            lab.tailnet_address["server"]
        )],
        "{out}"
    );
}
