//! PAC_LOGON_INFO (MS-PAC §2.5): the KERB_VALIDATION_INFO an Active Directory KDC puts in the
//! PAC, NDR-encoded behind a type serialization header (MS-RPCE §2.2.6). We read who the user
//! is (domain SID + RID) and which groups it is in: the primary group, the domain group RIDs,
//! the extra SIDs and the resource groups (MS-PAC §2.5, §4.1.1 "SIDs"). Every offset and count
//! is checked against the bytes present, so a hostile or truncated buffer is an error, never a
//! panic or an unbounded allocation; the caller logs the error and the logon goes on (R8).

use std::fmt;

/// SubAuthorityCount limit of a SID (MS-DTYP §2.4.2: at most 15).
const MAX_SUB_AUTHORITIES: u8 = 15;
/// Far more group entries than any token carries (Windows caps a token at 1024 SIDs).
const MAX_GROUPS: u32 = 4096;
/// NDR "unique pointer" referent ids are any non-zero value.
const NULL: u32 = 0;

/// A security identifier (MS-DTYP §2.4.2), printed as `S-1-5-21-...`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sid {
    /// Revision (1).
    pub revision: u8,
    /// IdentifierAuthority, 48 bits big-endian.
    pub authority: u64,
    /// SubAuthority values.
    pub sub_authorities: Vec<u32>,
}

impl Sid {
    /// This SID with `rid` appended (a domain SID plus a relative id).
    pub fn with_rid(&self, rid: u32) -> Sid {
        let mut s = self.clone();
        s.sub_authorities.push(rid);
        s
    }

    /// Parses `S-1-5-21-1-2-3-513` (MS-DTYP §2.4.2.1 string form).
    pub fn parse(text: &str) -> Option<Sid> {
        let mut parts = text.split('-');
        if !parts.next()?.eq_ignore_ascii_case("S") {
            return None;
        }
        let revision = parts.next()?.parse().ok()?;
        let authority: u64 = parts.next()?.parse().ok()?;
        if authority >= 1 << 48 {
            return None;
        }
        let sub_authorities = parts
            .map(|p| p.parse().ok())
            .collect::<Option<Vec<u32>>>()?;
        if sub_authorities.len() > usize::from(MAX_SUB_AUTHORITIES) {
            return None;
        }
        Some(Sid {
            revision,
            authority,
            sub_authorities,
        })
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{}-{}", self.revision, self.authority)?;
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

/// What rsmbd keeps of KERB_VALIDATION_INFO (MS-PAC §2.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogonInfo {
    /// EffectiveName (the account name).
    pub effective_name: String,
    /// LogonDomainName (NetBIOS domain name).
    pub domain_name: String,
    /// LogonDomainId: the account domain's SID.
    pub domain_sid: Option<Sid>,
    /// UserId: the user's RID in that domain.
    pub user_rid: u32,
    /// PrimaryGroupId: a RID in that domain.
    pub primary_group_rid: u32,
    /// GroupIds: domain group RIDs (attributes dropped).
    pub group_rids: Vec<u32>,
    /// ExtraSids: SIDs from other domains, universal groups, claims SIDs.
    pub extra_sids: Vec<Sid>,
    /// ResourceGroupDomainSid (with LOGON_RESOURCE_GROUPS).
    pub resource_domain_sid: Option<Sid>,
    /// ResourceGroupIds: RIDs in the resource domain.
    pub resource_group_rids: Vec<u32>,
}

impl LogonInfo {
    /// The user's SID: LogonDomainId + UserId.
    pub fn user_sid(&self) -> Option<Sid> {
        self.domain_sid.as_ref().map(|d| d.with_rid(self.user_rid))
    }

    /// Every group SID the token carries: primary group, GroupIds, ExtraSids and resource
    /// groups (MS-PAC §4.1.1), without duplicates.
    pub fn group_sids(&self) -> Vec<Sid> {
        let mut out: Vec<Sid> = Vec::new();
        let mut push = |s: Sid| {
            if !out.contains(&s) {
                out.push(s);
            }
        };
        if let Some(d) = &self.domain_sid {
            push(d.with_rid(self.primary_group_rid));
            for r in &self.group_rids {
                push(d.with_rid(*r));
            }
        }
        for s in &self.extra_sids {
            push(s.clone());
        }
        if let Some(d) = &self.resource_domain_sid {
            for r in &self.resource_group_rids {
                push(d.with_rid(*r));
            }
        }
        out
    }
}

/// Why a PAC_LOGON_INFO buffer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PAC_LOGON_INFO: {0}")]
pub struct LogonInfoError(pub String);

fn err(what: impl Into<String>) -> LogonInfoError {
    LogonInfoError(what.into())
}

/// An NDR reader over the stream after the serialization headers; alignment is relative to
/// the stream's start (MS-RPCE §2.2.6.1).
struct Ndr<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Ndr<'a> {
    fn align(&mut self, n: usize) -> Result<(), LogonInfoError> {
        self.pos = self
            .pos
            .checked_next_multiple_of(n)
            .ok_or_else(|| err("offset overflow"))?;
        Ok(())
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], LogonInfoError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| err("offset overflow"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| err(format!("truncated at byte {} (need {n} more)", self.pos)))?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, LogonInfoError> {
        Ok(*self.bytes(1)?.first().ok_or_else(|| err("truncated"))?)
    }

    fn u16(&mut self) -> Result<u16, LogonInfoError> {
        self.align(2)?;
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes(
            b.try_into().map_err(|_| err("truncated"))?,
        ))
    }

    fn u32(&mut self) -> Result<u32, LogonInfoError> {
        self.align(4)?;
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes(
            b.try_into().map_err(|_| err("truncated"))?,
        ))
    }

    /// Elements left if each takes `size` bytes: bounds a count before anything is allocated.
    fn room_for(&self, count: u32, size: usize) -> Result<usize, LogonInfoError> {
        let count = usize::try_from(count).map_err(|_| err("count overflow"))?;
        let left = self.buf.len().saturating_sub(self.pos);
        if count.checked_mul(size).is_none_or(|n| n > left) {
            return Err(err(format!(
                "{count} elements of {size} bytes do not fit in the {left} bytes left"
            )));
        }
        Ok(count)
    }

    /// RPC_UNICODE_STRING body (a conformant varying array of u16, MS-DTYP §2.3.10).
    fn string_body(&mut self, length: u16) -> Result<String, LogonInfoError> {
        let _max = self.u32()?;
        let offset = self.u32()?;
        let actual = self.u32()?;
        if offset != 0 || u64::from(actual) * 2 != u64::from(length) {
            return Err(err("string length does not match its array"));
        }
        let n = self.room_for(actual, 2)?;
        let b = self.bytes(n * 2)?;
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| {
                u16::from_le_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            })
            .collect();
        Ok(String::from_utf16_lossy(&units))
    }

    /// RPC_SID (MS-DTYP §2.4.2.3): conformance, Revision, SubAuthorityCount, authority, subs.
    fn sid(&mut self) -> Result<Sid, LogonInfoError> {
        let max = self.u32()?;
        let revision = self.u8()?;
        let count = self.u8()?;
        if count > MAX_SUB_AUTHORITIES || u32::from(count) != max {
            return Err(err(format!(
                "SID with {count} sub-authorities (conformance {max})"
            )));
        }
        let auth = self.bytes(6)?;
        let authority = auth.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
        let mut sub_authorities = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            sub_authorities.push(self.u32()?);
        }
        Ok(Sid {
            revision,
            authority,
            sub_authorities,
        })
    }

    /// A conformant array of GROUP_MEMBERSHIP (MS-PAC §2.2.2): the RIDs.
    fn group_rids(&mut self, count: u32) -> Result<Vec<u32>, LogonInfoError> {
        let max = self.u32()?;
        if max != count || count > MAX_GROUPS {
            return Err(err(format!("group array of {max} for a count of {count}")));
        }
        let n = self.room_for(count, 8)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.u32()?);
            let _attributes = self.u32()?;
        }
        Ok(out)
    }
}

/// A RPC_UNICODE_STRING header: Length, MaximumLength, buffer pointer.
struct StrHdr {
    length: u16,
    ptr: u32,
}

fn str_hdr(r: &mut Ndr<'_>) -> Result<StrHdr, LogonInfoError> {
    let length = r.u16()?;
    let _max = r.u16()?;
    let ptr = r.u32()?;
    if length % 2 != 0 {
        return Err(err("odd string length"));
    }
    Ok(StrHdr { length, ptr })
}

fn deferred_string(r: &mut Ndr<'_>, h: &StrHdr) -> Result<String, LogonInfoError> {
    if h.ptr == NULL {
        return Ok(String::new());
    }
    r.string_body(h.length)
}

/// Decodes a PAC_LOGON_INFO buffer (ulType 1): the MS-RPCE §2.2.6 common and private headers,
/// then the top-level pointer to KERB_VALIDATION_INFO and its deferred data in NDR order.
pub fn parse_logon_info(buf: &[u8]) -> Result<LogonInfo, LogonInfoError> {
    // Common type header: Version 1, little-endian (0x10), length 8, filler.
    let header = buf
        .get(..16)
        .ok_or_else(|| err("shorter than its headers"))?;
    if header.first() != Some(&1) || header.get(1) != Some(&0x10) {
        return Err(err("not a version 1 little-endian type serialization"));
    }
    let object_len = header
        .get(8..12)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| err("no private header"))?;
    let body = buf.get(16..).ok_or_else(|| err("no body"))?;
    let body_len = usize::try_from(object_len).map_err(|_| err("length overflow"))?;
    let body = body
        .get(..body_len)
        .ok_or_else(|| err(format!("ObjectBufferLength {object_len} past the buffer")))?;
    let mut r = Ndr { buf: body, pos: 0 };

    if r.u32()? == NULL {
        return Err(err("null KERB_VALIDATION_INFO"));
    }
    // Six FILETIMEs: logon, logoff, kickoff, password last set / can change / must change.
    r.bytes(6 * 8)?;
    let effective_name = str_hdr(&mut r)?;
    let strings: Vec<StrHdr> = (0..5).map(|_| str_hdr(&mut r)).collect::<Result<_, _>>()?; // FullName .. HomeDirectoryDrive
    let _logon_count = r.u16()?;
    let _bad_password_count = r.u16()?;
    let user_rid = r.u32()?;
    let primary_group_rid = r.u32()?;
    let group_count = r.u32()?;
    let group_ptr = r.u32()?;
    let _user_flags = r.u32()?;
    r.bytes(16)?; // UserSessionKey
    let logon_server = str_hdr(&mut r)?;
    let domain_name = str_hdr(&mut r)?;
    let domain_sid_ptr = r.u32()?;
    r.bytes(8)?; // Reserved1
    let _uac = r.u32()?;
    let _sub_auth_status = r.u32()?;
    r.bytes(16)?; // LastSuccessfulILogon, LastFailedILogon
    let _failed = r.u32()?;
    let _reserved3 = r.u32()?;
    let sid_count = r.u32()?;
    let extra_ptr = r.u32()?;
    let resource_domain_ptr = r.u32()?;
    let resource_count = r.u32()?;
    let resource_ptr = r.u32()?;

    // Deferred referents, in the order their pointers appeared.
    let effective_name = deferred_string(&mut r, &effective_name)?;
    for h in &strings {
        deferred_string(&mut r, h)?;
    }
    let group_rids = if group_ptr != NULL {
        r.group_rids(group_count)?
    } else if group_count != 0 {
        return Err(err("GroupCount without GroupIds"));
    } else {
        Vec::new()
    };
    deferred_string(&mut r, &logon_server)?;
    let domain_name = deferred_string(&mut r, &domain_name)?;
    let domain_sid = if domain_sid_ptr != NULL {
        Some(r.sid()?)
    } else {
        None
    };
    let mut extra_sids = Vec::new();
    if extra_ptr != NULL {
        let max = r.u32()?;
        if max != sid_count || sid_count > MAX_GROUPS {
            return Err(err(format!(
                "ExtraSids array of {max} for SidCount {sid_count}"
            )));
        }
        let n = r.room_for(sid_count, 8)?;
        let mut pointers = Vec::with_capacity(n);
        for _ in 0..n {
            pointers.push(r.u32()?);
            let _attributes = r.u32()?;
        }
        for p in pointers {
            if p != NULL {
                extra_sids.push(r.sid()?);
            }
        }
    } else if sid_count != 0 {
        return Err(err("SidCount without ExtraSids"));
    }
    let resource_domain_sid = if resource_domain_ptr != NULL {
        Some(r.sid()?)
    } else {
        None
    };
    let resource_group_rids = if resource_ptr != NULL {
        r.group_rids(resource_count)?
    } else if resource_count != 0 {
        return Err(err("ResourceGroupCount without ResourceGroupIds"));
    } else {
        Vec::new()
    };
    Ok(LogonInfo {
        effective_name,
        domain_name,
        domain_sid,
        user_rid,
        primary_group_rid,
        group_rids,
        extra_sids,
        resource_domain_sid,
        resource_group_rids,
    })
}

/// NDR writer for [`encode_logon_info`].
struct Out(Vec<u8>);

impl Out {
    fn align(&mut self, n: usize) {
        while !self.0.len().is_multiple_of(n) {
            self.0.push(0);
        }
    }
    fn u16(&mut self, v: u16) {
        self.align(2);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.align(4);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str_hdr(&mut self, s: &[u16], referent: &mut u32) {
        let len = (s.len() * 2) as u16;
        self.u16(len);
        self.u16(len);
        self.u32(if s.is_empty() { NULL } else { next(referent) });
    }
    fn str_body(&mut self, s: &[u16]) {
        if s.is_empty() {
            return;
        }
        self.u32(s.len() as u32);
        self.u32(0);
        self.u32(s.len() as u32);
        for u in s {
            self.0.extend_from_slice(&u.to_le_bytes());
        }
    }
    fn sid(&mut self, s: &Sid) {
        self.u32(s.sub_authorities.len() as u32);
        self.0.push(s.revision);
        self.0.push(s.sub_authorities.len() as u8);
        let authority = s.authority.to_be_bytes();
        self.0
            .extend_from_slice(authority.get(2..).unwrap_or_default());
        for a in &s.sub_authorities {
            self.u32(*a);
        }
    }
    fn groups(&mut self, rids: &[u32]) {
        self.u32(rids.len() as u32);
        for r in rids {
            self.u32(*r);
            self.u32(7); // SE_GROUP_MANDATORY | ENABLED_BY_DEFAULT | ENABLED
        }
    }
}

fn next(referent: &mut u32) -> u32 {
    *referent += 4;
    *referent
}

/// Encodes `info` as a PAC_LOGON_INFO buffer the way an AD KDC does (NDR with a type
/// serialization header; unused fields zero). For tests and test KDCs: rsmbd never issues PACs.
pub fn encode_logon_info(info: &LogonInfo) -> Vec<u8> {
    let utf16 = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
    let name = utf16(&info.effective_name);
    let domain = utf16(&info.domain_name);
    let empty: Vec<u16> = Vec::new();
    let mut referent = 0x0002_0000u32;
    let mut o = Out(Vec::new());
    o.u32(next(&mut referent));
    o.0.extend_from_slice(&[0u8; 48]);
    o.str_hdr(&name, &mut referent);
    for _ in 0..5 {
        o.str_hdr(&empty, &mut referent);
    }
    o.u16(1); // LogonCount
    o.u16(0);
    o.u32(info.user_rid);
    o.u32(info.primary_group_rid);
    o.u32(info.group_rids.len() as u32);
    o.u32(if info.group_rids.is_empty() {
        NULL
    } else {
        next(&mut referent)
    });
    o.u32(0x20); // UserFlags: LOGON_EXTRA_SIDS
    o.0.extend_from_slice(&[0u8; 16]);
    o.str_hdr(&empty, &mut referent); // LogonServer
    o.str_hdr(&domain, &mut referent);
    o.u32(if info.domain_sid.is_some() {
        next(&mut referent)
    } else {
        NULL
    });
    o.0.extend_from_slice(&[0u8; 8]);
    o.u32(0x10); // UserAccountControl: USER_NORMAL_ACCOUNT
    o.u32(0);
    o.0.extend_from_slice(&[0u8; 16]);
    o.u32(0);
    o.u32(0);
    o.u32(info.extra_sids.len() as u32);
    o.u32(if info.extra_sids.is_empty() {
        NULL
    } else {
        next(&mut referent)
    });
    o.u32(if info.resource_domain_sid.is_some() {
        next(&mut referent)
    } else {
        NULL
    });
    o.u32(info.resource_group_rids.len() as u32);
    o.u32(if info.resource_group_rids.is_empty() {
        NULL
    } else {
        next(&mut referent)
    });
    o.str_body(&name);
    if !info.group_rids.is_empty() {
        o.groups(&info.group_rids);
    }
    o.str_body(&domain);
    if let Some(s) = &info.domain_sid {
        o.sid(s);
    }
    if !info.extra_sids.is_empty() {
        o.u32(info.extra_sids.len() as u32);
        for _ in &info.extra_sids {
            o.u32(next(&mut referent));
            o.u32(7);
        }
        for s in &info.extra_sids {
            o.sid(s);
        }
    }
    if let Some(s) = &info.resource_domain_sid {
        o.sid(s);
    }
    if !info.resource_group_rids.is_empty() {
        o.groups(&info.resource_group_rids);
    }
    o.align(8);
    let mut out = vec![1, 0x10, 8, 0, 0xcc, 0xcc, 0xcc, 0xcc];
    out.extend_from_slice(&(o.0.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&o.0);
    out
}

#[cfg(test)]
#[path = "pac_logon_tests.rs"]
mod tests;
