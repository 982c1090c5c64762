//! From an authenticated principal to the identity a session runs as: the realm allow-list
//! (`realms`), the `[[identity]]` rules that map a principal or a whole realm to a local user
//! (its uid/gid own the files the session creates), the `[[group]]` lists that `valid_users`
//! names as `@group`, and the SIDs of the ticket's PAC (MS-PAC 2.5).
//!
//! ```toml
//! realms = ["EXAMPLE.TEST"]
//! [[identity]]
//! principal = "alice@EXAMPLE.TEST"     # exact, case-sensitive
//! user = "alice"                       # uid/gid from /etc/passwd
//! [[identity]]
//! realm = "EXAMPLE.TEST"               # every other principal of the realm
//! user = "{user}"                      # the principal's name before '@'
//! [[group]]
//! name = "backup"
//! members = ["bob@EXAMPLE.TEST"]
//! ```

use anyhow::bail;
use rsmbd_auth::Authenticated;
use rsmbd_share::session::Identity;
use serde::Deserialize;

use crate::config::Config;

/// Where local users are looked up.
pub const PASSWD: &str = "/etc/passwd";

/// One `[[identity]]` rule: which principals (one, or a whole realm) and the local account.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IdentityRule {
    /// This exact principal (`user@REALM`).
    pub principal: Option<String>,
    /// Every principal of this realm (exact, as Kerberos compares realms).
    pub realm: Option<String>,
    /// Local user name looked up in /etc/passwd; `{user}` stands for the principal's name
    /// before the `@`.
    pub user: Option<String>,
    /// Explicit uid (overrides the looked-up one).
    pub uid: Option<u32>,
    /// Explicit gid (overrides the looked-up one).
    pub gid: Option<u32>,
}

/// One `[[group]]`: a name that `valid_users` can list as `@name`, and its members.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GroupSection {
    /// The group name (`@name` in `valid_users`).
    pub name: String,
    /// Principals in the group (exact, case-sensitive).
    #[serde(default)]
    pub members: Vec<String>,
}

/// Checks the identity keys of a configuration (called by [`Config::validate`]).
pub fn validate(config: &Config) -> anyhow::Result<()> {
    for r in &config.realms {
        if r.is_empty() || r.contains('@') {
            bail!("realms: {r:?} is not a realm name");
        }
    }
    for (i, rule) in config.identities.iter().enumerate() {
        let n = i + 1;
        match (&rule.principal, &rule.realm) {
            (Some(p), None) if p.contains('@') => {}
            (Some(p), None) => {
                bail!("[[identity]] #{n}: principal {p:?} needs a realm (user@REALM)")
            }
            (None, Some(_)) => {}
            _ => bail!("[[identity]] #{n}: give exactly one of principal or realm"),
        }
        if rule.user.is_none() && (rule.uid.is_none() || rule.gid.is_none()) {
            bail!(
                "[[identity]] #{n}: give user = \"name\" (looked up in {PASSWD}) or both uid and gid"
            );
        }
    }
    let mut seen = std::collections::HashSet::new();
    for g in &config.groups {
        if g.name.is_empty() || g.name.starts_with('@') {
            bail!(
                "[[group]] name {:?}: a plain name (valid_users writes it as @name)",
                g.name
            );
        }
        if !seen.insert(g.name.as_str()) {
            bail!("[[group]] {:?} is defined twice", g.name);
        }
    }
    for s in &config.shares {
        for entry in s.valid_users.iter().flatten() {
            if let Some(group) = entry.strip_prefix('@')
                && !config.groups.iter().any(|g| g.name == group)
            {
                bail!(
                    "share {:?}: valid_users names {entry:?} but no [[group]] has that name",
                    s.name
                );
            }
        }
    }
    Ok(())
}

/// The realm of `user@REALM` (after the last `@`).
pub fn realm_of(principal: &str) -> &str {
    principal.rsplit_once('@').map_or("", |(_, r)| r)
}

/// Why a principal may not have a session; the text is the one log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The realm is not in `realms`.
    #[error(
        "realm {realm:?} of {principal} is not in realms = {allowed:?}: add it to `realms` to admit it"
    )]
    Realm {
        /// The principal.
        principal: String,
        /// Its realm.
        realm: String,
        /// The allow-list.
        allowed: Vec<String>,
    },
    /// An `[[identity]]` rule names a local user that does not exist.
    #[error(
        "{principal} maps to local user {user:?}, which is not in {PASSWD}: create the user or fix the [[identity]] rule"
    )]
    NoLocalUser {
        /// The principal.
        principal: String,
        /// The local user name the rule produced.
        user: String,
    },
}

/// The session identity of `auth` under `config`, reading local users from `passwd` (the text
/// of /etc/passwd; `None` when it could not be read).
pub fn resolve(
    config: &Config,
    auth: &Authenticated,
    passwd: Option<&str>,
) -> Result<Identity, Refusal> {
    let principal = auth.principal.as_str();
    let realm = realm_of(principal);
    if !config.realms.is_empty() && !config.realms.iter().any(|r| r == realm) {
        return Err(Refusal::Realm {
            principal: principal.to_string(),
            realm: realm.to_string(),
            allowed: config.realms.clone(),
        });
    }
    // A rule for the principal wins over a rule for its realm.
    let rule = config
        .identities
        .iter()
        .find(|r| r.principal.as_deref() == Some(principal))
        .or_else(|| {
            config
                .identities
                .iter()
                .find(|r| r.principal.is_none() && r.realm.as_deref() == Some(realm))
        });
    let owner = match rule {
        None => None,
        Some(rule) => Some(owner(rule, principal, passwd)?),
    };
    let groups = config
        .groups
        .iter()
        .filter(|g| g.members.iter().any(|m| m == principal))
        .map(|g| g.name.clone())
        .collect();
    let (user_sid, group_sids) = match &auth.logon_info {
        Some(info) => (
            info.user_sid().map(|s| s.to_string()),
            info.group_sids().iter().map(|s| s.to_string()).collect(),
        ),
        None => (None, Vec::new()),
    };
    Ok(Identity {
        principal: principal.to_string(),
        user_sid,
        group_sids,
        groups,
        owner,
    })
}

/// (uid, gid) for a rule: explicit values, else the local user's from `passwd`.
fn owner(
    rule: &IdentityRule,
    principal: &str,
    passwd: Option<&str>,
) -> Result<(u32, u32), Refusal> {
    let looked_up = match &rule.user {
        Some(user) => {
            let name = principal.rsplit_once('@').map_or(principal, |(n, _)| n);
            let user = user.replace("{user}", name);
            match passwd.and_then(|text| lookup(text, &user)) {
                Some(ids) => Some(ids),
                // Explicit uid and gid need no lookup.
                None if rule.uid.is_some() && rule.gid.is_some() => None,
                None => {
                    return Err(Refusal::NoLocalUser {
                        principal: principal.to_string(),
                        user,
                    });
                }
            }
        }
        None => None,
    };
    match (rule.uid, rule.gid, looked_up) {
        (Some(u), Some(g), _) => Ok((u, g)),
        (u, g, Some((lu, lg))) => Ok((u.unwrap_or(lu), g.unwrap_or(lg))),
        // validate() requires user or both ids; keep the server alive regardless.
        (u, g, None) => Ok((u.unwrap_or(0), g.unwrap_or(0))),
    }
}

/// uid and gid of `user` in passwd(5) text (`name:x:uid:gid:...`).
pub fn lookup(passwd: &str, user: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != user {
            return None;
        }
        let _password = f.next()?;
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const PASSWD_TEXT: &str = "root:x:0:0:root:/root:/bin/bash\nalice:x:2001:2001::/home/alice:/bin/sh\nbob:x:2002:100::/home/bob:/bin/sh\n";

    fn auth(principal: &str) -> Authenticated {
        Authenticated {
            principal: principal.into(),
            mechanism: rsmbd_auth::Mechanism::Kerberos {
                oid: "1.2.840.113554.1.2.2",
            },
            spn: "cifs/x@EXAMPLE.TEST".into(),
            kvno: 1,
            kvno_fallback: false,
            ticket_enctype: 18,
            session_enctype: 18,
            session_key: rsmbd_auth::SessionKey::new(&[0; 32]),
            pac: None,
            logon_info: None,
            pac_error: None,
            pac_server_signature: None,
            ticket_end: std::time::SystemTime::UNIX_EPOCH,
        }
    }

    fn config(toml: &str) -> Config {
        let c = Config::from_toml(&format!("keytab = \"/k\"\n{toml}")).unwrap();
        c.validate().unwrap();
        c
    }

    #[test]
    fn realm_allow_list() {
        let c = config(r#"realms = ["EXAMPLE.TEST"]"#);
        assert!(resolve(&c, &auth("alice@EXAMPLE.TEST"), None).is_ok());
        let e = resolve(&c, &auth("alice@OTHER.TEST"), None).unwrap_err();
        assert!(e.to_string().contains("realm \"OTHER.TEST\""), "{e}");
        // Realms compare exactly.
        assert!(resolve(&c, &auth("alice@example.test"), None).is_err());
        // No list: any realm.
        assert!(resolve(&config(""), &auth("x@ANY"), None).is_ok());
    }

    #[test]
    fn principal_rule_beats_realm_rule_and_users_come_from_passwd() {
        let c = config(
            r#"
            [[identity]]
            realm = "EXAMPLE.TEST"
            user = "{user}"
            [[identity]]
            principal = "carol@EXAMPLE.TEST"
            uid = 3000
            gid = 3001
            [[identity]]
            principal = "boss@EXAMPLE.TEST"
            user = "bob"
            gid = 50
            "#,
        );
        let p = Some(PASSWD_TEXT);
        assert_eq!(
            resolve(&c, &auth("alice@EXAMPLE.TEST"), p).unwrap().owner,
            Some((2001, 2001))
        );
        assert_eq!(
            resolve(&c, &auth("carol@EXAMPLE.TEST"), p).unwrap().owner,
            Some((3000, 3001))
        );
        assert_eq!(
            resolve(&c, &auth("boss@EXAMPLE.TEST"), p).unwrap().owner,
            Some((2002, 50))
        );
        let e = resolve(&c, &auth("zed@EXAMPLE.TEST"), p).unwrap_err();
        assert!(e.to_string().contains("local user \"zed\""), "{e}");
        // Another realm has no rule: no mapping, files stay the server's.
        assert_eq!(
            resolve(&c, &auth("alice@OTHER.TEST"), p).unwrap().owner,
            None
        );
    }

    #[test]
    fn groups_list_exact_principals() {
        let c = config(
            r#"
            [[group]]
            name = "backup"
            members = ["bob@EXAMPLE.TEST", "carol@EXAMPLE.TEST"]
            [[group]]
            name = "ops"
            members = ["carol@EXAMPLE.TEST"]
            [[share]]
            name = "data"
            path = "/srv"
            valid_users = ["@backup"]
            "#,
        );
        assert_eq!(
            resolve(&c, &auth("carol@EXAMPLE.TEST"), None)
                .unwrap()
                .groups,
            ["backup", "ops"]
        );
        assert!(
            resolve(&c, &auth("Carol@EXAMPLE.TEST"), None)
                .unwrap()
                .groups
                .is_empty()
        );
    }

    #[test]
    fn pac_sids_land_on_the_identity() {
        use rsmbd_auth::kerberos::pac_logon::{LogonInfo, Sid};
        let mut a = auth("dave@AD.TEST");
        a.logon_info = Some(Box::new(LogonInfo {
            domain_sid: Sid::parse("S-1-5-21-1-2-3"),
            user_rid: 1106,
            primary_group_rid: 513,
            group_rids: vec![512],
            ..Default::default()
        }));
        let id = resolve(&config(""), &a, None).unwrap();
        assert_eq!(id.user_sid.as_deref(), Some("S-1-5-21-1-2-3-1106"));
        assert_eq!(id.group_sids, ["S-1-5-21-1-2-3-513", "S-1-5-21-1-2-3-512"]);
    }

    #[test]
    fn mistakes_are_named() {
        let bad = |t: &str| {
            Config::from_toml(&format!("keytab = \"/k\"\n{t}"))
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string()
        };
        assert!(bad("[[identity]]\nuser = \"a\"").contains("exactly one"));
        assert!(bad("[[identity]]\nprincipal = \"a\"\nuser = \"a\"").contains("needs a realm"));
        assert!(bad("[[identity]]\nrealm = \"R\"\nuid = 1").contains("both uid and gid"));
        assert!(bad("[[group]]\nname = \"g\"\n[[group]]\nname = \"g\"").contains("twice"));
        assert!(
            bad("[[share]]\nname = \"d\"\npath = \"/\"\nvalid_users = [\"@nobody\"]")
                .contains("no [[group]]")
        );
        assert!(bad("realms = [\"a@b\"]").contains("not a realm"));
    }

    #[test]
    fn passwd_lookup() {
        assert_eq!(lookup(PASSWD_TEXT, "bob"), Some((2002, 100)));
        assert_eq!(lookup(PASSWD_TEXT, "bo"), None);
        assert_eq!(lookup("x:y\n::::\nbob:x:notanumber:1", "bob"), None);
    }
}
