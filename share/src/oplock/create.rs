//! The oplock and lease part of CREATE ([MS-SMB2 3.3.5.9], with the lease contexts of
//! 3.3.5.9.8 (RqLs v1, [2.2.13.2.8]) and 3.3.5.9.11 (RqLs v2, [2.2.13.2.10])): what the request
//! asks for, the gate run before the share-mode check, the grant once the open exists, and the
//! response context ([2.2.14.2.10] / [2.2.14.2.11]).
//!
//! Directories get neither oplocks nor leases: a lease request on a directory is declined
//! with OplockLevel NONE and no lease context in the response (SMB2_GLOBAL_CAP_DIRECTORY_LEASING
//! is not advertised).

use std::time::Instant;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::create_context::{CreateContext, CreateContextName, LeaseContext, LeaseV2};
use rsmbd_protocol::messages::create::{CreateRequest, OplockLevel};

use super::{Granted, LeaseId, OpenIntent, Registration, Requested};
use rustix::fs::{Mode, OFlags};

use crate::disk::DiskRoot;
use crate::disk::case::resolve_case;
use crate::disk::meta::FileMeta;
use crate::disk::path::{RelPath, open_beneath};
use crate::handlers::TreeCx;
use crate::open::Open;

/// What one CREATE asks of the oplock table.
#[derive(Debug, Clone, Copy)]
pub struct OplockRequest {
    requested: Requested,
    /// The request's lease context (for the response).
    lease: Option<LeaseContext>,
    truncates: bool,
    share_access: u32,
}

impl OplockRequest {
    /// Reads RequestedOplockLevel and, for SMB2_OPLOCK_LEVEL_LEASE on a 2.1+ connection, the
    /// RqLs context (v2 fields only on 3.x). A malformed or missing lease context means no
    /// oplock, as for any context the server cannot use.
    pub fn from_request(cx: &TreeCx, req: &CreateRequest<'_>) -> Self {
        let lease = (req.requested_oplock_level == OplockLevel::LEASE && cx.client.leasing)
            .then(|| CreateContext::find(&req.create_contexts, CreateContextName::RQLS))
            .flatten()
            .and_then(|c| LeaseContext::from_data(&c.data).ok())
            .map(|mut l| {
                if !cx.client.lease_v2 {
                    l.v2 = None;
                }
                l
            });
        let requested = match lease {
            Some(l) => Requested::Lease {
                id: (cx.client.client_guid, l.lease_key),
                state: l.lease_state,
                v2_epoch: l.v2.map(|v| v.epoch),
            },
            None if req.requested_oplock_level == OplockLevel::LEASE => {
                Requested::Oplock(OplockLevel::NONE)
            }
            None => Requested::Oplock(req.requested_oplock_level),
        };
        Self {
            requested,
            lease,
            // SUPERSEDE, OVERWRITE, OVERWRITE_IF.
            truncates: matches!(req.create_disposition, 0 | 4 | 5),
            share_access: req.share_access,
        }
    }

    fn lease_id(&self) -> Option<LeaseId> {
        match self.requested {
            Requested::Lease { id, .. } => Some(id),
            Requested::Oplock(_) => None,
        }
    }

    /// [MS-SMB2 3.3.5.9.8] A lease key already bound to another file (or used for a directory
    /// or a new file while bound) is `INVALID_PARAMETER`, checked before anything is created.
    pub fn check_lease_key(
        &self,
        cx: &TreeCx,
        root: &DiskRoot,
        path: &RelPath,
    ) -> Result<(), NtStatus> {
        let Some(id) = self.lease_id() else {
            return Ok(());
        };
        let Some(bound) = cx.tree.share.oplocks().lease_file(id) else {
            return Ok(());
        };
        let path = resolve_case(root, path);
        let here = open_beneath(root.fd(), &path, OFlags::PATH, Mode::empty())
            .ok()
            .and_then(|fd| FileMeta::of(&fd, path.leaf().unwrap_or("")).ok())
            .map(|m| (m.dev, m.file_id));
        if here == Some(bound) {
            Ok(())
        } else {
            Err(NtStatus::INVALID_PARAMETER)
        }
    }

    /// The gate `disk::create` runs on an existing file before its share-mode check: breaks
    /// what this open conflicts with, `PENDING` while a break waits. A file whose delete is
    /// pending fails the open first, without breaking anything (smbtorture smb2.oplock.doc).
    pub fn gate(&self, cx: &TreeCx, meta: &FileMeta, access: u32) -> Result<(), NtStatus> {
        if meta.is_dir {
            return Ok(());
        }
        let key = (meta.dev, meta.file_id);
        if cx.tree.share.share_modes().delete_pending(key) {
            return Err(NtStatus::DELETE_PENDING);
        }
        let intent = OpenIntent {
            access,
            would_conflict: cx.tree.share.share_modes().would_conflict(
                key,
                access,
                self.share_access,
            ),
            truncates: self.truncates,
        };
        let stale = cx.tree.share.oplocks().before_open(
            key,
            &intent,
            self.lease_id(),
            Instant::now(),
            cx.retry,
        )?;
        if stale.is_empty() {
            return Ok(());
        }
        // Disconnected durable opens in the way are closed (a delete-on-close one deletes the
        // file); the CREATE then starts over from the name, as the engine retries a PENDING
        // one, so it sees the file as those closes left it.
        cx.tree.share.durables().purge(&stale);
        Err(NtStatus::PENDING)
    }

    /// Registers the new open and returns the response's OplockLevel and lease context.
    pub fn grant(
        &self,
        cx: &TreeCx,
        open: &Open,
    ) -> Result<(u8, Option<CreateContext<'static>>), NtStatus> {
        let Some(disk) = open.disk().filter(|d| !d.is_dir()) else {
            return Ok((OplockLevel::NONE, None));
        };
        let registration = Registration {
            owner: open.lock_owner(),
            file_id: open.file_id,
            channel: std::sync::Arc::clone(&cx.client.breaks),
            session_id: cx.session.id(),
            stat_open: super::rules::is_stat_access(open.granted_access),
        };
        let Granted {
            oplock_level,
            lease,
        } = cx
            .tree
            .share
            .oplocks()
            .register(disk.key(), registration, self.requested)?;
        let context = match (lease, self.lease) {
            (Some(g), Some(asked)) => {
                let mut flags = 0;
                if g.breaking {
                    flags |= LeaseContext::BREAK_IN_PROGRESS;
                }
                // The lease's version, not the request's, decides the response layout
                // (smbtorture smb2.lease.v2_epoch2/3 mix v1 and v2 requests on one key).
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
            _ => None,
        };
        Ok((oplock_level, context))
    }
}
