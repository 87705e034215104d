//! PDUDaemon's HTTP API, the `pdu` power driver's one request: `GET
//! /power/control/ACTION?hostname=PDU&port=OUTLET` queues a switch (200).
//!
//! Written on a TcpStream, not with an HTTP client crate: one plain-HTTP GET on the lab's own
//! network, where a client crate would add its dependency tree to every build of this 2-core
//! CI for no feature used (no TLS, redirects, bodies or keep-alive). What a client would give
//! is here: the query encoded, a timeout on connect, write and read, and a read error or an
//! answer that is not HTTP reported, not taken for a refusal.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Connect, send and answer each within this.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `switch`: (action, PDU, outlet) to queue, or None to check the daemon answers HTTP at all.
/// Ok(0) when accepted (or answering).
pub fn request(host: &str, port: u16, switch: Option<(&str, &str, u32)>) -> Result<i32> {
    let path = match switch {
        Some((action, pdu, outlet)) => format!("/power/control/{}?hostname={}&port={}", encode(action), encode(pdu), outlet),
        None => "/".to_string(),
    };
    let at = || format!("PDUDaemon at http://{host}:{port}");
    let addr = (host, port).to_socket_addrs().with_context(at)?.next().with_context(|| format!("no address for {host}"))?;
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).with_context(|| format!("{} does not answer", at()))?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).with_context(at)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).with_context(|| format!("{} broke off its answer", at()))?;
    let resp = String::from_utf8_lossy(&raw);
    let status = status(&resp).with_context(|| format!("{} gave no HTTP answer (its first line: `{}`)", at(), resp.lines().next().unwrap_or("").trim()))?;
    match switch {
        None => Ok(0),
        Some(_) if status == 200 => Ok(0),
        Some((action, pdu, outlet)) => {
            bail!("PDUDaemon refused `{action}` for PDU {pdu} outlet {outlet}: HTTP {status} {}", resp.lines().last().unwrap_or("").trim())
        }
    }
}

/// The status code of an HTTP/1.x status line.
fn status(resp: &str) -> Option<u16> {
    let mut w = resp.lines().next()?.split_whitespace();
    w.next().filter(|v| v.starts_with("HTTP/1."))?;
    w.next()?.parse().ok()
}

/// Percent-encoding of a query value (RFC 3986: everything but the unreserved characters).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_encoded_and_only_an_http_status_line_counts() {
        assert_eq!(super::encode("pdu 1&port=2"), "pdu%201%26port%3D2");
        assert_eq!(super::encode("rack-1.a_b~"), "rack-1.a_b~");
        assert_eq!(super::status("HTTP/1.0 200 OK\r\n\r\nqueued"), Some(200));
        assert_eq!(super::status("HTTP/1.1 404 Not Found\r\n"), Some(404));
        assert_eq!(super::status("SSH-2.0-OpenSSH_9.2\r\n"), None);
        assert_eq!(super::status(""), None);
    }
}
