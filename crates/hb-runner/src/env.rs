//! The environment heartbeat 2.0.8 hands to every script it runs.
//!
//! The original daemon puts a set of `HA_*` variables into its own environment at start, so
//! every child (harc and the rc.d scripts, ResourceManager and the resource scripts, the
//! respawned clients) inherits them; each kind of run then adds a few of its own. This module
//! builds those lists as plain `(name, value)` pairs. The caller hands [`base_env`] to the
//! runner once (and again whenever the configuration or the debug level changes) and adds the
//! per-run lists ([`harc_env`], [`req_resources_env`]) to each job.
//!
//! Shell scripts read these variables, so a name must not contain `=` or a NUL byte and a value
//! must not contain a NUL byte; pairs that break this are left out rather than passed on
//! half-formed (they could not be put in an environment anyway).

/// The version string the 2.0.8 daemon exports as `HA_hbversion`.
pub const HB_VERSION: &str = "2.0.8";

/// The `date(1)` format scripts use for their log lines (`HA_DATEFMT`): year/month/day, an
/// underscore, the time, and a TAB that separates the stamp from the text.
pub const DATEFMT: &str = "%Y/%m/%d_%T\t";

/// The longest environment-variable name 2.0.8 produces for a message field: it formats
/// `HA_<field>` into a 64-byte buffer, so longer names are cut to 63 bytes.
pub const MAX_FIELD_ENV_NAME: usize = 63;

/// What [`base_env`] needs to know; plain values taken from the parsed configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptEnvParams {
    /// The configuration directory, `/etc/ha.d` in 2.0.8 (no trailing slash).
    pub ha_dir: String,
    /// The local node name (`uname -n`, or the first line of `/etc/ha.d/nodeinfo`).
    pub cur_host: String,
    /// `logfile` from ha.cf, if one is configured.
    pub logfile: Option<String>,
    /// `debugfile` from ha.cf, if one is configured.
    pub debugfile: Option<String>,
    /// The syslog facility name, only when a valid `logfacility` is configured.
    pub logfacility: Option<String>,
    /// Whether logging goes through ha_logd (`use_logd`).
    pub use_logd: bool,
    /// Every recorded ha.cf directive with its value as written or its default
    /// (LOCAL-INTERFACES 6.5), in the order they should appear; `debug` is among them.
    pub directives: Vec<(String, String)>,
    /// The `env NAME=value` lines of ha.cf, in file order.
    pub env_lines: Vec<(String, String)>,
    /// The current debug level (from `-d` flags, SIGUSR1 and SIGUSR2).
    pub debug_level: u32,
}

impl Default for ScriptEnvParams {
    fn default() -> Self {
        ScriptEnvParams {
            ha_dir: "/etc/ha.d".to_string(),
            cur_host: String::new(),
            logfile: None,
            debugfile: None,
            logfacility: None,
            use_logd: false,
            directives: Vec::new(),
            env_lines: Vec::new(),
            debug_level: 0,
        }
    }
}

/// The daemon-wide environment every script sees (LOCAL-INTERFACES 5.2), without duplicate
/// names (a later entry replaces an earlier one of the same name in place).
///
/// The variables, in the order produced:
/// - `HA_DIR`: where the configuration lives; shellfuncs derives the rc.d, resource.d and
///   conf paths from it.
/// - `HA_FUNCS`: the shell library every stock script sources first (`$HA_DIR/shellfuncs`).
/// - `HA_DATEFMT`: the `date` format for log stamps ([`DATEFMT`]).
/// - `HA_CURHOST`: this node's name; scripts compare message senders and haresources owners
///   against it.
/// - `HA_LOGFILE` and `HA_DEBUGLOG`: the files `ha_log`/`ha_debug` append to. When the file is
///   not configured but a syslog facility is, the value is `/dev/null`; with neither, empty.
/// - `HA_LOGFACILITY`: the syslog facility name for `logger`; only set when one is configured.
/// - `HA_LOGD`: `yes` when scripts should log through `ha_logger` (ha_logd), else `no`.
/// - `HA_<directive>`: one per recorded ha.cf directive, the name as written in ha.cf
///   (`HA_keepalive`, `HA_auto_failback`, `HA_debug`, ...), so scripts can read the
///   configuration without parsing ha.cf.
/// - `HA_hbversion`: the version of heartbeat being imitated ([`HB_VERSION`]).
/// - `HA_DEBUG`: the current debug level, present only while it is above zero.
/// - `HA_<name>`: one per `env name=value` line, last so that the administrator's values win.
pub fn base_env(params: &ScriptEnvParams) -> Vec<(String, String)> {
    let mut env = Vec::new();
    let ha_dir = params.ha_dir.as_str();
    push(&mut env, "HA_DIR".to_string(), ha_dir.to_string());
    push(
        &mut env,
        "HA_FUNCS".to_string(),
        format!("{ha_dir}/shellfuncs"),
    );
    push(&mut env, "HA_DATEFMT".to_string(), DATEFMT.to_string());
    push(&mut env, "HA_CURHOST".to_string(), params.cur_host.clone());
    let fallback = if params.logfacility.is_some() {
        "/dev/null"
    } else {
        ""
    };
    push(
        &mut env,
        "HA_LOGFILE".to_string(),
        params
            .logfile
            .clone()
            .unwrap_or_else(|| fallback.to_string()),
    );
    push(
        &mut env,
        "HA_DEBUGLOG".to_string(),
        params
            .debugfile
            .clone()
            .unwrap_or_else(|| fallback.to_string()),
    );
    if let Some(facility) = &params.logfacility {
        push(&mut env, "HA_LOGFACILITY".to_string(), facility.clone());
    }
    push(&mut env, "HA_LOGD".to_string(), yes_no(params.use_logd));
    for (name, value) in &params.directives {
        push(&mut env, format!("HA_{name}"), value.clone());
    }
    push(&mut env, "HA_hbversion".to_string(), HB_VERSION.to_string());
    if params.debug_level > 0 {
        push(
            &mut env,
            "HA_DEBUG".to_string(),
            params.debug_level.to_string(),
        );
    }
    for (name, value) in &params.env_lines {
        push(&mut env, format!("HA_{name}"), value.clone());
    }
    env
}

/// The variables added to one harc run (LOCAL-INTERFACES 4.2), on top of [`base_env`].
///
/// - `HA_<field>` for each string field of the message that triggered the run, in message
///   order (a repeated name keeps its last value). The caller passes only the string fields;
///   2.0.8 skips binary ones such as `srcuuid`. Names longer than [`MAX_FIELD_ENV_NAME`] bytes
///   are cut as 2.0.8 cuts them.
/// - `HA_OSTATUS`: this node's own current status (`active`, ...), despite the name. Left out
///   when the caller has none, as 2.0.8 does.
/// - `HA_NICEFAILBACK=yes` when nice_failback is in effect (auto_failback on or off, not
///   legacy); absent otherwise.
/// - `HA_LOGD`: `yes` when scripts log through ha_logd, else `no`.
pub fn harc_env(
    msg_fields: &[(String, String)],
    ostatus: Option<&str>,
    nice_failback: bool,
    use_logd: bool,
) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for (name, value) in msg_fields {
        let mut var = format!("HA_{name}");
        truncate_at_char_boundary(&mut var, MAX_FIELD_ENV_NAME);
        push(&mut env, var, value.clone());
    }
    if let Some(status) = ostatus {
        push(&mut env, "HA_OSTATUS".to_string(), status.to_string());
    }
    if nice_failback {
        push(&mut env, "HA_NICEFAILBACK".to_string(), "yes".to_string());
    }
    push(&mut env, "HA_LOGD".to_string(), yes_no(use_logd));
    env
}

/// The variables added to the child that acquires our own groups (`ResourceManager listkeys`
/// then `req_resource <key>`, LOCAL-INTERFACES 5.1), on top of [`base_env`].
///
/// - `HA_DONTASK=yes` when fewer than two normal nodes are active (counting ourselves), so
///   req_resource takes the group without asking a peer; absent otherwise.
/// - `HA_NICEFAILBACK=yes` when nice_failback is in effect; absent otherwise.
/// - `HA_LOGD`: `yes` when scripts log through ha_logd, else `no`.
pub fn req_resources_env(
    dont_ask: bool,
    nice_failback: bool,
    use_logd: bool,
) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if dont_ask {
        push(&mut env, "HA_DONTASK".to_string(), "yes".to_string());
    }
    if nice_failback {
        push(&mut env, "HA_NICEFAILBACK".to_string(), "yes".to_string());
    }
    push(&mut env, "HA_LOGD".to_string(), yes_no(use_logd));
    env
}

/// The variable every other resource-management child gets (standby, giving or taking
/// groups, shutdown): `HA_LOGD=yes|no`.
pub fn logd_env(use_logd: bool) -> Vec<(String, String)> {
    vec![("HA_LOGD".to_string(), yes_no(use_logd))]
}

/// Whether `name=value` can be placed in a process environment.
pub fn is_valid_env_pair(name: &str, value: &str) -> bool {
    !name.is_empty() && !name.contains('=') && !name.contains('\0') && !value.contains('\0')
}

/// Appends `name=value`, or replaces the value of an earlier entry with that name; invalid
/// pairs are dropped.
fn push(env: &mut Vec<(String, String)>, name: String, value: String) {
    if !is_valid_env_pair(&name, &value) {
        return;
    }
    if let Some(slot) = env.iter_mut().find(|(n, _)| *n == name) {
        slot.1 = value;
    } else {
        env.push((name, value));
    }
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_string()
}

fn truncate_at_char_boundary(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut cut = max;
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn base_env_has_the_daemon_variables() {
        let params = ScriptEnvParams {
            cur_host: "a".into(),
            logfile: Some("/var/log/ha-log".into()),
            debugfile: Some("/var/log/ha-debug".into()),
            logfacility: Some("local0".into()),
            directives: pairs(&[("keepalive", "200ms"), ("debug", "0"), ("udpport", "694")]),
            env_lines: pairs(&[("FOO", "bar")]),
            ..ScriptEnvParams::default()
        };
        let env = base_env(&params);
        assert_eq!(get(&env, "HA_DIR"), Some("/etc/ha.d"));
        assert_eq!(get(&env, "HA_FUNCS"), Some("/etc/ha.d/shellfuncs"));
        assert_eq!(get(&env, "HA_DATEFMT"), Some("%Y/%m/%d_%T\t"));
        assert_eq!(get(&env, "HA_CURHOST"), Some("a"));
        assert_eq!(get(&env, "HA_LOGFILE"), Some("/var/log/ha-log"));
        assert_eq!(get(&env, "HA_DEBUGLOG"), Some("/var/log/ha-debug"));
        assert_eq!(get(&env, "HA_LOGFACILITY"), Some("local0"));
        assert_eq!(get(&env, "HA_LOGD"), Some("no"));
        assert_eq!(get(&env, "HA_keepalive"), Some("200ms"));
        assert_eq!(get(&env, "HA_debug"), Some("0"));
        assert_eq!(get(&env, "HA_udpport"), Some("694"));
        assert_eq!(get(&env, "HA_hbversion"), Some("2.0.8"));
        assert_eq!(get(&env, "HA_DEBUG"), None);
        assert_eq!(get(&env, "HA_FOO"), Some("bar"));
    }

    #[test]
    fn log_files_fall_back_to_dev_null_only_with_a_facility() {
        let with_facility = ScriptEnvParams {
            logfacility: Some("daemon".into()),
            ..ScriptEnvParams::default()
        };
        let env = base_env(&with_facility);
        assert_eq!(get(&env, "HA_LOGFILE"), Some("/dev/null"));
        assert_eq!(get(&env, "HA_DEBUGLOG"), Some("/dev/null"));

        let env = base_env(&ScriptEnvParams::default());
        assert_eq!(get(&env, "HA_LOGFILE"), Some(""));
        assert_eq!(get(&env, "HA_DEBUGLOG"), Some(""));
        assert_eq!(get(&env, "HA_LOGFACILITY"), None);
    }

    #[test]
    fn debug_level_sets_ha_debug_only_when_nonzero() {
        let params = ScriptEnvParams {
            debug_level: 2,
            use_logd: true,
            ..ScriptEnvParams::default()
        };
        let env = base_env(&params);
        assert_eq!(get(&env, "HA_DEBUG"), Some("2"));
        assert_eq!(get(&env, "HA_LOGD"), Some("yes"));
    }

    #[test]
    fn names_are_unique_and_env_lines_win() {
        let params = ScriptEnvParams {
            directives: pairs(&[("cluster", "linux-ha")]),
            env_lines: pairs(&[("cluster", "mine"), ("X", "1"), ("X", "2")]),
            ..ScriptEnvParams::default()
        };
        let env = base_env(&params);
        assert_eq!(get(&env, "HA_cluster"), Some("mine"));
        assert_eq!(get(&env, "HA_X"), Some("2"));
        let mut names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), before);
    }

    #[test]
    fn unusable_pairs_are_dropped() {
        let params = ScriptEnvParams {
            env_lines: pairs(&[("A=B", "x"), ("NUL", "a\0b"), ("OK", "fine")]),
            ..ScriptEnvParams::default()
        };
        let env = base_env(&params);
        assert!(env.iter().all(|(n, v)| is_valid_env_pair(n, v)));
        assert_eq!(get(&env, "HA_OK"), Some("fine"));
        assert_eq!(get(&env, "HA_NUL"), None);
    }

    #[test]
    fn harc_env_matches_the_observed_ip_request_resp_run() {
        let fields = pairs(&[
            ("t", "ip-request-resp"),
            ("dest", "a"),
            ("ipaddr", "IPaddr::198.51.100.254/24/eth0"),
            ("weown", "yes"),
            ("ok", "OK"),
            ("src", "a"),
            ("seq", "47"),
            ("auth", "1 5caa47d1"),
        ]);
        let env = harc_env(&fields, Some("active"), true, false);
        assert_eq!(get(&env, "HA_t"), Some("ip-request-resp"));
        assert_eq!(
            get(&env, "HA_ipaddr"),
            Some("IPaddr::198.51.100.254/24/eth0")
        );
        assert_eq!(get(&env, "HA_auth"), Some("1 5caa47d1"));
        assert_eq!(get(&env, "HA_OSTATUS"), Some("active"));
        assert_eq!(get(&env, "HA_NICEFAILBACK"), Some("yes"));
        assert_eq!(get(&env, "HA_LOGD"), Some("no"));
        assert_eq!(env.len(), fields.len() + 3);
    }

    #[test]
    fn harc_env_optional_parts() {
        let fields = pairs(&[("t", "ifstat"), ("st", "up"), ("st", "dead")]);
        let env = harc_env(&fields, None, false, true);
        assert_eq!(get(&env, "HA_st"), Some("dead"));
        assert_eq!(get(&env, "HA_OSTATUS"), None);
        assert_eq!(get(&env, "HA_NICEFAILBACK"), None);
        assert_eq!(get(&env, "HA_LOGD"), Some("yes"));
    }

    #[test]
    fn long_field_names_are_cut_like_the_original() {
        let long = "f".repeat(100);
        let env = harc_env(&[(long, "v".to_string())], None, false, false);
        let (name, _) = &env[0];
        assert_eq!(name.len(), MAX_FIELD_ENV_NAME);
        assert!(name.starts_with("HA_fff"));
    }

    #[test]
    fn req_resources_env_flags() {
        let env = req_resources_env(true, false, false);
        assert_eq!(get(&env, "HA_DONTASK"), Some("yes"));
        assert_eq!(get(&env, "HA_NICEFAILBACK"), None);
        let env = req_resources_env(false, true, true);
        assert_eq!(get(&env, "HA_DONTASK"), None);
        assert_eq!(get(&env, "HA_NICEFAILBACK"), Some("yes"));
        assert_eq!(get(&env, "HA_LOGD"), Some("yes"));
        assert_eq!(logd_env(false), pairs(&[("HA_LOGD", "no")]));
    }
}
