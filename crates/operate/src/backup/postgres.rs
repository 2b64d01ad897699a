//! PostgreSQL through its own tools: `pg_dump -Fc` for the backup,
//! `pg_restore` and `psql` for drills and restores, and a throwaway server
//! (`initdb` + `pg_ctl` in a temporary folder, its unix socket in a private
//! folder, no TCP) that a drill restores into and throws away.
//!
//! The tools run as the plan's PostgreSQL user when homelab runs as root
//! (peer authentication on the host; `initdb` refuses root). Dumps travel
//! through standard input and output, so that user never needs to read or
//! write homelab's folders.

use super::{Context, Result, fail, io, last_words};
use crate::runner::Cmd;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Counts the rows of every table in one statement, so the counts come
/// from one transaction snapshot.
const ROW_COUNTS: &str = "select n.nspname || '.' || c.relname, \
  (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', n.nspname, c.relname), false, true, '')))[1]::text \
  from pg_class c join pg_namespace n on n.oid = c.relnamespace \
  where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') \
  and n.nspname not like 'pg_toast%' order by 1";

/// A PostgreSQL tool by name: from `PATH`, else the newest Debian-style
/// install under /usr/lib/postgresql/<version>/bin.
pub fn tool(name: &str) -> String {
    // An absolute path: `runuser` does not keep our PATH.
    let in_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if let Some(path) = in_path {
        return path.display().to_string();
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.is_file())
        .collect();
    versions.sort_by_key(|p| {
        p.components()
            .nth(4)
            .and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .pop()
        .map_or_else(|| name.to_string(), |p| p.display().to_string())
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A PostgreSQL tool run as `user` when we are root.
pub(crate) fn pg_cmd(user: &str, name: &str) -> Cmd {
    if running_as_root() {
        Cmd::new("runuser").args(["-u", user, "--", &tool(name)])
    } else {
        Cmd::new(tool(name))
    }
}

/// Where a server listens: its socket folder and port.
#[derive(Debug, Clone)]
pub struct Server {
    pub socket_dir: PathBuf,
    pub port: u16,
    pub(crate) os_user: String,
}

impl Server {
    /// A client tool connected to `database` on this server. The
    /// connection is one libpq connection string that homelab writes, with
    /// every value quoted: a database name can never be read as a second
    /// host, port or service (libpq reads `-d` as a connection string when
    /// it holds `=`), so a tool only ever reaches this server.
    fn connect(&self, name: &str, database: &str) -> Cmd {
        pg_cmd(&self.os_user, name).args([
            "-d".to_string(),
            conninfo(&[
                ("host", &self.socket_dir.display().to_string()),
                ("port", &self.port.to_string()),
                ("dbname", database),
            ]),
        ])
    }

    /// `pg_dump -Fc` of one database, checked with `pg_restore --list`
    /// so a dump cut short is caught now, not on the day it is needed.
    pub fn dump(&self, ctx: &Context, database: &str) -> Result<Vec<u8>> {
        let out = ctx.exec_ok(
            &format!("dumping database `{database}`"),
            &self.connect("pg_dump", database).arg("-Fc"),
        )?;
        check_dump(ctx, &self.os_user, database, &out.stdout)?;
        Ok(out.stdout)
    }

    /// Row count of every table of a database.
    pub(crate) fn row_counts(
        &self,
        ctx: &Context,
        database: &str,
    ) -> Result<BTreeMap<String, u64>> {
        let out = ctx.exec_ok(
            &format!("counting rows of `{database}`"),
            &self.connect("psql", database).args([
                "-X",
                "-A",
                "-t",
                "-q",
                "-F",
                "\t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                ROW_COUNTS,
            ]),
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut counts = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let Some((table, n)) = line.split_once('\t') else {
                return fail(format!("unexpected psql output: {line}"));
            };
            let n = n
                .trim()
                .parse()
                .or_else(|_| fail(format!("unexpected row count: {line}")))?;
            counts.insert(table.to_string(), n);
        }
        Ok(counts)
    }

    /// Runs SQL as the superuser.
    pub fn sql(&self, ctx: &Context, database: &str, sql: &str) -> Result<String> {
        let out = ctx.exec_ok(
            &format!("running SQL on `{database}`"),
            &self.connect("psql", database).args([
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ]),
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Restores a dump into `database`, replacing what it holds, in one
    /// transaction: a dump that does not apply changes nothing.
    pub fn restore(&self, ctx: &Context, database: &str, dump: &[u8]) -> Result<()> {
        let out = ctx.exec(
            &self
                .connect("pg_restore", database)
                .args([
                    "--clean",
                    "--if-exists",
                    "--single-transaction",
                    "--exit-on-error",
                ])
                .stdin(dump.to_vec()),
        )?;
        if !out.status.success() {
            return fail(format!(
                "the dump of `{database}` does not restore: {}",
                last_words(&out.stderr)
            ));
        }
        Ok(())
    }

    /// Creates a role and a database it owns, for a dump to land in.
    pub(crate) fn create_database(&self, ctx: &Context, database: &str, owner: &str) -> Result<()> {
        let role = quote_ident(owner);
        self.sql(ctx, "postgres", &format!(
            "do $$ begin if not exists (select from pg_roles where rolname = {}) then create role {role} login; end if; end $$",
            quote_literal(owner)
        ))?;
        self.sql(
            ctx,
            "postgres",
            &format!("create database {} owner {role}", quote_ident(database)),
        )?;
        Ok(())
    }
}

/// A dump that `pg_restore --list` cannot read through is truncated or
/// damaged.
pub(crate) fn check_dump(ctx: &Context, os_user: &str, database: &str, dump: &[u8]) -> Result<()> {
    let out = ctx.exec(
        &pg_cmd(os_user, "pg_restore")
            .arg("--list")
            .stdin(dump.to_vec()),
    )?;
    if !out.status.success() || dump.is_empty() {
        return fail(format!(
            "the dump of `{database}` is truncated or damaged ({} bytes): {}",
            dump.len(),
            last_words(&out.stderr)
        ));
    }
    Ok(())
}

/// A libpq connection string: `key='value'` pairs, each value quoted with
/// `\\` and `'` escaped (libpq's rule), so no value can add a key.
fn conninfo(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A PostgreSQL server made for one drill: its data in `dir`, its socket
/// in a private folder, stopped and removed on drop.
pub(crate) struct Throwaway<'c, 'a> {
    ctx: &'c Context<'a>,
    pub server: Server,
    data: PathBuf,
    _socket: tempfile::TempDir,
}

impl<'c, 'a> Throwaway<'c, 'a> {
    /// `initdb` and `pg_ctl start` in `dir` (which must not exist yet).
    pub fn start(ctx: &'c Context<'a>, dir: &Path, os_user: &str) -> Result<Self> {
        // Socket paths are limited to ~100 bytes: a short private folder.
        let socket = io(
            "creating the socket folder",
            tempfile::Builder::new().prefix("hl-pg-").tempdir(),
        )?;
        let data = dir.join("data");
        io(
            "creating the drill database folder",
            std::fs::create_dir_all(&data),
        )?;
        if running_as_root() {
            for p in [socket.path(), dir, data.as_path()] {
                ctx.exec_ok(
                    "handing the drill folder to PostgreSQL",
                    &Cmd::new("chown").args([os_user, &p.display().to_string()]),
                )?;
            }
        }
        ctx.exec_ok(
            "initdb for the drill",
            &pg_cmd(os_user, "initdb").args([
                "-D".to_string(),
                data.display().to_string(),
                "-U".into(),
                "postgres".into(),
                "--auth=trust".into(),
                "--no-sync".into(),
                "-E".into(),
                "UTF8".into(),
            ]),
        )?;
        let options = format!(
            "-c listen_addresses= -k {} -c fsync=off -c full_page_writes=off",
            socket.path().display()
        );
        let log = dir.join("server.log");
        ctx.exec_ok(
            "starting the drill's PostgreSQL",
            &pg_cmd(os_user, "pg_ctl").args([
                "-D".to_string(),
                data.display().to_string(),
                "-o".into(),
                options,
                "-l".into(),
                log.display().to_string(),
                "-w".into(),
                "start".into(),
            ]),
        )?;
        Ok(Throwaway {
            ctx,
            server: Server {
                socket_dir: socket.path().to_path_buf(),
                port: 5432,
                os_user: os_user.to_string(),
            },
            data,
            _socket: socket,
        })
    }
}

impl Drop for Throwaway<'_, '_> {
    fn drop(&mut self) {
        let _ = self
            .ctx
            .runner
            .run(&pg_cmd(&self.server.os_user, "pg_ctl").args([
                "-D".to_string(),
                self.data.display().to_string(),
                "-m".into(),
                "immediate".into(),
                "-w".into(),
                "stop".into(),
            ]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_values_are_quoted_so_no_value_adds_a_key() {
        assert_eq!(
            conninfo(&[
                ("host", "/run/postgresql"),
                ("dbname", "x' host='evil"),
                ("user", r"a\b"),
            ]),
            r"host='/run/postgresql' dbname='x\' host=\'evil' user='a\\b'"
        );
    }
}
