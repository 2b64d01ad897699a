//! A plain HTTP health probe over the standard library: the status code of
//! `GET url`, for services reached on loopback (`http://127.0.0.1:port`).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A connection to the host of a plain `http://` URL, with its
/// `authority` (`host:port`, for the `Host` header and messages) and the
/// request path; read and write time out after 10 s.
pub(crate) struct HttpConnection {
    pub(crate) stream: TcpStream,
    pub(crate) authority: String,
    pub(crate) path: String,
}

/// Connects to the server of `url`, which must be `http://…`.
pub(crate) fn connect(url: &str) -> Result<HttpConnection, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs are reached directly: {url}"))?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority}: no address"))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("{authority}: {e}"))?;
    let timeout = Some(Duration::from_secs(10));
    stream
        .set_read_timeout(timeout)
        .and_then(|()| stream.set_write_timeout(timeout))
        .map_err(|e| e.to_string())?;
    Ok(HttpConnection {
        stream,
        authority: authority.to_string(),
        path,
    })
}

/// The HTTP status `GET url` answers with, or why there was none.
pub fn http_status(url: &str) -> Result<u16, String> {
    let HttpConnection {
        mut stream,
        authority,
        path,
    } = connect(url)?;
    let sent = write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    );
    // A server may answer and close before it reads the whole request; its
    // answer still counts, so read even when the write failed.
    let mut head = [0u8; 64];
    let n = match (stream.read(&mut head), sent) {
        (Ok(n), _) if n > 0 => n,
        (_, Err(e)) => return Err(format!("{authority}: {e}")),
        (Ok(n), Ok(())) => n,
        (Err(e), Ok(())) => return Err(format!("{authority}: {e}")),
    };
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{authority}: not an HTTP answer"))
}
