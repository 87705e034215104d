//! The only module that names the `virt` crate. libvirt's C API blocks, so every call runs on a
//! worker thread of its own, never on the caller's (later: a tokio worker's) thread.

use anyhow::{anyhow, Context, Result};
use virt::connect::Connect;

/// Open `uri`, run `f` with the connection on a worker thread, close.
pub fn with_conn<T: Send + 'static>(uri: &str, f: impl FnOnce(&Connect) -> Result<T> + Send + 'static) -> Result<T> {
    let uri = uri.to_string();
    std::thread::spawn(move || -> Result<T> {
        // Errors come back as values; libvirt's default handler would also print each one,
        // including the expected "not found" of idempotent removals.
        virt::error::clear_error_callback();
        // The connection closes when dropped, at the end of this thread.
        let conn = Connect::open(Some(&uri)).with_context(|| format!("failed to connect to libvirt at {uri} (is libvirtd running?)"))?;
        f(&conn)
    })
    .join()
    .map_err(|_| anyhow!("the libvirt worker thread panicked"))?
}

/// Define and start a network; returns its name.
pub fn start_network(conn: &Connect, xml: &str) -> Result<String> {
    let net = conn.define_network_xml(xml).context("failed to define a libvirt network")?;
    net.create().context("failed to start a libvirt network")?;
    Ok(net.name()?)
}

/// Stop and undefine a network if it exists (idempotent, for `down`).
pub fn remove_network(conn: &Connect, name: &str) -> Result<()> {
    if let Ok(net) = conn.lookup_network_by_name(name) {
        if net.is_active().unwrap_or(false) {
            net.destroy().with_context(|| format!("failed to stop network {name}"))?;
        }
        net.undefine().with_context(|| format!("failed to undefine network {name}"))?;
    }
    Ok(())
}

/// Define and start a domain.
pub fn start_domain(conn: &Connect, xml: &str) -> Result<String> {
    let dom = conn.define_domain_xml(xml).context("failed to define a libvirt domain")?;
    dom.create().context("failed to start a libvirt domain")?;
    Ok(dom.name()?)
}

/// Power cut: destroy (idempotent).
pub fn destroy_domain(conn: &Connect, name: &str) -> Result<()> {
    if let Ok(dom) = conn.lookup_domain_by_name(name) {
        if dom.is_active().unwrap_or(false) {
            dom.destroy().with_context(|| format!("failed to destroy domain {name}"))?;
        }
    }
    Ok(())
}

/// Destroy and undefine a domain if it exists (idempotent, for `down`).
pub fn remove_domain(conn: &Connect, name: &str) -> Result<()> {
    destroy_domain(conn, name)?;
    if let Ok(dom) = conn.lookup_domain_by_name(name) {
        dom.undefine().with_context(|| format!("failed to undefine domain {name}"))?;
    }
    Ok(())
}

pub fn domain_active(conn: &Connect, name: &str) -> Result<bool> {
    let dom = conn.lookup_domain_by_name(name).with_context(|| format!("no domain {name}"))?;
    Ok(dom.is_active()?)
}

pub fn network_active(conn: &Connect, name: &str) -> Result<bool> {
    let net = conn.lookup_network_by_name(name).with_context(|| format!("no network {name}"))?;
    Ok(net.is_active()?)
}

/// Freeze / thaw (suspend / resume).
pub fn set_frozen(conn: &Connect, name: &str, frozen: bool) -> Result<()> {
    let dom = conn.lookup_domain_by_name(name).with_context(|| format!("no domain {name}"))?;
    if frozen {
        dom.suspend()?;
    } else {
        dom.resume()?;
    }
    Ok(())
}

/// Pull or plug a cable on a running domain (live device update).
pub fn update_link(conn: &Connect, domain: &str, device_xml: &str) -> Result<()> {
    let dom = conn.lookup_domain_by_name(domain).with_context(|| format!("no domain {domain}"))?;
    dom.update_device_flags(device_xml, virt::sys::VIR_DOMAIN_AFFECT_LIVE).with_context(|| format!("failed to change a link of {domain}"))?;
    Ok(())
}

/// Start a defined, stopped domain (power on); an error if it runs already.
pub fn start_defined(conn: &Connect, name: &str) -> Result<()> {
    let dom = conn.lookup_domain_by_name(name).with_context(|| format!("no domain {name}"))?;
    if dom.is_active()? {
        anyhow::bail!("domain {name} is already running");
    }
    dom.create().with_context(|| format!("failed to start domain {name}"))?;
    Ok(())
}

/// Hard reset (the reset button).
pub fn reset(conn: &Connect, name: &str) -> Result<()> {
    let dom = conn.lookup_domain_by_name(name).with_context(|| format!("no domain {name}"))?;
    dom.reset().with_context(|| format!("failed to reset domain {name}"))?;
    Ok(())
}

/// Remove the libvirt objects of a ledger: domains first (they hold the networks' ports).
pub fn remove_objects(objs: &[crate::ledger::Object]) -> Result<()> {
    use crate::ledger::Object;
    let mut by_uri: std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> = Default::default();
    for o in objs {
        match o {
            Object::Domain { uri, name } => by_uri.entry(uri.clone()).or_default().0.push(name.clone()),
            Object::Network { uri, name } => by_uri.entry(uri.clone()).or_default().1.push(name.clone()),
            _ => {}
        }
    }
    for (uri, (doms, nets)) in by_uri {
        // A destroy takes ~1.7 s under TCG: every domain at once, each on its own connection.
        crate::parallel::try_each(&doms, |d| {
            let d = d.clone();
            with_conn(&uri, move |c| remove_domain(c, &d))
        })?;
        with_conn(&uri, move |c| {
            for n in &nets {
                remove_network(c, n)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}
