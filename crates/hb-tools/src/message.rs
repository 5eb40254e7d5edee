//! The bytes written into the FIFO: what `ha_clustermsg` of shellfuncs makes of the
//! scripts' `name=value` lines (a `>>>` line before them, a `<<<` line after them).

use crate::args::{Set, Tool};

/// The message `tool` writes for `set`, framed for the FIFO.
///
/// - hb_standby: `t=ask_resources`, `rsc_hold=<all|local|foreign>` (failback sent as
///   foreign), `info=me`.
/// - hb_takeover: `t=hb_takeover`, `rsc_hold=<all|local|foreign|failback>`.
pub fn fifo_message(tool: Tool, set: Set) -> Vec<u8> {
    let hold = set.rsc_hold(tool);
    let body = match tool {
        Tool::Standby => format!("t=ask_resources\nrsc_hold={hold}\ninfo=me\n"),
        Tool::Takeover => format!("t=hb_takeover\nrsc_hold={hold}\n"),
    };
    format!(">>>\n{body}<<<\n").into_bytes()
}

/// The line hb_standby logs before it sends (hb_takeover logs nothing).
pub fn log_text(tool: Tool, set: Set) -> Option<String> {
    match tool {
        Tool::Standby => Some(format!("Going standby [{}].", set.rsc_hold(tool))),
        Tool::Takeover => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hb_io::fifo::{FifoItem, FifoParser};

    const SETS: [Set; 4] = [Set::All, Set::Local, Set::Foreign, Set::Failback];

    #[test]
    fn standby_bytes() {
        assert_eq!(
            fifo_message(Tool::Standby, Set::All),
            b">>>\nt=ask_resources\nrsc_hold=all\ninfo=me\n<<<\n"
        );
        assert_eq!(
            fifo_message(Tool::Standby, Set::Local),
            b">>>\nt=ask_resources\nrsc_hold=local\ninfo=me\n<<<\n"
        );
        assert_eq!(
            fifo_message(Tool::Standby, Set::Foreign),
            b">>>\nt=ask_resources\nrsc_hold=foreign\ninfo=me\n<<<\n"
        );
        assert_eq!(
            fifo_message(Tool::Standby, Set::Failback),
            b">>>\nt=ask_resources\nrsc_hold=foreign\ninfo=me\n<<<\n"
        );
    }

    #[test]
    fn takeover_bytes() {
        assert_eq!(
            fifo_message(Tool::Takeover, Set::All),
            b">>>\nt=hb_takeover\nrsc_hold=all\n<<<\n"
        );
        assert_eq!(
            fifo_message(Tool::Takeover, Set::Local),
            b">>>\nt=hb_takeover\nrsc_hold=local\n<<<\n"
        );
        assert_eq!(
            fifo_message(Tool::Takeover, Set::Foreign),
            b">>>\nt=hb_takeover\nrsc_hold=foreign\n<<<\n"
        );
        assert_eq!(
            fifo_message(Tool::Takeover, Set::Failback),
            b">>>\nt=hb_takeover\nrsc_hold=failback\n<<<\n"
        );
    }

    #[test]
    fn log_lines() {
        assert_eq!(
            log_text(Tool::Standby, Set::All).as_deref(),
            Some("Going standby [all].")
        );
        assert_eq!(
            log_text(Tool::Standby, Set::Failback).as_deref(),
            Some("Going standby [foreign].")
        );
        for s in SETS {
            assert_eq!(log_text(Tool::Takeover, s), None);
        }
    }

    /// The daemon's FIFO reader takes each message whole, with the fields in order.
    #[test]
    fn the_daemon_parser_reads_them() {
        for tool in [Tool::Standby, Tool::Takeover] {
            for set in SETS {
                let bytes = fifo_message(tool, set);
                // One write of a FIFO is atomic only up to PIPE_BUF.
                assert!(bytes.len() < 512);
                let items = FifoParser::new().push(&bytes);
                assert_eq!(items.len(), 1, "{tool:?} {set:?}");
                let m = match &items[0] {
                    FifoItem::Message(m) => m,
                    FifoItem::Bad(why) => panic!("{tool:?} {set:?}: {why}"),
                };
                let expected_t = match tool {
                    Tool::Standby => "ask_resources",
                    Tool::Takeover => "hb_takeover",
                };
                assert_eq!(m.msg_type(), Some(expected_t));
                assert_eq!(m.get("rsc_hold"), Some(set.rsc_hold(tool)));
                let info = m.get("info");
                match tool {
                    Tool::Standby => assert_eq!(info, Some("me")),
                    Tool::Takeover => assert_eq!(info, None),
                }
            }
        }
    }
}
