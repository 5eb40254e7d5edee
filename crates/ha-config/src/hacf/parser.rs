//! The state of a read of ha.cf and the loop over its lines: each line goes to its
//! directive's parse function ([`super::directives::parse_fn`]) as its shape says: once
//! with its one value, once per value of a list, or once with the rest of the line.

use std::net::Ipv4Addr;

use super::directives::parse_fn;
use super::table::{directive, not_acted_on_reason, Shape, Support};
use super::{ApiAuth, AutoFailback, Medium, NotActedOn, PingGroup, Respawn, Stonith};
use crate::diag::Diagnostic;
use crate::lines::{hacf_lines, split_delims};
use crate::resolver::Resolver;

/// The UDP port when ha.cf names none and the services database has no `ha-cluster`.
pub(super) const DEFAULT_PORT: u16 = 694;

/// The service whose port the original uses when ha.cf has no `udpport`.
pub(super) const SERVICE: &str = "ha-cluster";

/// What has been read so far.
pub(super) struct Parser<'a> {
    pub(super) file: &'a str,
    resolver: &'a dyn Resolver,
    /// The services database's port, asked for once, when first needed.
    service_port: Option<Option<u16>>,
    pub(super) d: Vec<Diagnostic>,
    /// Every valid occurrence of a one-value directive: (name, value, line).
    pub(super) values: Vec<(&'static str, String, usize)>,
    pub(super) media: Vec<Medium>,
    pub(super) nodes: Vec<String>,
    pub(super) ping: Vec<String>,
    pub(super) ping6: Vec<String>,
    pub(super) ping_groups: Vec<PingGroup>,
    pub(super) respawn: Vec<Respawn>,
    pub(super) failfast: Vec<Respawn>,
    pub(super) apiauth: Vec<(ApiAuth, usize)>,
    pub(super) stonith: Vec<Stonith>,
    pub(super) env: Vec<(String, String)>,
    pub(super) not_acted_on: Vec<NotActedOn>,
    pub(super) auto_failback: AutoFailback,
    pub(super) auto_failback_set: bool,
    /// `udpport` in force while reading (the plugins read it at their first medium).
    pub(super) udpport_now: Option<u16>,
    pub(super) ucast_port: Option<(u16, usize)>,
    pub(super) bcast_port: Option<(u16, usize)>,
    /// The baud rate in force at the first `serial` line, and that line.
    pub(super) serial_baud: Option<(u32, usize)>,
    pub(super) crm_lines: Vec<usize>,
}

impl<'a> Parser<'a> {
    fn new(file: &'a str, resolver: &'a dyn Resolver) -> Parser<'a> {
        Parser {
            file,
            resolver,
            service_port: None,
            d: Vec::new(),
            values: Vec::new(),
            media: Vec::new(),
            nodes: Vec::new(),
            ping: Vec::new(),
            ping6: Vec::new(),
            ping_groups: Vec::new(),
            respawn: Vec::new(),
            failfast: Vec::new(),
            apiauth: Vec::new(),
            stonith: Vec::new(),
            env: Vec::new(),
            not_acted_on: Vec::new(),
            auto_failback: AutoFailback::Legacy,
            auto_failback_set: false,
            udpport_now: None,
            serial_baud: None,
            ucast_port: None,
            bcast_port: None,
            crm_lines: Vec::new(),
        }
    }

    pub(super) fn err(&mut self, line: usize, msg: impl Into<String>) {
        self.d.push(Diagnostic::error(self.file, Some(line), msg));
    }

    pub(super) fn warn(&mut self, line: usize, msg: impl Into<String>) {
        self.d.push(Diagnostic::warning(self.file, Some(line), msg));
    }

    /// The last valid value of a one-value directive, and its line.
    pub(super) fn last(&self, name: &str) -> Option<(&str, usize)> {
        self.values
            .iter()
            .rev()
            .find(|(k, _, _)| *k == name)
            .map(|(_, v, l)| (v.as_str(), *l))
    }

    /// `host` as an IPv4 address: a dotted quad as written, else what the resolver says.
    pub(super) fn ipv4(&self, host: &str) -> Option<Ipv4Addr> {
        host.parse::<Ipv4Addr>()
            .ok()
            .or_else(|| self.resolver.ipv4(host))
    }

    /// The port a ucast or bcast medium takes when no `udpport` came before it: the
    /// services database's `ha-cluster`, else 694.
    pub(super) fn default_port(&mut self) -> u16 {
        let resolver = self.resolver;
        self.service_port
            .get_or_insert_with(|| resolver.udp_service(SERVICE))
            .unwrap_or(DEFAULT_PORT)
    }

    /// Records one checked value of a one-value directive (the last one counts; a
    /// different earlier one is worth a warning).
    fn record(&mut self, name: &'static str, v: &str, line: usize) {
        if let Some((prev, pl)) = self.last(name) {
            if prev != v && !["nice_failback", "auto_failback"].contains(&name) {
                let prev = prev.to_string();
                self.warn(
                    line,
                    format!(
                        "{name} set again (first '{prev}' on line {pl}): the last value, '{v}', counts"
                    ),
                );
            }
        }
        self.values.push((name, v.to_string(), line));
    }

    /// One line `name rest`, given to the directive's parse function as its shape says.
    fn line(&mut self, name: &'static str, shape: Shape, rest: &str, line: usize) {
        let parse = parse_fn(name);
        match shape {
            Shape::Value => match split_delims(rest).as_slice() {
                [] => self.err(line, format!("{name}: missing value")),
                [v] => match parse(self, name, v, line) {
                    Ok(()) => self.record(name, v, line),
                    Err(m) => self.err(line, m),
                },
                many => self.err(line, format!(
                    "{name} takes one value, got {}: {} (blanks and commas separate values; the original would keep only '{}')",
                    many.len(),
                    many.join(" "),
                    many.last().copied().unwrap_or("")
                )),
            },
            Shape::Values => {
                let vals = split_delims(rest);
                if vals.is_empty() {
                    self.err(line, format!("{name}: missing value"));
                }
                for v in vals {
                    if let Err(m) = parse(self, name, v, line) {
                        self.err(line, m);
                    }
                }
            }
            Shape::Line => {
                if let Err(m) = parse(self, name, rest, line) {
                    self.err(line, m);
                }
            }
        }
    }

    fn errors(&self) -> usize {
        self.d.iter().filter(|x| x.is_error()).count()
    }
}

/// Reads every line of ha.cf into the parser's state.
pub(super) fn read_lines<'a>(text: &str, file: &'a str, resolver: &'a dyn Resolver) -> Parser<'a> {
    let mut p = Parser::new(file, resolver);
    for l in hacf_lines(text) {
        let mut name = l.directive;
        if name == "udp" {
            p.warn(
                l.number,
                "directive 'udp' is the old name of 'bcast'; read as bcast",
            );
            name = "bcast";
        }
        let Some(spec) = directive(name) else {
            p.err(l.number, format!("unknown directive '{name}'"));
            continue;
        };
        let errors_before = p.errors();
        p.line(spec.name, spec.shape, l.rest, l.number);
        let reason = match spec.support {
            Support::ActedOn => None,
            Support::NotActedOn => not_acted_on_reason(spec.name, l.rest),
        };
        if let (Some(reason), true) = (reason, p.errors() == errors_before) {
            p.not_acted_on.push(NotActedOn {
                directive: spec.name.to_string(),
                value: l.rest.to_string(),
                line: l.number,
                reason,
            });
        }
    }
    p
}
