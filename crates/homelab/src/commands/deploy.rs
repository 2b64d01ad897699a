//! `homelab deploy [HOST…]`: the flake written, each host's system built
//! where the spec says, then the steps of `operate::deploy` for every host
//! in parallel, with a live line per host, a summary, and the history.

use crate::cli::{Format, Reach};
use crate::print::{self, Paint, fail};
use crate::source::Source;
use compile::deploy::{Target, targets};
use compile::fleet::{BuildOn, Fleet};
use compile::probes::{Probes, probes};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use operate::deploy::copy::{self, Store};
use operate::deploy::gate::{RealClock, Round};
use operate::deploy::log::{self, Entry};
use operate::deploy::record::PROFILE;
use operate::deploy::run::{Job, Outcome, Result_, Step, deploy_all};
use operate::deploy::snapshot;
use operate::deploy::switch::{self, Goal};
use operate::probe::status::{self, Options as ProbeOptions};
use operate::runner::{Cmd, Local, Ssh};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Clone)]
pub struct Options {
    /// `path:<flake folder>`, set once the flake is written.
    pub flake: String,
    pub hosts: Vec<String>,
    pub parallel: Option<usize>,
    pub dry_run: bool,
    pub boot: bool,
    pub all_or_nothing: bool,
    pub json: bool,
    pub reach: Reach,
}

pub fn run(src: &Source, o: &Options) -> ExitCode {
    // A dry run changes nothing: the flake is not written either.
    let (fleet, flake) = if o.dry_run {
        match print::fleet(src) {
            Ok(f) => (
                f,
                crate::source::default_flake(src).unwrap_or_else(|| "flake".into()),
            ),
            Err(code) => return code,
        }
    } else {
        // With `--json` standard output is the outcomes' alone.
        match super::build::write(src, None, false, None, Format::Human, o.json) {
            Ok(built) => built,
            Err(code) => return code,
        }
    };
    // Nix takes the folder as a path flake: in a git repository a
    // `git+file` flake would not see files not yet committed.
    let flake = std::path::absolute(&flake).unwrap_or(flake);
    let o = &Options {
        flake: format!("path:{}", flake.display()),
        ..o.clone()
    };
    let all = targets(&fleet);
    let names: Vec<&str> = all.iter().map(|t| t.host.as_str()).collect();
    if let Some(h) = o.hosts.iter().find(|h| !names.contains(&h.as_str())) {
        return fail(format!(
            "the spec has no host `{h}`; hosts: {}",
            names.join(", ")
        ));
    }
    let chosen: Vec<&Target> = all
        .iter()
        .filter(|t| o.hosts.is_empty() || o.hosts.contains(&t.host))
        .collect();
    let id = jiff::Zoned::now().strftime("%Y%m%d-%H%M%S").to_string();
    let goal = if o.boot { Goal::Boot } else { Goal::Switch };
    if o.dry_run {
        print!("{}", dry_run(&fleet, &flake, &chosen, &id, goal, o));
        return ExitCode::SUCCESS;
    }
    let view = View::new(&chosen, o.json);
    let mut built: BTreeMap<String, Result<String, String>> = BTreeMap::new();
    for t in &chosen {
        view.say(&t.host, "building the system");
        let on = builder(&fleet, t, o);
        let system = copy::build(&Local, &flake, &t.attribute, on.as_ref()).map_err(|e| e.0);
        built.insert(t.host.clone(), system);
    }
    let all_probes = probes(&fleet);
    let mut jobs = Vec::new();
    let mut outcomes = Vec::new();
    for t in &chosen {
        match &built[&t.host] {
            Ok(system) => jobs.push(job(&fleet, &all_probes, t, system, goal, o)),
            Err(e) => outcomes.push(failed_build(&t.host, e)),
        }
    }
    let step = |host: &str, s: Step| view.step(host, &s);
    let parallel = o.parallel.unwrap_or(jobs.len()).max(1);
    outcomes.extend(deploy_all(
        &jobs,
        &id,
        parallel,
        o.all_or_nothing,
        &RealClock,
        &step,
    ));
    view.finish();
    keep(&id, &outcomes);
    if o.json {
        print::json(&outcomes);
    } else {
        print!("{}", summary(&outcomes, Paint::stdout()));
    }
    let all_well = outcomes
        .iter()
        .all(|x| matches!(x.result, Result_::Deployed | Result_::Staged));
    if all_well {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Where `t`'s system is built: `None` here, else that host's store.
fn builder(fleet: &Fleet, t: &Target, o: &Options) -> Option<Store> {
    let store_of = |name: &str| {
        targets(fleet)
            .into_iter()
            .find(|x| x.host == name)
            .map(|x| store(&x, o))
    };
    match &fleet.deploy.build_on {
        BuildOn::Local => None,
        BuildOn::Target => Some(store(t, o)),
        BuildOn::Host(h) => store_of(h),
    }
}

fn store(t: &Target, o: &Options) -> Store {
    Store {
        user: t.probes.ssh_user.clone(),
        address: t.probes.address.clone(),
        port: t.probes.ssh_port,
        ssh_config: o.reach.ssh_config.clone(),
    }
}

fn ssh(t: &Target, o: &Options) -> Ssh {
    probe_options(o).ssh(&t.probes, std::time::Duration::from_secs(10))
}

/// How the gate probes, and SSH reaches the hosts: the user's reach.
fn probe_options(o: &Options) -> ProbeOptions {
    ProbeOptions {
        hosts: Vec::new(),
        front_address: o.reach.via.clone(),
        ssh_config: o.reach.ssh_config.clone(),
        known_hosts: None,
    }
}

/// Whether homelab copies the host's system to it: not when deploy-rs
/// does, nor when it was built in the host's own store.
fn copied(fleet: &Fleet, t: &Target) -> bool {
    match &fleet.deploy.build_on {
        _ if fleet.deploy.tool == "deploy-rs" => false,
        BuildOn::Target => false,
        BuildOn::Host(h) => *h != t.host,
        BuildOn::Local => true,
    }
}

/// The job of one host: where it is, its system, how it is copied there,
/// and its gate's probes (its part of `homelab status`, without records).
fn job(fleet: &Fleet, all: &Probes, t: &Target, system: &str, goal: Goal, o: &Options) -> Job {
    let deploy_rs = fleet.deploy.tool == "deploy-rs";
    let copy: Option<Box<dyn Fn() -> operate::deploy::Result<()> + Send + Sync>> =
        match &fleet.deploy.build_on {
            _ if !copied(fleet, t) => None,
            on => {
                let from = match on {
                    BuildOn::Host(_) => builder(fleet, t, o),
                    _ => None,
                };
                let (system, to) = (system.to_string(), store(t, o));
                Some(Box::new(move || {
                    copy::copy(&Local, &system, from.as_ref(), &to)
                }))
            }
        };
    let one = Probes {
        limits: all.limits,
        front: all.front.clone(),
        hosts: vec![t.probes.clone()],
    };
    let options = probe_options(o);
    let activate: Option<Box<dyn Fn() -> operate::deploy::Result<()> + Send + Sync>> = deploy_rs
        .then(|| {
            let (flake, host, boot) = (o.flake.clone(), t.host.clone(), goal == Goal::Boot);
            Box::new(move || deploy_rs_activate(&flake, &host, boot))
                as Box<dyn Fn() -> operate::deploy::Result<()> + Send + Sync>
        });
    Job {
        host: t.host.clone(),
        runner: Box::new(ssh(t, o)),
        root: t.probes.ssh_user == "root",
        system: system.to_string(),
        goal,
        activate,
        datasets: if fleet.deploy.snapshots {
            t.datasets.clone()
        } else {
            Vec::new()
        },
        gate: t.gate,
        copy,
        probe: Box::new(move || {
            let report = status::status(&one, &options);
            Round {
                failing: report
                    .down()
                    .map(|(_, f)| (format!("{} {}", f.service, f.probe), f.saw.clone()))
                    .collect(),
            }
        }),
    }
}

/// deploy-rs copies and activates the host's node of the flake, with its
/// magic roll-back (an activation that cuts SSH is undone); the gate
/// follows as for homelab's own switch.
fn deploy_rs_activate(flake: &str, host: &str, boot: bool) -> operate::deploy::Result<()> {
    let out = operate::runner::Runner::run(&Local, &deploy_rs(flake, host, boot))
        .map_err(|e| operate::deploy::Error(format!("cannot run deploy-rs: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(operate::deploy::Error(format!(
        "{host}: deploy-rs failed (it rolls back on its own): {}",
        operate::backup::last_words(&out.stderr)
    )))
}

/// deploy-rs's command for the host's node of the flake.
fn deploy_rs(flake: &str, host: &str, boot: bool) -> Cmd {
    let cmd = Cmd::new("deploy").args(["--skip-checks".to_string(), format!("{flake}#{host}")]);
    if boot { cmd.arg("--boot") } else { cmd }
}

fn failed_build(host: &str, why: &str) -> Outcome {
    Outcome::failed(host, Some(format!("{host}: {why}")))
}

/// Appends the deploy to the history; a failure to keep it is a warning.
fn keep(id: &str, outcomes: &[Outcome]) {
    let at = jiff::Timestamp::now().to_string();
    let entries: Vec<Entry> = outcomes
        .iter()
        .map(|x| Entry {
            id: id.to_string(),
            host: x.host.clone(),
            at: at.clone(),
            before: x.before.clone(),
            after: x.after.clone(),
            result: x.result.word().to_string(),
            gate: x.gate.as_ref().map(|g| {
                format!(
                    "{} after {} rounds in {:.0} s",
                    if g.passed { "passed" } else { "failed" },
                    g.rounds,
                    g.seconds
                )
            }),
            seconds: x.seconds,
            message: x.message.clone(),
        })
        .collect();
    if let Err(e) = log::append(&entries) {
        eprintln!("warning: the deploy history was not kept: {e}");
    }
}

/// One line per host, then what failed.
fn summary(outcomes: &[Outcome], paint: Paint) -> String {
    let mut rows = vec![
        ["HOST", "RESULT", "BEFORE", "AFTER", "GATE", "TIME"]
            .map(String::from)
            .to_vec(),
    ];
    rows.extend(outcomes.iter().map(|x| {
        vec![
            x.host.clone(),
            x.result.word().to_string(),
            short(x.before.as_deref()),
            short(x.after.as_deref()),
            x.gate.as_ref().map_or("-".into(), |g| {
                format!(
                    "{} ({} rounds)",
                    if g.passed { "passed" } else { "FAILED" },
                    g.rounds
                )
            }),
            format!("{:.0} s", x.seconds),
        ]
    }));
    let mut out: Vec<String> = print::columns(&rows, |r, c, cell| match (r, c) {
        (0, _) | (_, 0) | (_, 2..) => cell.to_string(),
        _ if cell.trim() == "deployed" || cell.trim() == "staged" => paint.good(cell),
        _ => paint.bad(cell),
    });
    for x in outcomes.iter().filter_map(|x| x.message.as_ref()) {
        out.push(format!("{}: {x}", paint.bad("error")));
    }
    out.join("\n") + "\n"
}

/// `/nix/store/abc…-nixos-system-server-25.11` → `nixos-system-server-25.11`.
fn short(system: Option<&str>) -> String {
    system.map_or("-".into(), |s| {
        s.rsplit('/')
            .next()
            .and_then(|n| n.split_once('-'))
            .map_or(s, |(_, name)| name)
            .to_string()
    })
}

/// The steps and exact commands, changing nothing.
fn dry_run(
    fleet: &Fleet,
    flake: &Path,
    chosen: &[&Target],
    id: &str,
    goal: Goal,
    o: &Options,
) -> String {
    let mut out = format!(
        "deploy {id}: {} host(s); nothing is changed (--dry-run)\n",
        chosen.len()
    );
    let word = if goal == Goal::Boot { "boot" } else { "switch" };
    for t in chosen {
        let root = t.probes.ssh_user == "root";
        let sudo = if root { "" } else { "sudo -n " };
        let ssh = ssh(t, o);
        let at = ssh
            .ssh_args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!("\n{}:\n", t.host));
        let build = match builder(fleet, t, o) {
            None => format!(
                "nix build --no-link --print-out-paths path:{}#{}",
                flake.display(),
                t.attribute
            ),
            Some(s) => format!(
                "nix build --no-link --print-out-paths --eval-store auto --store {} path:{}#{}",
                s.url(),
                flake.display(),
                t.attribute
            ),
        };
        out.push_str(&format!("  1. build      {build}\n"));
        out.push_str(&format!("  2. record     ssh {at} readlink -f {PROFILE}\n"));
        if fleet.deploy.snapshots && !t.datasets.is_empty() {
            let snaps: Vec<String> = t
                .datasets
                .iter()
                .map(|d| format!("{d}@{}", snapshot::name(id)))
                .collect();
            out.push_str(&format!(
                "  3. snapshot   ssh … {sudo}zfs snapshot {}\n",
                snaps.join(" ")
            ));
        } else {
            out.push_str("  3. snapshot   (no critical dataset)\n");
        }
        if fleet.deploy.tool == "deploy-rs" {
            let cmd = deploy_rs(&o.flake, &t.host, goal == Goal::Boot);
            out.push_str(&format!(
                "  4. copy       {} (deploy-rs copies,\n  5. switch     and activates, with its magic roll-back)\n",
                cmd.shell_line()
            ));
        } else {
            if copied(fleet, t) {
                out.push_str(&format!(
                    "  4. copy       nix copy --to {} <system>\n",
                    store(t, o).url()
                ));
            } else {
                out.push_str("  4. copy       (built in the host's own store)\n");
            }
            out.push_str(&format!(
                "  5. switch     ssh … {sudo}nix-env -p {PROFILE} --set <system>\n\
                 \x20                ssh … {sudo}systemd-run --unit={} '--description=homelab: switch to <system>' --property=RemainAfterExit=yes --service-type=exec --quiet -- <system>/bin/switch-to-configuration {word}\n",
                switch::unit(id)
            ));
        }
        if goal == Goal::Switch {
            out.push_str(&format!(
                "  6. gate       {} probes every {} s, {} passes in a row within {} s\n",
                t.probes.units.len() + t.probes.web.len() + 1,
                t.gate.interval_ms / 1000,
                t.gate.passes,
                t.gate.window_ms / 1000
            ));
            out.push_str("  on failure:  switch back to the recorded system and gate it again\n");
        }
    }
    out
}

/// The live view: a line per host on a terminal, plain lines in a pipe,
/// nothing with `--json`.
struct View {
    bars: Option<(MultiProgress, BTreeMap<String, ProgressBar>)>,
    plain: bool,
    last: Mutex<BTreeMap<String, String>>,
}

impl View {
    fn new(targets: &[&Target], json: bool) -> View {
        let terminal = std::io::stderr().is_terminal() && !json;
        let bars = terminal.then(|| {
            let multi = MultiProgress::new();
            let style = ProgressStyle::with_template("{spinner} {prefix:<12} {msg}")
                .expect("a valid template");
            let bars = targets
                .iter()
                .map(|t| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix(t.host.clone());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    (t.host.clone(), bar)
                })
                .collect();
            (multi, bars)
        });
        View {
            bars,
            plain: !terminal && !json,
            last: Mutex::new(BTreeMap::new()),
        }
    }

    fn say(&self, host: &str, text: &str) {
        if let Some((_, bars)) = &self.bars {
            if let Some(bar) = bars.get(host) {
                bar.set_message(text.to_string());
            }
            return;
        }
        if self.plain {
            let mut last = self.last.lock().expect("no printer panics");
            if last.get(host).map(String::as_str) != Some(text) {
                eprintln!("{host}: {text}");
                last.insert(host.to_string(), text.to_string());
            }
        }
    }

    fn step(&self, host: &str, s: &Step) {
        let text = match s {
            Step::Recording => "recording the running system".to_string(),
            Step::Snapshotting => "snapshotting critical datasets".into(),
            Step::Copying => "copying the system".into(),
            Step::Switching => "switching".into(),
            Step::Gating(n, row, of) => {
                format!("health gate: round {n}, {row} of {of} passes in a row")
            }
            Step::RollingBack(why) => format!("rolling back: {why}"),
            Step::GatingOld(n, row, of) => {
                format!("health gate on the previous system: round {n}, {row} of {of}")
            }
            Step::Done(r) => r.word().to_string(),
        };
        self.say(host, &text);
        if let (Step::Done(_), Some((_, bars))) = (s, &self.bars)
            && let Some(bar) = bars.get(host)
        {
            bar.finish();
        }
    }

    fn finish(&self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}

/// `homelab deploy --log`: the history, newest last.
pub fn history(json: bool) -> ExitCode {
    let entries = log::read();
    if json {
        print::json(&entries);
        return ExitCode::SUCCESS;
    }
    if entries.is_empty() {
        println!(
            "no deploy yet{}",
            log::path().map_or(String::new(), |p| format!(
                " (the history is kept in {})",
                p.display()
            ))
        );
        return ExitCode::SUCCESS;
    }
    let mut rows = vec![
        [
            "DEPLOY", "HOST", "RESULT", "BEFORE", "AFTER", "GATE", "TIME",
        ]
        .map(String::from)
        .to_vec(),
    ];
    rows.extend(entries.iter().map(|e| {
        vec![
            e.id.clone(),
            e.host.clone(),
            e.result.clone(),
            short(e.before.as_deref()),
            short(e.after.as_deref()),
            e.gate.clone().unwrap_or_else(|| "-".into()),
            format!("{:.0} s", e.seconds),
        ]
    }));
    for l in print::columns(&rows, |_, _, c| c.to_string()) {
        println!("{l}");
    }
    for e in entries.iter().filter(|e| e.message.is_some()) {
        println!(
            "{} {}: {}",
            e.id,
            e.host,
            e.message.as_deref().unwrap_or_default()
        );
    }
    ExitCode::SUCCESS
}
