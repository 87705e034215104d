//! Text into XML (CIB, libvirt domains, HTML, JUnit): one escaping for every attribute value
//! and text node halab writes.

/// Escape `& < > ' "` so `s` is safe in an attribute value or a text node.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&apos;").replace('"', "&quot;")
}
