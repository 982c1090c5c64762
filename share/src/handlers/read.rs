//! READ ([MS-SMB2 3.3.5.12] Receiving an SMB2 READ Request).

use std::borrow::Cow;

use bytes::BytesMut;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::read::{ReadRequest, ReadResponse};

use super::{HandlerResult, Reply, TreeCx, io_status};
use crate::disk::access::{FILE_EXECUTE, FILE_READ_DATA};

/// Largest single read we allocate for, whatever the engine negotiated (it checks MaxReadSize
/// first; this is a second bound on memory).
pub const MAX_READ: u32 = 16 * 1024 * 1024;

/// A disk READ's data, read straight into the buffer the response is sent from: `data` follows
/// `room` in one allocation, and `room` (empty, with capacity for the transport, transform, SMB2
/// and READ headers) is where the engine encodes them, so the payload is never copied.
#[derive(Debug)]
pub struct ReadPayload {
    /// Empty; its capacity is the room reserved in front of `data`.
    pub room: BytesMut,
    /// The bytes read.
    pub data: BytesMut,
}

/// What a READ produced.
#[derive(Debug)]
pub enum ReadOutput {
    /// A pipe read (small; status may be BUFFER_OVERFLOW).
    Response(Reply<ReadResponse<'static>>),
    /// File data, ready to send without a copy.
    Payload(ReadPayload),
}

/// Reads `Length` bytes at `Offset` with positional I/O, leaving `room` bytes free in front of
/// the data for the headers (see [`ReadPayload`]).
///
/// 3.3.5.12: needs FILE_READ_DATA (or FILE_EXECUTE); reading a directory is
/// `INVALID_DEVICE_REQUEST`; a read at or after end of file, or one returning fewer than
/// MinimumCount bytes, is `END_OF_FILE`; another open's exclusive lock over the range is
/// `FILE_LOCK_CONFLICT`; a range past the largest signed 64-bit offset is `INVALID_PARAMETER`.
/// On a pipe, a message larger than Length comes back in parts with
/// `BUFFER_OVERFLOW`, and a READ with nothing to read waits (`PENDING`).
pub fn handle_into(
    cx: &TreeCx,
    req: &ReadRequest<'_>,
    room: usize,
) -> Result<ReadOutput, NtStatus> {
    let open = cx.open(req.file_id)?;
    if req.length > MAX_READ {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if let Some(pipe) = open.pipe() {
        // Windows and Samba keep a READ on an empty pipe waiting until a WRITE brings data:
        // STATUS_PENDING makes the engine answer with an interim response and retry
        // (MS-SMB2 3.3.4.2).
        let r = pipe.pipe().read(req.length as usize).map_err(|e| match e {
            NtStatus::PIPE_EMPTY => NtStatus::PENDING,
            other => other,
        })?;
        let status = if r.more {
            NtStatus::BUFFER_OVERFLOW
        } else {
            NtStatus::SUCCESS
        };
        return Ok(ReadOutput::Response(Reply::with_status(
            status,
            ReadResponse {
                data_remaining: 0,
                data: Cow::Owned(r.data),
            },
        )));
    }
    let disk = super::disk_of(&open)?;
    if disk.is_dir() {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    if !open.has_any_access(FILE_READ_DATA | FILE_EXECUTE) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    // MS-FSA 2.1.5.2: offsets are signed 64-bit; a range reaching past i64::MAX is invalid.
    let end = req.offset.checked_add(u64::from(req.length));
    if end.is_none_or(|e| e > i64::MAX as u64) {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if let Some(stream) = disk.stream() {
        return read_stream(disk, &stream, req).map(ReadOutput::Response);
    }
    open.share.locks().check_io(
        disk.key(),
        open.lock_owner(),
        req.offset,
        u64::from(req.length),
        false,
    )?;
    // Zeroed memory of this size comes from fresh pages, not a memset.
    let mut room_buf = BytesMut::zeroed(room.saturating_add(req.length as usize));
    let mut data = room_buf.split_off(room);
    room_buf.clear();
    let n =
        crate::disk::file::read_at_into(disk.file(), req.offset, &mut data).map_err(io_status)?;
    data.truncate(n);
    if (data.is_empty() && req.length > 0) || data.len() < req.minimum_count as usize {
        return Err(NtStatus::END_OF_FILE);
    }
    Ok(ReadOutput::Payload(ReadPayload {
        room: room_buf,
        data,
    }))
}

/// READ of a named stream (an xattr, read whole and sliced; see `disk::streams`).
fn read_stream(
    disk: &crate::open::DiskOpen,
    stream: &str,
    req: &ReadRequest<'_>,
) -> HandlerResult<ReadResponse<'static>> {
    let content = crate::disk::streams::read(disk.file(), stream)?;
    let start = usize::try_from(req.offset).unwrap_or(usize::MAX);
    let rest = content.get(start..).unwrap_or(&[]);
    let data = rest.get(..req.length as usize).unwrap_or(rest).to_vec();
    if (data.is_empty() && req.length > 0) || data.len() < req.minimum_count as usize {
        return Err(NtStatus::END_OF_FILE);
    }
    Ok(Reply::ok(ReadResponse {
        data_remaining: 0,
        data: Cow::Owned(data),
    }))
}

/// [`handle_into`] with the data in the response body (a copy): for callers that do not send
/// the result themselves.
pub fn handle(cx: &TreeCx, req: &ReadRequest<'_>) -> HandlerResult<ReadResponse<'static>> {
    match handle_into(cx, req, 0)? {
        ReadOutput::Response(reply) => Ok(reply),
        ReadOutput::Payload(p) => Ok(Reply::ok(ReadResponse {
            data_remaining: 0,
            data: Cow::Owned(p.data.to_vec()),
        })),
    }
}
