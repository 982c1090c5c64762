//! A message-mode named pipe instance carrying one DCE/RPC association (MS-SMB2 3.3.5.13
//! WRITE / 3.3.5.12 READ / 3.3.5.15.3 FSCTL_PIPE_TRANSCEIVE on IPC$; C706 12 over
//! `ncacn_np`).
//!
//! Writes are a byte stream of PDU fragments: bytes are buffered until a whole fragment (its
//! `frag_length`) is present, then handed to the association. Each answer PDU becomes one
//! message in the read queue; a READ returns at most one message, and if the message does not
//! fit, the caller answers STATUS_BUFFER_OVERFLOW and the rest is returned by the next READ.

use std::collections::VecDeque;

use rsmbd_protocol::NtStatus;

use super::rpc::association::{Association, RpcService};
use super::rpc::pdu::{CommonHeader, frag_length};
use super::srvsvc::Srvsvc;
use super::wkssvc::Wkssvc;

/// Cap on answer bytes queued and not yet read: a client that writes requests without ever
/// reading is refused rather than allowed to grow the queue without bound.
pub const MAX_QUEUED_OUTPUT: usize = 1024 * 1024;

/// The result of one READ (or the read half of a transceive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipeRead {
    /// Bytes of the current message, at most the requested maximum.
    pub data: Vec<u8>,
    /// The message did not fit: answer STATUS_BUFFER_OVERFLOW; the rest follows on READ.
    pub more: bool,
}

/// The RPC interface behind a pipe.
#[derive(Debug)]
enum Endpoint {
    Srvsvc(Srvsvc),
    Wkssvc(Wkssvc),
}

impl Endpoint {
    fn service(&self) -> &dyn RpcService {
        match self {
            Endpoint::Srvsvc(s) => s,
            Endpoint::Wkssvc(w) => w,
        }
    }
}

/// One open of `\PIPE\srvsvc` or `\PIPE\wkssvc`.
#[derive(Debug)]
pub struct Pipe {
    endpoint: Endpoint,
    association: Association,
    /// Bytes of an incomplete fragment.
    input: Vec<u8>,
    /// Whole answer PDUs, oldest first.
    output: VecDeque<Vec<u8>>,
    /// How much of `output.front()` earlier READs already returned.
    read_offset: usize,
    /// Sum of unread bytes in `output`.
    queued: usize,
}

impl Pipe {
    pub(crate) fn srvsvc(s: Srvsvc) -> Pipe {
        Pipe::new("srvsvc", Endpoint::Srvsvc(s))
    }

    pub(crate) fn wkssvc(w: Wkssvc) -> Pipe {
        Pipe::new("wkssvc", Endpoint::Wkssvc(w))
    }

    fn new(name: &str, endpoint: Endpoint) -> Pipe {
        let association = Association::new(name, endpoint.service().interface());
        Pipe {
            endpoint,
            association,
            input: Vec::new(),
            output: VecDeque::new(),
            read_offset: 0,
            queued: 0,
        }
    }

    /// True once the client's bind has been acknowledged.
    pub fn is_bound(&self) -> bool {
        self.association.is_bound()
    }

    /// Unread answer bytes.
    pub fn queued_len(&self) -> usize {
        self.queued
    }

    /// One SMB2 WRITE to the pipe: buffers a (possibly fragmented) PDU; when a whole PDU is
    /// present it is processed and the response PDU(s) queued for reading.
    ///
    /// Errors (the unprocessed input is then discarded): STATUS_INSUFFICIENT_RESOURCES when
    /// more than [`MAX_QUEUED_OUTPUT`] answer bytes are waiting to be read;
    /// STATUS_INVALID_PARAMETER when the stream cannot be framed (a `frag_length` shorter than
    /// the PDU header).
    pub fn write(&mut self, data: &[u8]) -> Result<usize, NtStatus> {
        if self.queued > MAX_QUEUED_OUTPUT {
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        }
        self.input.extend_from_slice(data);
        let mut start = 0usize;
        let result = loop {
            if self.queued > MAX_QUEUED_OUTPUT {
                // One WRITE may carry many PDUs: stop before their answers pile up.
                break Err(NtStatus::INSUFFICIENT_RESOURCES);
            }
            let rest = self.input.get(start..).unwrap_or(&[]);
            let Some(len) = frag_length(rest) else {
                break Ok(());
            };
            let len = usize::from(len);
            if len < CommonHeader::SIZE {
                break Err(NtStatus::INVALID_PARAMETER);
            }
            let Some(frag) = rest.get(..len) else {
                break Ok(());
            };
            let answers = self
                .association
                .handle_fragment(self.endpoint.service(), frag);
            for pdu in answers.into_iter().filter(|p| !p.is_empty()) {
                self.queued = self.queued.saturating_add(pdu.len());
                self.output.push_back(pdu);
            }
            start = start.saturating_add(len);
        };
        match result {
            Ok(()) => {
                self.input.drain(..start.min(self.input.len()));
                Ok(data.len())
            }
            Err(e) => {
                self.input.clear();
                Err(e)
            }
        }
    }

    /// One SMB2 READ: returns up to `max` bytes of the current answer message (`more` when it
    /// did not fit).
    ///
    /// Nothing queued → STATUS_PIPE_EMPTY. Windows and Samba keep such a READ pending on a
    /// blocking pipe until data arrives (Samba: `np_read_send` in `smbd_smb2_read_send`); an
    /// RPC pipe only produces data in answer to a write, so that READ could never complete.
    /// This synchronous API answers like a non-blocking NPFS pipe (STATUS_PIPE_EMPTY, Win32
    /// ERROR_NO_DATA); the READ handler turns that into a waiting (async) request, which a
    /// later WRITE on the same pipe completes.
    pub fn read(&mut self, max: usize) -> Result<PipeRead, NtStatus> {
        let Some(front) = self.output.front() else {
            return Err(NtStatus::PIPE_EMPTY);
        };
        let rest = front.get(self.read_offset..).unwrap_or(&[]);
        let n = rest.len().min(max);
        let data = rest.get(..n).unwrap_or(&[]).to_vec();
        let more = n < rest.len();
        self.queued = self.queued.saturating_sub(n);
        if more {
            self.read_offset = self.read_offset.saturating_add(n);
        } else {
            self.output.pop_front();
            self.read_offset = 0;
        }
        Ok(PipeRead { data, more })
    }

    /// FSCTL_PIPE_TRANSCEIVE (MS-FSCC 2.3.47/2.3.48, MS-SMB2 3.3.5.15.3): write then read
    /// (`more` → the caller answers STATUS_BUFFER_OVERFLOW and the rest is read with READ).
    ///
    /// Unread data still queued → STATUS_PIPE_BUSY ("the named pipe contains unread data",
    /// MS-FSCC 2.3.48): answering would mix two calls' replies.
    pub fn transceive(&mut self, input: &[u8], max_output: usize) -> Result<PipeRead, NtStatus> {
        if !self.output.is_empty() {
            return Err(NtStatus::PIPE_BUSY);
        }
        self.write(input)?;
        self.read(max_output)
    }
}
