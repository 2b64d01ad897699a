//! `homelab report`: the page's content, its independence from the network,
//! escaping of spec text, and the page as real headless Chromium renders it
//! (the DOM it builds and a screenshot kept in `target/test-artifacts/`).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/bin.rs"]
mod bin;
use bin::run_in as homelab;

/// Writes the report of an example into `dir` and returns the page.
fn example_report(dir: &Path, example: &str) -> String {
    let (code, stdout, stderr) = homelab(dir, &["report", "--example", example, "-o", "r.html"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("wrote r.html ("), "{stdout}");
    std::fs::read_to_string(dir.join("r.html")).unwrap()
}

/// Everything between `<tr` and `</tr>` of the section with this id.
fn rows<'a>(page: &'a str, section: &str) -> Vec<&'a str> {
    let start = page
        .find(&format!(r#"<section id="{section}">"#))
        .unwrap_or_else(|| panic!("no section {section}"));
    let body = &page[start..];
    let body = &body[..body.find("</section>").unwrap()];
    body.split("<tr").skip(2).collect()
}

#[test]
fn nuc_report_holds_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let page = example_report(dir.path(), "nuc");
    for id in [
        "hosts",
        "exposure",
        "storage",
        "memory",
        "graph",
        "backups",
        "diagnostics",
    ] {
        assert!(page.contains(&format!(r#"<section id="{id}">"#)), "{id}");
    }
    // The access matrix: every service, the four public tier-1 ones each
    // reachable on its internal and its public name.
    let exposure = rows(&page, "exposure");
    assert_eq!(exposure.len(), 15);
    for (service, public) in [
        ("immich", "https://photos.example.org"),
        ("nextcloud", "https://files.example.org"),
        ("vaultwarden", "https://passwords.example.org"),
        ("jellyfin", "https://watch.example.org"),
    ] {
        let row = exposure
            .iter()
            .find(|r| r.contains(&format!("<b>{service}</b>")))
            .unwrap_or_else(|| panic!("no row for {service}"));
        assert!(row.contains(public), "{row}");
    }
    // Storage: the pool bar with a segment per quota and the 85 % mark.
    assert!(page.contains(r#"data-pool="storagepool""#));
    assert!(page.contains("storagepool/immich/library (immich): 3T"));
    assert!(page.contains(">85 %</text>"));
    // The graph: every service needs the proxy; databases are drawn.
    for edge in [
        r#"data-from="immich" data-to="postgresql""#,
        r#"data-from="nextcloud" data-to="caddy""#,
    ] {
        assert!(page.contains(edge), "{edge}");
    }
    // Backups: the photo library is snapshotted and goes offsite.
    let library = rows(&page, "backups")
        .into_iter()
        .find(|r| r.contains("/var/lib/immich/library"))
        .unwrap();
    assert!(library.contains("critical") && library.contains("✓ restic"));
    // The example's findings are on the page, with their positions.
    assert!(page.contains("<code>no-replica</code>"));
}

#[test]
fn report_loads_nothing_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for example in ["frame1", "nuc"] {
        let page = example_report(dir.path(), example).to_lowercase();
        for needle in [
            "<script", "<link", "<img", "<iframe", " src=", "@import", "url(http",
        ] {
            assert!(!page.contains(needle), "{example}: {needle}");
        }
    }
}

#[test]
fn spec_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "[homelab]\nname = \"<b>home</b>\"\n";
    std::fs::write(dir.path().join("homelab.toml"), spec).unwrap();
    let (code, _, _) = homelab(dir.path(), &["report"]);
    assert_eq!(code, 1);
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(!page.contains("<b>home</b>"));
    let spec =
        "[homelab]\nname = \"home\"\n[services.\"<script>alert(1)</script>\"]\nhost = \"x\"\n";
    std::fs::write(dir.path().join("homelab.toml"), spec).unwrap();
    homelab(dir.path(), &["report"]);
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(!page.to_lowercase().contains("<script"), "{page}");
    assert!(page.contains("&lt;script&gt;"));
}

#[test]
fn report_of_a_broken_spec_shows_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    // Resolves, but breaks policy: the tables are drawn next to the error.
    let spec = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-specs/admin-public.toml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("homelab.toml"), &spec).unwrap();
    let (code, stdout, _) = homelab(dir.path(), &["report", "-o", "out/page.html"]);
    assert_eq!(code, 2, "the output folder does not exist: {stdout}");
    let (code, stdout, _) = homelab(dir.path(), &["report"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("1 error"), "{stdout}");
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(page.contains(r#"<section id="exposure">"#));
    assert!(
        page.contains(
            r#"<li class="error"><span class="sev">error</span> <code>admin-public</code>"#
        )
    );
    // Does not parse: the findings alone.
    std::fs::write(dir.path().join("homelab.toml"), "[homelab\n").unwrap();
    let (code, _, _) = homelab(dir.path(), &["report"]);
    assert_eq!(code, 1);
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(!page.contains(r#"<section id="exposure">"#));
    assert!(page.contains("could not be read as a homelab"));
    assert!(
        page.contains("<code>syntax</code> <span class=\"at\">1:9</span>"),
        "{page}"
    );
}

#[test]
fn missing_spec_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = homelab(dir.path(), &["report"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("homelab.toml not found"), "{stderr}");
    assert!(!dir.path().join("report.html").exists());
}

/// Headless Chromium, isolated from the network and from any profile.
fn chromium(profile: &Path, args: &[&str], page: &Path) -> std::process::Output {
    let binary = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
        .expect("the report test needs Chromium (Debian: apt-get install chromium)");
    Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Any request leaving the machine would fail to resolve.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

#[test]
fn chromium_renders_the_report() {
    let dir = tempfile::tempdir().unwrap();
    example_report(dir.path(), "nuc");
    let page = dir.path().join("r.html");
    let profile = dir.path().join("profile");

    // The DOM as Chromium parsed it: every section and table survived.
    let dom = chromium(&profile, &["--dump-dom"], &page);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<h1>nuc</h1>"), "{dom}");
    assert_eq!(dom.matches("<section id=").count(), 7, "{dom}");
    assert_eq!(dom.matches(r#"<g class="node service""#).count(), 15);
    assert!(dom.contains("https://photos.example.org"));

    // The screenshot, kept for people to look at.
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(
        &profile,
        &[
            "--window-size=1280,2400",
            "--hide-scrollbars",
            &format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    let png = std::fs::read(&shot)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2400));
    // A blank page compresses to a few kilobytes; the report does not.
    assert!(png.len() > 50_000, "{} bytes", png.len());
}
