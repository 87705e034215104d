//! The libvirt provider (feature `libvirt`): the same topology as real Debian VMs on libvirt
//! networks. In progress: the XML, the connection seam and its tests against libvirt's own
//! test:///default driver exist; disks, guest identity, boot and the russh transport do not yet.

pub mod conn;
pub mod xml;
