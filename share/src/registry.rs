//! The configured shares ([MS-SMB2 3.3.1.6] Per Share: Share.Name, Share.LocalPath,
//! Share.Remark, Share.Type, Share.EncryptData) and their lookup by name.

use std::path::PathBuf;
use std::sync::Arc;

use crate::disk::DiskRoot;
use crate::disk::locks::LockTable;
use crate::disk::notify::Notifier;
use crate::disk::share_modes::ShareModeTable;
use crate::durable::DurableTable;
use crate::ipc::{PipeServerInfo, PipeShareInfo};
use crate::oplock::OplockTable;

/// MS-SRVS 2.2.2.4 STYPE_DISKTREE.
pub const STYPE_DISKTREE: u32 = 0;
/// MS-SRVS 2.2.2.4 STYPE_IPC | STYPE_SPECIAL (an administrative share).
pub const STYPE_IPC_SPECIAL: u32 = 3 | 0x8000_0000;

/// The name of the inter-process communication share, added by [`ShareRegistry::new`].
pub const IPC_SHARE_NAME: &str = "IPC$";

/// What backs a share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareKind {
    /// A host directory.
    Disk {
        /// The directory to serve.
        path: PathBuf,
    },
    /// IPC$: named pipes (srvsvc, wkssvc).
    Ipc,
}

/// One share as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareConfig {
    /// The share name (matched case-insensitively).
    pub name: String,
    /// Disk or IPC.
    pub kind: ShareKind,
    /// Remark shown by `net view` / NetShareEnum.
    pub comment: String,
    /// Who may connect; `None` admits any authenticated principal. Each entry is a principal
    /// (`user@REALM`, exact), a configured group (`@backup`) or a SID (`S-1-5-21-...-513`)
    /// matched against the user and group SIDs of the session's PAC.
    pub valid_users: Option<Vec<String>>,
    /// Refuse every modification.
    pub read_only: bool,
    /// Require encryption on this share (SMB2_SHAREFLAG_ENCRYPT_DATA).
    pub encrypt_data: bool,
}

/// A share ready to serve: its configuration, the opened root directory of a disk share, and
/// the byte-range locks of its files.
#[derive(Debug)]
pub struct Share {
    /// The configuration it was built from.
    pub config: ShareConfig,
    disk: Option<DiskRoot>,
    locks: LockTable,
    share_modes: ShareModeTable,
    notifier: Notifier,
    pipe_info: Option<Arc<PipeServerInfo>>,
    /// The server-wide oplock/lease table (the same one in every share).
    oplocks: Arc<OplockTable>,
    /// The server-wide durable open table (the same one in every share).
    durables: Arc<DurableTable>,
}

impl Share {
    /// The disk root (`None` for IPC$).
    pub fn disk(&self) -> Option<&DiskRoot> {
        self.disk.as_ref()
    }

    /// True for IPC$.
    pub fn is_ipc(&self) -> bool {
        self.config.kind == ShareKind::Ipc
    }

    /// What srvsvc/wkssvc report about this server (IPC$ only).
    pub fn pipe_info(&self) -> Option<&Arc<PipeServerInfo>> {
        self.pipe_info.as_ref()
    }

    /// The share modes of this share's open files.
    pub fn share_modes(&self) -> &ShareModeTable {
        &self.share_modes
    }

    /// The byte-range lock table of this share's files.
    pub fn locks(&self) -> &LockTable {
        &self.locks
    }

    /// The server-wide oplock and lease table.
    pub fn oplocks(&self) -> &OplockTable {
        &self.oplocks
    }

    /// The server-wide durable open table.
    pub fn durables(&self) -> &DurableTable {
        &self.durables
    }

    /// The change notification watches on this share's directories (CHANGE_NOTIFY).
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Is `identity` allowed by `valid_users`? Principals compare exactly (Kerberos names
    /// are case-sensitive), `@group` names a configured group the principal is in, and an
    /// `S-1-...` entry matches the PAC's user or group SIDs (SIDs compare case-insensitively,
    /// MS-DTYP 2.4.2.1).
    pub fn admits(&self, identity: &crate::session::Identity) -> bool {
        let Some(users) = &self.config.valid_users else {
            return true;
        };
        users.iter().any(|entry| {
            if let Some(group) = entry.strip_prefix('@') {
                identity.groups.iter().any(|g| g == group)
            } else if is_sid(entry) {
                identity
                    .user_sid
                    .iter()
                    .chain(&identity.group_sids)
                    .any(|s| s.eq_ignore_ascii_case(entry))
            } else {
                *entry == identity.principal
            }
        })
    }
}

/// `S-1-...`: a SID in string form, as opposed to a principal name.
fn is_sid(entry: &str) -> bool {
    let mut parts = entry.split('-');
    parts.next().is_some_and(|p| p.eq_ignore_ascii_case("S"))
        && entry.split('-').count() >= 3
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Why the registry could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A disk share's directory could not be opened.
    #[error("share {share}: cannot open directory {}: {source}", path.display())]
    Root {
        /// The share name.
        share: String,
        /// The configured path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Two shares with the same name (case-insensitively).
    #[error("share {0} is configured twice")]
    Duplicate(String),
    /// A share name that cannot appear in `\\server\share`.
    #[error("invalid share name {0:?}")]
    InvalidName(String),
}

/// All shares of the server.
#[derive(Debug)]
pub struct ShareRegistry {
    server_name: String,
    shares: Vec<Arc<Share>>,
    oplocks: Arc<OplockTable>,
    durables: Arc<DurableTable>,
}

fn valid_share_name(name: &str) -> bool {
    // MS-SRVS share names: up to 80 characters, none of the path or wildcard characters.
    !name.is_empty()
        && name.chars().count() <= 80
        && !name.chars().any(|c| {
            matches!(
                c,
                '\0'..='\x1f' | '\\' | '/' | ':' | '*' | '?' | '"' | '<' | '>' | '|'
            )
        })
}

impl ShareRegistry {
    /// Opens every disk share root (the error names the share and path if one is missing) and
    /// adds IPC$ unless the configuration already has it.
    pub fn new(server_name: String, shares: Vec<ShareConfig>) -> Result<Self, RegistryError> {
        let mut out: Vec<Arc<Share>> = Vec::with_capacity(shares.len() + 1);
        let has_ipc = shares
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(IPC_SHARE_NAME));
        let ipc = ShareConfig {
            name: IPC_SHARE_NAME.to_owned(),
            kind: ShareKind::Ipc,
            comment: "IPC Service".to_owned(),
            valid_users: None,
            read_only: false,
            encrypt_data: false,
        };
        let configs: Vec<ShareConfig> = shares
            .into_iter()
            .chain((!has_ipc).then_some(ipc))
            .collect();
        for (i, config) in configs.iter().enumerate() {
            if !valid_share_name(&config.name) {
                return Err(RegistryError::InvalidName(config.name.clone()));
            }
            let lower = config.name.to_lowercase();
            if configs
                .iter()
                .take(i)
                .any(|s| s.name.to_lowercase() == lower)
            {
                return Err(RegistryError::Duplicate(config.name.clone()));
            }
        }
        let pipe_info = Arc::new(PipeServerInfo {
            server_name: server_name.clone(),
            shares: configs
                .iter()
                .map(|c| PipeShareInfo {
                    name: c.name.clone(),
                    share_type: match c.kind {
                        ShareKind::Disk { .. } => STYPE_DISKTREE,
                        ShareKind::Ipc => STYPE_IPC_SPECIAL,
                    },
                    comment: c.comment.clone(),
                })
                .collect(),
        });
        let oplocks = Arc::new(OplockTable::new());
        let durables = Arc::new(DurableTable::new());
        for config in configs {
            let (disk, info) = match &config.kind {
                ShareKind::Disk { path } => {
                    let root = DiskRoot::open(path).map_err(|source| RegistryError::Root {
                        share: config.name.clone(),
                        path: path.clone(),
                        source,
                    })?;
                    (Some(root), None)
                }
                ShareKind::Ipc => (None, Some(Arc::clone(&pipe_info))),
            };
            out.push(Arc::new(Share {
                config,
                disk,
                locks: LockTable::new(),
                share_modes: ShareModeTable::new(),
                notifier: Notifier::new(),
                pipe_info: info,
                oplocks: Arc::clone(&oplocks),
                durables: Arc::clone(&durables),
            }));
        }
        Ok(Self {
            server_name,
            shares: out,
            oplocks,
            durables,
        })
    }

    /// The share called `name`, case-insensitively (as Windows).
    pub fn find(&self, name: &str) -> Option<Arc<Share>> {
        let lower = name.to_lowercase();
        self.shares
            .iter()
            .find(|s| s.config.name.to_lowercase() == lower)
            .cloned()
    }

    /// Every share, IPC$ included, in configuration order.
    pub fn shares(&self) -> impl Iterator<Item = &Arc<Share>> {
        self.shares.iter()
    }

    /// The oplock and lease table every share uses.
    pub fn oplocks(&self) -> &OplockTable {
        &self.oplocks
    }

    /// The durable open table every share uses.
    pub fn durables(&self) -> &DurableTable {
        &self.durables
    }

    /// The server's NetBIOS/DNS name as configured.
    pub fn server_name(&self) -> &str {
        &self.server_name
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn disk(name: &str, path: PathBuf) -> ShareConfig {
        ShareConfig {
            name: name.to_owned(),
            kind: ShareKind::Disk { path },
            comment: String::new(),
            valid_users: None,
            read_only: false,
            encrypt_data: false,
        }
    }

    #[test]
    fn finds_case_insensitively_and_adds_ipc() {
        let dir = tempfile::tempdir().unwrap();
        let r = ShareRegistry::new("srv".into(), vec![disk("Data", dir.path().into())]).unwrap();
        assert_eq!(r.server_name(), "srv");
        assert!(r.find("data").is_some());
        assert!(r.find("DATA").is_some());
        assert!(r.find("ipc$").unwrap().is_ipc());
        assert!(r.find("nope").is_none());
        assert_eq!(r.shares().count(), 2);
    }

    #[test]
    fn errors_name_the_share() {
        let err = ShareRegistry::new(
            "srv".into(),
            vec![disk("gone", "/nonexistent/rsmbd".into())],
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("gone") && msg.contains("/nonexistent/rsmbd"),
            "{msg}"
        );
        let dir = tempfile::tempdir().unwrap();
        let dup = vec![disk("a", dir.path().into()), disk("A", dir.path().into())];
        assert!(matches!(
            ShareRegistry::new("s".into(), dup),
            Err(RegistryError::Duplicate(_))
        ));
        let bad = vec![disk("a\\b", dir.path().into())];
        assert!(matches!(
            ShareRegistry::new("s".into(), bad),
            Err(RegistryError::InvalidName(_))
        ));
    }

    #[test]
    fn valid_users() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = disk("d", dir.path().into());
        c.valid_users = Some(vec!["alice@EXAMPLE.COM".into()]);
        let r = ShareRegistry::new("srv".into(), vec![c]).unwrap();
        let s = r.find("d").unwrap();
        let who = |p: &str| crate::session::Identity::principal(p);
        assert!(s.admits(&who("alice@EXAMPLE.COM")));
        // Kerberos principals are case-sensitive.
        assert!(!s.admits(&who("ALICE@example.com")));
        assert!(!s.admits(&who("bob@EXAMPLE.COM")));
    }

    #[test]
    fn valid_users_by_group_and_sid() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = disk("d", dir.path().into());
        c.valid_users = Some(vec![
            "@backup".into(),
            "S-1-5-21-1-2-3-512".into(),
            "s-1-5-21-9-9-9-1106".into(),
        ]);
        let r = ShareRegistry::new("srv".into(), vec![c]).unwrap();
        let s = r.find("d").unwrap();
        let mut carol = crate::session::Identity::principal("carol@EXAMPLE.TEST");
        assert!(!s.admits(&carol), "no group, no SID");
        carol.groups = vec!["backups".into()];
        assert!(!s.admits(&carol), "group names compare exactly");
        carol.groups = vec!["backup".into()];
        assert!(s.admits(&carol), "member of @backup");
        let mut dave = crate::session::Identity::principal("dave@AD.TEST");
        dave.group_sids = vec!["S-1-5-21-1-2-3-513".into()];
        assert!(!s.admits(&dave), "Domain Users is not Domain Admins");
        dave.group_sids.push("S-1-5-21-1-2-3-512".into());
        assert!(s.admits(&dave), "Domain Admins by group SID");
        let mut erin = crate::session::Identity::principal("erin@AD.TEST");
        erin.user_sid = Some("S-1-5-21-9-9-9-1106".into());
        assert!(s.admits(&erin), "the user's own SID");
        // A principal spelled like a group or SID entry is not that group or SID.
        assert!(!s.admits(&crate::session::Identity::principal("@backup")));
        assert!(is_sid("S-1-5-18") && !is_sid("S-1") && !is_sid("S-1-x") && !is_sid("alice@S-1-5"));
    }
}
