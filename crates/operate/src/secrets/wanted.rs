//! What the store must hold, from the fleet: every secret, who uses it,
//! who must be able to decrypt it, and how it is made when it is
//! machine-made.

use compile::catalog::Generator;
use compile::fleet::{Fleet, Reader};

/// One secret the fleet needs.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub name: String,
    pub description: String,
    pub used_by: Vec<String>,
    /// Hosts that decrypt it.
    pub hosts: Vec<String>,
    /// Hosts that decrypt it but have no `host_key` in the spec yet.
    pub hosts_without_key: Vec<String>,
    pub readers: Vec<Reader>,
    pub generator: Option<Generator>,
}

impl Wanted {
    pub fn keys(&self) -> Vec<String> {
        self.readers.iter().map(|r| r.key.clone()).collect()
    }
}

/// Every secret of the fleet, by name.
pub fn wanted(fleet: &Fleet) -> Vec<Wanted> {
    fleet
        .secrets
        .values()
        .map(|s| Wanted {
            name: s.name.clone(),
            description: s.description.clone(),
            used_by: s.used_by.clone(),
            hosts: s.hosts.clone(),
            hosts_without_key: s
                .hosts
                .iter()
                .filter(|h| {
                    fleet
                        .hosts
                        .iter()
                        .find(|x| x.name() == h.as_str())
                        .is_some_and(|x| x.spec.host_key.is_none())
                })
                .cloned()
                .collect(),
            readers: fleet.secret_readers(&s.name),
            generator: s.generator.clone(),
        })
        .collect()
}

/// The secret `name`, or a message naming the secrets there are.
pub fn find<'a>(all: &'a [Wanted], name: &str) -> Result<&'a Wanted, super::Error> {
    all.iter().find(|w| w.name == name).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
        super::Error::Refused(format!(
            "the spec uses no secret `{name}`; its secrets are: {}. Declare your own with `[secrets.{name}]`",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        ))
    })
}

/// The host keys made before install (`secrets/host-keys/<host>.age`):
/// kept for the admin (and the installer), so encrypted to the admin keys
/// only, and rekeyed with the rest when the admin keys change.
pub fn host_keys(fleet: &Fleet, store: &super::Store) -> Vec<Wanted> {
    let dir = store.dir.join(super::store::HOST_KEYS);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut hosts: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".age").map(String::from))
        .collect();
    hosts.sort();
    hosts
        .into_iter()
        .map(|host| Wanted {
            name: format!("{}/{host}", super::store::HOST_KEYS),
            description: format!("SSH host key of `{host}`, for its installation"),
            used_by: vec!["install".into()],
            hosts: Vec::new(),
            hosts_without_key: Vec::new(),
            // Readers of a secret no host uses: the admin keys.
            readers: fleet.secret_readers(""),
            generator: None,
        })
        .collect()
}
