//! Connection-oriented DCE/RPC PDUs (C706 12.6; MS-RPCE 2.2.2): the common header and the
//! bind, bind_ack, bind_nak, alter_context, alter_context_resp, request, response and fault
//! bodies, each with a bounds-checked decoder and an encoder that computes `frag_length`.
//!
//! Only the little-endian/ASCII/IEEE data representation is decoded past the header: the
//! header itself is read with either integer byte order so that a big-endian peer can still be
//! framed and answered with a rejection.

use super::{SyntaxId, Uuid};

/// Errors decoding or encoding a PDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    /// The bytes end before the structure does.
    #[error("truncated PDU")]
    Truncated,
    /// `rpc_vers` is not 5 (C706 12.6.3.1).
    #[error("unsupported RPC version {0}.{1}")]
    Version(u8, u8),
    /// `frag_length` is shorter than the header or the body it announces.
    #[error("bad frag_length {0}")]
    FragLength(u16),
    /// Data representation other than little-endian/ASCII/IEEE.
    #[error("unsupported data representation {0:02x?}")]
    Drep([u8; 4]),
    /// An encoded PDU would not fit the 16-bit `frag_length`.
    #[error("PDU too large to encode")]
    TooLarge,
}

/// Packet types (C706 12.6.4, `PTYPE`).
pub mod ptype {
    /// request (client → server).
    pub const REQUEST: u8 = 0;
    /// response (server → client).
    pub const RESPONSE: u8 = 2;
    /// fault (server → client).
    pub const FAULT: u8 = 3;
    /// bind (client → server).
    pub const BIND: u8 = 11;
    /// bind_ack (server → client).
    pub const BIND_ACK: u8 = 12;
    /// bind_nak (server → client).
    pub const BIND_NAK: u8 = 13;
    /// alter_context (client → server).
    pub const ALTER_CONTEXT: u8 = 14;
    /// alter_context_resp (server → client).
    pub const ALTER_CONTEXT_RESP: u8 = 15;
    /// auth3 (client → server, third leg of a 3-leg auth; ignored here).
    pub const AUTH3: u8 = 16;
    /// shutdown (server → client).
    pub const SHUTDOWN: u8 = 17;
    /// co_cancel (client → server).
    pub const CO_CANCEL: u8 = 18;
    /// orphaned (client → server).
    pub const ORPHANED: u8 = 19;
}

/// `pfc_flags` bits (C706 12.6.3.1; MS-RPCE 2.2.2.3).
pub mod pfc {
    /// First fragment of a PDU.
    pub const FIRST_FRAG: u8 = 0x01;
    /// Last fragment of a PDU.
    pub const LAST_FRAG: u8 = 0x02;
    /// Cancel pending (request) / header signing supported (bind, MS-RPCE).
    pub const PENDING_CANCEL: u8 = 0x04;
    /// Concurrent multiplexing (bind).
    pub const CONC_MPX: u8 = 0x10;
    /// Fault: the call did not execute.
    pub const DID_NOT_EXECUTE: u8 = 0x20;
    /// `maybe` semantics.
    pub const MAYBE: u8 = 0x40;
    /// An object UUID follows the request header.
    pub const OBJECT_UUID: u8 = 0x80;
}

/// Little-endian integers, ASCII characters, IEEE floats: the only `packed_drep` we speak.
pub const DREP_LE: [u8; 4] = [0x10, 0, 0, 0];

/// The common header of every connection-oriented PDU (C706 12.6.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonHeader {
    /// `rpc_vers`: 5.
    pub rpc_vers: u8,
    /// `rpc_vers_minor`: 0 or 1.
    pub rpc_vers_minor: u8,
    /// `PTYPE`, see [`ptype`].
    pub ptype: u8,
    /// `pfc_flags`, see [`pfc`].
    pub pfc_flags: u8,
    /// `packed_drep`: byte 0 high nibble = integer order (1 = little endian), low nibble =
    /// character set (0 = ASCII); byte 1 = float format (0 = IEEE).
    pub drep: [u8; 4],
    /// Total length of this fragment, header included.
    pub frag_length: u16,
    /// Length of the auth_value in the trailing auth verifier (0 = none).
    pub auth_length: u16,
    /// Call identifier, echoed in the answer.
    pub call_id: u32,
}

impl CommonHeader {
    /// Header size on the wire.
    pub const SIZE: usize = 16;

    /// Decodes the header, honouring the sender's integer byte order for the 16/32-bit fields.
    /// Validates only what framing needs: version 5 and `frag_length >= 16`.
    pub fn decode(buf: &[u8]) -> Result<Self, PduError> {
        let b: &[u8; 16] = buf
            .get(..Self::SIZE)
            .and_then(|s| s.try_into().ok())
            .ok_or(PduError::Truncated)?;
        let drep = [b[4], b[5], b[6], b[7]];
        let big = drep[0] >> 4 == 0;
        let u16_at = |x: [u8; 2]| {
            if big {
                u16::from_be_bytes(x)
            } else {
                u16::from_le_bytes(x)
            }
        };
        let call = [b[12], b[13], b[14], b[15]];
        let h = CommonHeader {
            rpc_vers: b[0],
            rpc_vers_minor: b[1],
            ptype: b[2],
            pfc_flags: b[3],
            drep,
            frag_length: u16_at([b[8], b[9]]),
            auth_length: u16_at([b[10], b[11]]),
            call_id: if big {
                u32::from_be_bytes(call)
            } else {
                u32::from_le_bytes(call)
            },
        };
        if h.rpc_vers != 5 {
            return Err(PduError::Version(h.rpc_vers, h.rpc_vers_minor));
        }
        if usize::from(h.frag_length) < Self::SIZE {
            return Err(PduError::FragLength(h.frag_length));
        }
        Ok(h)
    }

    /// True when the data representation is little-endian, ASCII, IEEE.
    pub fn is_supported_drep(&self) -> bool {
        self.drep[0] == 0x10 && self.drep[1] == 0
    }

    /// A header for a server PDU with our data representation; `frag_length` and
    /// `auth_length` are filled in by [`Pdu::encode`].
    pub fn new(ptype: u8, pfc_flags: u8, call_id: u32) -> Self {
        CommonHeader {
            rpc_vers: 5,
            rpc_vers_minor: 0,
            ptype,
            pfc_flags,
            drep: DREP_LE,
            frag_length: 0,
            auth_length: 0,
            call_id,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            self.rpc_vers,
            self.rpc_vers_minor,
            self.ptype,
            self.pfc_flags,
        ]);
        out.extend_from_slice(&self.drep);
        out.extend_from_slice(&self.frag_length.to_le_bytes());
        out.extend_from_slice(&self.auth_length.to_le_bytes());
        out.extend_from_slice(&self.call_id.to_le_bytes());
    }
}

/// The `frag_length` of the fragment starting at `buf`, read in the sender's integer byte
/// order, or `None` while fewer than 16 bytes are buffered. Framing only: the version and the
/// rest of the header are checked by [`Pdu::decode`].
pub fn frag_length(buf: &[u8]) -> Option<u16> {
    let drep0 = *buf.get(4)?;
    let b = [*buf.get(8)?, *buf.get(9)?];
    buf.get(CommonHeader::SIZE - 1)?;
    Some(if drep0 >> 4 == 0 {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

/// Bounds-checked little-endian reader over one PDU body.
#[derive(Debug)]
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PduError> {
        let end = self.pos.checked_add(n).ok_or(PduError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(PduError::Truncated)?;
        self.pos = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], PduError> {
        self.take(N)?.try_into().map_err(|_| PduError::Truncated)
    }
    fn u8(&mut self) -> Result<u8, PduError> {
        Ok(u8::from_le_bytes(self.array()?))
    }
    fn u16(&mut self) -> Result<u16, PduError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, PduError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn syntax(&mut self) -> Result<SyntaxId, PduError> {
        Ok(SyntaxId {
            uuid: Uuid(self.array()?),
            version: self.u32()?,
        })
    }
    /// Skips to the next multiple of `n` counted from the start of the PDU.
    fn align(&mut self, n: usize) -> Result<(), PduError> {
        let pad = (n - self.pos % n) % n;
        self.take(pad).map(|_| ())
    }
    fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        s
    }
}

fn put_syntax(out: &mut Vec<u8>, s: &SyntaxId) {
    out.extend_from_slice(&s.uuid.0);
    out.extend_from_slice(&s.version.to_le_bytes());
}

fn pad_to(out: &mut Vec<u8>, n: usize) {
    while !out.len().is_multiple_of(n) {
        out.push(0);
    }
}

/// `p_cont_elem_t` (C706 12.6.3.1): one proposed presentation context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextElem {
    /// `p_cont_id`: the client's name for this context, used in requests.
    pub context_id: u16,
    /// The interface.
    pub abstract_syntax: SyntaxId,
    /// Acceptable transfer syntaxes, in the client's order of preference.
    pub transfer_syntaxes: Vec<SyntaxId>,
}

/// bind and alter_context bodies (C706 12.6.4.3 and 12.6.4.1): the same layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// Largest fragment the client will send.
    pub max_xmit_frag: u16,
    /// Largest fragment the client can receive.
    pub max_recv_frag: u16,
    /// Association group to join (0 = new).
    pub assoc_group_id: u32,
    /// `p_context_elem`: the proposed presentation contexts.
    pub contexts: Vec<ContextElem>,
}

impl Bind {
    fn decode(c: &mut Cursor<'_>) -> Result<Self, PduError> {
        let max_xmit_frag = c.u16()?;
        let max_recv_frag = c.u16()?;
        let assoc_group_id = c.u32()?;
        let n = c.u8()?;
        c.take(3)?; // reserved, reserved2
        let mut contexts = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let context_id = c.u16()?;
            let n_ts = c.u8()?;
            c.take(1)?;
            let abstract_syntax = c.syntax()?;
            let mut transfer_syntaxes = Vec::with_capacity(usize::from(n_ts));
            for _ in 0..n_ts {
                transfer_syntaxes.push(c.syntax()?);
            }
            contexts.push(ContextElem {
                context_id,
                abstract_syntax,
                transfer_syntaxes,
            });
        }
        Ok(Bind {
            max_xmit_frag,
            max_recv_frag,
            assoc_group_id,
            contexts,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), PduError> {
        out.extend_from_slice(&self.max_xmit_frag.to_le_bytes());
        out.extend_from_slice(&self.max_recv_frag.to_le_bytes());
        out.extend_from_slice(&self.assoc_group_id.to_le_bytes());
        out.push(u8::try_from(self.contexts.len()).map_err(|_| PduError::TooLarge)?);
        out.extend_from_slice(&[0; 3]);
        for ctx in &self.contexts {
            out.extend_from_slice(&ctx.context_id.to_le_bytes());
            out.push(u8::try_from(ctx.transfer_syntaxes.len()).map_err(|_| PduError::TooLarge)?);
            out.push(0);
            put_syntax(out, &ctx.abstract_syntax);
            for ts in &ctx.transfer_syntaxes {
                put_syntax(out, ts);
            }
        }
        Ok(())
    }
}

/// `p_result_t` (C706 12.6.3.1; MS-RPCE 2.2.2.4): the answer for one presentation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextResult {
    /// See [`result`].
    pub result: u16,
    /// A [`provider_reason`], or for `negotiate_ack` the acknowledged feature bits.
    pub reason: u16,
    /// The accepted transfer syntax, or all zero.
    pub transfer_syntax: SyntaxId,
}

/// `p_cont_def_result_t` values (C706 12.6.3.1; MS-RPCE 2.2.2.4 adds `NEGOTIATE_ACK`).
pub mod result {
    /// The context is accepted with the returned transfer syntax.
    pub const ACCEPTANCE: u16 = 0;
    /// Rejected by the user.
    pub const USER_REJECTION: u16 = 1;
    /// Rejected by the provider; see the reason.
    pub const PROVIDER_REJECTION: u16 = 2;
    /// Bind-time feature negotiation answered (MS-RPCE 3.3.1.5.3).
    pub const NEGOTIATE_ACK: u16 = 3;
}

/// `p_provider_reason_t` values (C706 12.6.3.1).
pub mod provider_reason {
    /// No reason given.
    pub const REASON_NOT_SPECIFIED: u16 = 0;
    /// The interface is not offered on this endpoint.
    pub const ABSTRACT_SYNTAX_NOT_SUPPORTED: u16 = 1;
    /// None of the proposed transfer syntaxes is supported.
    pub const PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED: u16 = 2;
    /// Too many contexts.
    pub const LOCAL_LIMIT_EXCEEDED: u16 = 3;
}

/// bind_ack and alter_context_resp bodies (C706 12.6.4.4 and 12.6.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAck {
    /// Largest fragment the server will send.
    pub max_xmit_frag: u16,
    /// Largest fragment the server can receive.
    pub max_recv_frag: u16,
    /// The association group, nonzero.
    pub assoc_group_id: u32,
    /// `sec_addr.port_spec`: the secondary address, NUL included (`\PIPE\srvsvc\0`); empty in
    /// alter_context_resp.
    pub sec_addr: Vec<u8>,
    /// One result per proposed context, in order.
    pub results: Vec<ContextResult>,
}

impl BindAck {
    fn decode(c: &mut Cursor<'_>) -> Result<Self, PduError> {
        let max_xmit_frag = c.u16()?;
        let max_recv_frag = c.u16()?;
        let assoc_group_id = c.u32()?;
        let len = c.u16()?;
        let sec_addr = c.take(usize::from(len))?.to_vec();
        c.align(4)?;
        let n = c.u8()?;
        c.take(3)?;
        let mut results = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let result = c.u16()?;
            let reason = c.u16()?;
            let transfer_syntax = c.syntax()?;
            results.push(ContextResult {
                result,
                reason,
                transfer_syntax,
            });
        }
        Ok(BindAck {
            max_xmit_frag,
            max_recv_frag,
            assoc_group_id,
            sec_addr,
            results,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), PduError> {
        out.extend_from_slice(&self.max_xmit_frag.to_le_bytes());
        out.extend_from_slice(&self.max_recv_frag.to_le_bytes());
        out.extend_from_slice(&self.assoc_group_id.to_le_bytes());
        let len = u16::try_from(self.sec_addr.len()).map_err(|_| PduError::TooLarge)?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.sec_addr);
        pad_to(out, 4); // aligned from the start of the PDU (the header is in `out`)
        out.push(u8::try_from(self.results.len()).map_err(|_| PduError::TooLarge)?);
        out.extend_from_slice(&[0; 3]);
        for r in &self.results {
            out.extend_from_slice(&r.result.to_le_bytes());
            out.extend_from_slice(&r.reason.to_le_bytes());
            put_syntax(out, &r.transfer_syntax);
        }
        Ok(())
    }
}

/// `p_reject_reason_t` values for bind_nak (C706 12.6.3.1; MS-RPCE 2.2.2.5).
pub mod reject_reason {
    /// No reason given.
    pub const REASON_NOT_SPECIFIED: u16 = 0;
    /// Server too busy.
    pub const TEMPORARY_CONGESTION: u16 = 1;
    /// Local limit exceeded.
    pub const LOCAL_LIMIT_EXCEEDED: u16 = 2;
    /// The RPC protocol version is not supported; `versions` lists ours.
    pub const PROTOCOL_VERSION_NOT_SUPPORTED: u16 = 4;
    /// The user data could not be read (e.g. an unsupported data representation).
    pub const USER_DATA_NOT_READABLE: u16 = 6;
    /// The requested authentication type is not recognized (MS-RPCE).
    pub const AUTHENTICATION_TYPE_NOT_RECOGNIZED: u16 = 8;
}

/// bind_nak body (C706 12.6.4.5): a rejection reason and the protocol versions we support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindNak {
    /// See [`reject_reason`].
    pub reason: u16,
    /// `p_rt_versions_supported`: (major, minor) pairs.
    pub versions: Vec<(u8, u8)>,
}

impl BindNak {
    fn decode(c: &mut Cursor<'_>) -> Result<Self, PduError> {
        let reason = c.u16()?;
        // Windows may omit the version list; MS-RPCE appends a signature we ignore.
        let n = c.u8().unwrap_or(0);
        let mut versions = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            versions.push((c.u8()?, c.u8()?));
        }
        c.rest();
        Ok(BindNak { reason, versions })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), PduError> {
        out.extend_from_slice(&self.reason.to_le_bytes());
        out.push(u8::try_from(self.versions.len()).map_err(|_| PduError::TooLarge)?);
        for (major, minor) in &self.versions {
            out.extend_from_slice(&[*major, *minor]);
        }
        Ok(())
    }
}

/// request body (C706 12.6.4.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Total stub size the client expects to send (a hint only).
    pub alloc_hint: u32,
    /// `p_cont_id`: a presentation context accepted at bind.
    pub context_id: u16,
    /// Operation number within the interface.
    pub opnum: u16,
    /// Object UUID, present when `PFC_OBJECT_UUID` is set.
    pub object: Option<Uuid>,
    /// This fragment's NDR stub data.
    pub stub: Vec<u8>,
}

/// response body (C706 12.6.4.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Stub bytes remaining from this fragment on.
    pub alloc_hint: u32,
    /// The request's presentation context.
    pub context_id: u16,
    /// Number of cancels received.
    pub cancel_count: u8,
    /// This fragment's NDR stub data.
    pub stub: Vec<u8>,
}

/// fault body (C706 12.6.4.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// 0 for a fault without stub data.
    pub alloc_hint: u32,
    /// The request's presentation context.
    pub context_id: u16,
    /// Number of cancels received.
    pub cancel_count: u8,
    /// The fault status, see [`super::fault`].
    pub status: u32,
}

/// A PDU body by packet type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PduBody {
    /// bind.
    Bind(Bind),
    /// bind_ack.
    BindAck(BindAck),
    /// bind_nak.
    BindNak(BindNak),
    /// alter_context.
    AlterContext(Bind),
    /// alter_context_resp.
    AlterContextResp(BindAck),
    /// request.
    Request(Request),
    /// response.
    Response(Response),
    /// fault.
    Fault(Fault),
    /// Any other packet type, body kept as bytes (auth3, shutdown, co_cancel, orphaned, …).
    Other(Vec<u8>),
}

/// One PDU (one fragment): header, body and the raw auth verifier if `auth_length > 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    /// Common header. On encode, `frag_length`, `auth_length` and `ptype` are recomputed and
    /// `PFC_OBJECT_UUID` follows the request's `object`.
    pub header: CommonHeader,
    /// The body.
    pub body: PduBody,
    /// `sec_trailer` (8 bytes) + `auth_value` (C706 12.6.3.1 auth_verifier), uninterpreted.
    pub auth_verifier: Option<Vec<u8>>,
}

impl Pdu {
    /// Decodes one complete fragment. `buf` may be longer; only `frag_length` bytes are used.
    pub fn decode(buf: &[u8]) -> Result<Pdu, PduError> {
        let header = CommonHeader::decode(buf)?;
        if !header.is_supported_drep() {
            return Err(PduError::Drep(header.drep));
        }
        let frag = buf
            .get(..usize::from(header.frag_length))
            .ok_or(PduError::Truncated)?;
        // The auth verifier is the last 8 + auth_length bytes; its padding precedes it.
        let (body_end, auth_verifier) = if header.auth_length > 0 {
            let tail = usize::from(header.auth_length) + 8;
            let end = frag
                .len()
                .checked_sub(tail)
                .filter(|&e| e >= CommonHeader::SIZE)
                .ok_or(PduError::FragLength(header.frag_length))?;
            (end, frag.get(end..).map(<[u8]>::to_vec))
        } else {
            (frag.len(), None)
        };
        let body_bytes = frag.get(..body_end).ok_or(PduError::Truncated)?;
        let mut c = Cursor {
            buf: body_bytes,
            pos: CommonHeader::SIZE,
        };
        let body = match header.ptype {
            ptype::BIND => PduBody::Bind(Bind::decode(&mut c)?),
            ptype::ALTER_CONTEXT => PduBody::AlterContext(Bind::decode(&mut c)?),
            ptype::BIND_ACK => PduBody::BindAck(BindAck::decode(&mut c)?),
            ptype::ALTER_CONTEXT_RESP => PduBody::AlterContextResp(BindAck::decode(&mut c)?),
            ptype::BIND_NAK => PduBody::BindNak(BindNak::decode(&mut c)?),
            ptype::REQUEST => {
                let alloc_hint = c.u32()?;
                let context_id = c.u16()?;
                let opnum = c.u16()?;
                let object = if header.pfc_flags & pfc::OBJECT_UUID != 0 {
                    Some(Uuid(c.array()?))
                } else {
                    None
                };
                let stub = c.rest().to_vec();
                PduBody::Request(Request {
                    alloc_hint,
                    context_id,
                    opnum,
                    object,
                    stub,
                })
            }
            ptype::RESPONSE => {
                let alloc_hint = c.u32()?;
                let context_id = c.u16()?;
                let cancel_count = c.u8()?;
                c.take(1)?;
                let stub = c.rest().to_vec();
                PduBody::Response(Response {
                    alloc_hint,
                    context_id,
                    cancel_count,
                    stub,
                })
            }
            ptype::FAULT => {
                let alloc_hint = c.u32()?;
                let context_id = c.u16()?;
                let cancel_count = c.u8()?;
                c.take(1)?;
                let status = c.u32()?;
                c.rest(); // reserved + optional stub
                PduBody::Fault(Fault {
                    alloc_hint,
                    context_id,
                    cancel_count,
                    status,
                })
            }
            _ => PduBody::Other(c.rest().to_vec()),
        };
        Ok(Pdu {
            header,
            body,
            auth_verifier,
        })
    }

    /// Encodes the PDU, computing `frag_length` and `auth_length`.
    pub fn encode(&self) -> Result<Vec<u8>, PduError> {
        let mut h = self.header;
        h.ptype = match &self.body {
            PduBody::Bind(_) => ptype::BIND,
            PduBody::BindAck(_) => ptype::BIND_ACK,
            PduBody::BindNak(_) => ptype::BIND_NAK,
            PduBody::AlterContext(_) => ptype::ALTER_CONTEXT,
            PduBody::AlterContextResp(_) => ptype::ALTER_CONTEXT_RESP,
            PduBody::Request(_) => ptype::REQUEST,
            PduBody::Response(_) => ptype::RESPONSE,
            PduBody::Fault(_) => ptype::FAULT,
            PduBody::Other(_) => h.ptype,
        };
        let mut out = Vec::with_capacity(64);
        h.encode(&mut out);
        match &self.body {
            PduBody::Bind(b) | PduBody::AlterContext(b) => b.encode(&mut out)?,
            PduBody::BindAck(a) | PduBody::AlterContextResp(a) => a.encode(&mut out)?,
            PduBody::BindNak(n) => n.encode(&mut out)?,
            PduBody::Request(r) => {
                out.extend_from_slice(&r.alloc_hint.to_le_bytes());
                out.extend_from_slice(&r.context_id.to_le_bytes());
                out.extend_from_slice(&r.opnum.to_le_bytes());
                if let Some(obj) = &r.object {
                    out.extend_from_slice(&obj.0);
                }
                out.extend_from_slice(&r.stub);
            }
            PduBody::Response(r) => {
                out.extend_from_slice(&r.alloc_hint.to_le_bytes());
                out.extend_from_slice(&r.context_id.to_le_bytes());
                out.extend_from_slice(&[r.cancel_count, 0]);
                out.extend_from_slice(&r.stub);
            }
            PduBody::Fault(f) => {
                out.extend_from_slice(&f.alloc_hint.to_le_bytes());
                out.extend_from_slice(&f.context_id.to_le_bytes());
                out.extend_from_slice(&[f.cancel_count, 0]);
                out.extend_from_slice(&f.status.to_le_bytes());
                out.extend_from_slice(&[0; 4]); // reserved, keeps the PDU 8-aligned
            }
            PduBody::Other(bytes) => out.extend_from_slice(bytes),
        }
        let mut flags = h.pfc_flags;
        if let PduBody::Request(r) = &self.body {
            flags = if r.object.is_some() {
                flags | pfc::OBJECT_UUID
            } else {
                flags & !pfc::OBJECT_UUID
            };
        }
        let auth_length = match &self.auth_verifier {
            Some(v) => {
                out.extend_from_slice(v);
                u16::try_from(v.len().checked_sub(8).ok_or(PduError::Truncated)?)
                    .map_err(|_| PduError::TooLarge)?
            }
            None => 0,
        };
        let frag_length = u16::try_from(out.len()).map_err(|_| PduError::TooLarge)?;
        // Patch the fields computed above into the already-written header.
        if let Some(f) = out.get_mut(3) {
            *f = flags;
        }
        if let Some(f) = out.get_mut(8..10) {
            f.copy_from_slice(&frag_length.to_le_bytes());
        }
        if let Some(f) = out.get_mut(10..12) {
            f.copy_from_slice(&auth_length.to_le_bytes());
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "pdu_tests.rs"]
mod tests;
