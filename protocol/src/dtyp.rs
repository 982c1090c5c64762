//! [MS-DTYP] data types: GUIDs ([2.3.4]), SIDs ([2.4.2]), ACEs ([2.4.4]), ACLs ([2.4.5]) and
//! self-relative security descriptors ([2.4.6]) — enough to answer a security QUERY_INFO.
//!
//! [MS-DTYP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dtyp/cca27429-5689-4a16-b2b4-9325d93e4ba2
//! [2.3.4]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dtyp/4926e530-816e-41c2-b251-ec5c7aca018a
//! [2.4.2]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dtyp/f992ad60-0fe4-4b87-9fed-beb478836861
//! [2.4.4]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dtyp/628ebb1d-c509-4ea0-a10f-77ef97ca4586
//! [2.4.5]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dtyp/20233ed8-a6c6-4097-aafa-dd545ed24428
//! [2.4.6]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dtyp/7d4dac05-9cef-4563-a058-f108abecce1d

use std::fmt;

use crate::codec::{DecodeError, DecodeResult, Encode, Reader, Writer, sat_u16, sat_u32};
use crate::messages::query_info::SecurityInformation;

/// [MS-DTYP 2.3.4] GUID in its wire byte order (Data1..Data3 little-endian, Data4 as bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Builds one from the four fields of its text form.
    pub fn from_fields(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> Self {
        let mut b = [0u8; 16];
        let mut w = Writer::with_capacity(16);
        w.u32(data1);
        w.u16(data2);
        w.u16(data3);
        w.bytes(&data4);
        if let Ok(a) = <[u8; 16]>::try_from(w.as_slice()) {
            b = a;
        }
        Self(b)
    }

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (braces optional).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim_start_matches('{').trim_end_matches('}');
        let parts: Vec<&str> = s.split('-').collect();
        let [a, b, c, d, e] = parts.as_slice() else {
            return None;
        };
        if a.len() != 8 || b.len() != 4 || c.len() != 4 || d.len() != 4 || e.len() != 12 {
            return None;
        }
        let data1 = u32::from_str_radix(a, 16).ok()?;
        let data2 = u16::from_str_radix(b, 16).ok()?;
        let data3 = u16::from_str_radix(c, 16).ok()?;
        let tail = format!("{d}{e}");
        let mut data4 = [0u8; 8];
        for (i, byte) in data4.iter_mut().enumerate() {
            *byte = u8::from_str_radix(tail.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        Some(Self::from_fields(data1, data2, data3, data4))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        let mut r = Reader::new(b, "GUID");
        let (Ok(d1), Ok(d2), Ok(d3)) = (r.u32(), r.u16(), r.u16()) else {
            return Err(fmt::Error);
        };
        write!(f, "{d1:08x}-{d2:04x}-{d3:04x}-")?;
        for (i, x) in r.rest().iter().enumerate() {
            if i == 2 {
                f.write_str("-")?;
            }
            write!(f, "{x:02x}")?;
        }
        Ok(())
    }
}

/// [MS-DTYP 2.4.2] A security identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Sid {
    /// Revision (1).
    pub revision: u8,
    /// IdentifierAuthority (48-bit, big-endian on the wire).
    pub identifier_authority: u64,
    /// SubAuthority values.
    pub sub_authorities: Vec<u32>,
}

impl Sid {
    /// A revision-1 SID.
    pub fn new(identifier_authority: u64, sub_authorities: &[u32]) -> Self {
        Self {
            revision: 1,
            identifier_authority,
            sub_authorities: sub_authorities.to_vec(),
        }
    }
    /// S-1-1-0 Everyone.
    pub fn everyone() -> Self {
        Self::new(1, &[0])
    }
    /// S-1-5-18 Local System.
    pub fn local_system() -> Self {
        Self::new(5, &[18])
    }
    /// S-1-5-32-544 BUILTIN\Administrators.
    pub fn builtin_administrators() -> Self {
        Self::new(5, &[32, 544])
    }
    /// S-1-5-11 Authenticated Users.
    pub fn authenticated_users() -> Self {
        Self::new(5, &[11])
    }
    /// S-1-22-1-`uid`: a Unix user, as Samba maps it.
    pub fn unix_user(uid: u32) -> Self {
        Self::new(22, &[1, uid])
    }
    /// S-1-22-2-`gid`: a Unix group, as Samba maps it.
    pub fn unix_group(gid: u32) -> Self {
        Self::new(22, &[2, gid])
    }

    /// Parses `S-1-5-32-544`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s
            .strip_prefix("S-")
            .or_else(|| s.strip_prefix("s-"))?
            .split('-');
        let revision = it.next()?.parse().ok()?;
        let identifier_authority: u64 = it.next()?.parse().ok()?;
        if identifier_authority >= 1 << 48 {
            return None;
        }
        let sub_authorities = it.map(|x| x.parse().ok()).collect::<Option<Vec<u32>>>()?;
        if sub_authorities.len() > 15 {
            return None;
        }
        Some(Self {
            revision,
            identifier_authority,
            sub_authorities,
        })
    }

    /// Encoded size: 8 + 4 per sub-authority.
    pub fn size(&self) -> usize {
        8 + 4 * self.sub_authorities.len()
    }

    /// Decodes a SID from the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "SID");
        Self::read(&mut r)
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        let revision = r.u8()?;
        let count = r.u8()?;
        let auth = r.array::<6>()?;
        let identifier_authority = auth.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let mut sub_authorities = Vec::with_capacity(usize::from(count).min(15));
        for _ in 0..count {
            sub_authorities.push(r.u32()?);
        }
        Ok(Self {
            revision,
            identifier_authority,
            sub_authorities,
        })
    }
}

impl Encode for Sid {
    fn encode(&self, w: &mut Writer) {
        w.u8(self.revision);
        w.u8(u8::try_from(self.sub_authorities.len()).unwrap_or(u8::MAX));
        w.bytes(
            self.identifier_authority
                .to_be_bytes()
                .get(2..)
                .unwrap_or(&[0; 6]),
        );
        for s in &self.sub_authorities {
            w.u32(*s);
        }
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{}-{}", self.revision, self.identifier_authority)?;
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

/// [MS-DTYP 2.4.4.1] AceType values with the mask + SID layout.
#[derive(Debug, Clone, Copy)]
pub struct AceType;
impl AceType {
    /// ACCESS_ALLOWED_ACE_TYPE.
    pub const ACCESS_ALLOWED: u8 = 0x00;
    /// ACCESS_DENIED_ACE_TYPE.
    pub const ACCESS_DENIED: u8 = 0x01;
    /// SYSTEM_AUDIT_ACE_TYPE.
    pub const SYSTEM_AUDIT: u8 = 0x02;
}

/// [MS-DTYP 2.4.4.1] AceFlags bits.
#[derive(Debug, Clone, Copy)]
pub struct AceFlags;
impl AceFlags {
    /// OBJECT_INHERIT_ACE.
    pub const OBJECT_INHERIT: u8 = 0x01;
    /// CONTAINER_INHERIT_ACE.
    pub const CONTAINER_INHERIT: u8 = 0x02;
    /// NO_PROPAGATE_INHERIT_ACE.
    pub const NO_PROPAGATE_INHERIT: u8 = 0x04;
    /// INHERIT_ONLY_ACE.
    pub const INHERIT_ONLY: u8 = 0x08;
    /// INHERITED_ACE.
    pub const INHERITED: u8 = 0x10;
}

/// [MS-DTYP 2.4.4.2 / 2.4.4.4] An ACE of the mask + SID shape (allowed, denied, audit).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ace {
    /// AceType ([`AceType`]).
    pub ace_type: u8,
    /// AceFlags ([`AceFlags`]).
    pub ace_flags: u8,
    /// Mask (an access mask).
    pub mask: u32,
    /// Sid.
    pub sid: Sid,
}

impl Ace {
    /// An ACCESS_ALLOWED ACE.
    pub fn allow(sid: Sid, mask: u32) -> Self {
        Self {
            ace_type: AceType::ACCESS_ALLOWED,
            ace_flags: 0,
            mask,
            sid,
        }
    }

    /// Encoded size (AceSize).
    pub fn size(&self) -> usize {
        8 + self.sid.size()
    }
}

impl Encode for Ace {
    fn encode(&self, w: &mut Writer) {
        w.u8(self.ace_type);
        w.u8(self.ace_flags);
        w.u16(sat_u16(self.size()));
        w.u32(self.mask);
        self.sid.encode(w);
    }
}

/// [MS-DTYP 2.4.5] An ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// AclRevision (2 for these ACE types).
    pub revision: u8,
    /// The ACEs, in order.
    pub aces: Vec<Ace>,
}

impl Default for Acl {
    fn default() -> Self {
        Self {
            revision: 2,
            aces: Vec::new(),
        }
    }
}

impl Acl {
    /// Encoded size (AclSize).
    pub fn size(&self) -> usize {
        8 + self.aces.iter().map(Ace::size).sum::<usize>()
    }

    /// Decodes an ACL from the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "ACL";
        let mut r = Reader::new(bytes, WHAT);
        let revision = r.u8()?;
        r.skip(1)?;
        let size = usize::from(r.u16()?);
        let count = r.u16()?;
        r.skip(2)?;
        let body = bytes
            .get(8..size)
            .ok_or(DecodeError::OutOfBounds { what: "AclSize" })?;
        let mut aces = Vec::with_capacity(usize::from(count).min(body.len() / 8));
        let mut pos = 0usize;
        for _ in 0..count {
            let mut r = Reader::new(body.get(pos..).unwrap_or(&[]), "ACE");
            let ace_type = r.u8()?;
            let ace_flags = r.u8()?;
            let ace_size = usize::from(r.u16()?);
            if ace_size < 8 {
                return Err(DecodeError::Invalid { what: "AceSize" });
            }
            if ace_type > AceType::SYSTEM_AUDIT {
                return Err(DecodeError::Invalid { what: "AceType" });
            }
            let mask = r.u32()?;
            let sid = Sid::read(&mut r)?;
            aces.push(Ace {
                ace_type,
                ace_flags,
                mask,
                sid,
            });
            pos = pos
                .checked_add(ace_size)
                .ok_or(DecodeError::OutOfBounds { what: WHAT })?;
        }
        Ok(Self { revision, aces })
    }
}

impl Encode for Acl {
    fn encode(&self, w: &mut Writer) {
        w.u8(self.revision);
        w.u8(0);
        w.u16(sat_u16(self.size()));
        w.u16(sat_u16(self.aces.len()));
        w.u16(0);
        for a in &self.aces {
            a.encode(w);
        }
    }
}

/// [MS-DTYP 2.4.6] SECURITY_DESCRIPTOR Control bits.
#[derive(Debug, Clone, Copy)]
pub struct SdControl;
impl SdControl {
    /// SE_OWNER_DEFAULTED.
    pub const OWNER_DEFAULTED: u16 = 0x0001;
    /// SE_GROUP_DEFAULTED.
    pub const GROUP_DEFAULTED: u16 = 0x0002;
    /// SE_DACL_PRESENT.
    pub const DACL_PRESENT: u16 = 0x0004;
    /// SE_DACL_DEFAULTED.
    pub const DACL_DEFAULTED: u16 = 0x0008;
    /// SE_SACL_PRESENT.
    pub const SACL_PRESENT: u16 = 0x0010;
    /// SE_DACL_AUTO_INHERITED.
    pub const DACL_AUTO_INHERITED: u16 = 0x0400;
    /// SE_DACL_PROTECTED.
    pub const DACL_PROTECTED: u16 = 0x1000;
    /// SE_SELF_RELATIVE.
    pub const SELF_RELATIVE: u16 = 0x8000;
}

/// [MS-DTYP 2.4.6] A self-relative security descriptor with owner, group and DACL (no SACL).
/// On encode, SE_SELF_RELATIVE is always set and SE_DACL_PRESENT follows `dacl`; the parts
/// follow the 20-byte header in the order owner, group, DACL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityDescriptor {
    /// Control ([`SdControl`]); the two bits above are computed.
    pub control: u16,
    /// Owner SID.
    pub owner: Option<Sid>,
    /// Group SID.
    pub group: Option<Sid>,
    /// DACL.
    pub dacl: Option<Acl>,
}

impl SecurityDescriptor {
    /// Keeps only the parts asked for by a QUERY_INFO AdditionalInformation
    /// ([`SecurityInformation`] OWNER / GROUP / DACL).
    pub fn filtered(&self, additional_information: u32) -> Self {
        let want = |bit| additional_information & bit != 0;
        Self {
            control: self.control,
            owner: self
                .owner
                .clone()
                .filter(|_| want(SecurityInformation::OWNER)),
            group: self
                .group
                .clone()
                .filter(|_| want(SecurityInformation::GROUP)),
            dacl: self
                .dacl
                .clone()
                .filter(|_| want(SecurityInformation::DACL)),
        }
    }

    /// Encodes into a fresh buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_inner().to_vec()
    }

    /// Decodes a self-relative descriptor (SACL ignored).
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "SECURITY_DESCRIPTOR");
        let _revision = r.u8()?;
        r.skip(1)?;
        let control = r.u16()?;
        let owner_off = r.u32()? as usize;
        let group_off = r.u32()? as usize;
        let _sacl_off = r.u32()?;
        let dacl_off = r.u32()? as usize;
        let at = |off: usize, what| bytes.get(off..).ok_or(DecodeError::OutOfBounds { what });
        let owner = if owner_off == 0 {
            None
        } else {
            Some(Sid::decode(at(owner_off, "OffsetOwner")?)?)
        };
        let group = if group_off == 0 {
            None
        } else {
            Some(Sid::decode(at(group_off, "OffsetGroup")?)?)
        };
        let dacl = if dacl_off == 0 || control & SdControl::DACL_PRESENT == 0 {
            None
        } else {
            Some(Acl::decode(at(dacl_off, "OffsetDacl")?)?)
        };
        Ok(Self {
            control,
            owner,
            group,
            dacl,
        })
    }
}

impl Encode for SecurityDescriptor {
    fn encode(&self, w: &mut Writer) {
        let mut control = self.control | SdControl::SELF_RELATIVE;
        if self.dacl.is_some() {
            control |= SdControl::DACL_PRESENT;
        } else {
            control &= !SdControl::DACL_PRESENT;
        }
        let mut off = 20usize;
        let mut place = |size: Option<usize>| match size {
            Some(s) => {
                let o = off;
                off += s;
                sat_u32(o)
            }
            None => 0,
        };
        let owner_off = place(self.owner.as_ref().map(Sid::size));
        let group_off = place(self.group.as_ref().map(Sid::size));
        let dacl_off = place(self.dacl.as_ref().map(Acl::size));
        w.u8(1);
        w.u8(0);
        w.u16(control);
        w.u32(owner_off);
        w.u32(group_off);
        w.u32(0);
        w.u32(dacl_off);
        if let Some(s) = &self.owner {
            s.encode(w);
        }
        if let Some(s) = &self.group {
            s.encode(w);
        }
        if let Some(a) = &self.dacl {
            a.encode(w);
        }
    }
}
