//! KVM or TCG. /dev/kvm existing is not enough: under nested virtualisation it can exist and
//! hang every guest. So a short boot of the image's kernel with KVM decides: the kernel must
//! print its banner on the serial console within a few seconds. The answer is cached per host
//! boot; `HALAB_ACCEL=kvm|tcg` overrides it.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::progress::info;

const PROBE_TIMEOUT: Duration = Duration::from_secs(8);

pub fn kvm_works(kernel: &Path) -> bool {
    match std::env::var("HALAB_ACCEL").as_deref() {
        Ok("kvm") => return true,
        Ok("tcg") => return false,
        _ => {}
    }
    if std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_err() {
        return false;
    }
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let cache = crate::ledger::state_root().with_file_name("kvm-probe");
    if let Ok(text) = std::fs::read_to_string(&cache) {
        if let Some(ans) = text.strip_prefix(boot_id.trim()).map(str::trim) {
            return ans == "kvm";
        }
    }
    let t = Instant::now();
    let works = probe(kernel);
    info(&format!("KVM probe: {} ({:.1} s)", if works { "KVM works" } else { "KVM does not boot a guest here: using TCG" }, t.elapsed().as_secs_f64()));
    let _ = std::fs::write(&cache, format!("{} {}\n", boot_id.trim(), if works { "kvm" } else { "tcg" }));
    works
}

fn probe(kernel: &Path) -> bool {
    let child = Command::new("qemu-system-x86_64")
        .args(["-accel", "kvm", "-m", "128", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-kernel"])
        .arg(kernel)
        .args(["-append", "console=ttyS0 panic=-1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return false };
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(mut out) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&seen).contains("Linux version") {
                    let _ = tx.send(());
                    break;
                }
            }
        });
    }
    let ok = rx.recv_timeout(PROBE_TIMEOUT).is_ok();
    let _ = child.kill();
    let _ = child.wait();
    ok
}
