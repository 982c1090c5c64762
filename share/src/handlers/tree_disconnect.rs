//! TREE_DISCONNECT ([MS-SMB2 3.3.5.8] Receiving an SMB2 TREE_DISCONNECT Request).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::tree_disconnect::TreeDisconnectResponse;

use super::{HandlerResult, Reply};
use crate::session::Session;

/// Removes the tree connect and closes every open made through it (delete-on-close runs).
/// An unknown TreeId is `STATUS_NETWORK_NAME_DELETED`.
pub fn handle(session: &Session, tree_id: u32) -> HandlerResult<TreeDisconnectResponse> {
    match session.remove_tree(tree_id) {
        Some(_) => Ok(Reply::ok(TreeDisconnectResponse)),
        None => Err(NtStatus::NETWORK_NAME_DELETED),
    }
}
