//! [MS-SMB2 3.3.5.3] Receiving an SMB_COM_NEGOTIATE (the SMB1 multi-protocol negotiate some
//! clients send first) and [3.3.5.4] receiving an SMB2 NEGOTIATE request.
//!
//! The outcome is a [`Negotiated`] record: everything later steps need to know about the
//! connection (dialect, signing algorithm, what the client offered for VALIDATE_NEGOTIATE_INFO,
//! the name it dialled).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::negotiate::{
    Capabilities, Dialect, HashAlgorithm, NegotiateContext, NegotiateRequest, NegotiateResponse,
    SecurityMode,
};
use rsmbd_share::crypto::SigningAlgorithm;
use rsmbd_share::crypto::encryption::Cipher;

use crate::config::EncryptPolicy;

use super::context::ServerContext;

/// What NEGOTIATE settled for the connection ([MS-SMB2 3.3.1.7] Connection fields).
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// Connection.Dialect.
    pub dialect: Dialect,
    /// Connection.ClientGuid.
    pub client_guid: [u8; 16],
    /// Connection.ClientSecurityMode.
    pub client_security_mode: u16,
    /// Connection.ClientCapabilities.
    pub client_capabilities: u32,
    /// Connection.ClientDialects (for VALIDATE_NEGOTIATE_INFO).
    pub client_dialects: Vec<Dialect>,
    /// Capabilities we answered.
    pub server_capabilities: u32,
    /// SecurityMode we answered.
    pub server_security_mode: u16,
    /// Connection.SigningAlgorithmId (3.1.1 may negotiate it; earlier dialects imply it).
    pub signing_algorithm: SigningAlgorithm,
    /// The NETNAME context: the server name the client dialled (3.1.1 clients send it).
    pub netname: Option<String>,
    /// Connection.CipherId: the cipher both sides can use, if any (3.0/3.0.2: AES-128-CCM when
    /// the client set SMB2_GLOBAL_CAP_ENCRYPTION; 3.1.1: from the ENCRYPTION context).
    pub cipher: Option<Cipher>,
}

/// The decision for one NEGOTIATE request.
#[derive(Debug)]
pub enum NegotiateOutcome {
    /// Answer with this response; the connection is negotiated.
    Negotiated(Box<Negotiated>, NegotiateResponse<'static>),
    /// Answer with an error status; the connection stays un-negotiated.
    Refused(NtStatus),
}

/// [MS-SMB2 3.3.5.4] Chooses the dialect and builds the response.
pub fn negotiate(
    ctx: &ServerContext,
    req: &NegotiateRequest,
    now_filetime: u64,
) -> NegotiateOutcome {
    // The highest dialect both sides support, within the configured range.
    let chosen = req
        .dialects
        .iter()
        .copied()
        .filter(|d| is_known(*d) && *d >= ctx.min_dialect && *d <= ctx.max_dialect)
        .max();
    match chosen {
        Some(dialect) => respond(ctx, dialect, req, now_filetime),
        None => NegotiateOutcome::Refused(NtStatus::NOT_SUPPORTED),
    }
}

/// Builds the response for a chosen dialect.
fn respond(
    ctx: &ServerContext,
    dialect: Dialect,
    req: &NegotiateRequest,
    now_filetime: u64,
) -> NegotiateOutcome {
    let mut contexts = Vec::new();
    let mut signing_algorithm = if dialect.is_smb3() {
        SigningAlgorithm::AesCmac
    } else {
        SigningAlgorithm::HmacSha256
    };
    let mut netname = None;
    let mut cipher = None;
    let offer_encryption = ctx.encrypt != EncryptPolicy::Off;
    if dialect == Dialect::SMB3_1_1 {
        // 3.3.5.4: a 3.1.1 NEGOTIATE without exactly one PREAUTH context offering SHA-512 fails.
        let preauth = req.negotiate_contexts.iter().filter_map(|c| match c {
            NegotiateContext::PreauthIntegrity {
                hash_algorithms, ..
            } => Some(hash_algorithms),
            _ => None,
        });
        let preauths: Vec<_> = preauth.collect();
        if preauths.len() != 1
            || !preauths
                .iter()
                .any(|h| h.contains(&HashAlgorithm::SHA512.0))
        {
            return NegotiateOutcome::Refused(NtStatus::INVALID_PARAMETER);
        }
        let mut salt = vec![0u8; 32];
        // Without randomness the salt is zeros; the hash chain stays correct, only less unique.
        let _ = getrandom::fill(&mut salt);
        contexts.push(NegotiateContext::PreauthIntegrity {
            hash_algorithms: vec![HashAlgorithm::SHA512.0],
            salt,
        });
        for c in &req.negotiate_contexts {
            match c {
                NegotiateContext::Signing { algorithms } => {
                    // The configured preference (Samba's default: GMAC is fastest, CMAC is
                    // what every 3.x client has, HMAC-SHA256 the fallback).
                    if let Some(chosen) = ctx
                        .signing_algorithms
                        .iter()
                        .find(|a| algorithms.contains(&a.id()))
                    {
                        signing_algorithm = *chosen;
                        contexts.push(NegotiateContext::Signing {
                            algorithms: vec![chosen.id()],
                        });
                    }
                }
                NegotiateContext::NetnameNegotiateContextId { netname: n } => {
                    netname = Some(n.clone())
                }
                NegotiateContext::Encryption { ciphers } if offer_encryption => {
                    // 3.3.5.4: our preference order; ids we do not know are skipped. No common
                    // cipher is answered with CipherId 0 (the connection cannot encrypt).
                    cipher = ctx
                        .ciphers
                        .iter()
                        .copied()
                        .find(|c| ciphers.contains(&c.id()));
                    contexts.push(NegotiateContext::Encryption {
                        ciphers: vec![cipher.map_or(0, Cipher::id)],
                    });
                }
                // Compression, transport and RDMA contexts are not supported: MS-SMB2 3.3.5.4
                // says to leave them out of the response.
                _ => {}
            }
        }
    }

    let mut server_security_mode = SecurityMode::SIGNING_ENABLED;
    if ctx.config.require_signing {
        server_security_mode |= SecurityMode::SIGNING_REQUIRED;
    }
    // LARGE_MTU enables multi-credit requests (2.1+); LEASING: file leases (2.1+, v2 on 3.x).
    // DIRECTORY_LEASING is not offered: directory lease requests are declined.
    let mut server_capabilities = if dialect >= Dialect::SMB2_1 {
        Capabilities::LARGE_MTU | Capabilities::LEASING
    } else {
        0
    };
    // 3.0/3.0.2 signal encryption with the capability (AES-128-CCM implied); 3.1.1 uses the
    // context only (MS-SMB2 3.3.5.4).
    if (dialect == Dialect::SMB3_0 || dialect == Dialect::SMB3_0_2)
        && offer_encryption
        && req.capabilities & Capabilities::ENCRYPTION != 0
    {
        server_capabilities |= Capabilities::ENCRYPTION;
        cipher = Some(Cipher::Aes128Ccm);
    }
    // MULTI_CHANNEL (3.x): further connections may bind to a session (3.3.5.5, `binding`).
    if dialect.is_smb3() && ctx.config.multichannel {
        server_capabilities |= Capabilities::MULTI_CHANNEL;
    }
    // 2.0.2 has no multi-credit requests: a single request carries at most 64 KiB.
    let max_io = if dialect == Dialect::SMB2_0_2 {
        65536
    } else {
        ctx.config.max_io_size
    };

    let negotiated = Negotiated {
        dialect,
        client_guid: req.client_guid,
        client_security_mode: req.security_mode,
        client_capabilities: req.capabilities,
        client_dialects: req.dialects.clone(),
        server_capabilities,
        server_security_mode,
        signing_algorithm,
        netname,
        cipher,
    };
    let response = NegotiateResponse {
        security_mode: server_security_mode,
        dialect_revision: dialect,
        server_guid: ctx.server_guid,
        capabilities: server_capabilities,
        max_transact_size: max_io,
        max_read_size: max_io,
        max_write_size: max_io,
        system_time: now_filetime,
        server_start_time: 0,
        security_buffer: ctx.negotiate_hint.clone().into(),
        negotiate_contexts: contexts,
    };
    NegotiateOutcome::Negotiated(Box::new(negotiated), response)
}

/// [MS-SMB2 3.3.5.3.1] The SMB2 answer to an SMB1 multi-protocol negotiate: "SMB 2.???" gets
/// the wildcard dialect 0x02FF (the client then sends an SMB2 NEGOTIATE), "SMB 2.002" alone gets
/// 2.0.2 and the connection is negotiated.
pub fn negotiate_smb1(
    ctx: &ServerContext,
    offers_wildcard: bool,
    offers_202: bool,
    now_filetime: u64,
) -> Option<NegotiateOutcome> {
    let dialect = if offers_wildcard && ctx.max_dialect >= Dialect::SMB2_1 {
        Dialect::SMB2_WILDCARD
    } else if offers_202 && ctx.min_dialect <= Dialect::SMB2_0_2 {
        Dialect::SMB2_0_2
    } else {
        return None;
    };
    // The wildcard reply borrows the 2.0.2 response shape; it does not select a dialect yet.
    let req = NegotiateRequest {
        dialects: vec![Dialect::SMB2_0_2],
        ..NegotiateRequest::default()
    };
    let NegotiateOutcome::Negotiated(mut negotiated, mut response) =
        respond(ctx, Dialect::SMB2_0_2, &req, now_filetime)
    else {
        return None;
    };
    response.dialect_revision = dialect;
    negotiated.dialect = dialect;
    Some(NegotiateOutcome::Negotiated(negotiated, response))
}

fn is_known(d: Dialect) -> bool {
    matches!(
        d,
        Dialect::SMB2_0_2
            | Dialect::SMB2_1
            | Dialect::SMB3_0
            | Dialect::SMB3_0_2
            | Dialect::SMB3_1_1
    )
}
