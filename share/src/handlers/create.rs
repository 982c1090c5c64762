//! CREATE ([MS-SMB2 3.3.5.9] Receiving an SMB2 CREATE Request): opens a file, directory or,
//! on IPC$, a named pipe.

use std::sync::Arc;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::codec::utf16le_to_string;
use rsmbd_protocol::create_context::{
    CreateContext, CreateContextName, MaximalAccessResponse, QueryOnDiskIdResponse,
};
use rsmbd_protocol::messages::create::{
    CreateOptions, CreateRequest, CreateResponse, ImpersonationLevel, OplockLevel,
};

use super::{HandlerResult, Reply, TreeCx};
use crate::disk::access::{self, DELETE};
use crate::disk::create::{CreateSpec, Disposition, OpenGate, Want, create};
use crate::disk::meta::{FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_READONLY};
use crate::disk::path::RelPath;
use crate::disk::streams::{self, StreamName};
use crate::durable::{self, create::DurableRequest};
use crate::open::{DiskOpen, Open, OpenKind, PipeOpen};
use crate::oplock::create::OplockRequest;

/// STATUS_BAD_IMPERSONATION_LEVEL ([MS-ERREF 2.3]).
const STATUS_BAD_IMPERSONATION_LEVEL: NtStatus = NtStatus(0xC000_00A5);

/// Handles CREATE on the request's tree.
///
/// Disk shares: the name is validated and resolved beneath the share root (see
/// `disk::path`); CreateDisposition, FILE_DIRECTORY_FILE / FILE_NON_DIRECTORY_FILE and
/// FILE_DELETE_ON_CLOSE (which needs DELETE access) are honoured per 3.3.5.9 and MS-FSA
/// 2.1.5.1. Oplocks and leases (RqLs) are granted and broken by `oplock::create`: a CREATE
/// that breaks another open's oplock answers STATUS_PENDING until the break is acknowledged
/// (the engine retries it). Durable handles (DHnQ/DH2Q, reconnects with DHnC/DH2C) are
/// `durable::create`'s. The MxAc and QFid create contexts are answered; every other
/// context is ignored (3.3.5.9: "the server MUST ignore" unknown ones).
///
/// IPC$: the name selects a pipe (`srvsvc`, `wkssvc`); others are `OBJECT_NAME_NOT_FOUND`.
pub fn handle(cx: &TreeCx, req: &CreateRequest<'_>) -> HandlerResult<CreateResponse> {
    if !cx.tree.share.is_ipc() {
        // Durable opens past their timeout are closed before anything looks at the file.
        cx.tree.share.durables().expire(std::time::Instant::now());
        // A durable reconnect ignores every other field of the request (3.3.5.9.7).
        if let Some(reply) = durable::create::reconnect(cx, req) {
            return reply;
        }
    }
    if req.impersonation_level > ImpersonationLevel::DELEGATE {
        return Err(STATUS_BAD_IMPERSONATION_LEVEL);
    }
    let name = utf16le_to_string(&req.name).ok_or(NtStatus::OBJECT_NAME_INVALID)?;
    if cx.tree.share.is_ipc() {
        return create_pipe(cx, req, &name);
    }
    let durable_request = DurableRequest::from_request(cx, req)?;
    if let Some(reply) = durable_request.replay(cx, req) {
        return reply;
    }
    let opts = req.create_options;
    if opts & CreateOptions::DIRECTORY_FILE != 0 && opts & CreateOptions::NON_DIRECTORY_FILE != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if opts & CreateOptions::OPEN_BY_FILE_ID != 0 {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    let disposition = Disposition::from_wire(req.create_disposition)?;
    let granted = access::grant(req.desired_access, cx.tree.maximal_access)?;
    let delete_on_close = opts & CreateOptions::DELETE_ON_CLOSE != 0;
    if delete_on_close && granted & DELETE == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    // `file:stream:$DATA`: the stream name is split off before the path is resolved and
    // never becomes part of a host path (disk::streams).
    let StreamName { file: name, stream } = streams::split(&name)?;
    let path = RelPath::parse(name)?;
    let want = if opts & CreateOptions::DIRECTORY_FILE != 0 {
        Want::Directory
    } else if opts & CreateOptions::NON_DIRECTORY_FILE != 0 {
        Want::File
    } else {
        Want::Any
    };
    let root = cx.disk_root()?;
    let oplock = OplockRequest::from_request(cx, req);
    oplock.check_lease_key(cx, root, &path)?;
    let gate = |meta: &crate::disk::meta::FileMeta, access: u32| oplock.gate(cx, meta, access);
    let spec = CreateSpec {
        disposition: match stream {
            Some(_) => streams::file_disposition(disposition),
            None => disposition,
        },
        want,
        granted_access: granted,
        maximum_allowed: req.desired_access & access::MAXIMUM_ALLOWED != 0,
        read_only_share: cx.tree.read_only(),
        file_attributes: req.file_attributes,
        share_access: req.share_access,
        // Share modes are kept per file, not per stream: a stream open does not take part.
        share_modes: stream.is_none().then(|| cx.tree.share.share_modes()),
        gate: Some(OpenGate(&gate)),
    };
    let mut opened = create(root, &path, &spec)?;
    let mut stream_name = None;
    if let Some(stream) = stream {
        let (stored, action, size) =
            streams::open(&opened.file, stream, disposition, cx.tree.read_only())?;
        opened.action = action;
        opened.meta.end_of_file = size;
        opened.meta.allocation_size = size;
        stream_name = Some(stored);
    }
    if opened.action == crate::disk::create::CreateAction::Created
        && let Some(owner) = cx.session.identity().owner
    {
        // The `[[identity]]` mapping: new objects belong to the session's local user.
        crate::disk::owner::apply(&opened.file, owner);
    }
    if delete_on_close && opened.meta.attributes & FILE_ATTRIBUTE_READONLY != 0 {
        // MS-FSA 2.1.5.1.2.1: a read-only file cannot be opened for delete-on-close.
        return Err(NtStatus::CANNOT_DELETE);
    }
    if delete_on_close && path.is_root() {
        return Err(NtStatus::ACCESS_DENIED);
    }
    // A directory that already has entries can never be deleted at close: fail now, as
    // Windows and Samba do, so `rmdir` of a non-empty directory reports the error.
    if delete_on_close
        && opened.meta.is_dir
        && !crate::disk::file::dir_is_empty(&opened.file).map_err(super::io_status)?
    {
        return Err(NtStatus::DIRECTORY_NOT_EMPTY);
    }
    let meta = opened.meta;
    let granted = opened.granted_access;
    let share = Arc::clone(&cx.tree.share);
    let open = cx.session.insert_open(|file_id| {
        Open::new(
            file_id,
            cx.tree.id,
            cx.session.id(),
            granted,
            share,
            OpenKind::Disk(
                DiskOpen::new(
                    opened.file,
                    meta,
                    opened.path.clone(),
                    delete_on_close,
                    opened.share_mode.and_then(|g| g.keep()),
                )
                .with_write_through(opts & CreateOptions::WRITE_THROUGH != 0)
                .with_stream(stream_name.clone()),
            ),
        )
    })?;
    let (oplock_level, lease_context) = match oplock.grant(cx, &open) {
        Ok(granted) => granted,
        Err(status) => {
            // A lease key already used on another file: the open is undone.
            cx.session.remove_open(open.file_id);
            open.close();
            return Err(status);
        }
    };
    let mut contexts = Vec::new();
    if CreateContext::find(&req.create_contexts, CreateContextName::MXAC).is_some() {
        contexts.push(
            MaximalAccessResponse {
                query_status: NtStatus::SUCCESS,
                maximal_access: cx.tree.maximal_access,
            }
            .to_context(),
        );
    }
    if CreateContext::find(&req.create_contexts, CreateContextName::QFID).is_some() {
        contexts.push(
            QueryOnDiskIdResponse {
                disk_file_id: meta.file_id,
                volume_id: meta.dev,
            }
            .to_context(),
        );
    }
    contexts.extend(lease_context);
    contexts.extend(durable_request.grant(cx, &open));
    tracing::trace!(path = %opened.path.to_smb(), action = ?opened.action, file_id = ?open.file_id, oplock_level, "create");
    Ok(Reply::ok(CreateResponse {
        oplock_level,
        flags: 0,
        create_action: opened.action as u32,
        creation_time: meta.creation_time,
        last_access_time: meta.last_access_time,
        last_write_time: meta.last_write_time,
        change_time: meta.change_time,
        allocation_size: meta.allocation_size,
        end_of_file: meta.end_of_file,
        file_attributes: meta.attributes,
        file_id: open.file_id,
        create_contexts: contexts,
    }))
}

/// Opens a named pipe on IPC$. Clients send the bare pipe name (`srvsvc`); a `\pipe\` prefix
/// is tolerated.
fn create_pipe(cx: &TreeCx, req: &CreateRequest<'_>, name: &str) -> HandlerResult<CreateResponse> {
    let bare = name
        .strip_prefix("\\pipe\\")
        .or_else(|| name.strip_prefix("pipe\\"))
        .or_else(|| name.strip_prefix('\\'))
        .unwrap_or(name);
    let info = cx
        .tree
        .share
        .pipe_info()
        .ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
    let pipe =
        crate::ipc::open_pipe(bare, Arc::clone(info)).ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
    let granted = access::grant(req.desired_access, cx.tree.maximal_access)?;
    let share = Arc::clone(&cx.tree.share);
    let open = cx.session.insert_open(|file_id| {
        Open::new(
            file_id,
            cx.tree.id,
            cx.session.id(),
            granted,
            share,
            OpenKind::Pipe(PipeOpen::new(bare.to_owned(), pipe)),
        )
    })?;
    Ok(Reply::ok(CreateResponse {
        oplock_level: OplockLevel::NONE,
        flags: 0,
        create_action: crate::disk::create::CreateAction::Opened as u32,
        creation_time: 0,
        last_access_time: 0,
        last_write_time: 0,
        change_time: 0,
        allocation_size: 4096,
        end_of_file: 0,
        file_attributes: FILE_ATTRIBUTE_NORMAL,
        file_id: open.file_id,
        create_contexts: Vec::new(),
    }))
}
