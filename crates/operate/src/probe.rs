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
    let answer = status_line(url, "GET", "")?;
    answer
        .line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{}: not an HTTP answer", answer.authority))
}

/// The first line of an answer, and whom it came from.
pub(crate) struct Answer {
    pub(crate) authority: String,
    pub(crate) line: String,
}

/// Sends one bodiless request (`headers`: whole lines, each ending in
/// CRLF) over plain HTTP/1.0, so the server closes after its answer, and
/// reads the status line of the answer.
pub(crate) fn status_line(url: &str, method: &str, headers: &str) -> Result<Answer, String> {
    let HttpConnection {
        mut stream,
        authority,
        path,
    } = connect(url)?;
    // One write: a server that answers after its first read sees it all.
    let sent = stream.write_all(
        format!(
            "{method} {path} HTTP/1.0\r\nHost: {authority}\r\n{headers}\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    // A server may answer and close before it reads the whole request; its
    // answer still counts, so read even when the write failed.
    let (head, read) = first_line(&mut stream);
    match (read, sent) {
        _ if !head.is_empty() => {}
        (Err(e), _) | (_, Err(e)) => return Err(format!("{authority}: {e}")),
        (Ok(()), Ok(())) => {}
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or("").to_string();
    Ok(Answer { authority, line })
}

/// Reads up to the first line end (at most 256 bytes), and whether reading
/// failed before it.
fn first_line(stream: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 256];
    while head.len() < 256 && !head.contains(&b'\n') {
        match stream.read(&mut chunk[..256 - head.len()]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) => return (head, Err(e)),
        }
    }
    (head, Ok(()))
}
