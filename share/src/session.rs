//! Sessions as the share layer sees them ([MS-SMB2 3.3.1.8] Per Session): the authenticated
//! identity, its tree connects and its opens. Keys and signing state live with the engine.
//!
//! Tables are behind mutexes held only for map operations, never across I/O: a handler clones
//! the `Arc` it needs and releases the table. Both tables are bounded so a client cannot make
//! the server allocate without limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::file_id::FileId;

use crate::disk::path::RelPath;
use crate::open::{Open, lock};
use crate::registry::Share;
use crate::tree::TreeConnect;

/// Most tree connects one session may hold, unless configured ([`Session::with_limits`]).
pub const MAX_TREES_PER_SESSION: usize = 1024;
/// Most opens one session may hold, unless configured (Windows' default is in the same range).
pub const MAX_OPENS_PER_SESSION: usize = 16 * 1024;

/// Who the session belongs to ([MS-SMB2 3.3.1.8] Session.SecurityContext, as rsmbd keeps it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// The authenticated principal, `user@REALM` (compared exactly, as Kerberos does).
    pub principal: String,
    /// The user's SID from the PAC logon info (MS-PAC 2.5), `S-1-5-21-...`; `None` without one.
    pub user_sid: Option<String>,
    /// Group SIDs from the PAC: primary group, domain groups, extra SIDs, resource groups.
    pub group_sids: Vec<String>,
    /// Configured groups (`[[group]]`) that list this principal.
    pub groups: Vec<String>,
    /// Local owner (uid, gid) of the files and directories this session creates, from the
    /// `[[identity]]` mapping; `None` leaves them owned by the server process.
    pub owner: Option<(u32, u32)>,
}

impl Identity {
    /// An identity with only a principal name.
    pub fn principal(principal: impl Into<String>) -> Self {
        Self {
            principal: principal.into(),
            ..Self::default()
        }
    }
}

#[derive(Debug, Default)]
struct Trees {
    next_id: u32,
    map: HashMap<u32, Arc<TreeConnect>>,
}

#[derive(Debug, Default)]
struct Opens {
    map: HashMap<u64, Arc<Open>>,
}

/// FileIds are allocated server-wide, not per session: a durable open keeps its FileId when it
/// is reconnected on another session ([MS-SMB2 3.3.5.9.7]), so no two opens may share one.
static NEXT_FILE_ID: AtomicU64 = AtomicU64::new(0);

/// One authenticated session.
#[derive(Debug)]
pub struct Session {
    id: u64,
    /// Replaced, never mutated, when the session re-authenticates (MS-SMB2 3.3.5.5.3).
    identity: RwLock<Arc<Identity>>,
    trees: Mutex<Trees>,
    opens: Mutex<Opens>,
    max_trees: usize,
    max_opens: usize,
}

impl Session {
    /// A session with no tree connects or opens and the default bounds.
    pub fn new(id: u64, identity: Identity) -> Self {
        Self::with_limits(id, identity, MAX_TREES_PER_SESSION, MAX_OPENS_PER_SESSION)
    }

    /// A session that may hold at most `max_trees` tree connects (more get
    /// STATUS_INSUFFICIENT_RESOURCES) and `max_opens` opens (STATUS_TOO_MANY_OPENED_FILES).
    pub fn with_limits(id: u64, identity: Identity, max_trees: usize, max_opens: usize) -> Self {
        Self {
            id,
            identity: RwLock::new(Arc::new(identity)),
            trees: Mutex::default(),
            opens: Mutex::default(),
            max_trees,
            max_opens,
        }
    }

    /// Session.SessionId.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The authenticated identity (a snapshot: a re-authentication installs a new one).
    pub fn identity(&self) -> Arc<Identity> {
        Arc::clone(&self.identity.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Installs the identity of a successful re-authentication ([MS-SMB2 3.3.5.5.3]); trees
    /// and opens stay.
    pub fn set_identity(&self, identity: Identity) {
        *self.identity.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(identity);
    }

    /// The tree connect `tree_id`.
    pub fn tree(&self, tree_id: u32) -> Option<Arc<TreeConnect>> {
        lock(&self.trees).map.get(&tree_id).cloned()
    }

    /// Adds a tree connect with the next free TreeId (from 1, skipping 0 and 0xFFFFFFFF, which
    /// compound requests use as "the previous tree").
    pub fn add_tree(
        &self,
        share: Arc<Share>,
        maximal_access: u32,
        path: String,
    ) -> Result<Arc<TreeConnect>, NtStatus> {
        let mut trees = lock(&self.trees);
        if trees.map.len() >= self.max_trees {
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        }
        let id = loop {
            trees.next_id = trees.next_id.wrapping_add(1);
            let id = trees.next_id;
            if id != 0 && id != u32::MAX && !trees.map.contains_key(&id) {
                break id;
            }
        };
        let tree = Arc::new(TreeConnect {
            id,
            share,
            maximal_access,
            path,
        });
        trees.map.insert(id, Arc::clone(&tree));
        Ok(tree)
    }

    /// Removes a tree connect and closes every open made through it ([MS-SMB2 3.3.5.8]).
    /// `None` if there was no such tree.
    pub fn remove_tree(&self, tree_id: u32) -> Option<Arc<TreeConnect>> {
        let tree = lock(&self.trees).map.remove(&tree_id)?;
        let closing: Vec<Arc<Open>> = {
            let mut opens = lock(&self.opens);
            let ids: Vec<u64> = opens
                .map
                .iter()
                .filter(|(_, o)| o.tree_id() == tree_id)
                .map(|(k, _)| *k)
                .collect();
            ids.iter().filter_map(|k| opens.map.remove(k)).collect()
        };
        for open in closing {
            open.close();
        }
        Some(tree)
    }

    /// The open `file_id` (both halves must match).
    pub fn open(&self, file_id: FileId) -> Option<Arc<Open>> {
        lock(&self.opens)
            .map
            .get(&file_id.volatile)
            .filter(|o| o.file_id == file_id)
            .cloned()
    }

    /// Registers a new open; `make` receives the FileId allocated for it.
    pub fn insert_open(&self, make: impl FnOnce(FileId) -> Open) -> Result<Arc<Open>, NtStatus> {
        let mut opens = lock(&self.opens);
        if opens.map.len() >= self.max_opens {
            return Err(NtStatus::TOO_MANY_OPENED_FILES);
        }
        let volatile = loop {
            let v = NEXT_FILE_ID.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if v != 0 && v != u64::MAX && !opens.map.contains_key(&v) {
                break v;
            }
        };
        let open = Arc::new(make(FileId::new(volatile, volatile)));
        opens.map.insert(volatile, Arc::clone(&open));
        Ok(open)
    }

    /// Adds an existing open under its own FileId: a durable open reconnected on this session
    /// ([MS-SMB2 3.3.5.9.7]). The caller has rebound it to this session and tree.
    pub fn adopt_open(&self, open: Arc<Open>) -> Result<(), NtStatus> {
        let mut opens = lock(&self.opens);
        if opens.map.len() >= self.max_opens {
            return Err(NtStatus::TOO_MANY_OPENED_FILES);
        }
        if opens.map.contains_key(&open.file_id.volatile) {
            return Err(NtStatus::INTERNAL_ERROR);
        }
        opens.map.insert(open.file_id.volatile, open);
        Ok(())
    }

    /// Connection loss ([MS-SMB2 3.3.7.1]): empties the session and hands its opens to the
    /// caller, which preserves the durable ones and closes the rest.
    pub fn take_all(&self) -> Vec<Arc<Open>> {
        let opens: Vec<Arc<Open>> = lock(&self.opens).map.drain().map(|(_, o)| o).collect();
        lock(&self.trees).map.clear();
        opens
    }

    /// Removes an open from the table (the caller then runs [`Open::close`]).
    pub fn remove_open(&self, file_id: FileId) -> Option<Arc<Open>> {
        let mut opens = lock(&self.opens);
        let matches = opens
            .map
            .get(&file_id.volatile)
            .is_some_and(|o| o.file_id == file_id);
        if matches {
            opens.map.remove(&file_id.volatile)
        } else {
            None
        }
    }

    /// Is any open of tree `tree_id` other than `except` at or below `dir`? (Windows refuses to
    /// rename a directory while files under it are open.)
    pub fn has_open_within(&self, tree_id: u32, dir: &RelPath, except: FileId) -> bool {
        let opens: Vec<Arc<Open>> = lock(&self.opens).map.values().cloned().collect();
        opens.iter().any(|o| {
            o.tree_id() == tree_id
                && o.file_id != except
                && o.disk().is_some_and(|d| d.path().is_within(dir))
        })
    }

    /// Number of opens (for tests and diagnostics).
    pub fn open_count(&self) -> usize {
        lock(&self.opens).map.len()
    }

    /// LOGOFF or connection loss: closes every open (delete-on-close runs) and drops every tree
    /// connect ([MS-SMB2 3.3.5.6], 3.3.7.1).
    pub fn close_all(&self) {
        let opens: Vec<Arc<Open>> = lock(&self.opens).map.drain().map(|(_, o)| o).collect();
        for open in opens {
            open.close();
        }
        lock(&self.trees).map.clear();
    }
}
