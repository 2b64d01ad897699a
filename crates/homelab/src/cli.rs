//! The command line as data: every command, argument and its help text.
//! Parsing only; the commands themselves live in `commands/`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// One homelab.toml → a checked, complete NixOS flake.
///
/// Describe your machines and services in `homelab.toml`; `homelab check`
/// validates the whole system and `homelab build` writes a NixOS flake
/// (services, ZFS datasets, snapshots, backups, reverse proxy with TLS,
/// tailnet and tunnel access, status checks, dashboard, secrets);
/// `homelab plan` shows what a change of the spec does before you deploy it.
/// `homelab secrets` makes and rekeys the agenix files; on a host,
/// `homelab backup` and `homelab restore` back up, drill and restore each
/// service from the plan the build installed.
///
/// Start with `homelab init`, or try a built-in example:
/// `homelab build --example frame1 --out /tmp/flake`.
#[derive(Parser)]
#[command(name = "homelab", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Print a shell completion script for homelab.
    #[command(
        after_help = "Examples:\n  homelab completions bash > ~/.local/share/bash-completion/completions/homelab\n  homelab completions zsh > ~/.zfunc/_homelab\n  homelab completions fish > ~/.config/fish/completions/homelab.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print homelab's manual page (roff), made from this help.
    #[command(after_help = "Examples:\n  homelab man > ~/.local/share/man/man1/homelab.1")]
    Man,
    /// Write a commented starter homelab.toml.
    ///
    /// The starter is the spec README.md shows: one host, four services,
    /// the proxy, the tailnet and offsite backups. Its admin key and disks
    /// are placeholders (`check` warns about them, `build` and `secrets`
    /// refuse them) until you put in your own: --admin-key writes your key
    /// now; the disks are named on the machine (`ls -l /dev/disk/by-id/`).
    /// Refuses to overwrite an existing spec.
    #[command(after_help = "Examples:\n  homelab init ~/homelab --admin-key ~/.ssh/id_ed25519.pub")]
    Init {
        /// Folder to create the spec in.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Your SSH public key file (`~/.ssh/id_ed25519.pub`), written into
        /// `admin_keys` instead of the example key: you log in with it and
        /// every secret is encrypted to it.
        #[arg(long, value_name = "FILE")]
        admin_key: Option<PathBuf>,
    },
    /// Validate the spec: syntax, references, ports, names, access.
    ///
    /// Exit status: 0 when clean (warnings allowed), 1 when the spec has
    /// errors, 2 when it could not be read.
    Check {
        #[command(flatten)]
        input: Input,
        #[command(flatten)]
        display: Display,
    },
    /// Check the spec, then write the NixOS flake.
    ///
    /// The flake is written atomically: on any failure the previous tree is
    /// left as it was. Files you own (hosts/<host>/hardware.nix and
    /// extra.nix, secrets/*.age) are kept; a generated file edited by hand
    /// stops the build unless --force is given. Symlinks are never written
    /// through, and the output may not be `/` or a folder holding the spec.
    /// A FIFO, socket or device in the output folder stops the build, named,
    /// before any file is opened.
    Build {
        #[command(flatten)]
        input: Input,
        /// Output folder [default: `flake` next to the spec, or ./flake
        /// with --example].
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Overwrite generated files even when they were edited by hand, and
        /// take over a non-empty folder homelab did not create.
        #[arg(long)]
        force: bool,
        /// The homelab flake the generated flake takes as its `homelab`
        /// input (the package and module its hosts run backups with): a
        /// clone as `git+file:///path/to/homelab` or `path:/…`, or
        /// `github:<owner>/<repo>/<ref>` [default: `[homelab]
        /// homelab_flake`, else the clone this binary was built from].
        #[arg(long, value_name = "FLAKE")]
        homelab_flake: Option<String>,
        #[command(flatten)]
        display: Display,
    },
    /// Show what a change of the spec does, per host, before deploying it
    ///
    /// Compares the spec with an earlier one and lists, per host and in the
    /// spec's own terms, what changes: services added, removed or moved;
    /// exposure and sign-in widened or narrowed; ports and names; datasets,
    /// quotas, record sizes and data classes; snapshots, replicas and
    /// offsite copies; secrets and the hosts that decrypt them; and what a
    /// switch does not apply (pools and disks, the boot disk,
    /// state_version, the host id, a host's address).
    ///
    /// Each line has a severity. `risk`: exposure widened, a copy of data
    /// lost (snapshots, replica, offsite), a dataset or a service with data
    /// removed. `disruptive`: needs a reinstall, a reboot or a step by hand.
    /// `change`: the rest. Risky lines come first and, on a terminal, in red.
    ///
    /// The earlier spec is, by default, the one the last `homelab build`
    /// recorded in the flake folder (flake/.homelab/spec.toml): the plan
    /// shows what the next build and deploy change. Without a recorded
    /// build, everything is new. --against names another:
    ///
    ///   --against DIR       DIR/homelab.toml (or the spec recorded by the
    ///                       build in DIR, when DIR is a flake folder)
    ///   --against FILE      that spec file
    ///   --against GIT-REF   the spec at that commit (`git show REF:<path>`,
    ///                       git run in the spec's folder); taken for a ref
    ///                       when no folder or file has that name
    ///
    /// Examples:
    ///
    ///   homelab plan                          since the last build
    ///   homelab plan --against HEAD           what the uncommitted edits do
    ///   homelab plan --against main --diff    and the generated files' diff
    ///   homelab plan --json --exit-code       for a script
    ///
    /// Exit status: 0 it ran (with or without changes), 1 the spec has
    /// errors, 2 it could not run (the earlier spec is missing or does not
    /// compile); with --exit-code, 3 when there are changes.
    #[command(verbatim_doc_comment)]
    Plan {
        #[command(flatten)]
        input: Input,
        /// Compare against DIR/homelab.toml, a spec file or the spec at a
        /// git commit [default: the spec the last build recorded].
        #[arg(long, value_name = "DIR|FILE|GIT-REF")]
        against: Option<String>,
        /// Also print the unified diff of the generated files.
        #[arg(long)]
        diff: bool,
        /// Print the changes (and the files that differ) as JSON.
        #[arg(long)]
        json: bool,
        /// Exit with 3 when there are changes, 0 when there are none.
        #[arg(long)]
        exit_code: bool,
    },
    /// Print a table computed from the spec.
    ///
    /// ports: every listening port per host; exposure: who can reach each
    /// service (LAN, tailnet, tunnel) and how people sign in to it (OIDC,
    /// the sign-in gateway and its groups, its own login, none); storage:
    /// datasets, quotas and the pool
    /// budget; snapshots: what is snapshotted how often; resources: RAM
    /// estimates against each host; graph: what each service needs;
    /// backups: how every state directory is protected; network: the
    /// segments (VLANs), who in them reaches what, and what the router
    /// must do.
    ///
    /// Errors in the spec are printed before the table (it is printed all
    /// the same); warnings are counted in one line on stderr, and
    /// `homelab check` lists them.
    Show {
        /// Which table.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(compile::show::TABLES))]
        table: String,
        #[command(flatten)]
        input: Input,
        /// Print the rows as a JSON array of objects.
        #[arg(long)]
        json: bool,
    },
    /// Write one self-contained HTML page about the homelab.
    ///
    /// The page holds the access matrix, storage and memory bars per host,
    /// the dependency graph, backup coverage per state directory and every
    /// finding of `check`. It loads nothing from the network and runs no
    /// script. It is written even when the spec has errors (they are on the
    /// page); the exit status is then 1.
    ///
    /// The page replaces a page homelab report wrote before, or an empty
    /// file, through a new file and a rename (a symlink there is replaced,
    /// never followed). It never replaces the spec, a folder, a FIFO or a
    /// device, and replaces any other file only with --force; a refusal
    /// exits with 1 and writes nothing.
    Report {
        #[command(flatten)]
        input: Input,
        /// Where to write the page.
        #[arg(long, short, default_value = "report.html")]
        out: PathBuf,
        /// Replace a file at --out that is not a page homelab report wrote.
        #[arg(long)]
        force: bool,
    },
    /// Probe the whole homelab now: hosts, units, names, certificate,
    /// backups.
    ///
    /// Run on your own computer, in the folder of homelab.toml. Every host
    /// is asked over SSH (one connection each, as `[status] ssh_user`, by
    /// default the `admin_user`, with `sudo -n` for homelab's records)
    /// whether each unit of its services and infrastructure is active, and
    /// when each service was last backed up and drilled; every name the
    /// front proxy serves is asked for through the proxy, with TLS (SNI and
    /// Host set to the name), at its health path; the proxy's certificate
    /// must be valid for more than `[status] certificate_days` (14). All
    /// probes run at once, each within `[status] probe_timeout` (5 s), the
    /// run within `[status] timeout` (30 s).
    ///
    /// The report is grouped by host, with a one-line summary on top:
    /// `homelab status` exits 0 when everything is up, 1 when anything is
    /// down (each named, with what its probe saw), 2 when it could not run.
    ///
    /// Examples:
    ///   homelab status                     # everything, once
    ///   homelab status --host nas --json   # one host, for a script
    ///   homelab status --watch             # again every 10 s, in place
    Status {
        #[command(flatten)]
        input: Input,
        /// Probe only this host (repeatable) [default: every host].
        #[arg(long = "host", value_name = "HOST")]
        hosts: Vec<String>,
        /// Print the report as JSON.
        #[arg(long, conflicts_with = "watch")]
        json: bool,
        /// Probe again every SECONDS (default 10) and redraw in place;
        /// Ctrl-C stops.
        #[arg(
            long,
            value_name = "SECONDS",
            num_args = 0..=1,
            default_missing_value = "10",
            value_parser = clap::value_parser!(u64).range(1..=3600)
        )]
        watch: Option<u64>,
        #[command(flatten)]
        reach: Reach,
    },
    /// Prove what is reachable from where this runs.
    #[command(subcommand)]
    Verify(VerifyCommand),
    /// Change the running hosts: build, snapshot, switch, gate, and roll
    /// back a host whose new system is not healthy.
    ///
    /// Checks the spec and writes the flake (as `homelab build`), builds
    /// each host's system (`[deploy] build_on`: here, on the host itself,
    /// or on another host), then for each host, in parallel: records the
    /// system it runs; snapshots its critical datasets
    /// (`<dataset>@homelab-deploy-<id>`); copies the new system; sets the
    /// system profile and runs `switch-to-configuration switch` as a
    /// transient unit (`systemd-run`), so a dropped SSH connection does not
    /// stop it, and reads its exit code (1 pre-switch check or boot loader,
    /// 2 activation, 4 a unit failed); then the health gate: the host's
    /// part of `homelab status` must pass 3 times in a row, probing every
    /// 2 s, within 120 s (`[deploy]`, `[hosts.<h>] gate_window`). A failed
    /// switch or gate switches back to the recorded system, gates it again,
    /// and says which probe failed and what it saw.
    ///
    /// Exit status: 0 every host is on its new system and healthy (or
    /// staged with --boot), 1 a host failed or was rolled back, 2 could not
    /// run. Each deploy is kept in the history: `homelab deploy --log`.
    ///
    /// Examples:
    ///   homelab plan && homelab deploy          # every host
    ///   homelab deploy nas                      # one host
    ///   homelab deploy --dry-run                # the steps and commands
    ///   homelab deploy --all-or-nothing         # one fails: all go back
    Deploy {
        /// Hosts to deploy [default: every host].
        #[arg(value_name = "HOST")]
        hosts: Vec<String>,
        /// The spec file.
        #[arg(long, default_value = "homelab.toml")]
        spec: PathBuf,
        /// How many hosts at once [default: all].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        parallel: Option<u16>,
        /// Print each host's steps and the exact commands; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Make the new system the one the hosts boot next; activate
        /// nothing now (no gate).
        #[arg(long)]
        boot: bool,
        /// When one host fails, switch every deployed host back too.
        #[arg(long)]
        all_or_nothing: bool,
        /// Print the outcome of each host as JSON.
        #[arg(long)]
        json: bool,
        /// Show the deploy history (newest last) instead of deploying.
        #[arg(long)]
        log: bool,
        #[command(flatten)]
        reach: Reach,
    },
    /// Install a new machine as HOST of the spec, from a running
    /// installer (any Linux with SSH as root, such as the NixOS installer).
    ///
    /// In order, each step skipped when it is done already: the host's SSH
    /// key is made and recorded in the spec (`host_key`), its private half
    /// kept encrypted to the admin keys in secrets/host-keys/HOST.age; every
    /// secret is encrypted to it; the flake is written; the target's disks
    /// are held against the spec's `/dev/disk/by-id` names (a mismatch is
    /// refused unless --force: disko erases what it lays out); nixos-anywhere
    /// installs with the key in `--extra-files` (so agenix decrypts on the
    /// first boot), disko's layout, and the hardware scan written to
    /// hosts/HOST/hardware.nix; then the host is awaited at its address and
    /// probed (`homelab status --host HOST`).
    ///
    /// Exit status: 0 installed and every probe up, 1 a step failed or a
    /// probe is down, 2 could not run.
    ///
    /// Examples:
    ///   homelab install server --target 192.168.1.50 --dry-run
    ///   homelab install server --target 192.168.1.50
    Install {
        /// The host of the spec to install.
        host: String,
        /// The installer's address (root logs in there by key).
        #[arg(long, value_name = "ADDR")]
        target: String,
        /// The installer's SSH port.
        #[arg(long, value_name = "PORT", default_value_t = 22)]
        target_port: u16,
        #[command(flatten)]
        place: SecretsPlace,
        /// Print the steps and the exact commands; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Install even when the target's disks are not the spec's.
        #[arg(long)]
        force: bool,
        /// Read this ssh configuration file instead of yours (`ssh -F`).
        #[arg(long, value_name = "FILE")]
        ssh_config: Option<PathBuf>,
        /// How long to wait for the installed host to answer, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 900)]
        wait: u64,
    },
    /// After a disaster: bring a host's services back, proven by drills.
    ///
    /// From your computer, with HOST: installs the new machine as HOST
    /// when --target is given (all of `homelab install`), then asks the
    /// host over SSH to recover, and prints its report. On the host itself,
    /// without HOST: every service of its plan is brought back from the
    /// nearest repository that answers (the NAS's replica, else offsite;
    /// --from to choose), its database with its files, the host's own
    /// state first; a service the first boot's preseed restored already is
    /// not restored twice; then each is drilled from where it came. The
    /// report gives, per service, the snapshot used, the age of its data
    /// (RPO) and how long until it was back (RTO). --plan-only says what
    /// would be restored from where, and how old it is, changing nothing.
    ///
    /// Exit status: 0 every service back and its drill passed (or, with
    /// --plan-only, every service has a snapshot), 1 a service failed, 2
    /// could not run.
    ///
    /// Examples:
    ///   homelab recover server --plan-only
    ///   homelab recover server --target 192.168.1.50
    ///   sudo homelab recover          # on the host
    Recover {
        /// The host to recover (from your computer); without it, this
        /// machine, from its installed plan.
        host_name: Option<String>,
        /// Install the new machine at this address first.
        #[arg(long, value_name = "ADDR", requires = "host_name")]
        target: Option<String>,
        /// The installer's SSH port, with --target.
        #[arg(long, value_name = "PORT", default_value_t = 22, requires = "target")]
        target_port: u16,
        /// Restore from this repository only (`nas`, `offsite`).
        #[arg(long, value_name = "REPO")]
        from: Option<String>,
        /// Say what would be restored from where, and how old it is;
        /// change nothing.
        #[arg(long)]
        plan_only: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        host: HostArgs,
        #[command(flatten)]
        place: SecretsPlace,
        /// Read this ssh configuration file instead of yours (`ssh -F`).
        #[arg(long, value_name = "FILE")]
        ssh_config: Option<PathBuf>,
    },
    /// On a host: upgrade it from its flake now, as its timer does.
    ///
    /// Reads the installed plan (`[deploy] schedule` and `source` in the
    /// spec put the upgrade there). Fetches the flake's newest revision;
    /// one that failed on this host before is not tried again (the host is
    /// stuck until the flake moves on). Builds this host's system; when it
    /// is the running one there is nothing to do. Otherwise records the
    /// running system, switches through `systemd-run`, gates the new system
    /// with the plan's checks (every unit active, every health URL 200, 3
    /// times in a row within 120 s), and switches back when the gate fails.
    /// The result goes to the status page (whose check mails when an
    /// upgrade fails or is stuck) and to /var/lib/homelab/upgrade.json.
    ///
    /// Exit status: 0 upgraded or up to date, 1 rolled back, stuck or
    /// failed, 2 could not run.
    Upgrade {
        #[command(flatten)]
        host: HostArgs,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the built-in service catalog, or show one entry.
    ///
    /// Without NAME: every entry with its kind, default port and one line
    /// about it. With NAME: the NixOS module it drives, its port, data
    /// directories and their classes, health check, login, memory
    /// estimate, and what it depends on.
    #[command(
        after_help = "Examples:\n  homelab catalog\n  homelab catalog immich\n  homelab catalog grafana --json"
    )]
    Catalog {
        /// The entry to show.
        name: Option<String>,
        /// Print JSON (an array of entries, or the one entry).
        #[arg(long)]
        json: bool,
    },
    /// Back up, drill and check the backups of this host's services.
    ///
    /// Runs on a host, from the plan `homelab build` installed there
    /// (/etc/homelab/plan.json; --plan to name another): `run` dumps each
    /// database and captures the files at one moment into every repository
    /// of the plan, with a manifest of hashes and row counts; `drill`
    /// restores the newest snapshot into scratch space and checks every
    /// file and table against it; `status` says what falls short of each
    /// service's data class; `preseed` restores a fresh host's empty data.
    /// The generated flake runs `run` and `drill --all` on timers; run them
    /// by hand after an install or a change. See docs/backup.md.
    #[command(
        after_help = "Examples:\n  homelab backup run                 # every service of this host\n  homelab backup run immich          # one service, now\n  homelab backup drill --all         # prove every service restores\n  homelab backup status              # what falls short, exit 1 if any"
    )]
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Put a snapshot of a service back in place, never losing current data.
    ///
    /// Restores into staging and verifies it against the manifest first;
    /// then stops the service, moves its current folders aside (kept as
    /// `<path>.before-restore-<time>`), moves the restored ones in, keeps a
    /// dump of the current database and loads the snapshot's, verifies,
    /// starts the service and probes its health. Any failure puts the old
    /// data back and starts the service again; a restore that was killed
    /// half way is undone by the next `homelab restore`.
    ///
    /// Exit status: 0 restored and healthy, 1 the restore failed (the old
    /// data is back), 2 could not run.
    Restore {
        /// The service to restore.
        service: String,
        /// A snapshot id (or a unique prefix of one) [default: the latest].
        #[arg(long, conflicts_with = "at")]
        snapshot: Option<String>,
        /// The newest snapshot taken at or before this time (RFC 3339,
        /// e.g. 2026-05-01T12:00:00Z).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// The repository to restore from [default: the service's first].
        #[arg(long, value_name = "REPO")]
        from: Option<String>,
        #[command(flatten)]
        host: HostArgs,
        /// Print what was restored as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create, edit, generate, rekey and check the agenix secrets.
    ///
    /// Every secret the spec uses is one `secrets/<name>.age` file in the
    /// flake folder, in agenix format: encrypted to the admin keys and to
    /// the SSH host key of each host that decrypts it. Start with
    /// `homelab secrets list`, make the machine-made ones with
    /// `homelab secrets generate`, set the others with
    /// `homelab secrets set NAME`, and run `homelab secrets check` before
    /// deploying. After adding or reinstalling a host:
    /// `homelab secrets add-host HOST --scan`, then `homelab secrets rekey`.
    ///
    /// Decrypting needs the admin identity: --identity FILE, else
    /// $HOMELAB_IDENTITY, else ~/.ssh/id_ed25519 (an OpenSSH ed25519 key
    /// or an age identity file).
    ///
    /// Files are written as `build` writes the flake: a new file, then a
    /// rename. Nothing is written through a symlinked flake folder,
    /// `secrets/` or `secrets/host-keys/`, nor at a `.age` path that is a
    /// symlink, FIFO or device, nor into a spec that is a symlink: such a
    /// path is named and refused before anything is made or written.
    ///
    /// Exit status: 0 ok, 1 a problem was found, 2 the command could not run.
    Secrets {
        #[command(flatten)]
        place: SecretsPlace,
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

/// How the admin machine reaches the homelab.
#[derive(clap::Args, Clone)]
pub struct Reach {
    /// Ask for names at this address instead of the front proxy's
    /// address (a tailnet address, the home's public address).
    #[arg(long, value_name = "ADDR")]
    pub via: Option<String>,
    /// Read this ssh configuration file instead of yours (`ssh -F`).
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
}

/// `homelab verify …`: proofs from outside.
#[derive(Subcommand)]
pub enum VerifyCommand {
    /// Prove that each service is reachable exactly where it is declared.
    ///
    /// Run it from the place you name with --from: a computer on the LAN,
    /// one of the admin devices of `[access.tailscale] admins` on the
    /// tailnet (admin), another device on the tailnet (tailnet: a family
    /// phone), or one on the internet (a phone on mobile data, a cloud
    /// VM). It tries every service by every route: its name at the front
    /// proxy (with TLS), its tunnel name from the internet, and each of
    /// its ports directly at each host's address (the LAN address from
    /// the LAN, `tailnet_address` from the tailnet, `[status]
    /// public_address` from the internet). Each answer is held against
    /// the declared exposure, the model `check` and `show exposure` use:
    /// an `admins` name must answer an admin device and refuse every
    /// other device of the tailnet.
    ///
    /// A route that answers where it must not is an error naming the route
    /// and the rule (a port opened by hand, a published container port, a
    /// DNAT); one that does not answer where it must is a warning.
    ///
    /// Exit status: 0 as declared (warnings allowed), 1 something is
    /// reachable where it must not be, 2 could not run.
    ///
    /// Examples:
    ///   homelab verify exposure --from lan
    ///   homelab verify exposure --from admin --via 100.101.102.103
    ///   homelab verify exposure --from tailnet --via 100.101.102.103
    ///   homelab verify exposure --from public
    Exposure {
        #[command(flatten)]
        input: Input,
        /// Where this runs.
        #[arg(long, value_name = "WHERE", value_parser = clap::builder::PossibleValuesParser::new(["lan", "admin", "tailnet", "public"]))]
        from: String,
        /// Ask for every name and port at this address instead.
        #[arg(long, value_name = "ADDR")]
        via: Option<String>,
        /// Print every route tried as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `homelab backup …`: the backups of the services of this host.
#[derive(Subcommand)]
pub enum BackupCommand {
    /// Back up services now: database dump and files at one moment, to
    /// every repository, with a manifest.
    ///
    /// Per service: its units are stopped, its PostgreSQL database is
    /// dumped (pg_dump -Fc) and its files are frozen (a ZFS snapshot where
    /// every path is a dataset, else the stopped tree itself), so files and
    /// database show the same moment. A manifest (size and SHA-256 of every
    /// file, row count of every table) goes into the snapshot. Snapshots
    /// are tagged with the service's name.
    ///
    /// Exit status: 0 all backed up, 1 a service failed, 2 could not run.
    Run {
        /// Services to back up [default: every service of the plan].
        services: Vec<String>,
        #[command(flatten)]
        host: HostArgs,
        /// Print the snapshots made as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prove the latest snapshots come back: restore, verify, time it.
    ///
    /// Restores the latest snapshot of each service into scratch space,
    /// checks every file against the manifest, restores every database dump
    /// into a throwaway PostgreSQL and compares row counts, measures the
    /// recovery time, records the result for `status`, and cleans up.
    /// Live data is never touched.
    ///
    /// Exit status: 0 every drill passed, 1 a drill found a difference or
    /// failed, 2 could not run.
    Drill {
        /// Services to drill.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        services: Vec<String>,
        /// Drill every service of the plan.
        #[arg(long)]
        all: bool,
        /// The repository to restore from [default: each service's first].
        #[arg(long, value_name = "REPO")]
        from: Option<String>,
        #[command(flatten)]
        host: HostArgs,
        /// Print the drill results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Bring a fresh host's services back before their first start.
    ///
    /// For each service whose folders and database are empty, restores the
    /// latest snapshot from the first repository of the plan that has one
    /// (the NAS, then offsite). A service that has any data is never
    /// touched. The generated flake runs this in a unit ordered before the
    /// services.
    ///
    /// Exit status: 0 restored or nothing to do, 1 a restore failed, 2
    /// could not run.
    Preseed {
        /// Services to preseed [default: all].
        services: Vec<String>,
        #[command(flatten)]
        host: HostArgs,
        /// Print what happened as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show how well each service is protected, and every shortfall.
    ///
    /// Per service and repository: the newest snapshot and its age, whether
    /// the repository answers and passes `restic check`, the last drill
    /// with its recovery time, and every way the service falls short of
    /// its data class's policy (no snapshot young enough, no passing drill
    /// within 30 days, no offsite copy).
    ///
    /// On a host it reads the installed plan. On the admin machine — in
    /// the folder of homelab.toml (or with --spec) and without --plan — it
    /// asks every NixOS host of the spec over SSH (`ssh <admin_user>@<address>`
    /// runs `sudo -n homelab backup status --json` there) and prints one table with
    /// a HOST column; a host that does not answer is a row that says so.
    ///
    /// Exit status: 0 nothing falls short, 1 something does (or a host did
    /// not answer), 2 could not run.
    Status {
        /// Services to show [default: all].
        services: Vec<String>,
        /// The spec whose hosts to ask [default: ./homelab.toml, when
        /// there is one and no --plan is given].
        #[arg(long, value_name = "FILE", conflicts_with = "plan")]
        spec: Option<PathBuf>,
        /// Ask only this host (repeatable) [default: every NixOS host].
        #[arg(long = "host", value_name = "HOST")]
        hosts: Vec<String>,
        #[command(flatten)]
        host: HostArgs,
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Where the operating commands find the host plan and the host's files.
#[derive(clap::Args)]
pub struct HostArgs {
    /// The host plan the build wrote (hosts/<host>/plan.json)
    /// [default: /etc/homelab/plan.json].
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Take every absolute path of the plan under this folder, as
    /// `nixos-install --root` does (tests, rescue systems).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
}

impl HostArgs {
    /// The plan named, or the one a deployed host has installed.
    pub fn plan_path(&self) -> PathBuf {
        self.plan
            .clone()
            .unwrap_or_else(|| PathBuf::from(compile::plan::INSTALLED_PATH))
    }
}

/// Where the secrets are and who decrypts them.
#[derive(Clone, clap::Args)]
pub struct SecretsPlace {
    /// The spec file.
    #[arg(long, global = true, default_value = "homelab.toml")]
    pub spec: PathBuf,
    /// The flake folder [default: `flake` next to the spec, as `build`].
    #[arg(long, global = true)]
    pub flake: Option<PathBuf>,
    /// The admin's private key (OpenSSH ed25519 or age identity file).
    #[arg(long, global = true, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Every secret the fleet needs: who uses it, its recipients, and
    /// whether its file is present, missing or stale.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Encrypt a value as secret NAME, read from standard input (exactly
    /// as given) or asked on the terminal without echo. An empty value is
    /// refused.
    Set { name: String },
    /// Edit secret NAME in $EDITOR.
    ///
    /// The value is decrypted into a 0600 file in a private folder that is
    /// removed afterwards, whatever the editor does; the file is encrypted
    /// again only when the content changed.
    Edit { name: String },
    /// Decrypt secret NAME to standard output.
    Show { name: String },
    /// Make every machine-made secret that is missing (or only NAMEs).
    ///
    /// Random passwords and keys with the length and alphabet the catalog
    /// gives, SSH key pairs (the public half is written into the spec), and
    /// hashes of another secret for services that keep only the hash. An
    /// existing secret is never made again unless named with --regenerate.
    Generate {
        names: Vec<String>,
        /// Make this secret again even though it exists (and what is
        /// derived from it). May be repeated.
        #[arg(long, value_name = "NAME")]
        regenerate: Vec<String>,
    },
    /// Re-encrypt every file whose recipients differ from the spec's.
    ///
    /// Run it after adding, removing or reinstalling a host, or changing
    /// admin keys. Files already encrypted to the right keys are left
    /// byte for byte as they are.
    Rekey,
    /// Check every secret file: missing, not encrypted, encrypted to the
    /// wrong recipients, or not decryptable with the admin identity.
    ///
    /// Exit status 1 when any is found, one message per problem.
    Check {
        /// Print the problems as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Record the SSH ed25519 host key of HOST in the spec (`host_key`).
    ///
    /// agenix on a host decrypts its secrets with the host's SSH key, so
    /// every secret a host reads is encrypted to that key as well as to the
    /// admin keys; this records the key, keeping the spec's comments and
    /// layout. Three ways to get it:
    ///
    /// --generate: before the host is installed (the usual first step):
    /// makes the key pair now, writes the public half into the spec and
    /// keeps the private half in flake/secrets/host-keys/HOST.age, encrypted
    /// to the admin keys, for the installer to place at
    /// /etc/ssh/ssh_host_ed25519_key (docs/install.md, step 2).
    ///
    /// --scan: a host that is running: asks it with ssh-keyscan at its
    /// `address` (trust on first use: compare the SHA256 fingerprint printed
    /// with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on its
    /// console). Also after a reinstall, which makes a new key.
    ///
    /// --key FILE: from the host's .pub file.
    ///
    /// Then run `homelab secrets rekey`: files the host reads are encrypted
    /// to the new key.
    #[command(
        after_help = "Examples:\n  homelab secrets add-host server --generate\n  homelab secrets add-host nas --scan\n  homelab secrets add-host nas --key ssh_host_ed25519_key.pub"
    )]
    AddHost {
        host: String,
        /// The host's public key file (/etc/ssh/ssh_host_ed25519_key.pub).
        #[arg(long, value_name = "FILE", group = "source")]
        key: Option<PathBuf>,
        /// Ask the running host with ssh-keyscan (trust on first use:
        /// compare the fingerprint printed with the host's console).
        #[arg(long, group = "source")]
        scan: bool,
        /// SSH port for --scan.
        #[arg(long, requires = "scan")]
        port: Option<u16>,
        /// Make the host's key pair now, before installing it.
        #[arg(long, group = "source")]
        generate: bool,
    },
}

#[derive(clap::Args)]
pub struct Input {
    /// The spec file.
    #[arg(default_value = "homelab.toml", conflicts_with = "example")]
    pub spec: PathBuf,
    /// Use a spec built into homelab instead of a file (family, forge, frame1, nuc).
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
}

#[derive(clap::Args)]
pub struct Display {
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}
