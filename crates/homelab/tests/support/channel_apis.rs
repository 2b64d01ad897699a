//! Stand-ins for the APIs alert channels post to, on loopback: the
//! internet is not reachable from the tests, so one HTTP server plays
//! Discord's webhook, Telegram's Bot API, an ntfy server and a webhook
//! receiver, and records every request it is sent. Pushover's address is
//! fixed in Alertmanager (no setting moves it), so the same server is also
//! the HTTP proxy Alertmanager is pointed at: it takes the `CONNECT` to
//! `api.pushover.net:443` and answers the TLS session itself, with a
//! certificate for that name from an authority made here with `openssl`,
//! which the test makes Alertmanager trust.

use super::http::{self, Request};
#[path = "test_ca.rs"]
mod test_ca;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use test_ca::Tls;

/// One request a stand-in got: the host it was meant for (the `CONNECT`
/// target's, or the `Host` header's) and the request.
#[derive(Debug)]
pub struct Recorded {
    pub host: String,
    pub request: Request,
}

pub struct Apis {
    /// Where the stand-ins listen (plain HTTP, and `CONNECT`).
    pub port: u16,
    /// The authority Pushover's stand-in certificate is signed by.
    pub ca: PathBuf,
    pub requests: Receiver<Recorded>,
}

/// The name Alertmanager posts Pushover messages to.
pub const PUSHOVER_HOST: &str = "api.pushover.net";

/// Starts the stand-ins; they run until the test ends.
pub fn start(dir: &Path) -> Apis {
    let (ca, tls) = tls_for(dir, PUSHOVER_HOST);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, requests) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (tx, tls) = (tx.clone(), tls.clone());
            std::thread::spawn(move || serve(stream, &tx, tls));
        }
    });
    Apis { port, ca, requests }
}

fn serve(stream: TcpStream, tx: &Sender<Recorded>, tls: Arc<rustls::ServerConfig>) {
    let request = http::read(&stream);
    if request.method != "CONNECT" {
        let host = request.header("host").unwrap_or("").to_string();
        let (status, body) = answer(&request);
        let _ = tx.send(Recorded { host, request });
        http::reply(stream, status, body);
        return;
    }
    // The proxy's side of a tunnel: agree, then be the server at its end.
    let target = request.path.clone();
    let mut plain = stream;
    let _ = plain.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let conn = rustls::ServerConnection::new(tls).unwrap();
    let mut session = rustls::StreamOwned::new(conn, plain);
    let inner = http::read_from(&mut BufReader::new(&mut session));
    let (status, body) = answer(&inner);
    let host = target.split(':').next().unwrap_or("").to_string();
    let _ = tx.send(Recorded {
        host,
        request: inner,
    });
    http::reply_on(&mut session, status, body);
    let _ = session.flush();
    session.conn.send_close_notify();
    let _ = session.conn.complete_io(&mut session.sock);
}

/// What each API answers on success, as its documentation shows.
fn answer(r: &Request) -> (u16, &'static str) {
    if r.path == "/1/messages.json" {
        return (
            200,
            r#"{"status":1,"request":"5042853c-402d-4a18-abcb-168734a801de"}"#,
        );
    }
    if r.path.starts_with("/bot") && r.path.ends_with("/sendMessage") {
        return (
            200,
            r#"{"ok":true,"result":{"message_id":7,"date":1700000000,"chat":{"id":-1001234567890,"type":"supergroup"},"text":"alert"}}"#,
        );
    }
    if r.path.starts_with("/api/webhooks/") {
        return (204, "");
    }
    (200, r#"{"id":"stand-in"}"#)
}

/// A test authority and a certificate for `name`: the authority's file,
/// and the server's settings.
fn tls_for(dir: &Path, name: &str) -> (PathBuf, Arc<rustls::ServerConfig>) {
    let tls = Tls::issue(dir, "homelab test authority for alert channels", &[name], 2);
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(&tls.cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(&tls.key).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    (tls.ca, Arc::new(config))
}
