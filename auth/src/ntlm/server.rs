//! The NTLMSSP acceptor's two legs (MS-NLMP 3.2.5): answer a NEGOTIATE_MESSAGE with a
//! CHALLENGE_MESSAGE, then check the AUTHENTICATE_MESSAGE's NTLMv2 response against the
//! password file (3.3.2) and derive the exported session key (3.4.5.x).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq;

use super::authenticate::{Authenticate, MIC_OFFSET, NtlmV2Response};
use super::av_pair::{self, AV_FLAG_MIC_PRESENT, id};
use super::keys::{self, Key16, Side};
use super::negotiate::Negotiate;
use super::users::NtUsers;
use super::{challenge, flags, utf16le};
use crate::crypto::random_bytes;
use crate::error::AuthError;

/// Seconds between 1601-01-01 (FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: u64 = 11_644_473_600;

/// SystemTime as a FILETIME (100 ns ticks since 1601).
pub fn filetime(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_secs().saturating_add(FILETIME_UNIX_OFFSET))
        .saturating_mul(10_000_000)
        .saturating_add(u64::from(d.subsec_nanos() / 100))
}

/// The names the CHALLENGE_MESSAGE's TargetInfo carries (MS-NLMP 2.2.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetNames {
    /// MsvAvNbComputerName, e.g. `NAS1`.
    pub nb_computer: String,
    /// MsvAvNbDomainName: a standalone server is its own domain, e.g. `NAS1`.
    pub nb_domain: String,
    /// MsvAvDnsComputerName, e.g. `data2.example.test`.
    pub dns_computer: String,
    /// MsvAvDnsDomainName, e.g. `example.test`.
    pub dns_domain: String,
}

impl TargetNames {
    /// Names for a server called `netbios` that answers to `dns_name`: the DNS domain is what
    /// follows the first dot.
    pub fn new(netbios: &str, dns_name: &str) -> Self {
        let nb = netbios.to_uppercase();
        Self {
            nb_computer: nb.clone(),
            nb_domain: nb,
            dns_computer: dns_name.to_string(),
            dns_domain: dns_name
                .split_once('.')
                .map(|(_, d)| d.to_string())
                .unwrap_or_default(),
        }
    }

    fn target_info(&self, now: SystemTime) -> Result<Vec<u8>, AuthError> {
        let mut out = Vec::new();
        let put = |out: &mut Vec<u8>, av: u16, v: &[u8]| {
            av_pair::put(out, av, v).map_err(|e| AuthError::Internal(e.to_string()))
        };
        put(&mut out, id::NB_DOMAIN_NAME, &utf16le(&self.nb_domain))?;
        put(&mut out, id::NB_COMPUTER_NAME, &utf16le(&self.nb_computer))?;
        put(&mut out, id::DNS_DOMAIN_NAME, &utf16le(&self.dns_domain))?;
        put(
            &mut out,
            id::DNS_COMPUTER_NAME,
            &utf16le(&self.dns_computer),
        )?;
        put(&mut out, id::TIMESTAMP, &filetime(now).to_le_bytes())?;
        av_pair::put_eol(&mut out);
        Ok(out)
    }
}

/// A successful NTLMv2 logon.
#[derive(Debug)]
pub struct NtlmAccepted {
    /// The principal the password file names for this user.
    pub principal: String,
    /// `DOMAIN\user` as the client sent them.
    pub client_name: String,
    /// The client's workstation name.
    pub workstation: String,
    /// MsvAvTargetName from the client's response: the SPN it meant (e.g.
    /// `cifs/data2.example.test`), when it said.
    pub target_spn: Option<String>,
    /// ExportedSessionKey (MS-NLMP 3.4.5.x): the SMB session key (MS-SMB2 3.3.5.5.3).
    pub session_key: Key16,
    /// NegotiateFlags of the AUTHENTICATE_MESSAGE.
    pub flags: u32,
}

impl NtlmAccepted {
    /// Checks the client's SPNEGO mechListMIC: its first NTLMSSP signature over the DER
    /// mechTypes (MS-SPNG 3.3.5.1, MS-NLMP 3.4.4.2). Needs extended session security.
    pub fn verify_client_mic(&self, mech_types_der: &[u8], mic: &[u8]) -> bool {
        if self.flags & flags::EXTENDED_SESSIONSECURITY == 0 {
            return false;
        }
        let want =
            keys::first_signature(&self.session_key, Side::Client, self.flags, mech_types_der);
        bool::from(want.as_slice().ct_eq(mic))
    }

    /// Our mechListMIC: the server's first NTLMSSP signature over the DER mechTypes.
    pub fn server_mic(&self, mech_types_der: &[u8]) -> Vec<u8> {
        keys::first_signature(&self.session_key, Side::Server, self.flags, mech_types_der).to_vec()
    }
}

/// One NTLM exchange after the CHALLENGE was sent.
#[derive(Debug)]
pub struct NtlmServer {
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    server_challenge: [u8; 8],
}

fn malformed(what: &'static str, e: impl ToString) -> AuthError {
    AuthError::Malformed {
        what,
        detail: e.to_string(),
    }
}

impl NtlmServer {
    /// Leg 1 (MS-NLMP 3.2.5.1.1): parses the NEGOTIATE_MESSAGE and builds the CHALLENGE.
    pub fn challenge(
        negotiate: &[u8],
        names: &TargetNames,
        now: SystemTime,
    ) -> Result<(Self, Vec<u8>), AuthError> {
        let neg =
            Negotiate::parse(negotiate).map_err(|e| malformed("NTLM NEGOTIATE_MESSAGE", e))?;
        if neg.flags & flags::UNICODE == 0 {
            return Err(malformed(
                "NTLM NEGOTIATE_MESSAGE",
                "client does not offer Unicode (OEM-only NTLM is not supported)",
            ));
        }
        let mut server_challenge = [0u8; 8];
        random_bytes(&mut server_challenge).map_err(|e| AuthError::Internal(e.to_string()))?;
        let target_info = names.target_info(now)?;
        let msg = challenge::build(
            challenge::answer_flags(neg.flags),
            &server_challenge,
            &utf16le(&names.nb_computer),
            &target_info,
        )
        .map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok((
            Self {
                negotiate: negotiate.to_vec(),
                challenge: msg.clone(),
                server_challenge,
            },
            msg,
        ))
    }

    /// A server whose challenge is given (tests: the MS-NLMP 4.2 vectors).
    pub fn with_challenge(
        negotiate: Vec<u8>,
        challenge: Vec<u8>,
        server_challenge: [u8; 8],
    ) -> Self {
        Self {
            negotiate,
            challenge,
            server_challenge,
        }
    }

    /// Leg 2 (MS-NLMP 3.2.5.1.2, 3.3.2): verifies the AUTHENTICATE_MESSAGE.
    pub fn authenticate(
        &self,
        msg: &[u8],
        users: &NtUsers,
        max_skew: Duration,
        now: SystemTime,
    ) -> Result<NtlmAccepted, AuthError> {
        let auth =
            Authenticate::parse(msg).map_err(|e| malformed("NTLM AUTHENTICATE_MESSAGE", e))?;
        let client_name = format!("{}\\{}", auth.domain, auth.user);
        if auth.user.is_empty() || auth.flags & flags::ANONYMOUS != 0 {
            return Err(AuthError::NtlmAnonymous {
                workstation: auth.workstation,
            });
        }
        // 24 bytes is an NTLMv1 (or NTLM2 session) response; none at all is LM only.
        if auth.nt_response.len() <= 24 {
            return Err(AuthError::NtlmV1 {
                client: client_name,
                nt_len: auth.nt_response.len(),
            });
        }
        let v2 =
            NtlmV2Response::parse(auth.nt_response).map_err(|e| malformed("NTLMv2 response", e))?;
        let Some((principal, nt_hash)) = users.lookup(&auth.user) else {
            return Err(AuthError::NtlmUnknownUser {
                client: client_name,
            });
        };
        let response_key = keys::ntowf_v2(nt_hash, &auth.user, &auth.domain);
        let proof = keys::nt_proof(&response_key, &self.server_challenge, v2.blob);
        if !bool::from(proof.ct_eq(&v2.proof)) {
            return Err(AuthError::NtlmBadResponse {
                client: client_name,
            });
        }
        // The response's time is ours (MsvAvTimestamp, echoed) or the client's clock: either
        // way an answer outside the window is stale or from a badly set clock.
        let skew_ticks = filetime(now).abs_diff(v2.timestamp);
        let max_ticks = max_skew.as_secs().saturating_mul(10_000_000);
        if skew_ticks > max_ticks {
            let offset_secs = i64::try_from(skew_ticks / 10_000_000).unwrap_or(i64::MAX);
            let offset_secs = if v2.timestamp < filetime(now) {
                -offset_secs
            } else {
                offset_secs
            };
            return Err(AuthError::NtlmSkew {
                client: client_name,
                offset_secs,
                max_skew_secs: max_skew.as_secs(),
            });
        }
        let kxkey = keys::session_base_key(&response_key, &proof);
        let encrypted = if auth.flags & flags::KEY_EXCH != 0 {
            let k = <[u8; 16]>::try_from(auth.encrypted_session_key).map_err(|_| {
                malformed(
                    "NTLM AUTHENTICATE_MESSAGE",
                    format!(
                        "KEY_EXCH with a {}-byte EncryptedRandomSessionKey (want 16)",
                        auth.encrypted_session_key.len()
                    ),
                )
            })?;
            Some(k)
        } else {
            None
        };
        let exported = keys::exported_session_key(&kxkey, encrypted.as_ref());
        let av_flags = av_pair::find(&v2.av_pairs, id::FLAGS)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map_or(0, u32::from_le_bytes);
        if av_flags & AV_FLAG_MIC_PRESENT != 0 {
            let Some(mic) = auth.mic else {
                return Err(malformed(
                    "NTLM AUTHENTICATE_MESSAGE",
                    "MsvAvFlags announces a MIC but the message has no room for one",
                ));
            };
            let mut zeroed = msg.to_vec();
            for b in zeroed.iter_mut().skip(MIC_OFFSET).take(16) {
                *b = 0;
            }
            let want = keys::message_mic(&exported, &self.negotiate, &self.challenge, &zeroed);
            if !bool::from(want.ct_eq(&mic)) {
                return Err(AuthError::NtlmMicMismatch {
                    client: client_name,
                });
            }
        }
        let target_spn = av_pair::find(&v2.av_pairs, id::TARGET_NAME)
            .and_then(|v| super::from_utf16le(v).ok())
            .filter(|s| !s.is_empty());
        Ok(NtlmAccepted {
            principal: principal.to_string(),
            client_name,
            workstation: auth.workstation,
            target_spn,
            session_key: exported,
            flags: auth.flags,
        })
    }
}
