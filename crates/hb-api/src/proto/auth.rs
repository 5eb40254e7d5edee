//! Who may sign on: the `apiauth` table with user and group names turned into numbers.
//!
//! A client passes its entry when the uid of its socket peer is in the entry's uid list
//! or the peer's gid is in its gid list (an entry with neither list lets everyone in, as
//! the original's IPC layer does). Casual clients are checked against the entry `anon`; a
//! named client against its own id's entry, else `default`, else it is refused.

use ha_config::ApiAuth;

/// One entry, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthEntry {
    pub client: String,
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
}

impl AuthEntry {
    /// Whether a peer with these credentials passes.
    pub fn allows(&self, uid: u32, gid: u32) -> bool {
        (self.uids.is_empty() && self.gids.is_empty())
            || self.uids.contains(&uid)
            || self.gids.contains(&gid)
    }
}

/// The table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthTable {
    pub entries: Vec<AuthEntry>,
}

impl AuthTable {
    /// Resolves ha-config's entries (use [`ha_config::HaCf::effective_apiauth`], which has
    /// the built-in ones) with the given lookups of user and group names. Numbers are
    /// taken as they are. Names the lookups do not know are left out of their entry; each
    /// gives a warning (the configuration check reports them as errors already).
    pub fn resolve(
        entries: &[ApiAuth],
        user: impl Fn(&str) -> Option<u32>,
        group: impl Fn(&str) -> Option<u32>,
    ) -> (AuthTable, Vec<String>) {
        let mut warnings = Vec::new();
        let mut table = AuthTable::default();
        for a in entries {
            let mut e = AuthEntry {
                client: a.client.clone(),
                uids: Vec::new(),
                gids: Vec::new(),
            };
            for u in &a.uids {
                match u.parse::<u32>().ok().or_else(|| user(u)) {
                    Some(n) => e.uids.push(n),
                    None => warnings.push(format!("apiauth {}: unknown user [{u}]", a.client)),
                }
            }
            for g in &a.gids {
                match g.parse::<u32>().ok().or_else(|| group(g)) {
                    Some(n) => e.gids.push(n),
                    None => warnings.push(format!("apiauth {}: unknown group [{g}]", a.client)),
                }
            }
            let unresolved = e.uids.is_empty()
                && e.gids.is_empty()
                && (!a.uids.is_empty() || !a.gids.is_empty());
            if unresolved {
                // Every name unknown: nobody may pass (an empty entry would let everyone in).
                e.uids.push(u32::MAX);
            }
            table.entries.push(e);
        }
        (table, warnings)
    }

    /// The entry for `client`.
    pub fn get(&self, client: &str) -> Option<&AuthEntry> {
        self.entries.iter().find(|e| e.client == client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(client: &str, uids: &[&str], gids: &[&str]) -> ApiAuth {
        ApiAuth {
            client: client.into(),
            uids: uids.iter().map(|s| s.to_string()).collect(),
            gids: gids.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn resolves_names_and_numbers() {
        let user = |n: &str| (n == "hacluster").then_some(102);
        let group = |n: &str| (n == "haclient").then_some(105);
        let (t, w) = AuthTable::resolve(
            &[
                a("ipfail", &["hacluster", "7"], &[]),
                a("anon", &[], &["haclient"]),
                a("odd", &["nosuchuser"], &[]),
            ],
            user,
            group,
        );
        assert_eq!(t.get("ipfail").unwrap().uids, vec![102, 7]);
        assert_eq!(t.get("anon").unwrap().gids, vec![105]);
        assert_eq!(
            w,
            vec!["apiauth odd: unknown user [nosuchuser]".to_string()]
        );
        assert!(!t.get("odd").unwrap().allows(0, 0));
        assert!(t.get("anon").unwrap().allows(1000, 105));
        assert!(!t.get("anon").unwrap().allows(0, 0));
        assert!(t.get("ipfail").unwrap().allows(7, 0));
        assert!(t.get("nosuch").is_none());
    }
}
