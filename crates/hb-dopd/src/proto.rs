//! The messages of dopd and drbd-peer-outdater, and the exit-code mapping.

use hb_wire::Message;

/// The request type from the handler (and the socket's name).
pub const T_OUTDATER: &str = "outdater";
/// dopd's answer to the handler.
pub const T_OUTDATER_RC: &str = "outdater_rc";
/// dopd to the peer's dopd: outdate this resource.
pub const T_START_OUTDATE: &str = "start_outdate";
/// The peer's dopd's answer.
pub const T_OUTDATE_RC: &str = "outdate_rc";

/// The originator (heartbeat's `F_ORIG`).
pub const F_ORIG: &str = "src";
pub const F_OUTDATER_PEER: &str = "outdater_peer";
pub const F_OUTDATER_RES: &str = "outdater_res";
pub const F_DOPD_VALUE: &str = "dop_value";
pub const F_DOPD_RES: &str = "dop_res";

/// The id dopd signs on with (messages go only to clients of the same id).
pub const CLIENT_ID: &str = "dopd";
/// The handler's name (its `src`).
pub const OUTDATER_NAME: &str = "drbd-peer-outdater";

/// The local socket: 2.0.8's `CRM_SOCK_DIR/outdater` (3.0.6 uses
/// /var/run/heartbeat/dopd/outdater).
pub const DEFAULT_SOCKET: &str = "/var/run/heartbeat/crm/outdater";

/// The command run for a peer's request: `drbdadm outdate RESOURCE` (2.0.8 ran
/// `/sbin/drbdadm`, 3.0 `drbdadm` from PATH; we look in PATH, then /sbin and
/// /usr/sbin).
pub const DRBDADM: &str = "drbdadm";

/// Exit statuses of the handler (DRBD's outdate-peer interface).
pub mod rc {
    /// The peer's disk was Inconsistent already.
    pub const INCONSISTENT: i32 = 3;
    /// The peer's disk is Outdated.
    pub const OUTDATED: i32 = 4;
    /// The peer could not be reached.
    pub const UNREACHABLE: i32 = 5;
    /// The peer is Primary and refused.
    pub const PRIMARY: i32 = 6;
    /// Anything else: reached, not outdated.
    pub const FAILED: i32 = 20;
    /// Another handler waits for the same resource.
    pub const BUSY: i32 = 21;
}

/// How `drbdadm outdate` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandEnd {
    Exited(i32),
    Signaled(i32),
    /// It could not be started, or was killed at its deadline.
    Failed,
}

/// The answer for the requester: `drbdadm outdate` 0 → 4, 5 → 3, 17 → 6, else 20.
pub fn answer_for(end: CommandEnd) -> i32 {
    match end {
        CommandEnd::Exited(0) => rc::OUTDATED,
        CommandEnd::Exited(5) => rc::INCONSISTENT,
        CommandEnd::Exited(17) => rc::PRIMARY,
        _ => rc::FAILED,
    }
}

/// Whether a resource name may be handed to drbdadm.
pub fn valid_resource(res: &str) -> bool {
    !res.is_empty() && !res.starts_with('-') && !res.contains(['\0', '\n'])
}

/// The handler's request.
pub fn outdater_request(peer: &str, resource: &str) -> Message {
    let mut m = Message::with_type(T_OUTDATER);
    m.push_str(F_ORIG, OUTDATER_NAME)
        .push_str(F_OUTDATER_PEER, peer)
        .push_str(F_OUTDATER_RES, resource);
    m
}

/// dopd's answer to the handler.
pub fn outdater_reply(me: &str, value: &str) -> Message {
    let mut m = Message::with_type(T_OUTDATER_RC);
    m.push_str(F_ORIG, me).push_str(F_DOPD_VALUE, value);
    m
}

/// The request to the peer's dopd.
pub fn start_outdate(me: &str, resource: &str) -> Message {
    let mut m = Message::with_type(T_START_OUTDATE);
    m.push_str(F_ORIG, me).push_str(F_DOPD_RES, resource);
    m
}

/// The answer to the requesting dopd.
pub fn outdate_rc(me: &str, value: i32, resource: &str) -> Message {
    let mut m = Message::with_type(T_OUTDATE_RC);
    m.push_str(F_DOPD_VALUE, value.to_string())
        .push_str(F_DOPD_RES, resource)
        .push_str(F_ORIG, me);
    m
}

/// C's `strtol(s, &end, 10)` with `*end == '\0'` required: the whole text is a number.
pub fn parse_value(s: &str) -> Option<i32> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<i64>()
        .ok()
        .map(|v| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        assert_eq!(answer_for(CommandEnd::Exited(0)), 4);
        assert_eq!(answer_for(CommandEnd::Exited(5)), 3);
        assert_eq!(answer_for(CommandEnd::Exited(17)), 6);
        assert_eq!(answer_for(CommandEnd::Exited(1)), 20);
        assert_eq!(answer_for(CommandEnd::Exited(127)), 20);
        assert_eq!(answer_for(CommandEnd::Signaled(9)), 20);
        assert_eq!(answer_for(CommandEnd::Failed), 20);
    }

    #[test]
    fn messages_have_the_originals_fields_in_order() {
        let one = |m: &Message| hb_api::text::one_line(m);
        assert_eq!(
            one(&outdater_request("b", "r0")),
            "t=outdater|src=drbd-peer-outdater|outdater_peer=b|outdater_res=r0"
        );
        assert_eq!(
            one(&outdater_reply("a", "4")),
            "t=outdater_rc|src=a|dop_value=4"
        );
        assert_eq!(
            one(&start_outdate("a", "r0")),
            "t=start_outdate|src=a|dop_res=r0"
        );
        assert_eq!(
            one(&outdate_rc("b", 6, "r0")),
            "t=outdate_rc|dop_value=6|dop_res=r0|src=b"
        );
    }

    #[test]
    fn values_and_names() {
        assert_eq!(parse_value("4"), Some(4));
        assert_eq!(parse_value(" 21"), Some(21));
        assert_eq!(parse_value("-1"), Some(-1));
        assert_eq!(parse_value("4x"), None);
        assert_eq!(parse_value(""), None);
        assert_eq!(parse_value("x"), None);
        assert!(valid_resource("r0"));
        assert!(valid_resource("drbd_data-1"));
        assert!(!valid_resource(""));
        assert!(!valid_resource("-c"));
        assert!(!valid_resource("a\nb"));
    }
}
