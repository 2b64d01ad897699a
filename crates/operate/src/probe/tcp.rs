//! Whether anything answers on a port: a TCP connection, made and closed.

use std::net::TcpStream;
use std::time::Duration;

/// What a connection attempt met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The connection was accepted.
    Accepted,
    /// Refused at once (nothing listens, or a firewall rejects).
    Refused(String),
    /// Nothing came back within the limit (a firewall drops).
    Silent,
}

pub fn connect(address: &str, port: u16, limit: Duration) -> Reply {
    let addr = match super::http::resolve(address, port) {
        Ok(a) => a,
        Err(e) => return Reply::Refused(e),
    };
    match TcpStream::connect_timeout(&addr, limit) {
        Ok(_) => Reply::Accepted,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            Reply::Silent
        }
        Err(e) => Reply::Refused(super::http::plain(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_port_accepts_and_a_closed_one_refuses() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let limit = Duration::from_secs(2);
        assert_eq!(connect("127.0.0.1", port, limit), Reply::Accepted);
        drop(listener);
        assert!(matches!(
            connect("127.0.0.1", port, limit),
            Reply::Refused(_)
        ));
    }
}
