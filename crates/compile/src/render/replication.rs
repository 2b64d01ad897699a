//! ZFS replication, the "2" of 3-2-1: the replica host pulls every critical
//! dataset of the other hosts with syncoid over SSH. Pulling keeps the
//! sources unable to touch the copies: a compromised server cannot destroy
//! its replicas. Received datasets are never mounted on the replica.

use super::secrets::{age_secret, secret_path};
use crate::fleet::{Fleet, HostPlan, REPLICAS};
use crate::nix::shell::{Line, code, line, value};
use crate::nix::{Attrs, Nix, set};
use crate::spec::DataClass;

/// What the source hosts grant the pulling user on the replicated
/// datasets: what a pull of existing snapshots needs and nothing more.
/// `zfs send -I` takes temporary holds on the snapshots it sends
/// (libzfs `zfs_send`, for `-I` and `-R`), so `hold` besides `send`.
/// No `snapshot` and no `destroy`: the replica pulls sanoid's snapshots
/// (`--no-sync-snap`) instead of making and pruning its own on the
/// source, so whoever holds its key can read the history but not erase
/// it. (The module's default for a local source adds `snapshot`,
/// `destroy` and `mount` for the sync snapshots, and `bookmark`.)
const SOURCE_ALLOW: &str = "hold,send";
/// syncoid's arguments for every pull: existing snapshots only (sanoid
/// takes them every 15 minutes on critical data), and no compressor piped
/// after `zfs send` on the source, whose forced command runs `zfs send`
/// alone (the LAN carries the stream).
const PULL_ARGS: [&str; 2] = ["--no-sync-snap", "--compress=none"];
/// The user the replica logs in as on the sources.
const USER: &str = "syncoid";
/// The forced command of the replica's key on a source host: admits what
/// syncoid runs on the source of a pull, on the replicated datasets.
const COMMAND_SCRIPT: &str = include_str!("replica-command.sh");
/// What the replica host's syncoid may do below the replica datasets: the
/// module's `localTargetAllow` default, plus `canmount`, which receiving
/// with `-o canmount=off` needs (syncoid runs without privilege elevation).
const TARGET_ALLOW: [&str; 9] = [
    "change-key",
    "compression",
    "create",
    "destroy",
    "mount",
    "mountpoint",
    "receive",
    "rollback",
    "canmount",
];

pub(crate) fn contribute(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let Some(r) = &fleet.replica else { return };
    let pulled = fleet.pulled();
    if r.host == host.name() && !pulled.is_empty() {
        pull(m, fleet, &pulled);
    }
    let mine: Vec<&str> = pulled
        .iter()
        .filter(|p| p.source_host.name() == host.name())
        .map(|p| p.source.as_str())
        .collect();
    if !mine.is_empty() {
        let from = fleet
            .replica_host()
            .map_or(r.host.as_str(), |h| h.spec.address.value.as_str());
        serve(m, &r.public_key, from, &mine);
    }
}

/// On the replica host: one syncoid command per dataset, and the parent
/// datasets they are received below.
fn pull(m: &mut Attrs, fleet: &Fleet, pulled: &[crate::fleet::Pulled]) {
    let r = fleet.replica.as_ref().expect("called with a replica");
    let s = ["services", "syncoid"];
    set(m, &[s[0], s[1], "enable"], true);
    set(m, &[s[0], s[1], "interval"], "hourly");
    set(m, &[s[0], s[1], "sshKey"], secret_path(&r.key_secret));
    set(m, &[s[0], s[1], "commonArgs"], Nix::strs(PULL_ARGS));
    set(
        m,
        &[s[0], s[1], "localTargetAllow"],
        Nix::strs(TARGET_ALLOW),
    );
    age_secret(m, fleet, &r.key_secret, 2);
    known_hosts(m, pulled);
    let mut parents = Vec::new();
    let mut units = Vec::new();
    for p in pulled {
        // The module names the unit `syncoid-<command>`; a name of plain
        // unit characters keeps that unit name predictable.
        let name: String = format!("{}-{}", p.source_host.name(), p.source)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        units.push(format!("syncoid-{name}.service"));
        let c = [s[0], s[1], "commands", name.as_str()];
        let address = &p.source_host.spec.address.value;
        set(
            m,
            &[c[0], c[1], c[2], c[3], "source"],
            format!("{USER}@{address}:{}", p.source),
        );
        set(m, &[c[0], c[1], c[2], c[3], "target"], p.target.as_str());
        // -u: do not mount on receipt; canmount=off: nor at boot, where the
        // source's mountpoints would shadow the replica host's own.
        set(
            m,
            &[c[0], c[1], c[2], c[3], "recvOptions"],
            "u o canmount=off",
        );
        let parent = format!("{}/{REPLICAS}/{}", r.pool, p.source_host.name());
        if !parents.contains(&parent) {
            parents.push(parent);
        }
    }
    // The replicas keep the critical retention: sanoid prunes the received
    // snapshots (it takes none of its own there), or they would pile up.
    let all = format!("{}/{REPLICAS}", r.pool);
    let d = ["services", "sanoid", "datasets", all.as_str()];
    set(
        m,
        &[d[0], d[1], d[2], d[3], "use_template"],
        Nix::strs([DataClass::Critical.as_str()]),
    );
    set(m, &[d[0], d[1], d[2], d[3], "recursive"], true);
    set(m, &[d[0], d[1], d[2], d[3], "autosnap"], false);
    // zfs receive needs the parent dataset; create it before the first pull.
    let script: Vec<Line> = parents
        .iter()
        .map(|p| {
            line([
                code("zfs"),
                code("list"),
                code("-H"),
                value(p),
                code(">/dev/null 2>&1 ||"),
                code("zfs"),
                code("create"),
                code("-p"),
                code("-o canmount=off -o mountpoint=none"),
                value(p),
            ])
        })
        .collect();
    oneshot(
        m,
        "homelab-replica-datasets",
        "Create the datasets replicas are received below",
        &script,
        &["zfs-mount.service"],
        &units.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

/// On a source host: the user the replica logs in as, with just the ZFS
/// rights a pull needs on exactly the replicated datasets, and a key that
/// opens only the forced command, only from the replica host's address
/// (`restrict`: no terminal, no forwarding of any kind).
fn serve(m: &mut Attrs, public_key: &str, from: &str, datasets: &[&str]) {
    let u = ["users", "users", USER];
    set(m, &[u[0], u[1], u[2], "isSystemUser"], true);
    set(m, &[u[0], u[1], u[2], "group"], USER);
    // sshd runs the forced command through the login shell.
    set(m, &[u[0], u[1], u[2], "useDefaultShell"], true);
    let key = Nix::Interp(vec![
        Nix::str(format!("restrict,from=\"{from}\",command=\"")),
        forced_command(datasets),
        Nix::str(format!("\" {public_key}")),
    ]);
    set(
        m,
        &[u[0], u[1], u[2], "openssh", "authorizedKeys", "keys"],
        Nix::list([key]),
    );
    set(m, &["users", "groups", USER], Nix::Attrs(Attrs::new()));
    // `zfs allow` adds to what a dataset grants: an earlier generation's
    // rights (`destroy`, `snapshot`) are taken back first.
    let script: Vec<Line> = datasets
        .iter()
        .flat_map(|d| {
            [
                line([
                    code("zfs"),
                    code("unallow"),
                    code("-u"),
                    code(USER),
                    value(*d),
                ]),
                line([
                    code("zfs"),
                    code("allow"),
                    code("-u"),
                    code(USER),
                    code(SOURCE_ALLOW),
                    value(*d),
                ]),
            ]
        })
        .collect();
    oneshot(
        m,
        "homelab-replica-source",
        "Allow the replica host to pull ZFS snapshots",
        &script,
        &["zfs-mount.service"],
        &[],
    );
}

/// The store script the replica's key runs: `zfs` and `zpool` of the
/// host's ZFS, the replicated datasets and their pools (each value one
/// word through `lib.escapeShellArg`), then the fixed script.
fn forced_command(datasets: &[&str]) -> Nix {
    let mut pools: Vec<&str> = Vec::new();
    for d in datasets {
        let pool = d.split('/').next().unwrap_or(d);
        if !pools.contains(&pool) {
            pools.push(pool);
        }
    }
    let member = |name: &'static str, list: &[&str]| {
        line(
            std::iter::once(code(name))
                .chain(list.iter().map(|v| value(*v)))
                .chain(std::iter::once(code(
                    "; do [ \"$1\" = \"$x\" ] && return 0; done; return 1; }",
                ))),
        )
    };
    let lists = vec![
        member("replicated() { for x in", datasets),
        member("replicated_pool() { for x in", &pools),
    ];
    Nix::call(
        "pkgs.writeShellScript",
        vec![
            Nix::str("homelab-replica-command"),
            Nix::Concat(vec![
                Nix::Interp(vec![
                    Nix::str("PATH="),
                    Nix::raw("config.boot.zfs.package"),
                    Nix::str("/bin\n"),
                ]),
                Nix::script(lists),
                Nix::str(COMMAND_SCRIPT),
            ]),
        ],
    )
}

/// The syncoid service of the replica host runs with a read-only `/etc`
/// and a home of its own: the sources' host keys must be in the system's
/// known hosts, or every pull fails host key verification.
fn known_hosts(m: &mut Attrs, pulled: &[crate::fleet::Pulled]) {
    let mut hosts: Vec<&HostPlan> = pulled.iter().map(|p| p.source_host).collect();
    hosts.dedup_by_key(|h| h.name().to_string());
    for host in hosts {
        let spec = &host.spec;
        let Some(key) = &spec.host_key else { continue };
        // Only the key type and the key: `publicKey` takes no host names
        // or comments.
        let key: Vec<&str> = key.value.split_whitespace().take(2).collect();
        let k = ["programs", "ssh", "knownHosts", host.name()];
        set(
            m,
            &[k[0], k[1], k[2], k[3], "hostNames"],
            Nix::strs([spec.address.value.as_str()]),
        );
        set(m, &[k[0], k[1], k[2], k[3], "publicKey"], key.join(" "));
    }
}

fn oneshot(
    m: &mut Attrs,
    name: &str,
    description: &str,
    script: &[Line],
    after: &[&str],
    before: &[&str],
) {
    let u = ["systemd", "services", name];
    set(m, &[u[0], u[1], u[2], "description"], description);
    set(
        m,
        &[u[0], u[1], u[2], "wantedBy"],
        Nix::strs(["multi-user.target"]),
    );
    set(
        m,
        &[u[0], u[1], u[2], "after"],
        Nix::strs(after.iter().copied()),
    );
    if !before.is_empty() {
        set(
            m,
            &[u[0], u[1], u[2], "before"],
            Nix::strs(before.iter().copied()),
        );
    }
    set(
        m,
        &[u[0], u[1], u[2], "path"],
        Nix::list([Nix::raw("config.boot.zfs.package")]),
    );
    set(m, &[u[0], u[1], u[2], "serviceConfig", "Type"], "oneshot");
    set(
        m,
        &[u[0], u[1], u[2], "serviceConfig", "RemainAfterExit"],
        true,
    );
    set(
        m,
        &[u[0], u[1], u[2], "script"],
        Nix::script(script.to_vec()),
    );
}
