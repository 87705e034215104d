//! Providers: where a lab's nodes and networks live. `netns` is the embedded default.

pub mod netns;

#[cfg(feature = "libvirt")]
pub mod libvirt;
