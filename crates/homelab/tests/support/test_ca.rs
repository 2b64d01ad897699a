//! A certificate authority made for a test with `openssl`, from
//! configurations of our own (nothing is read from the machine's
//! `openssl.cnf`), and one leaf certificate it signs for a server.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The authority and the leaf, as files in the test's folder.
#[allow(dead_code)] // each test binary reads the parts it needs
pub struct Tls {
    /// The authority's certificate (PEM).
    pub ca: PathBuf,
    /// The leaf (PEM), then its key (PEM, PKCS#8).
    pub cert: PathBuf,
    pub key: PathBuf,
    pub days: u32,
}

impl Tls {
    /// An authority called `authority` in `dir`, and a leaf for `names`
    /// (the first is its common name) valid for `days` from now.
    pub fn issue(dir: &Path, authority: &str, names: &[&str], days: u32) -> Tls {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("ca.cnf"),
            format!(
                "[req]\ndistinguished_name = dn\nx509_extensions = ca\nprompt = no\n\
                 [dn]\nCN = {authority}\n\
                 [ca]\nbasicConstraints = critical, CA:TRUE\n\
                 keyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n"
            ),
        )
        .unwrap();
        let alt: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
        std::fs::write(
            dir.join("leaf.cnf"),
            format!(
                "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = {}\n\
                 [leaf]\nbasicConstraints = critical, CA:FALSE\n\
                 keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n\
                 subjectAltName = {}\n\
                 subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
                names[0],
                alt.join(", ")
            ),
        )
        .unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .current_dir(dir)
                .args(args)
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        // The authority outlives every leaf it signs.
        openssl(
            &[
                &["req", "-x509", "-config", "ca.cnf", "-nodes"][..],
                &ec,
                &["-keyout", "ca.key", "-out", "ca.pem", "-days", "3650"],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req", "-new", "-config", "leaf.cnf", "-nodes"][..],
                &ec,
                &["-keyout", "leaf.key", "-out", "leaf.csr"],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "0x5eed",
            "-days",
            &days.to_string(),
            "-extfile",
            "leaf.cnf",
            "-extensions",
            "leaf",
            "-out",
            "leaf.pem",
        ]);
        Tls {
            ca: dir.join("ca.pem"),
            cert: dir.join("leaf.pem"),
            key: dir.join("leaf.key"),
            days,
        }
    }
}
