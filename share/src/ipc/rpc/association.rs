//! The server side of one connection-oriented association (C706 12.4 state machine, reduced to
//! what a named-pipe endpoint needs): unbound → bound by bind → requests on accepted contexts,
//! more contexts by alter_context. Request fragments are reassembled (with a size cap) and
//! responses fragmented to the client's `max_recv_frag`.

use std::sync::atomic::{AtomicU32, Ordering};

use super::SyntaxId;
use super::bind::negotiate;
use super::fault;
use super::pdu::{
    Bind, BindAck, BindNak, CommonHeader, Fault, Pdu, PduBody, PduError, Request, Response, pfc,
    ptype, reject_reason,
};

/// Largest fragment we send or advertise (Windows' 4280 = 0x10b8).
pub const MAX_FRAG: u16 = 4280;
/// Smallest fragment size any implementation must accept (C706 12.6.3.1, `MustRecvFragSize`).
pub const MIN_FRAG: u16 = 1432;
/// Cap on a reassembled request's stub data; srvsvc/wkssvc requests are a few hundred bytes.
pub const MAX_REQUEST_STUB: usize = 64 * 1024;
/// Cap on presentation contexts kept per association.
pub const MAX_CONTEXTS: usize = 16;
/// Request and response header size (common header + alloc_hint, p_cont_id, opnum/cancel).
const REQUEST_HEADER: usize = 24;

/// An RPC interface served on a pipe.
pub trait RpcService {
    /// Abstract syntax (interface UUID and version) accepted at bind.
    fn interface(&self) -> SyntaxId;
    /// Executes `opnum` on NDR `stub` data: the response stub, or a fault status (see
    /// [`super::fault`]) when the call could not execute.
    fn call(&self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, u32>;
}

/// Association group ids handed out by this process; never 0 (0 asks for a new group).
static NEXT_ASSOC_GROUP: AtomicU32 = AtomicU32::new(0x5a00);

fn new_assoc_group() -> u32 {
    loop {
        let id = NEXT_ASSOC_GROUP.fetch_add(1, Ordering::Relaxed);
        if id != 0 {
            return id;
        }
    }
}

/// A request whose first fragments have arrived.
#[derive(Debug)]
struct PendingCall {
    call_id: u32,
    context_id: u16,
    opnum: u16,
    stub: Vec<u8>,
}

/// Per-pipe association state.
#[derive(Debug)]
pub struct Association {
    /// `\PIPE\<name>\0`, sent as the bind_ack secondary address.
    secondary_address: Vec<u8>,
    /// The interface this endpoint serves.
    interface: SyntaxId,
    bound: bool,
    assoc_group_id: u32,
    /// Largest fragment we may send: the client's `max_recv_frag`, clamped.
    max_xmit: u16,
    /// Largest fragment we told the client it may send.
    max_recv: u16,
    contexts: Vec<u16>,
    pending: Option<PendingCall>,
}

impl Association {
    /// A fresh, unbound association for the pipe `pipe_name` (e.g. `srvsvc`) serving
    /// `interface`.
    pub fn new(pipe_name: &str, interface: SyntaxId) -> Self {
        let mut secondary_address = format!("\\PIPE\\{pipe_name}").into_bytes();
        secondary_address.push(0);
        Association {
            secondary_address,
            interface,
            bound: false,
            assoc_group_id: 0,
            max_xmit: MAX_FRAG,
            max_recv: MAX_FRAG,
            contexts: Vec::new(),
            pending: None,
        }
    }

    /// True once a bind has been acknowledged.
    pub fn is_bound(&self) -> bool {
        self.bound
    }

    /// Largest response fragment this association sends.
    pub fn max_xmit_frag(&self) -> u16 {
        self.max_xmit
    }

    /// Processes one complete fragment (exactly `frag_length` bytes) and returns the PDUs to
    /// send back, in order (none for fragments that only add to a pending request).
    pub fn handle_fragment(&mut self, service: &dyn RpcService, frag: &[u8]) -> Vec<Vec<u8>> {
        let pdu = match Pdu::decode(frag) {
            Ok(pdu) => pdu,
            Err(e) => return self.reject_undecodable(frag, e),
        };
        let h = pdu.header;
        match pdu.body {
            PduBody::Bind(bind) => vec![self.bind(&h, &bind, pdu.auth_verifier.is_some())],
            PduBody::AlterContext(bind) => {
                if !self.bound || pdu.auth_verifier.is_some() {
                    // There is no alter_context nak; a fault ends the attempt (C706 12.4.2).
                    return vec![fault_pdu(&h, 0, fault::NCA_S_PROTO_ERROR)];
                }
                vec![self.alter_context(&h, &bind)]
            }
            PduBody::Request(req) => self.request(&h, req, pdu.auth_verifier.is_some(), service),
            PduBody::Other(_) if h.ptype == ptype::ORPHANED => {
                // The client abandoned the call: drop what we buffered, answer nothing.
                if self
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.call_id == h.call_id)
                {
                    self.pending = None;
                }
                Vec::new()
            }
            // co_cancel (nothing runs long enough to cancel), auth3 (no RPC security), and
            // server-to-client types sent by a confused peer: ignored.
            _ => Vec::new(),
        }
    }

    /// Answers a fragment whose body could not be decoded, when its type expects an answer.
    fn reject_undecodable(&mut self, frag: &[u8], e: PduError) -> Vec<Vec<u8>> {
        let ptype = frag.get(2).copied().unwrap_or(0xff);
        let call_id = match CommonHeader::decode(frag) {
            Ok(h) => h.call_id,
            Err(_) => frag
                .get(12..16)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_le_bytes),
        };
        let h = CommonHeader::new(ptype, pfc::FIRST_FRAG | pfc::LAST_FRAG, call_id);
        match (ptype, e) {
            (ptype::BIND, PduError::Version(..)) => {
                vec![bind_nak(&h, reject_reason::PROTOCOL_VERSION_NOT_SUPPORTED)]
            }
            (ptype::BIND, PduError::Drep(_)) => {
                vec![bind_nak(&h, reject_reason::USER_DATA_NOT_READABLE)]
            }
            (ptype::BIND, _) => vec![bind_nak(&h, reject_reason::REASON_NOT_SPECIFIED)],
            (_, PduError::Version(..)) => Vec::new(),
            (ptype::REQUEST | ptype::ALTER_CONTEXT, _) => {
                self.pending = None;
                vec![fault_pdu(&h, 0, fault::NCA_S_PROTO_ERROR)]
            }
            _ => Vec::new(),
        }
    }

    fn bind(&mut self, h: &CommonHeader, bind: &Bind, has_auth: bool) -> Vec<u8> {
        if has_auth {
            // We do no RPC-level security; the SMB session already authenticated the user.
            return bind_nak(h, reject_reason::AUTHENTICATION_TYPE_NOT_RECOGNIZED);
        }
        if self.bound && !self.contexts.is_empty() {
            // One bind per association (C706 12.4.2); more contexts come by alter_context.
            // A bind that accepted nothing may be retried, e.g. NDR after NDR64-only.
            return bind_nak(h, reject_reason::REASON_NOT_SPECIFIED);
        }
        self.max_xmit = bind.max_recv_frag.clamp(MIN_FRAG, MAX_FRAG);
        self.max_recv = bind.max_xmit_frag.clamp(MIN_FRAG, MAX_FRAG);
        self.assoc_group_id = if bind.assoc_group_id != 0 {
            bind.assoc_group_id
        } else {
            new_assoc_group()
        };
        self.bound = true;
        let results = self.negotiate_all(bind);
        let ack = BindAck {
            max_xmit_frag: self.max_xmit,
            max_recv_frag: self.max_recv,
            assoc_group_id: self.assoc_group_id,
            sec_addr: self.secondary_address.clone(),
            results,
        };
        encode_reply(h, PduBody::BindAck(ack))
    }

    fn alter_context(&mut self, h: &CommonHeader, bind: &Bind) -> Vec<u8> {
        let results = self.negotiate_all(bind);
        let resp = BindAck {
            max_xmit_frag: self.max_xmit,
            max_recv_frag: self.max_recv,
            assoc_group_id: self.assoc_group_id,
            sec_addr: Vec::new(),
            results,
        };
        encode_reply(h, PduBody::AlterContextResp(resp))
    }

    fn negotiate_all(&mut self, bind: &Bind) -> Vec<super::pdu::ContextResult> {
        let interface = self.interface;
        bind.contexts
            .iter()
            .map(|elem| {
                let mut n = negotiate(elem, interface);
                if n.accepted && !self.contexts.contains(&elem.context_id) {
                    if self.contexts.len() < MAX_CONTEXTS {
                        self.contexts.push(elem.context_id);
                    } else {
                        n.result.result = super::pdu::result::PROVIDER_REJECTION;
                        n.result.reason = super::pdu::provider_reason::LOCAL_LIMIT_EXCEEDED;
                        n.result.transfer_syntax = SyntaxId::default();
                    }
                }
                n.result
            })
            .collect()
    }

    fn request(
        &mut self,
        h: &CommonHeader,
        req: Request,
        has_auth: bool,
        service: &dyn RpcService,
    ) -> Vec<Vec<u8>> {
        if !self.bound || has_auth {
            self.pending = None;
            return vec![fault_pdu(h, req.context_id, fault::NCA_S_PROTO_ERROR)];
        }
        let first = h.pfc_flags & pfc::FIRST_FRAG != 0;
        let last = h.pfc_flags & pfc::LAST_FRAG != 0;
        if first {
            self.pending = Some(PendingCall {
                call_id: h.call_id,
                context_id: req.context_id,
                opnum: req.opnum,
                stub: Vec::new(),
            });
        }
        let Some(call) = self.pending.as_mut().filter(|p| p.call_id == h.call_id) else {
            // A middle/last fragment without its first one.
            self.pending = None;
            return vec![fault_pdu(h, req.context_id, fault::NCA_S_PROTO_ERROR)];
        };
        if call.stub.len().saturating_add(req.stub.len()) > MAX_REQUEST_STUB {
            self.pending = None;
            return vec![fault_pdu(
                h,
                req.context_id,
                fault::NCA_S_FAULT_REMOTE_NO_MEMORY,
            )];
        }
        call.stub.extend_from_slice(&req.stub);
        if !last {
            return Vec::new();
        }
        let Some(call) = self.pending.take() else {
            return Vec::new();
        };
        if !self.contexts.contains(&call.context_id) {
            return vec![fault_pdu(h, call.context_id, fault::NCA_S_UNKNOWN_IF)];
        }
        match service.call(call.opnum, &call.stub) {
            Ok(stub) => fragment_response(h, call.context_id, &stub, self.max_xmit),
            Err(status) => vec![fault_pdu(h, call.context_id, status)],
        }
    }
}

/// Encodes a single-fragment reply; our replies are small enough that encoding cannot fail,
/// but if it did the client would see no answer rather than a panic.
fn encode_reply(req: &CommonHeader, body: PduBody) -> Vec<u8> {
    let mut header = CommonHeader::new(0, pfc::FIRST_FRAG | pfc::LAST_FRAG, req.call_id);
    header.rpc_vers_minor = req.rpc_vers_minor.min(1);
    Pdu {
        header,
        body,
        auth_verifier: None,
    }
    .encode()
    .unwrap_or_default()
}

fn bind_nak(req: &CommonHeader, reason: u16) -> Vec<u8> {
    encode_reply(
        req,
        PduBody::BindNak(BindNak {
            reason,
            versions: vec![(5, 0)],
        }),
    )
}

/// A fault for `req`. Every fault we raise is for a call that did not run, so
/// `PFC_DID_NOT_EXECUTE` is set (MS-RPCE 3.3.1.5.8: lets the client retry safely).
fn fault_pdu(req: &CommonHeader, context_id: u16, status: u32) -> Vec<u8> {
    let mut header = CommonHeader::new(
        0,
        pfc::FIRST_FRAG | pfc::LAST_FRAG | pfc::DID_NOT_EXECUTE,
        req.call_id,
    );
    header.rpc_vers_minor = req.rpc_vers_minor.min(1);
    let body = PduBody::Fault(Fault {
        alloc_hint: 0,
        context_id,
        cancel_count: 0,
        status,
    });
    Pdu {
        header,
        body,
        auth_verifier: None,
    }
    .encode()
    .unwrap_or_default()
}

/// Splits a response stub into fragments of at most `max_frag` bytes (C706 12.6.2). Every
/// fragment but the last carries a multiple of 8 stub bytes so NDR alignment is preserved
/// across fragments; `alloc_hint` is the stub length remaining from each fragment on.
pub fn fragment_response(
    req: &CommonHeader,
    context_id: u16,
    stub: &[u8],
    max_frag: u16,
) -> Vec<Vec<u8>> {
    let per = (usize::from(max_frag).saturating_sub(REQUEST_HEADER) / 8 * 8).max(8);
    let mut chunks: Vec<&[u8]> = stub.chunks(per).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let count = chunks.len();
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(count);
    for (i, chunk) in chunks.into_iter().enumerate() {
        let mut flags = 0;
        if i == 0 {
            flags |= pfc::FIRST_FRAG;
        }
        if i + 1 == count {
            flags |= pfc::LAST_FRAG;
        }
        let mut header = CommonHeader::new(0, flags, req.call_id);
        header.rpc_vers_minor = req.rpc_vers_minor.min(1);
        let remaining = stub.len().saturating_sub(offset);
        offset = offset.saturating_add(chunk.len());
        let body = PduBody::Response(Response {
            alloc_hint: u32::try_from(remaining).unwrap_or(u32::MAX),
            context_id,
            cancel_count: 0,
            stub: chunk.to_vec(),
        });
        out.push(
            Pdu {
                header,
                body,
                auth_verifier: None,
            }
            .encode()
            .unwrap_or_default(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::ipc::rpc::SRVSVC;

    fn parts(frags: &[Vec<u8>]) -> Vec<Response> {
        frags
            .iter()
            .map(|f| match Pdu::decode(f).unwrap().body {
                PduBody::Response(r) => r,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn empty_stub_is_one_fragment() {
        let h = CommonHeader::new(0, 3, 9);
        let f = fragment_response(&h, 1, &[], MAX_FRAG);
        assert_eq!(f.len(), 1);
        let pdu = Pdu::decode(&f[0]).unwrap();
        assert_eq!(pdu.header.pfc_flags, pfc::FIRST_FRAG | pfc::LAST_FRAG);
        assert_eq!(pdu.header.call_id, 9);
        assert_eq!(parts(&f)[0].context_id, 1);
    }

    #[test]
    fn exact_multiple_fills_fragments_completely() {
        let h = CommonHeader::new(0, 3, 1);
        // (1432 - 24) / 8 * 8 = 1408 stub bytes per fragment.
        let stub: Vec<u8> = (0..1408 * 3).map(|i| i as u8).collect();
        let f = fragment_response(&h, 0, &stub, MIN_FRAG);
        assert_eq!(f.len(), 3);
        assert!(f.iter().all(|x| x.len() == 1432));
        let p = parts(&f);
        assert_eq!(
            p.iter().map(|r| r.alloc_hint).collect::<Vec<_>>(),
            [4224, 2816, 1408]
        );
        assert_eq!(
            p.iter().flat_map(|r| r.stub.clone()).collect::<Vec<_>>(),
            stub
        );
        let flags: Vec<u8> = f.iter().map(|x| x[3]).collect();
        assert_eq!(flags, [pfc::FIRST_FRAG, 0, pfc::LAST_FRAG]);
    }

    #[test]
    fn odd_max_frag_keeps_stub_chunks_8_aligned() {
        let h = CommonHeader::new(0, 3, 1);
        let stub = vec![7u8; 5000];
        for max in [1433u16, 1439, 2000, 4280] {
            let f = fragment_response(&h, 0, &stub, max);
            let p = parts(&f);
            for (i, r) in p.iter().enumerate() {
                assert!(f[i].len() <= usize::from(max));
                if i + 1 < p.len() {
                    assert_eq!(r.stub.len() % 8, 0);
                }
            }
            assert_eq!(p.iter().map(|r| r.stub.len()).sum::<usize>(), 5000);
        }
    }

    #[derive(Debug)]
    struct Echo;
    impl RpcService for Echo {
        fn interface(&self) -> SyntaxId {
            SRVSVC
        }
        fn call(&self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, u32> {
            if opnum == 0 {
                Ok(stub.to_vec())
            } else {
                Err(fault::NCA_S_OP_RNG_ERROR)
            }
        }
    }

    fn bind(ctx: u16, max_recv: u16) -> Vec<u8> {
        let body = Bind {
            max_xmit_frag: 4280,
            max_recv_frag: max_recv,
            assoc_group_id: 0,
            contexts: vec![super::super::pdu::ContextElem {
                context_id: ctx,
                abstract_syntax: SRVSVC,
                transfer_syntaxes: vec![super::super::NDR20],
            }],
        };
        Pdu {
            header: CommonHeader::new(0, 3, 1),
            body: PduBody::Bind(body),
            auth_verifier: None,
        }
        .encode()
        .unwrap()
    }

    fn request(call_id: u32, flags: u8, ctx: u16, stub: &[u8]) -> Vec<u8> {
        let body = PduBody::Request(Request {
            alloc_hint: 0,
            context_id: ctx,
            opnum: 0,
            object: None,
            stub: stub.to_vec(),
        });
        Pdu {
            header: CommonHeader::new(0, flags, call_id),
            body,
            auth_verifier: None,
        }
        .encode()
        .unwrap()
    }

    #[test]
    fn max_frag_is_clamped_and_group_nonzero() {
        let mut a = Association::new("srvsvc", SRVSVC);
        let out = a.handle_fragment(&Echo, &bind(0, 100));
        let PduBody::BindAck(ack) = Pdu::decode(&out[0]).unwrap().body else {
            panic!()
        };
        assert_eq!(ack.max_xmit_frag, MIN_FRAG);
        assert_ne!(ack.assoc_group_id, 0);
        assert_eq!(a.max_xmit_frag(), MIN_FRAG);
        // A second bind on the same association is refused; the first stays in force.
        let out = a.handle_fragment(&Echo, &bind(5, 4280));
        assert!(matches!(
            Pdu::decode(&out[0]).unwrap().body,
            PduBody::BindNak(_)
        ));
        assert_eq!(
            a.handle_fragment(&Echo, &request(2, 3, 0, &[1; 8])).len(),
            1
        );
    }

    #[test]
    fn orphaned_drops_pending_call_and_interleaved_call_restarts() {
        let mut a = Association::new("srvsvc", SRVSVC);
        a.handle_fragment(&Echo, &bind(0, 4280));
        assert!(
            a.handle_fragment(&Echo, &request(2, pfc::FIRST_FRAG, 0, &[1; 8]))
                .is_empty()
        );
        let orphaned = Pdu {
            header: CommonHeader::new(ptype::ORPHANED, 3, 2),
            body: PduBody::Other(Vec::new()),
            auth_verifier: None,
        }
        .encode()
        .unwrap();
        assert!(a.handle_fragment(&Echo, &orphaned).is_empty());
        // The call is gone: its last fragment is a protocol error.
        let out = a.handle_fragment(&Echo, &request(2, pfc::LAST_FRAG, 0, &[2; 8]));
        let PduBody::Fault(f) = Pdu::decode(&out[0]).unwrap().body else {
            panic!()
        };
        assert_eq!(f.status, fault::NCA_S_PROTO_ERROR);
        // A new first fragment replaces an unfinished call; the echo has only the new data.
        a.handle_fragment(&Echo, &request(3, pfc::FIRST_FRAG, 0, &[3; 8]));
        a.handle_fragment(&Echo, &request(4, pfc::FIRST_FRAG, 0, &[4; 8]));
        let out = a.handle_fragment(&Echo, &request(4, pfc::LAST_FRAG, 0, &[5; 8]));
        let PduBody::Response(r) = Pdu::decode(&out[0]).unwrap().body else {
            panic!()
        };
        assert_eq!(r.stub, [[4u8; 8], [5u8; 8]].concat());
    }

    #[test]
    fn context_limit() {
        let mut a = Association::new("srvsvc", SRVSVC);
        a.handle_fragment(&Echo, &bind(0, 4280));
        for id in 1..=(MAX_CONTEXTS as u16 + 2) {
            let mut alter = bind(id, 4280);
            alter[2] = ptype::ALTER_CONTEXT;
            let out = a.handle_fragment(&Echo, &alter);
            let PduBody::AlterContextResp(r) = Pdu::decode(&out[0]).unwrap().body else {
                panic!()
            };
            let expect = if usize::from(id) < MAX_CONTEXTS { 0 } else { 2 };
            assert_eq!(r.results[0].result, expect, "context {id}");
        }
    }
}
