//! Tree connects ([MS-SMB2 3.3.1.10] Per Tree Connect): a session's attachment to one share.

use std::sync::Arc;

use crate::registry::Share;

/// One tree connect.
#[derive(Debug)]
pub struct TreeConnect {
    /// TreeConnect.TreeId: unique within the session, from 1.
    pub id: u32,
    /// TreeConnect.Share.
    pub share: Arc<Share>,
    /// TreeConnect.MaximalAccess: what any open on this tree may be granted.
    pub maximal_access: u32,
    /// The `\\server\share` path the client asked for (kept for diagnostics: it tells which
    /// server name the client dialled).
    pub path: String,
}

impl TreeConnect {
    /// True if the share refuses modification.
    pub fn read_only(&self) -> bool {
        self.share.config.read_only
    }
}
