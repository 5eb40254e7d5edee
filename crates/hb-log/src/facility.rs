//! Syslog facilities: the one table of names and numbers (glibc's `facilitynames`, which
//! 2.0.8's `cl_syslogfac_str2int` uses), for ha.cf's and logd.cf's `logfacility`, the API's
//! sign-on reply, `HA_LOGFACILITY` in scripts' programs. Pure.

use std::fmt;

/// A syslog facility: its `LOG_*` number as syslog.h defines it (already shifted: `daemon`
/// is 24, `local0` 128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Facility(i32);

/// glibc's `INTERNAL_MARK`: `LOG_MAKEPRI(LOG_NFACILITIES, 0)`.
const MARK: i32 = 24 << 3;

/// Every facility name 2.0.8 accepts (exact, lower case), with its number, in glibc's order.
pub const FACILITIES: &[(&str, i32)] = &[
    ("auth", libc::LOG_AUTH),
    ("authpriv", libc::LOG_AUTHPRIV),
    ("cron", libc::LOG_CRON),
    ("daemon", libc::LOG_DAEMON),
    ("ftp", libc::LOG_FTP),
    ("kern", libc::LOG_KERN),
    ("lpr", libc::LOG_LPR),
    ("mail", libc::LOG_MAIL),
    ("mark", MARK),
    ("news", libc::LOG_NEWS),
    ("security", libc::LOG_AUTH),
    ("syslog", libc::LOG_SYSLOG),
    ("user", libc::LOG_USER),
    ("uucp", libc::LOG_UUCP),
    ("local0", libc::LOG_LOCAL0),
    ("local1", libc::LOG_LOCAL1),
    ("local2", libc::LOG_LOCAL2),
    ("local3", libc::LOG_LOCAL3),
    ("local4", libc::LOG_LOCAL4),
    ("local5", libc::LOG_LOCAL5),
    ("local6", libc::LOG_LOCAL6),
    ("local7", libc::LOG_LOCAL7),
];

/// The word that turns syslog off (`logfacility none`: 3.0.x's, accepted here too).
pub const NONE: &str = "none";

impl Facility {
    pub const USER: Facility = Facility(libc::LOG_USER);
    pub const DAEMON: Facility = Facility(libc::LOG_DAEMON);
    pub const LOCAL0: Facility = Facility(libc::LOG_LOCAL0);
    pub const LOCAL7: Facility = Facility(libc::LOG_LOCAL7);

    /// The facility of a name in [`FACILITIES`].
    pub fn from_name(name: &str) -> Option<Facility> {
        FACILITIES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| Facility(*v))
    }

    /// The facility with this `LOG_*` number, if it is one of [`FACILITIES`].
    pub fn from_code(code: i32) -> Option<Facility> {
        FACILITIES
            .iter()
            .find(|(_, v)| *v == code)
            .map(|(_, v)| Facility(*v))
    }

    /// The `LOG_*` number (what `openlog` takes, and the API's `logfacility`).
    pub fn code(self) -> i32 {
        self.0
    }

    /// The first name of this facility (`auth` for `security`).
    pub fn name(self) -> &'static str {
        FACILITIES
            .iter()
            .find(|(_, v)| *v == self.0)
            .map_or("?", |(n, _)| n)
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `logfacility` naming something unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFacility(pub String);

impl fmt::Display for UnknownFacility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The original's wording.
        write!(f, "Log facility({}) not valid", self.0)
    }
}

impl std::error::Error for UnknownFacility {}

/// Parses a `logfacility` value: a name of [`FACILITIES`], or [`NONE`] = no syslog
/// (`Ok(None)`).
pub fn parse_facility(name: &str) -> Result<Option<Facility>, UnknownFacility> {
    if name == NONE {
        return Ok(None);
    }
    Facility::from_name(name)
        .map(Some)
        .ok_or_else(|| UnknownFacility(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert!(matches!(parse_facility("none"), Ok(None)));
        assert_eq!(parse_facility("local0"), Ok(Some(Facility::LOCAL0)));
        assert_eq!(Facility::from_name("daemon").map(Facility::code), Some(24));
        assert_eq!(Facility::from_name("local0").map(Facility::code), Some(128));
        assert_eq!(Facility::from_name("kern").map(Facility::code), Some(0));
        assert_eq!(Facility::from_name("mark").map(Facility::code), Some(192));
        assert_eq!(parse_facility("security"), parse_facility("auth"));
        assert_eq!(
            Facility::from_name("security").map(Facility::name),
            Some("auth")
        );
        let e = parse_facility("Local0").expect_err("names are exact");
        assert_eq!(e.to_string(), "Log facility(Local0) not valid");
        assert!(parse_facility("local8").is_err());
        assert!(parse_facility("").is_err());
        assert_eq!(
            Facility::from_code(libc::LOG_LOCAL7),
            Some(Facility::LOCAL7)
        );
        assert_eq!(Facility::from_code(-1), None);
        assert_eq!(Facility::LOCAL7.to_string(), "local7");
        assert_eq!(FACILITIES.len(), 22);
    }
}
