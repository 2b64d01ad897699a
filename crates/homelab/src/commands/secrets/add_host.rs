//! `homelab secrets add-host HOST`: record the host's SSH ed25519 key as
//! `host_key` in the spec, from a file, the running host, or made now.

use super::Context;
use base64::Engine;
use operate::runner::Local;
use operate::secrets::{Error, host_key, spec_edit};
use sha2::{Digest, Sha256};
use std::path::Path;

/// `SHA256:…`, the fingerprint `ssh-keygen -l` and the host's console
/// show, so the user can compare.
fn fingerprint(key: &str) -> String {
    let blob = compile::spec::parse_ssh_key(key).unwrap_or_default();
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(&blob))
    )
}

pub fn run(
    cx: &Context,
    host: &str,
    key: Option<&Path>,
    scan: bool,
    port: Option<u16>,
    generate: bool,
) -> Result<(), Error> {
    let Some(plan) = cx.fleet.hosts.iter().find(|h| h.name() == host) else {
        let names: Vec<&str> = cx.fleet.hosts.iter().map(|h| h.name()).collect();
        return Err(Error::Refused(format!(
            "the spec has no host `{host}` (hosts: {}); add `[hosts.{host}]` first",
            names.join(", ")
        )));
    };
    let public = match (key, scan, generate) {
        (Some(file), false, false) => host_key::from_file(file)?,
        (None, true, false) => host_key::scan(&Local, &plan.spec.address.value, port)?,
        (None, false, true) => {
            let admin: Vec<String> = cx
                .fleet
                .homelab
                .admin_keys
                .iter()
                .map(|k| k.value.clone())
                .collect();
            let public = host_key::generate_for(&cx.store, &Local, host, &admin)?;
            println!(
                "made the host key pair; the private half is in {}/host-keys/{host}.age, encrypted to the admin keys",
                cx.store.dir.display()
            );
            public
        }
        _ => {
            return Err(Error::Refused(
                "say where the key comes from: --key FILE, --scan or --generate".into(),
            ));
        }
    };
    let old = spec_edit::set_string(&cx.spec, &format!("hosts.{host}.host_key"), &public)?;
    println!("host `{host}`: {public} ({})", fingerprint(&public));
    match old {
        Some(old)
            if old
                .split_whitespace()
                .take(2)
                .eq(public.split_whitespace().take(2)) =>
        {
            println!("the spec already had this key");
        }
        Some(_) => println!(
            "replaced the previous host_key in {}; run `homelab secrets rekey`, then `homelab build`",
            cx.spec.display()
        ),
        None => println!(
            "recorded in {}; run `homelab secrets rekey`, then `homelab build`",
            cx.spec.display()
        ),
    }
    Ok(())
}
