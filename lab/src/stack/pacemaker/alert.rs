//! pacemaker's own events for halab: an alert agent and the CIB's `alerts` section that calls
//! it for node (membership), fencing and resource events. Each goes as one line to the events
//! log (`stack/events.rs`), stamped with the time pacemaker took the event (pacemaker runs
//! alert agents asynchronously, so the agent's own clock would be late), at microseconds.

use crate::stack::events::LOG;

pub const AGENT: &str = "/etc/halab/pcmk-alert";

/// The CIB's `<alerts>` (inside `<configuration>`). Attribute updates are left out: link
/// monitoring rewrites one every second.
pub fn cib_section() -> String {
    format!(
        "    <alerts>\n      <alert id=\"halab-events\" path=\"{AGENT}\">\n        <select>\n          <select_nodes/>\n          <select_fencing/>\n          <select_resources/>\n        </select>\n        <recipient id=\"halab-events-log\" value=\"{LOG}\"/>\n      </alert>\n    </alerts>\n"
    )
}

/// The agent (runs as hacluster): `<wall ns> <kind> <node> <resource> <task> <desc> rc=<rc>`.
pub fn agent() -> String {
    r#"#!/bin/sh
# halab: pacemaker alert agent (generated). One line per event in the recipient file, stamped
# with the time pacemaker took the event: <wall ns> <kind> <node> <resource> <task> <desc> rc=<rc>
[ -n "$CRM_alert_recipient" ] && [ -n "$CRM_alert_timestamp_epoch" ] || exit 0
[ "$CRM_alert_desc" = Cancelled ] && exit 0
u=${CRM_alert_timestamp_usec:-0}
while [ ${#u} -lt 6 ]; do u=0$u; done
echo "${CRM_alert_timestamp_epoch}${u}000 $CRM_alert_kind $CRM_alert_node ${CRM_alert_rsc:--} ${CRM_alert_task:--} ${CRM_alert_desc:--} rc=${CRM_alert_rc:--}" >> "$CRM_alert_recipient"
exit 0
"#.to_string()
}

/// The events log, writable by the agent's user.
pub fn prepare() -> String {
    format!("mkdir -p /var/log/halab && touch {LOG} && chown hacluster:haclient {LOG}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn prepare_makes_the_events_log() {
        assert!(super::prepare().contains(&format!("touch {}", super::LOG)));
    }
}
