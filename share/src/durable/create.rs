//! The durable-handle part of CREATE: the request contexts DHnQ ([MS-SMB2 2.2.13.2.3]),
//! DHnC (2.2.13.2.4), DH2Q (2.2.13.2.11) and DH2C (2.2.13.2.12), the responses
//! (2.2.14.2.3, 2.2.14.2.12), and the server rules of 3.3.5.9.6 (DHnQ), 3.3.5.9.7 (DHnC),
//! 3.3.5.9.10 (DH2Q, with replay detection) and 3.3.5.9.12 (DH2C).
//!
//! A reconnect (DHnC/DH2C) is handled before anything else in the request is looked at: the
//! name, access, disposition and options are ignored, only the context matters (smbtorture
//! durable-open.reopen2 sends garbage in every other field).

use std::sync::Arc;
use std::time::Instant;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::create_context::{
    CreateContext, CreateContextName, DurableHandleReconnectV2, DurableHandleRequestV2,
    DurableHandleResponseV2, LeaseContext, LeaseV2, durable_handle_reconnect_file_id,
    durable_handle_response,
};
use rsmbd_protocol::messages::create::{CreateRequest, CreateResponse, OplockLevel};
use rsmbd_protocol::messages::oplock_break::LeaseState;

use super::DurableInfo;
use crate::disk::create::CreateAction;
use crate::disk::meta::FileMeta;
use crate::handlers::{HandlerResult, Reply, TreeCx, io_status};
use crate::open::Open;
use crate::oplock::LeaseGrant;

/// What a new open asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurableRequest {
    /// No durable context.
    None,
    /// DHnQ: a durable v1 handle.
    V1,
    /// DH2Q: a durable v2 handle.
    V2(DurableHandleRequestV2),
}

/// DH2Q/DH2C are SMB 3.x contexts; on 2.x they are ignored like any unknown context.
fn v3(cx: &TreeCx) -> bool {
    // ClientLink::lease_v2 is set exactly for dialects 3.0 and later.
    cx.client.lease_v2
}

fn find<'r>(req: &'r CreateRequest<'_>, name: &[u8]) -> Option<&'r [u8]> {
    CreateContext::find(&req.create_contexts, name).map(|c| c.data.as_ref())
}

impl DurableRequest {
    /// Reads DHnQ / DH2Q from a request that is not a reconnect. Both at once is
    /// INVALID_PARAMETER ([MS-SMB2 3.3.5.9.6], 3.3.5.9.10), as is a DH2Q that does not decode.
    pub fn from_request(cx: &TreeCx, req: &CreateRequest<'_>) -> Result<Self, NtStatus> {
        let dhnq = find(req, CreateContextName::DHNQ);
        let dh2q = find(req, CreateContextName::DH2Q).filter(|_| v3(cx));
        match (dhnq, dh2q) {
            (Some(_), Some(_)) => Err(NtStatus::INVALID_PARAMETER),
            (Some(_), None) => Ok(Self::V1),
            (None, Some(data)) => DurableHandleRequestV2::from_data(data)
                .map(Self::V2)
                .map_err(|_| NtStatus::INVALID_PARAMETER),
            (None, None) => Ok(Self::None),
        }
    }

    /// [MS-SMB2 3.3.5.9.10] A replayed DH2Q (SMB2_FLAGS_REPLAY_OPERATION) whose CreateGuid
    /// names an open of this client that still exists: the answer is that open again.
    pub fn replay(
        &self,
        cx: &TreeCx,
        req: &CreateRequest<'_>,
    ) -> Option<HandlerResult<CreateResponse>> {
        let Self::V2(dh2q) = self else { return None };
        if !cx.client.replay {
            return None;
        }
        let open = cx
            .tree
            .share
            .durables()
            .by_create_guid(cx.client.client_guid, dh2q.create_guid)?;
        if open.session_id() != cx.session.id() || open.tree_id() != cx.tree.id {
            return None;
        }
        let info = cx.tree.share.durables().info(open.file_id.persistent)?;
        let (level, lease) = cx.tree.share.oplocks().reattach(
            open.disk()?.key(),
            open.lock_owner(),
            &cx.client.breaks,
            cx.session.id(),
        )?;
        let mut contexts: Vec<CreateContext<'static>> =
            lease_response(req_lease(cx, Some(req)), lease)
                .into_iter()
                .collect();
        contexts.push(
            DurableHandleResponseV2 {
                timeout: timeout_ms(&info),
                flags: 0,
            }
            .to_context(),
        );
        Some(response(&open, level, contexts))
    }

    /// After the open exists and its oplock or lease is granted: makes it durable if the grant
    /// allows it (a batch oplock, or a lease with handle caching; never a directory) and
    /// returns the response context.
    pub fn grant(&self, cx: &TreeCx, open: &Arc<Open>) -> Option<CreateContext<'static>> {
        if *self == Self::None {
            return None;
        }
        let disk = open.disk().filter(|d| !d.is_dir())?;
        let (level, lease_state) = cx
            .tree
            .share
            .oplocks()
            .held(disk.key(), open.lock_owner())?;
        let cached = match level {
            OplockLevel::BATCH => true,
            OplockLevel::LEASE => lease_state.is_some_and(|s| s & LeaseState::HANDLE_CACHING != 0),
            _ => false,
        };
        if !cached {
            return None;
        }
        let durables = cx.tree.share.durables();
        let (create_guid, timeout) = match self {
            Self::V2(q) => (Some(q.create_guid), durables.v2_timeout(q.timeout)),
            _ => (None, durables.v1_timeout()),
        };
        if timeout.is_zero() {
            // `durable_handle_timeout_secs = 0`: durable handles are switched off.
            return None;
        }
        let info = DurableInfo {
            create_guid,
            client_guid: cx.client.client_guid,
            principal: cx.session.identity().principal.clone(),
            timeout,
        };
        let context = match self {
            // Persistent handles need continuously available shares: never granted (flags 0).
            Self::V2(_) => DurableHandleResponseV2 {
                timeout: timeout_ms(&info),
                flags: 0,
            }
            .to_context(),
            _ => durable_handle_response(),
        };
        durables.register(Arc::clone(open), info);
        Some(context)
    }
}

fn timeout_ms(info: &DurableInfo) -> u32 {
    u32::try_from(info.timeout.as_millis()).unwrap_or(u32::MAX)
}

/// The request's lease context, if it carries one (whatever RequestedOplockLevel says: a
/// reconnect ignores that field).
fn req_lease(cx: &TreeCx, req: Option<&CreateRequest<'_>>) -> Option<LeaseContext> {
    let req = req?;
    if !cx.client.leasing {
        return None;
    }
    find(req, CreateContextName::RQLS).and_then(|d| LeaseContext::from_data(d).ok())
}

/// The lease response context for a reconnected (or replayed) open: the lease's state and
/// version as the table has them.
fn lease_response(
    asked: Option<LeaseContext>,
    lease: Option<LeaseGrant>,
) -> Option<CreateContext<'static>> {
    let (asked, g) = (asked?, lease?);
    let mut flags = 0;
    if g.breaking {
        flags |= LeaseContext::BREAK_IN_PROGRESS;
    }
    let v2 = g.v2.then(|| {
        let parent = asked
            .v2
            .filter(|_| asked.flags & LeaseContext::PARENT_LEASE_KEY_SET != 0)
            .map(|v| v.parent_lease_key);
        if parent.is_some() {
            flags |= LeaseContext::PARENT_LEASE_KEY_SET;
        }
        LeaseV2 {
            parent_lease_key: parent.unwrap_or_default(),
            epoch: g.epoch,
        }
    });
    Some(
        LeaseContext {
            lease_key: asked.lease_key,
            lease_state: g.state,
            flags,
            lease_duration: 0,
            v2,
        }
        .to_context(),
    )
}

/// The CREATE response for an open that already exists (reconnect, replay): FILE_OPENED and
/// the file's attributes as they are now.
fn response(
    open: &Open,
    oplock_level: u8,
    create_contexts: Vec<CreateContext<'static>>,
) -> HandlerResult<CreateResponse> {
    let disk = open.disk().ok_or(NtStatus::INTERNAL_ERROR)?;
    let path = disk.path();
    let meta = FileMeta::of(disk.file(), path.leaf().unwrap_or("")).map_err(io_status)?;
    Ok(Reply::ok(CreateResponse {
        oplock_level,
        flags: 0,
        create_action: CreateAction::Opened as u32,
        creation_time: meta.creation_time,
        last_access_time: meta.last_access_time,
        last_write_time: meta.last_write_time,
        change_time: meta.change_time,
        allocation_size: meta.allocation_size,
        end_of_file: meta.end_of_file,
        file_attributes: meta.attributes,
        file_id: open.file_id,
        create_contexts,
    }))
}

/// Does the request's name (UTF-16LE) name `path`? Compared as Windows does, case-insensitively.
fn same_name(name: &[u8], path: &crate::disk::path::RelPath) -> bool {
    rsmbd_protocol::codec::utf16le_to_string(name)
        .and_then(|n| crate::disk::path::RelPath::parse(&n).ok())
        .is_some_and(|p| p.to_smb().to_lowercase() == path.to_smb().to_lowercase())
}

/// [MS-SMB2 3.3.5.9.7 / 3.3.5.9.12] A CREATE carrying DHnC or DH2C: re-attaches the
/// disconnected durable open it names to this session and tree. `None` when the request is
/// not a reconnect.
pub fn reconnect(cx: &TreeCx, req: &CreateRequest<'_>) -> Option<HandlerResult<CreateResponse>> {
    let dhnc = find(req, CreateContextName::DHNC);
    let dh2c = find(req, CreateContextName::DH2C).filter(|_| v3(cx));
    let dh2q = find(req, CreateContextName::DH2Q).filter(|_| v3(cx));
    let dhnq = find(req, CreateContextName::DHNQ);
    let (file_id, create_guid) = match (dhnc, dh2c) {
        (None, None) => return None,
        // DHnC with a v2 context, or DH2C with a v1 one: SHOULD fail (3.3.5.9.7, 3.3.5.9.12).
        (Some(_), Some(_)) => return Some(Err(NtStatus::INVALID_PARAMETER)),
        (Some(_), None) if dh2q.is_some() => return Some(Err(NtStatus::INVALID_PARAMETER)),
        (None, Some(_)) if dhnq.is_some() || dh2q.is_some() => {
            return Some(Err(NtStatus::INVALID_PARAMETER));
        }
        (Some(data), None) => match durable_handle_reconnect_file_id(data) {
            Ok(id) => (id, None),
            Err(_) => return Some(Err(NtStatus::INVALID_PARAMETER)),
        },
        (None, Some(data)) => match DurableHandleReconnectV2::from_data(data) {
            Ok(c) => (c.file_id, Some(c.create_guid)),
            Err(_) => return Some(Err(NtStatus::INVALID_PARAMETER)),
        },
    };
    Some(reattach(cx, req, file_id.persistent, create_guid))
}

fn reattach(
    cx: &TreeCx,
    req: &CreateRequest<'_>,
    persistent: u64,
    create_guid: Option<[u8; 16]>,
) -> HandlerResult<CreateResponse> {
    let share = &cx.tree.share;
    let asked_lease = req_lease(cx, Some(req));
    let principal = cx.session.identity().principal.clone();
    let (open, _info) = share.durables().reclaim(persistent, |open, info| {
        // Only through the share it was opened on.
        if !Arc::ptr_eq(&open.share, share) {
            return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
        }
        // A v2 reconnect names the open's CreateGuid (3.3.5.9.12; a v1 open has none: the
        // zero GUID, as Windows and Samba compare it). A v1 reconnect checks none, so a v2
        // open may come back with DHnC (smbtorture durable-v2-open.reopen2b). The ClientGuid
        // matters through the lease key only: a client that reconnects an oplock open may
        // present a new one (smbtorture reopen1a).
        if let Some(asked) = create_guid
            && asked != info.create_guid.unwrap_or_default()
        {
            return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
        }
        // An open under a lease is reclaimed only with that lease (its key and this
        // connection's ClientGuid); an open without one only without a lease context.
        let disk = open.disk().ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
        let held = share.oplocks().lease_of(disk.key(), open.lock_owner());
        match (held, asked_lease) {
            (None, None) => {}
            (Some(id), Some(l)) if id == (cx.client.client_guid, l.lease_key) => {
                // Open.Lease.FileName must be the name in the request (3.3.5.9.7): a lease
                // open is reclaimed by name too, unlike an oplock one.
                if !same_name(&req.name, &disk.path()) {
                    return Err(NtStatus::INVALID_PARAMETER);
                }
            }
            _ => return Err(NtStatus::OBJECT_NAME_NOT_FOUND),
        }
        // Open.Session.SecurityContext: the same user only (3.3.5.9.7).
        if info.principal != principal {
            tracing::info!(target: "rsmbd::session", file_id = ?open.file_id, owner = %info.principal, by = %principal, "durable reconnect by another user refused");
            return Err(NtStatus::ACCESS_DENIED);
        }
        Ok(())
    })?;
    open.rebind(cx.session.id(), cx.tree.id);
    if let Err(status) = cx.session.adopt_open(Arc::clone(&open)) {
        share.durables().release(persistent, Instant::now());
        return Err(status);
    }
    let disk = open.disk().ok_or(NtStatus::INTERNAL_ERROR)?;
    let (level, lease) = share
        .oplocks()
        .reattach(
            disk.key(),
            open.lock_owner(),
            &cx.client.breaks,
            cx.session.id(),
        )
        .unwrap_or((OplockLevel::NONE, None));
    tracing::debug!(file_id = ?open.file_id, path = %disk.path().to_smb(), "durable open reconnected");
    let contexts = lease_response(asked_lease, lease).into_iter().collect();
    response(&open, level, contexts)
}
