//! TLS with rustls, verified as a browser would: against the system's
//! trusted roots (or the file `SSL_CERT_FILE` names, as OpenSSL does), for
//! the name asked for. The certificate probe then reads how many days the
//! server's certificate has left.

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::net::TcpStream;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The client configuration, made once: the trusted roots are read once
/// per run.
fn config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            Arc::new(
                ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}

/// A TLS connection to `name` over `sock`, its handshake done before
/// `deadline`.
pub(crate) fn connect(
    name: &str,
    mut sock: TcpStream,
    deadline: Instant,
) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
    let server = ServerName::try_from(name.to_string())
        .map_err(|_| format!("`{name}` is not a server name"))?;
    let mut conn = ClientConnection::new(config(), server).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(left))
            .and_then(|()| sock.set_write_timeout(Some(left)))
            .map_err(|e| super::http::plain(&e))?;
        conn.complete_io(&mut sock)
            .map_err(|e| handshake_error(name, &e))?;
    }
    Ok(StreamOwned::new(conn, sock))
}

/// A handshake failure in words: an untrusted, expired or misnamed
/// certificate, or the connection's own error.
fn handshake_error(name: &str, e: &std::io::Error) -> String {
    use rustls::CertificateError as C;
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            return "no TLS answer in time".into();
        }
        return format!("TLS: {}", super::http::plain(e));
    };
    match tls {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "the certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the certificate is not valid yet".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("the certificate is not for {name}")
            }
            C::UnknownIssuer => {
                "the certificate is signed by an authority this machine does not trust".into()
            }
            other => format!("the certificate is refused: {other:?}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("the server refused the TLS connection ({alert:?}): does it serve {name}?")
        }
        other => format!("TLS: {other}"),
    }
}

/// The certificate a server presents for `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// When it stops being valid (RFC 3339).
    pub not_after: String,
    /// Whole days left from now (negative when expired).
    pub days_left: i64,
    pub issuer: String,
}

/// Connects to `name` at `address:port`, verifies the chain for the name,
/// and reads the server certificate's end of validity.
pub fn certificate(
    name: &str,
    address: Option<&str>,
    port: u16,
    limit: Duration,
) -> Result<Certificate, String> {
    let deadline = Instant::now() + limit;
    let addr = super::http::resolve(address.unwrap_or(name), port)?;
    let sock = TcpStream::connect_timeout(&addr, limit)
        .map_err(|e| format!("connecting to {addr}: {}", super::http::plain(&e)))?;
    let stream = connect(name, sock, deadline)?;
    let der = stream
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("the server presented no certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| format!("the certificate cannot be read: {e}"))?;
    let not_after = cert.validity().not_after.timestamp();
    let now = jiff::Timestamp::now().as_second();
    let not_after_text = jiff::Timestamp::from_second(not_after)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| not_after.to_string());
    Ok(Certificate {
        not_after: not_after_text,
        days_left: (not_after - now).div_euclid(86_400),
        issuer: cert.issuer().to_string(),
    })
}
