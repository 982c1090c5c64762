//! TREE_CONNECT ([MS-SMB2 3.3.5.7] Receiving an SMB2 TREE_CONNECT Request).

use std::sync::Arc;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::tree_connect::{
    ShareFlags, ShareType, TreeConnectRequest, TreeConnectResponse,
};

use super::{HandlerResult, Reply};
use crate::disk::access::share_maximal_access;
use crate::registry::ShareRegistry;
use crate::session::Session;

/// Splits `\\server\share` into its two parts. Anything else (no server part, more components,
/// empty names) is `None`.
pub fn split_unc(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("\\\\")?;
    let (server, share) = rest.split_once('\\')?;
    if server.is_empty() || share.is_empty() || share.contains('\\') {
        return None;
    }
    Some((server, share))
}

/// Connects the session to the share named in `req.path` ([MS-SMB2 3.3.5.7]):
/// an unknown share is `STATUS_BAD_NETWORK_NAME`; a principal not in the share's `valid_users`
/// is `STATUS_ACCESS_DENIED` (logged). The response carries the share type, the caching and
/// ENCRYPT_DATA flags and the maximal access (read and execute only on a read-only share).
/// Returns the new TreeId with the response.
pub fn handle(
    session: &Arc<Session>,
    registry: &ShareRegistry,
    req: &TreeConnectRequest,
) -> HandlerResult<(u32, TreeConnectResponse)> {
    let Some((server, share_name)) = split_unc(&req.path) else {
        tracing::debug!(path = %req.path, "tree connect: malformed share path");
        return Err(NtStatus::BAD_NETWORK_NAME);
    };
    let Some(share) = registry.find(share_name) else {
        tracing::info!(path = %req.path, "tree connect: no such share");
        return Err(NtStatus::BAD_NETWORK_NAME);
    };
    let identity = session.identity();
    if !share.admits(&identity) {
        tracing::warn!(
            share = %share.config.name,
            principal = %identity.principal,
            groups = ?identity.groups,
            sids = identity.group_sids.len(),
            "tree connect refused: principal not in valid_users (by name, @group or SID)"
        );
        return Err(NtStatus::ACCESS_DENIED);
    }
    let maximal_access = share_maximal_access(share.config.read_only);
    let (share_type, mut share_flags) = if share.is_ipc() {
        (ShareType::PIPE, ShareFlags::NO_CACHING)
    } else {
        (ShareType::DISK, ShareFlags::MANUAL_CACHING)
    };
    if share.config.encrypt_data {
        share_flags |= ShareFlags::ENCRYPT_DATA;
    }
    let tree = session.add_tree(Arc::clone(&share), maximal_access, req.path.clone())?;
    tracing::debug!(tree_id = tree.id, share = %share.config.name, server, "tree connected");
    Ok(Reply::ok((
        tree.id,
        TreeConnectResponse {
            share_type,
            share_flags,
            capabilities: 0,
            maximal_access,
        },
    )))
}
