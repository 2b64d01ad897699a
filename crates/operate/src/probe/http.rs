//! HTTP over the standard library's sockets, plain or with TLS (rustls):
//! one request, the status line and the few headers a probe needs, and
//! the start of the body, then the connection is closed.
//!
//! A probe names the server (SNI and `Host`) and chooses the address it
//! connects to, so a name is asked for at the front proxy, at a tailnet
//! address or at the home's public address, whatever DNS says.

use super::tls;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// What a probe asks for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The server's name: SNI and `Host`.
    pub name: &'a str,
    /// Where to connect: an IP address or a DNS name (the name itself when
    /// none is given).
    pub address: Option<&'a str>,
    pub port: u16,
    pub path: &'a str,
    pub tls: bool,
    /// The whole exchange's time limit.
    pub limit: Duration,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    /// The first bytes of the body, as text.
    pub body: String,
}

/// How much of an answer is read: the head and the start of the body.
const READ_LIMIT: usize = 16 * 1024;

/// `GET path` of `name` at `address:port`; an error says what failed
/// (resolving, connecting, TLS, no answer in time).
pub fn get(r: &Request) -> Result<Answer, String> {
    let deadline = Instant::now() + r.limit;
    let at = r.address.unwrap_or(r.name);
    let addr = resolve(at, r.port)?;
    let stream = TcpStream::connect_timeout(&addr, r.limit)
        .map_err(|e| format!("connecting to {}: {}", show_addr(&addr), plain(&e)))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: homelab-probe\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n",
        r.path, r.name
    );
    let head = if r.tls {
        let mut conn = tls::connect(r.name, stream, deadline)?;
        exchange(&mut conn, &request, deadline, |s, t| {
            s.sock.set_read_timeout(t)?;
            s.sock.set_write_timeout(t)
        })?
    } else {
        let mut stream = stream;
        exchange(&mut stream, &request, deadline, |s, t| {
            s.set_read_timeout(t)?;
            s.set_write_timeout(t)
        })?
    };
    parse(&head).ok_or_else(|| format!("{}: not an HTTP answer", r.name))
}

/// Writes the request and reads up to [`READ_LIMIT`] bytes of the answer,
/// each read bounded by what is left of the time limit.
fn exchange<S: Read + Write>(
    s: &mut S,
    request: &str,
    deadline: Instant,
    set_timeout: impl Fn(&mut S, Option<Duration>) -> std::io::Result<()>,
) -> Result<Vec<u8>, String> {
    let left = |d: Instant| {
        d.saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    set_timeout(s, Some(left(deadline))).map_err(|e| plain(&e))?;
    s.write_all(request.as_bytes()).map_err(|e| timed(&e))?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < READ_LIMIT {
        set_timeout(s, Some(left(deadline))).map_err(|e| plain(&e))?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // The answer is complete once the server closed: TLS servers
            // may close without a notify (Caddy does on some errors).
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => break,
            Err(e) if !out.is_empty() && has_head(&out) && is_timeout(&e) => break,
            Err(e) => return Err(timed(&e)),
        }
        if Instant::now() >= deadline && has_head(&out) {
            break;
        }
    }
    Ok(out)
}

fn has_head(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| w == b"\r\n\r\n")
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// The status code, the `Location` header and the start of the body.
fn parse(bytes: &[u8]) -> Option<Answer> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()?
        .strip_prefix("HTTP/")?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let location = lines.find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    Some(Answer {
        status,
        location,
        body: body.chars().take(512).collect(),
    })
}

/// The first address of `host:port`.
pub(crate) fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}: {}", plain(&e)))?
        .next()
        .ok_or_else(|| format!("resolving {host}: no address"))
}

pub(crate) fn show_addr(a: &SocketAddr) -> String {
    a.to_string()
}

/// An I/O error in words, without the OS error number.
pub(crate) fn plain(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.split_once(" (os error") {
        Some((words, _)) => words.to_lowercase(),
        None => text,
    }
}

fn timed(e: &std::io::Error) -> String {
    if is_timeout(e) {
        "no answer in time".into()
    } else {
        plain(e)
    }
}

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
pub(crate) struct StatusLine {
    pub(crate) authority: String,
    pub(crate) line: String,
}

/// Sends one bodiless request (`headers`: whole lines, each ending in
/// CRLF) over plain HTTP/1.0, so the server closes after its answer, and
/// reads the status line of the answer.
pub(crate) fn status_line(url: &str, method: &str, headers: &str) -> Result<StatusLine, String> {
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
    Ok(StatusLine { authority, line })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A loopback server answering each connection with `answer` after
    /// `delay`.
    fn serve(answer: &'static str, delay: Duration) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf);
                    std::thread::sleep(delay);
                    let _ = s.write_all(answer.as_bytes());
                });
            }
        });
        port
    }

    fn request(port: u16, limit: Duration) -> Result<Answer, String> {
        get(&Request {
            name: "app.home.example.org",
            address: Some("127.0.0.1"),
            port,
            path: "/health",
            tls: false,
            limit,
        })
    }

    #[test]
    fn a_name_is_asked_for_at_the_address_given() {
        let port = serve(
            "HTTP/1.1 302 Found\r\nLocation: /oauth2/sign_in\r\nContent-Length: 0\r\n\r\n",
            Duration::ZERO,
        );
        let a = request(port, Duration::from_secs(5)).unwrap();
        assert_eq!(
            (a.status, a.location.as_deref()),
            (302, Some("/oauth2/sign_in"))
        );
    }

    #[test]
    fn a_server_that_does_not_answer_in_time_is_named() {
        let port = serve("HTTP/1.1 200 OK\r\n\r\n", Duration::from_secs(30));
        // The server answers after 30 s: this error is the limit firing.
        let e = request(port, Duration::from_millis(300)).unwrap_err();
        assert_eq!(e, "no answer in time");
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = request(closed, Duration::from_secs(2)).unwrap_err();
        assert!(e.starts_with("connecting to 127.0.0.1:"), "{e}");
        assert!(e.ends_with("connection refused"), "{e}");
    }

    #[test]
    fn answers_are_read_for_status_location_and_body() {
        let a = parse(b"HTTP/1.1 302 Found\r\nServer: x\r\nlocation: /oauth2/sign_in\r\n\r\nbody")
            .unwrap();
        assert_eq!(a.status, 302);
        assert_eq!(a.location.as_deref(), Some("/oauth2/sign_in"));
        assert_eq!(a.body, "body");
        assert!(parse(b"SSH-2.0-OpenSSH\r\n").is_none());
        assert!(parse(b"").is_none());
    }
}
