//! Resources: memory, pool space and record sizes.

use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;
use crate::spec::Size;

/// Catalog RAM estimates of a host's services and infrastructure against
/// its RAM: a warning from 80 %, an error above 100 %.
pub(crate) fn ram_budget(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for host in &fleet.hosts {
        let (services, infra) = fleet.ram_estimate_mb(host);
        let total = services + infra;
        let ram = host.spec.ram_gb.value.max(0) as u64 * 1024;
        let pct = total * 100 / ram.max(1);
        let message = format!(
            "host `{}` needs about {total} MiB of its {ram} MiB ({pct}%)",
            host.name()
        );
        let d = if total > ram {
            Diagnostic::error("ram-over", message)
        } else if total * 10 > ram * 8 {
            Diagnostic::warning("ram-high", message)
        } else {
            continue;
        };
        out.push(
            d.at(host.spec.ram_gb.span.clone(), format!("services {services} MiB + infrastructure {infra} MiB"))
                .help("move services to another host, or add memory (`homelab show resources` lists the estimates)"),
        );
    }
}

/// Dataset quotas must leave 15 % of each pool free: ZFS slows down and
/// fragments when a pool fills up.
pub(crate) fn pool_budget(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for host in &fleet.hosts {
        for pool in &host.spec.pools {
            let quotas: u64 = fleet
                .data_on(host)
                .into_iter()
                .map(|(_, d)| d)
                .filter(|d| {
                    d.dataset
                        .as_ref()
                        .is_some_and(|(p, _)| p == &pool.name.value)
                })
                .filter_map(|d| d.quota.map(|q| q.0))
                .sum::<u64>()
                + fleet.project_excess(host, &pool.name.value);
            let size = pool.size.value.0;
            let limit = size / 100 * 85;
            if quotas > limit {
                out.push(
                    Diagnostic::error(
                        "pool-overcommitted",
                        format!(
                            "quotas on pool `{}` add up to {} of {}",
                            pool.name.value,
                            Size(quotas).zfs(),
                            pool.size.value.zfs()
                        ),
                    )
                    .at(
                        pool.size.span.clone(),
                        format!("at most {} (85%) can be promised", Size(limit).zfs()),
                    )
                    .help(
                        "lower some `quota`s (`homelab show storage` lists them) or grow the pool",
                    ),
                );
            }
        }
    }
}

/// An overridden record size that fights the content: databases want small
/// records, media large ones.
pub(crate) fn recordsize_sanity(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        for d in &i.data {
            let Some(span) = &d.span else { continue };
            let Some(state) = i.entry.state.iter().find(|s| s.name == d.state) else {
                continue;
            };
            let (Some(want), Some(got)) =
                (Size::parse(&state.recordsize), Size::parse(&d.recordsize))
            else {
                continue;
            };
            let database = want.0 <= 16 << 10;
            let media = want.0 >= 1 << 20;
            let off = (database && got.0 > 64 << 10) || (media && got.0 < 128 << 10);
            if off {
                let kind = if database {
                    "database files want 8K–16K records"
                } else {
                    "large media files want 1M records"
                };
                out.push(
                    Diagnostic::warning(
                        "recordsize",
                        format!(
                            "record size {} for {} of `{}`: {kind}",
                            d.recordsize, d.path, i.name.value
                        ),
                    )
                    .at(
                        span.clone(),
                        format!("the catalog uses {}", state.recordsize),
                    )
                    .help("remove `recordsize` to use the catalog's value")
                    .about(&i.name.value),
                );
            }
        }
    }
}
