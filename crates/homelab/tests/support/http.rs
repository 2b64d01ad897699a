//! The plain HTTP/1.1 of the tests' loopback servers (stand-ins for an
//! identity provider's API, a status page): one request read whole, one
//! reply written, the connection closed.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

/// One request: method, path and query apart, headers as sent, the body.
#[allow(dead_code)] // each test binary reads the parts it needs
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value, by name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request from the stream.
pub fn read(stream: &TcpStream) -> Request {
    read_from(&mut BufReader::new(stream.try_clone().unwrap()))
}

/// Reads one request from any reader (a TLS session too).
pub fn read_from(reader: &mut impl BufRead) -> Request {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap() == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':').unwrap_or((h, ""));
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut request = Request {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: Vec::new(),
    };
    let length = request
        .header("content-length")
        .map_or(0, |v| v.parse().unwrap());
    request.body = vec![0; length];
    reader.read_exact(&mut request.body).unwrap();
    request
}

/// Writes a JSON reply (an empty body when `body` is empty) and closes.
#[allow(dead_code)] // not every test binary answers in JSON
pub fn reply(mut stream: TcpStream, status: u16, body: &str) {
    reply_on(&mut stream, status, body);
}

/// Writes a JSON reply on any writer (a TLS session too).
#[allow(dead_code)] // not every test binary answers in JSON
pub fn reply_on(stream: &mut impl Write, status: u16, body: &str) {
    reply_as(stream, status, "application/json", body);
}

/// Writes a reply of the given content type.
#[allow(dead_code)] // not every test binary answers in other types
pub fn reply_as(stream: &mut impl Write, status: u16, content_type: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The fields of a form or query string, `a=b&c=d`, each `+` and `%XX`
/// decoded; a field without `=` has an empty value.
#[allow(dead_code)] // not every test binary reads forms
pub fn form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// `+` as a space and `%XX` as its byte.
fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
