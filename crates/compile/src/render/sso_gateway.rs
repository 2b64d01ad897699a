//! The sign-in gateway in the front proxy's host: oauth2-proxy on
//! loopback, an OIDC client of the fleet's provider, and the Caddy route
//! of every gated name, which asks it about each request (`forward_auth`)
//! and sends whoever has no session to its sign-in page. The route's
//! `allowed_groups` carries the service's `groups`.

use super::secrets::{age_secret, secret_path};
use crate::fleet::{Fleet, GATEWAY, GATEWAY_PORT, GATEWAY_PREFIX, GatedRoute, HostPlan};
use crate::nix::{Attrs, Nix, set};
use crate::probes::exposure::REFUSAL;

/// oauth2-proxy's settings, on the gateway's host.
pub fn gateway(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let Some(g) = fleet
        .sso
        .as_ref()
        .and_then(|p| p.gateway.as_ref())
        .filter(|g| g.host == host.name())
    else {
        return;
    };
    let at = |m: &mut Attrs, path: &[&str], v: Nix| {
        let mut full = vec!["services", GATEWAY];
        full.extend_from_slice(path);
        set(m, &full, v);
    };
    at(m, &["enable"], Nix::Bool(true));
    at(m, &["provider"], Nix::str("oidc"));
    at(m, &["oidcIssuerUrl"], Nix::str(&g.issuer));
    at(m, &["clientID"], Nix::str(GATEWAY));
    at(m, &["clientSecretFile"], secret_path(&g.client_secret));
    at(m, &["cookie", "secretFile"], secret_path(&g.cookie_secret));
    // One session for every gated name of the internal domain.
    at(m, &["cookie", "domain"], Nix::str(&g.cookie_domain));
    at(m, &["scope"], Nix::str(&g.scopes));
    at(
        m,
        &["httpAddress"],
        Nix::str(format!("http://127.0.0.1:{GATEWAY_PORT}")),
    );
    // Caddy is in front, on this host: X-Forwarded-* and X-Real-IP are its,
    // and nobody else's are believed.
    at(m, &["reverseProxy"], Nix::Bool(true));
    at(m, &["trustedProxyIP"], Nix::strs(["127.0.0.1"]));
    at(m, &["setXauthrequest"], Nix::Bool(true));
    // Groups decide who gets through, not e-mail domains.
    at(m, &["email", "domains"], Nix::strs(["*"]));
    let mut extra = Attrs::new();
    // After sign-in it may send people back to any gated name.
    extra.insert(
        "whitelist-domain".into(),
        Nix::strs([g.cookie_domain.as_str()]),
    );
    extra.insert("skip-provider-button".into(), Nix::Bool(true));
    extra.insert("code-challenge-method".into(), Nix::str("S256"));
    // The spec knows user names, not e-mail addresses: the name stands
    // where oauth2-proxy expects an address, and an unverified (or absent)
    // address does not turn a member of an allowed group away.
    extra.insert("oidc-email-claim".into(), Nix::str("preferred_username"));
    extra.insert(
        "insecure-oidc-allow-unverified-email".into(),
        Nix::Bool(true),
    );
    at(m, &["extraConfig"], Nix::Attrs(extra));
    age_secret(m, fleet, &g.client_secret, 2);
    age_secret(m, fleet, &g.cookie_secret, 2);
}

/// The Caddy directives of a gated name: in one `route`, so they run in
/// this order — the network check, the gateway's own paths, the check
/// of the session (a 401 goes to the sign-in page), the service.
pub(crate) fn route_config(route: &GatedRoute, outside: &str, upstream: &str) -> String {
    let gateway = format!("127.0.0.1:{GATEWAY_PORT}");
    let mut auth = format!("{GATEWAY_PREFIX}/auth");
    if !route.groups.is_empty() {
        auth.push_str("?allowed_groups=");
        auth.push_str(&route.groups.join(","));
    }
    format!(
        "{outside}route {{
  respond @outside \"{REFUSAL}\" 403
  reverse_proxy {GATEWAY_PREFIX}/* {gateway} {{
    header_up X-Real-IP {{remote_host}}
    header_up X-Forwarded-Uri {{uri}}
  }}
  forward_auth {gateway} {{
    uri {auth}
    header_up X-Real-IP {{remote_host}}
    copy_headers X-Auth-Request-User X-Auth-Request-Email X-Auth-Request-Groups
    @signed_out status 401
    handle_response @signed_out {{
      redir * {GATEWAY_PREFIX}/sign_in?rd={{scheme}}://{{host}}{{uri}} 302
    }}
  }}
  reverse_proxy {upstream}
}}
"
    )
}
