//! keepalived's transitions, read in order from its notify FIFO: the script records the state
//! halab reads (primary/backup/fault), a timestamped event per line, and drives conntrackd.
//!
//! A FIFO and not `notify_master`/`notify_backup`: keepalived runs those as separate processes
//! that can finish out of order. On a TCG VM a member that went MASTER then BACKUP within a
//! second ended with `primary` recorded (the MASTER script finished last), and conntrackd in
//! the primary's mode on a backup.

use crate::stack::conntrackd;

/// The FIFO reader keepalived starts (`vrrp_notify_fifo_script`) with the FIFO as `$1`.
pub const SCRIPT: &str = "/etc/halab/ha-notify";
pub const FIFO: &str = "/run/halab/keepalived.fifo";
/// The state of the sync group (or of the lone instance) as last reported.
pub const STATE_FILE: &str = "/run/halab/ha-state";
/// What the user's notify command printed.
pub const USER_LOG: &str = "/var/log/halab/notify.log";
/// One line per transition: `<wall ns> <GROUP|INSTANCE> <name> <STATE> [priority]`.
use crate::stack::events::LOG as EVENTS;

/// Which lines carry the member's state: the sync group's when several VIP networks move
/// together, the lone instance's otherwise (keepalived has no group then).
pub fn unit(cl: &crate::topology::PlanCluster) -> &'static str {
    if cl.vips.len() > 1 && cl.keepalived.adverts.is_none() {
        "GROUP"
    } else {
        "INSTANCE"
    }
}

/// The reader. Primary: commit the external cache, flush the internal one, resync from the
/// kernel, send a bulk update. Backup: shorten the timers and request a resync.
/// The user's notify command (`cluster.keepalived.notify`) gets each line's words as its
/// arguments, in order, after halab's own handling of the line (conntrackd first); its output
/// goes to a log of its own.
pub fn script(unit: &str, user: Option<&str>) -> String {
    let config = conntrackd::CONFIG;
    let user =
        user.map(|u| format!("    name=$(echo \"$name\" | tr -d '\"')\n    {u} \"$kind\" \"$name\" \"$state\" $prio >> {USER_LOG} 2>&1\n")).unwrap_or_default();
    format!(
        r#"#!/bin/bash
# halab: keepalived notify FIFO reader (generated). keepalived starts it with the FIFO as $1
# and writes one line per transition, in order: GROUP "halab" MASTER / INSTANCE "vi_lan" BACKUP 100
mkdir -p /run/halab /var/log/halab
ct() {{ /usr/sbin/conntrackd -C {config} "$@" >> /var/log/halab/ha-notify.log 2>&1; }}
# halab's own handling of one line: the state it records, conntrackd's mode.
own() {{
    [ "$1" = "{unit}" ] || return 0
    case "$3" in
        MASTER) s=primary ;;
        BACKUP) s=backup ;;
        FAULT) s=fault ;;
        *) return 0 ;;
    esac
    echo "$s" > {STATE_FILE}
    [ -f {config} ] || return 0
    case "$s" in
        primary) ct -c; ct -f; ct -R; ct -B ;;
        backup) ct -t; ct -n ;;
        fault) ct -t ;;
    esac
}}
# Stamped the moment the line is read, by bash itself ($EPOCHREALTIME, microseconds): a
# `date` forked per line made the stamp late by a process start. What is left is this
# reader's wake-up after keepalived's write, as late as any woken process on the host.
while read -r kind name state prio; do
    t=${{EPOCHREALTIME/./}}
    echo "${{t}}000 $kind $name $state $prio" >> {EVENTS}
    own "$kind" "$name" "$state"
{user}done < "$1"
"#
    )
}
