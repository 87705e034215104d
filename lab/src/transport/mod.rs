//! The SSH transport (russh) to VMs and hosts, and to netns nodes in one test: key auth with
//! the lab's key, the node's host key pinned (a node whose key differs is refused, never
//! trusted on first use), keepalives, a timeout on every call, one cached connection per node
//! (reconnected after a reboot), files over sftp. Callers are synchronous: calls block on one
//! process-wide tokio runtime.

pub mod clock;
pub mod shell;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Output};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use russh::client::{self, Handle};
use russh::keys::{load_secret_key, PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, Disconnect};

/// Where and how to reach one node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub addr: SocketAddr,
    pub user: String,
    /// The lab's private key.
    pub key: PathBuf,
    /// The node's host key, `ssh-ed25519 AAAA...` (the pin).
    pub host_key: String,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("halab-ssh").enable_all().build().expect("a tokio runtime (threads, epoll)")
    })
}

type Conn = Arc<Handle<Pinned>>;

fn cache() -> &'static Mutex<HashMap<Target, Conn>> {
    static C: OnceLock<Mutex<HashMap<Target, Conn>>> = OnceLock::new();
    C.get_or_init(Default::default)
}

struct Pinned {
    expected: PublicKey,
    /// Set when the server showed another key, to say so instead of a bare "rejected".
    mismatch: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Pinned {
    type Error = russh::Error;

    async fn check_server_key(&mut self, server: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = server else {
            return Ok(false);
        };
        let ok = key.key_data() == self.expected.key_data();
        if !ok {
            if let Ok(mut m) = self.mismatch.lock() {
                *m = Some(key.to_openssh().unwrap_or_default());
            }
        }
        Ok(ok)
    }
}

fn parse_pin(host_key: &str) -> Result<PublicKey> {
    let b64 = host_key.split_whitespace().nth(1).with_context(|| format!("malformed host key `{host_key}`"))?;
    russh::keys::parse_public_key_base64(b64).with_context(|| format!("malformed host key `{host_key}`"))
}

async fn connect(t: &Target) -> Result<Conn> {
    let expected = parse_pin(&t.host_key)?;
    let key = load_secret_key(&t.key, None).with_context(|| format!("failed to load the lab key {}", t.key.display()))?;
    let config = Arc::new(client::Config {
        // A crashed VM must not hang halab: 3 unanswered keepalives, 1 s apart, close the connection.
        keepalive_interval: Some(Duration::from_secs(1)),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    });
    let mismatch = Arc::new(Mutex::new(None));
    let handler = Pinned { expected, mismatch: mismatch.clone() };
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, client::connect(config, t.addr, handler)).await;
    let mut handle = match connected {
        Err(_) => bail!("ssh to {}: no answer within {} s", t.addr, CONNECT_TIMEOUT.as_secs()),
        Ok(Err(e)) => {
            if let Some(shown) = mismatch.lock().ok().and_then(|m| m.clone()) {
                bail!("ssh to {}: the host key is not the pinned one (pinned `{}`, shown `{shown}`): refusing", t.addr, t.host_key);
            }
            return Err(anyhow!(e).context(format!("ssh to {} failed", t.addr)));
        }
        Ok(Ok(h)) => h,
    };
    let hash = handle.best_supported_rsa_hash().await.ok().flatten().flatten();
    let auth = tokio::time::timeout(CONNECT_TIMEOUT, handle.authenticate_publickey(&t.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash)))
        .await
        .map_err(|_| anyhow!("ssh to {}: authentication timed out", t.addr))?
        .with_context(|| format!("ssh to {}: authentication failed", t.addr))?;
    if !auth.success() {
        bail!("ssh to {}: the lab key was refused for {}", t.addr, t.user);
    }
    Ok(Arc::new(handle))
}

/// A live connection to `t`: the cached one, or a new one.
async fn conn(t: &Target) -> Result<Conn> {
    if let Some(c) = cache().lock().map_err(|_| anyhow!("ssh cache poisoned"))?.get(t).cloned() {
        return Ok(c);
    }
    let c = connect(t).await?;
    cache().lock().map_err(|_| anyhow!("ssh cache poisoned"))?.insert(t.clone(), c.clone());
    Ok(c)
}

fn forget(t: &Target) {
    if let Ok(mut c) = cache().lock() {
        c.remove(t);
    }
}

/// Open a session channel; on a stale cached connection (the node rebooted), reconnect once.
async fn channel(t: &Target) -> Result<russh::Channel<client::Msg>> {
    let c = conn(t).await?;
    match c.channel_open_session().await {
        Ok(ch) => Ok(ch),
        Err(_) => {
            forget(t);
            let c = conn(t).await?;
            c.channel_open_session().await.with_context(|| format!("ssh to {}: failed to open a session", t.addr))
        }
    }
}

async fn exec_async(t: &Target, command: &str, stdin: Option<&[u8]>) -> Result<Output> {
    let mut ch = channel(t).await?;
    ch.exec(true, command).await.with_context(|| format!("ssh to {}: exec failed", t.addr))?;
    if let Some(input) = stdin {
        ch.data(input).await.with_context(|| format!("ssh to {}: failed to send stdin", t.addr))?;
    }
    ch.eof().await.ok();
    let (mut stdout, mut stderr, mut status) = (Vec::new(), Vec::new(), None);
    while let Some(msg) = ch.wait().await {
        match msg {
            ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(ExitStatus::from_raw(((exit_status & 0xff) as i32) << 8)),
            // A signal: report it like a local child killed by one (SIGKILL = 9).
            ChannelMsg::ExitSignal { signal_name, .. } => status = Some(ExitStatus::from_raw(signal_number(&signal_name))),
            _ => {}
        }
    }
    let status = status.with_context(|| format!("ssh to {}: `{command}` ended without an exit status (connection lost?)", t.addr))?;
    Ok(Output { status, stdout, stderr })
}

fn signal_number(s: &russh::Sig) -> i32 {
    match s {
        russh::Sig::KILL => 9,
        russh::Sig::TERM => 15,
        russh::Sig::INT => 2,
        russh::Sig::HUP => 1,
        russh::Sig::SEGV => 11,
        russh::Sig::ABRT => 6,
        _ => 15,
    }
}

/// Run argv on the node (quoted for its shell); whatever it exits with comes back.
pub fn exec(t: &Target, argv: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<Output> {
    let command = shlex::try_join(argv.iter().copied()).map_err(|e| anyhow!("cannot quote `{}` for the remote shell: {e}", argv.join(" ")))?;
    let r = runtime().block_on(async { tokio::time::timeout(timeout, exec_async(t, &command, stdin)).await });
    match r {
        Ok(out) => out,
        Err(_) => {
            // The connection may be wedged (a frozen or crashed VM): start afresh next time.
            forget(t);
            bail!("ssh to {}: `{command}` did not finish within {} s", t.addr, timeout.as_secs())
        }
    }
}

/// Write a file on the node over sftp, with `mode`.
pub fn put(t: &Target, path: &str, content: &[u8], mode: u32, timeout: Duration) -> Result<()> {
    let job = async {
        let ch = channel(t).await?;
        ch.request_subsystem(true, "sftp").await.context("the sftp subsystem was refused")?;
        let sftp = russh_sftp::client::SftpSession::new(ch.into_stream()).await.context("sftp handshake failed")?;
        write_new(&sftp, path, content, mode).await?;
        sftp.close().await.ok();
        anyhow::Ok(())
    };
    runtime()
        .block_on(async { tokio::time::timeout(timeout, job).await })
        .map_err(|_| anyhow!("sftp to {}: writing {path} did not finish within {} s", t.addr, timeout.as_secs()))?
        .with_context(|| format!("sftp to {}: failed to write {path}", t.addr))
}

async fn write_new(sftp: &russh_sftp::client::SftpSession, path: &str, content: &[u8], mode: u32) -> Result<()> {
    use russh_sftp::protocol::{FileAttributes, OpenFlags};
    use tokio::io::AsyncWriteExt;
    let attrs = FileAttributes { permissions: Some(mode), ..Default::default() };
    let mut f = sftp.open_with_flags_and_attributes(path, OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::WRITE, attrs.clone()).await?;
    f.write_all(content).await?;
    f.shutdown().await?;
    // The mode given at open only applies to new files, and passes through the umask.
    sftp.set_metadata(path, attrs).await?;
    Ok(())
}

/// Is the node's sshd answering, with the pinned key and the lab's key accepted?
pub fn ready(t: &Target) -> bool {
    exec(t, &["true"], None, Duration::from_secs(5)).is_ok_and(|o| o.status.success())
}

/// The one wait for a machine's SSH (a VM booting, a host powered on): every 250 ms its port,
/// then a command over the pinned key. `alive` fails the wait early (a VM that stopped).
pub fn wait_ssh(t: &Target, timeout: Duration, mut alive: impl FnMut() -> Result<()>, what: impl Fn() -> String) -> Result<Duration> {
    disconnect(t);
    let answers = || std::net::TcpStream::connect_timeout(&t.addr, Duration::from_millis(500)).is_ok() && ready(t);
    crate::wait::until(
        timeout,
        Duration::from_millis(250),
        || {
            alive()?;
            Ok(answers())
        },
        what,
    )
}

/// Drop every cached connection to these targets (a node was powered off or the lab goes down).
pub fn disconnect(t: &Target) {
    let c = cache().lock().ok().and_then(|mut c| c.remove(t));
    if let Some(c) = c {
        let _ = runtime().block_on(async { tokio::time::timeout(Duration::from_secs(1), c.disconnect(Disconnect::ByApplication, "", "en")).await });
    }
}

/// Records the key a server shows, then refuses it: `halab hosts trust` fetches a key this way
/// (nothing is run on the host).
struct Shown(Arc<Mutex<Option<PublicKey>>>);

impl client::Handler for Shown {
    type Error = russh::Error;

    async fn check_server_key(&mut self, server: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        if let (russh::keys::PublicKeyOrCertificate::PublicKey { key, .. }, Ok(mut m)) = (server, self.0.lock()) {
            *m = Some(key.clone());
        }
        Ok(false)
    }
}

/// The host key `addr` shows (`ssh-ed25519 AAAA...`) and its SHA256 fingerprint, as
/// `ssh-keygen -l` prints it, for a person to compare with the host's console.
pub fn fetch_host_key(addr: SocketAddr) -> Result<(String, String)> {
    let shown = Arc::new(Mutex::new(None));
    let config = Arc::new(client::Config {
        preferred: russh::Preferred { key: std::borrow::Cow::Borrowed(&[russh::keys::Algorithm::Ed25519]), ..Default::default() },
        ..Default::default()
    });
    let handler = Shown(shown.clone());
    let _ = runtime().block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, client::connect(config, addr, handler)).await });
    let key = shown.lock().map_err(|_| anyhow!("host key lock poisoned"))?.take().with_context(|| format!("{addr} showed no SSH host key (no sshd there?)"))?;
    let line = key.to_openssh().context("cannot render the host key")?;
    let fp = key.fingerprint(russh::keys::HashAlg::Sha256).to_string();
    Ok((line.split_whitespace().take(2).collect::<Vec<_>>().join(" "), fp))
}
