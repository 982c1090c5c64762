//! FSCTL_SRV_COPYCHUNK and FSCTL_SRV_COPYCHUNK_WRITE: server-side copy
//! ([MS-SMB2 3.3.5.15.6], [2.2.31.1], [2.2.32.1]).
//!
//! The source is named by a resume key ([`super::resume_key`]) and may be any open of the
//! session; the destination is the request's FileId. Each chunk is copied by the kernel
//! (`disk::copy`), never under a table lock; byte-range locks are checked per chunk like a
//! READ of the source and a WRITE of the destination, as Windows Server 2012+ does.

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::fsctl::{SrvCopychunkCopy, SrvCopychunkResponse};
use rsmbd_protocol::messages::ioctl::{FsctlCode, IoctlRequest, IoctlResponse};

use super::super::{HandlerResult, Reply, TreeCx, disk_of, io_status};
use super::{response, resume_key};
use crate::disk::access::{FILE_EXECUTE, FILE_READ_DATA, FILE_WRITE_DATA};

/// ServerSideCopyMaxNumberofChunks (Windows: 256).
pub const MAX_CHUNKS: u32 = 256;
/// ServerSideCopyMaxChunkSize (Windows: 1 MiB).
pub const MAX_CHUNK_SIZE: u32 = 1024 * 1024;
/// ServerSideCopyMaxDataSize (Windows: 16 MiB).
pub const MAX_DATA_SIZE: u32 = 16 * 1024 * 1024;
/// SourceKey (24), ChunkCount (4), Reserved (4).
const HEADER: usize = 32;
/// SRV_COPYCHUNK_RESPONSE.
const RESPONSE_SIZE: u32 = 12;

/// A reply carrying SRV_COPYCHUNK_RESPONSE with `status` (the response body goes out with
/// error statuses too: that is how the client learns the limits or how far the copy got).
fn answer(
    req: &IoctlRequest<'_>,
    status: NtStatus,
    body: SrvCopychunkResponse,
) -> HandlerResult<IoctlResponse<'static>> {
    Ok(Reply::with_status(status, response(req, body.to_bytes())))
}

/// INVALID_PARAMETER with the server's limits in the response (3.3.5.15.6).
fn limits(req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    answer(
        req,
        NtStatus::INVALID_PARAMETER,
        SrvCopychunkResponse {
            chunks_written: MAX_CHUNKS,
            chunk_bytes_written: MAX_CHUNK_SIZE,
            total_bytes_written: MAX_DATA_SIZE,
        },
    )
}

/// Copies the chunks in order. In the order of 3.3.5.15.6: a short input or no room for the
/// response is `INVALID_PARAMETER`; the destination needs FILE_WRITE_DATA, and for
/// FSCTL_SRV_COPYCHUNK also FILE_READ_DATA (`ACCESS_DENIED`); an unknown resume key is
/// `OBJECT_NAME_NOT_FOUND`; the source needs FILE_READ_DATA or FILE_EXECUTE; more than 256 chunks, a chunk of 0
/// or more than 1 MiB, or more than 16 MiB in all is `INVALID_PARAMETER` with the limits in the
/// response. Then each chunk: a source range past the end of file is `INVALID_VIEW_SIZE`, a
/// byte-range lock in the way `FILE_LOCK_CONFLICT`, each reported with the chunks and bytes
/// written so far.
pub fn handle(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let dest = cx.open(req.file_id)?;
    let ddisk = disk_of(&dest)?;
    if req.input.len() < HEADER || req.max_output_response < RESPONSE_SIZE {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let need = if FsctlCode(req.ctl_code) == FsctlCode::SRV_COPYCHUNK {
        FILE_WRITE_DATA | FILE_READ_DATA
    } else {
        FILE_WRITE_DATA
    };
    if !dest.has_access(need) || cx.tree.read_only() {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if ddisk.is_dir() {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    // Check the count before decoding, so a huge ChunkCount gets the limits, not a parse error.
    let count = req
        .input
        .get(24..28)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(NtStatus::INVALID_PARAMETER)?;
    let copy = SrvCopychunkCopy::decode(&req.input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    let src = resume_key::lookup(cx, &copy.source_key)?;
    let sdisk = disk_of(&src)?;
    // Windows reads the source through any handle that may read its data: FILE_EXECUTE
    // counts (smbtorture copy_chunk_bad_access checks it against Windows).
    if !src.has_any_access(FILE_READ_DATA | FILE_EXECUTE) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if sdisk.is_dir() {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    if sdisk.stream().is_some() || ddisk.stream().is_some() {
        // Named streams live in xattrs (`disk::streams`), which have no byte ranges to copy.
        return Err(NtStatus::NOT_SUPPORTED);
    }
    let total: u64 = copy.chunks.iter().map(|c| u64::from(c.length)).sum();
    if count > MAX_CHUNKS
        || copy
            .chunks
            .iter()
            .any(|c| c.length == 0 || c.length > MAX_CHUNK_SIZE)
        || total > u64::from(MAX_DATA_SIZE)
    {
        return limits(req);
    }
    let same_file = sdisk.key() == ddisk.key();
    let mut done = SrvCopychunkResponse::default();
    for c in &copy.chunks {
        let len = u64::from(c.length);
        let fail = |status| answer(req, status, done);
        let (Some(src_end), Some(_)) = (
            c.source_offset.checked_add(len),
            c.target_offset.checked_add(len),
        ) else {
            return fail(NtStatus::INVALID_PARAMETER);
        };
        let src_size = sdisk.file().metadata().map_err(io_status)?.len();
        if src_end > src_size {
            return fail(NtStatus::INVALID_VIEW_SIZE);
        }
        let locks = src.share.locks();
        if let Err(status) =
            locks.check_io(sdisk.key(), src.lock_owner(), c.source_offset, len, false)
        {
            return fail(status);
        }
        let locks = dest.share.locks();
        if let Err(status) =
            locks.check_io(ddisk.key(), dest.lock_owner(), c.target_offset, len, true)
        {
            return fail(status);
        }
        // MS-FSA 2.1.4.12: a write breaks other opens' level II oplocks and read leases.
        dest.share
            .oplocks()
            .break_on_write(ddisk.key(), dest.lock_owner());
        let n = crate::disk::copy::copy_range(
            sdisk.file(),
            c.source_offset,
            ddisk.file(),
            c.target_offset,
            len,
            same_file,
        )
        .map_err(io_status)?;
        if n < len {
            // The source shrank under us.
            return fail(NtStatus::INVALID_VIEW_SIZE);
        }
        done.chunks_written += 1;
        done.total_bytes_written = done.total_bytes_written.saturating_add(c.length);
    }
    if ddisk.write_through() {
        ddisk.file().sync_data().map_err(io_status)?;
    }
    answer(req, NtStatus::SUCCESS, done)
}
