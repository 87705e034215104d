//! `halab probe`: the gap probe, run inside lab nodes. The client sends a numbered tick every
//! `interval` over UDP and over one long-lived TCP connection; the server echoes both; the
//! client records when each echo comes back. Sends never block (a stalled TCP connection must
//! not stall the prober), and everything stops by itself after `duration`.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::clock::now_ns;

/// A tick on the wire: sequence number and send time (ns, monotonic).
const FRAME: usize = 16;
/// Hard limits whatever the arguments: bounded in time and count.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ProbeSamples {
    pub interval_ns: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub udp_sent: u64,
    pub tcp_sent: u64,
    /// Ticks the TCP send buffer had no room for (the connection was stalled).
    pub tcp_skipped: u64,
    /// (seq, sent_ns, received_ns) of each echo; a UDP echo's receipt is the kernel's stamp.
    pub udp: Vec<(u64, u64, u64)>,
    pub tcp: Vec<(u64, u64, u64)>,
    /// Why the TCP connection ended early, if it did (reset, closed).
    pub tcp_error: Option<String>,
}

fn frame(seq: u64, t: u64) -> [u8; FRAME] {
    let mut b = [0u8; FRAME];
    b[..8].copy_from_slice(&seq.to_be_bytes());
    b[8..].copy_from_slice(&t.to_be_bytes());
    b
}

fn unframe(b: &[u8]) -> (u64, u64) {
    let mut s = [0u8; 8];
    let mut t = [0u8; 8];
    s.copy_from_slice(&b[..8]);
    t.copy_from_slice(&b[8..16]);
    (u64::from_be_bytes(s), u64::from_be_bytes(t))
}

/// Echo UDP datagrams and TCP frames on `port` until `duration` has passed.
pub fn serve(port: u16, duration: Duration) -> Result<()> {
    let duration = duration.min(MAX_DURATION);
    let deadline = Instant::now() + duration;
    let udp = UdpSocket::bind(("0.0.0.0", port)).context("failed to bind the UDP probe port")?;
    udp.set_read_timeout(Some(Duration::from_millis(100)))?;
    let tcp = TcpListener::bind(("0.0.0.0", port)).context("failed to bind the TCP probe port")?;
    tcp.set_nonblocking(true)?;
    std::thread::spawn(move || {
        while Instant::now() < deadline {
            match tcp.accept() {
                Ok((s, _)) => {
                    std::thread::spawn(move || echo_tcp(s, deadline));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        if let Ok((n, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&buf[..n], from);
        }
    }
    Ok(())
}

fn echo_tcp(mut s: TcpStream, deadline: Instant) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            Err(_) => return,
        }
    }
}

/// How late the prober's ticks left (scheduling delay), in ms: each echoed tick's send time
/// against the schedule the earliest echoed tick sets. A starved host shows here; ticks never
/// echoed say nothing about it.
fn tick_lateness(s: &ProbeSamples) -> Vec<f64> {
    let Some(&(seq0, sent0, _)) = s.udp.iter().min_by_key(|x| x.0) else { return Vec::new() };
    let step = s.interval_ns as f64;
    s.udp.iter().map(|&(q, t, _)| (t as f64 - (sent0 as f64 + q.saturating_sub(seq0) as f64 * step)) / 1e6).collect()
}

/// Tick lateness p99 (nearest rank), ms: the starvation guard's figure.
pub fn tick_late_p99(s: &ProbeSamples) -> Option<f64> {
    super::stats::percentile(&tick_lateness(s), 99.0)
}

/// The latest tick, ms: how late a woken process ran on this host in this run at worst, the
/// bound on any stamp taken by a process woken for it (the probe's own receive times, a
/// stack hook's stamp).
pub fn tick_late_max(s: &ProbeSamples) -> Option<f64> {
    tick_lateness(s).into_iter().reduce(f64::max)
}

/// Block until `s` has data (or was closed), at most `ms`.
fn readable(s: &TcpStream, ms: u16) {
    use nix::poll::{poll, PollFd, PollFlags};
    use std::os::fd::AsFd;
    let _ = poll(&mut [PollFd::new(s.as_fd(), PollFlags::POLLIN)], ms);
}

type Shared = Arc<Mutex<ProbeSamples>>;

/// Tick `server:port` every `interval` for `duration`; return the echoes.
pub fn run_client(server: SocketAddr, interval: Duration, duration: Duration) -> Result<ProbeSamples> {
    let interval = interval.max(MIN_INTERVAL);
    let duration = duration.min(MAX_DURATION);
    let udp = UdpSocket::bind(("0.0.0.0", 0))?;
    udp.connect(server)?;
    udp.set_read_timeout(Some(Duration::from_millis(50)))?;
    let tcp = TcpStream::connect_timeout(&server, Duration::from_secs(5)).context("failed to open the probe's TCP connection")?;
    tcp.set_nodelay(true)?;
    let samples = Arc::new(Mutex::new(ProbeSamples { interval_ns: interval.as_nanos() as u64, start_ns: now_ns(), ..Default::default() }));
    let stop = Arc::new(AtomicBool::new(false));
    let readers = [
        {
            let (rx, s, stop) = (udp.try_clone()?, samples.clone(), stop.clone());
            std::thread::spawn(move || read_udp(rx, s, stop))
        },
        {
            let (rx, s, stop) = (tcp.try_clone()?, samples.clone(), stop.clone());
            std::thread::spawn(move || read_tcp(rx, s, stop))
        },
    ];
    let sent = send_ticks(&udp, tcp, interval, duration)?;
    // Let the last echoes arrive.
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        let _ = r.join();
    }
    let mut s = samples.lock().map(|s| s.clone()).unwrap_or_default();
    s.end_ns = now_ns();
    (s.udp_sent, s.tcp_sent, s.tcp_skipped) = sent;
    Ok(s)
}

/// Stamp every UDP echo with the time the kernel received it (SO_TIMESTAMPNS, the stamp
/// tcpdump reads too), not when this thread woke to read it: at a takeover the machine is
/// busy and a wake-up came 5 ms late. The kernel's stamp is wall-clock time, moved onto
/// CLOCK_MONOTONIC by the offset between the two clocks read just after; without the stamp
/// (not enabled), the wake-up time.
fn read_udp(rx: UdpSocket, samples: Shared, stop: Arc<AtomicBool>) {
    use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags};
    use std::os::fd::AsRawFd;
    // Refused, there is no stamp to read: the wake-up time stands in.
    let _ = setsockopt(&rx, sockopt::ReceiveTimestampns, &true);
    let mut buf = [0u8; 64];
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    while !stop.load(Ordering::Relaxed) {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let Ok(msg) = recvmsg::<()>(rx.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty()) else { continue };
        let (n, now) = (msg.bytes, now_ns());
        let kernel = msg.cmsgs().ok().and_then(|mut c| {
            c.find_map(|c| match c {
                ControlMessageOwned::ScmTimestampns(ts) => Some(ts.tv_sec() as i128 * 1_000_000_000 + ts.tv_nsec() as i128),
                _ => None,
            })
        });
        // The kernel's wall-clock stamp minus the wall clock's lead over the monotonic one.
        let at = kernel.and_then(|wall| u64::try_from(wall - (super::clock::realtime_ns() as i128 - now as i128)).ok()).unwrap_or(now);
        if n >= FRAME {
            let (seq, sent) = unframe(&buf);
            if let Ok(mut s) = samples.lock() {
                s.udp.push((seq, sent, at));
            }
        }
    }
}

/// Stamp every TCP echo frame as it arrives; a closed or broken stream is recorded.
fn read_tcp(mut rx: TcpStream, samples: Shared, stop: Arc<AtomicBool>) {
    let fail = |why: String| {
        if let Ok(mut s) = samples.lock() {
            s.tcp_error.get_or_insert(why);
        }
    };
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        match rx.read(&mut buf) {
            Ok(0) => return fail("closed by the peer".into()),
            Ok(n) => {
                pending.extend_from_slice(&buf[..n]);
                let t = now_ns();
                while pending.len() >= FRAME {
                    let (seq, sent) = unframe(&pending[..FRAME]);
                    pending.drain(..FRAME);
                    if let Ok(mut s) = samples.lock() {
                        s.tcp.push((seq, sent, t));
                    }
                }
            }
            // The sender made the shared socket non-blocking (read timeouts do not apply):
            // wait for data instead of spinning, which took a whole core.
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => readable(&rx, 50),
            Err(e) => return fail(e.to_string()),
        }
    }
}

/// Send a tick over UDP and TCP every `interval` on schedule until `duration` or SIGTERM (the
/// runner stopping the probe); returns (UDP sent, TCP sent, TCP skipped behind a full stream).
fn send_ticks(udp: &UdpSocket, mut tcp: TcpStream, interval: Duration, duration: Duration) -> Result<(u64, u64, u64)> {
    // Non-blocking: a stalled stream must not hold up the UDP ticks.
    tcp.set_nonblocking(true)?;
    let start = Instant::now();
    let mut seq = 0u64;
    let (mut udp_sent, mut tcp_sent, mut tcp_skipped) = (0u64, 0u64, 0u64);
    // A partly written frame must be finished before the next one, or the stream desyncs.
    let mut partial: Vec<u8> = Vec::new();
    while start.elapsed() < duration && !crate::interrupt::interrupted() {
        let f = frame(seq, now_ns());
        if udp.send(&f).is_ok() {
            udp_sent += 1;
        }
        if partial.is_empty() {
            partial.extend_from_slice(&f);
            tcp_sent += 1;
        } else {
            tcp_skipped += 1;
        }
        if let Ok(n) = tcp.write(&partial) {
            partial.drain(..n);
        }
        seq += 1;
        if let Some(wait) = (start + interval * seq as u32).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    Ok((udp_sent, tcp_sent, tcp_skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This process's CPU time (user + system), s.
    fn cpu_s() -> f64 {
        // SAFETY: getrusage fills the zeroed struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) }, 0);
        let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
        t(u.ru_utime) + t(u.ru_stime)
    }

    #[test]
    fn a_probe_on_loopback_sleeps_between_ticks() {
        // Once its TCP reader spun on a non-blocking socket: a whole core per probe, in every
        // lab and VM. Two seconds of 10 ms ticks (client and server here) cost a few ms.
        let port = TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
        std::thread::spawn(move || serve(port, Duration::from_secs(5)));
        std::thread::sleep(Duration::from_millis(200));
        let before = cpu_s();
        let s = run_client(SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(10), Duration::from_secs(2)).unwrap();
        let used = cpu_s() - before;
        assert!(s.udp.len() > 150 && s.tcp.len() > 150, "{} udp, {} tcp echoes", s.udp.len(), s.tcp.len());
        assert!(used < 0.5, "2 s of probing took {used:.2} s of CPU");
    }

    #[test]
    fn tick_lateness_p99_on_known_samples() {
        // 200 ticks of 10 ms from seq 5, out of order; tick k leaves k/20 ms late (0..9.95),
        // and ticks 7 and 8 were never echoed.
        let mut s = ProbeSamples { interval_ns: 10_000_000, ..Default::default() };
        for k in (0..200u64).rev().filter(|k| *k != 2 && *k != 3) {
            let sent = 1_000_000_000 + k * 10_000_000 + k * 50_000;
            s.udp.push((5 + k, sent, sent + 100_000));
        }
        // 198 lateness values; nearest rank 99 % is the 197th smallest: tick 198, 9.9 ms.
        let p = tick_late_p99(&s).unwrap();
        assert!((p - 9.9).abs() < 1e-9, "{p}");
        // Ticks on schedule from any first send time are not late.
        let on_time = ProbeSamples { interval_ns: 10_000_000, udp: (0..50).map(|k| (k, 7_000_000 + k * 10_000_000, 0)).collect(), ..Default::default() };
        assert_eq!(tick_late_p99(&on_time), Some(0.0));
        assert_eq!(tick_late_p99(&ProbeSamples::default()), None, "no echo, no lateness");
        assert!((tick_late_max(&s).unwrap() - 9.95).abs() < 1e-9, "the latest tick, 199: 9.95 ms");
        assert_eq!(tick_late_max(&on_time), Some(0.0));
        assert_eq!(tick_late_max(&ProbeSamples::default()), None);
    }
}
