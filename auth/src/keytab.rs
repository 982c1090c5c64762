//! MIT keytab file format (versions 0x0501 and 0x0502), as documented in MIT krb5's
//! `doc/formats/keytab_file_format.rst`. Parsing only takes bytes: the server reads the file.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::enctype_name;

/// Why a keytab could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeytabError {
    /// The file does not start with 0x05 0x01 or 0x05 0x02.
    #[error(
        "not an MIT keytab (bad version bytes {0:02x}{1:02x}); create it with ktutil or kadmin ktadd"
    )]
    BadVersion(u8, u8),
    /// A record is cut short or its fields overrun the record size.
    #[error("keytab is truncated or corrupt at byte offset {0}; re-export it with kadmin ktadd")]
    Truncated(usize),
}

/// One keytab entry: a principal's key for one enctype and kvno. Key bytes are wiped on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct KeytabEntry {
    /// Realm bytes (UTF-8 in practice).
    #[zeroize(skip)]
    pub realm: Vec<u8>,
    /// Principal name components (`cifs`, `host.example.test`).
    #[zeroize(skip)]
    pub components: Vec<Vec<u8>>,
    /// Name type (1 principal, 2 srv-inst, 3 srv-hst); 1 for version 0x0501 files.
    #[zeroize(skip)]
    pub name_type: u32,
    /// Seconds since the epoch when the entry was written.
    #[zeroize(skip)]
    pub timestamp: u32,
    /// Key version number (the 32-bit trailer when present and non-zero, else the 8-bit field).
    #[zeroize(skip)]
    pub kvno: u32,
    /// Enctype number.
    #[zeroize(skip)]
    pub enctype: i32,
    /// Key bytes.
    pub key: Vec<u8>,
}

impl KeytabEntry {
    /// `comp1/comp2@REALM`.
    pub fn principal_text(&self) -> String {
        let name: Vec<String> = self
            .components
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        format!(
            "{}@{}",
            name.join("/"),
            String::from_utf8_lossy(&self.realm)
        )
    }
}

impl fmt::Debug for KeytabEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} kvno {} {}",
            self.principal_text(),
            self.kvno,
            enctype_name(self.enctype)
        )
    }
}

/// A parsed keytab.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keytab {
    entries: Vec<KeytabEntry>,
}

/// Big-endian (0x0502) or native little-endian (0x0501 from x86 writers) cursor over one record.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Absolute offset of `buf[0]` in the file, for error messages.
    base: usize,
    big_endian: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], KeytabError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(KeytabError::Truncated(self.base + self.pos))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(KeytabError::Truncated(self.base + self.pos))?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, KeytabError> {
        self.take(1)?
            .first()
            .copied()
            .ok_or(KeytabError::Truncated(self.base + self.pos))
    }
    fn u16(&mut self) -> Result<u16, KeytabError> {
        let b: [u8; 2] = self
            .take(2)?
            .try_into()
            .map_err(|_| KeytabError::Truncated(self.base + self.pos))?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }
    fn u32(&mut self) -> Result<u32, KeytabError> {
        let b: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| KeytabError::Truncated(self.base + self.pos))?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    fn counted(&mut self) -> Result<Vec<u8>, KeytabError> {
        let n = self.u16()?;
        Ok(self.take(usize::from(n))?.to_vec())
    }
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
}

impl Keytab {
    /// Parse a keytab file's bytes. Holes (negative record sizes) are skipped; a zero size or
    /// the end of the buffer ends the file. Never panics on malformed input.
    pub fn parse(bytes: &[u8]) -> Result<Keytab, KeytabError> {
        let big_endian = match bytes {
            [0x05, 0x02, ..] => true,
            [0x05, 0x01, ..] => false,
            [a, b, ..] => return Err(KeytabError::BadVersion(*a, *b)),
            _ => return Err(KeytabError::Truncated(0)),
        };
        let v1 = !big_endian;
        let mut file = Reader {
            buf: bytes,
            pos: 2,
            base: 0,
            big_endian,
        };
        let mut entries = Vec::new();
        while file.remaining() > 0 {
            if file.remaining() < 4 {
                return Err(KeytabError::Truncated(file.pos));
            }
            let size = file.u32()? as i32;
            if size == 0 {
                break;
            }
            let len = size.unsigned_abs() as usize;
            let start = file.pos;
            let record = file.take(len)?;
            if size < 0 {
                continue; // a hole left by a deleted entry
            }
            entries.push(Self::parse_entry(
                Reader {
                    buf: record,
                    pos: 0,
                    base: start,
                    big_endian,
                },
                v1,
            )?);
        }
        Ok(Keytab { entries })
    }

    fn parse_entry(mut r: Reader<'_>, v1: bool) -> Result<KeytabEntry, KeytabError> {
        let mut count = r.u16()?;
        if v1 {
            // Version 0x0501 counts the realm as a component.
            count = count.saturating_sub(1);
        }
        let realm = r.counted()?;
        let mut components = Vec::new();
        for _ in 0..count {
            components.push(r.counted()?);
        }
        let name_type = if v1 { 1 } else { r.u32()? };
        let timestamp = r.u32()?;
        let kvno8 = r.u8()?;
        let enctype = i32::from(r.u16()? as i16);
        let key = r.counted()?;
        // Optional 32-bit kvno trailer: used when present and non-zero.
        let kvno = if r.remaining() >= 4 {
            match r.u32()? {
                0 => u32::from(kvno8),
                k => k,
            }
        } else {
            u32::from(kvno8)
        };
        Ok(KeytabEntry {
            realm,
            components,
            name_type,
            timestamp,
            kvno,
            enctype,
            key,
        })
    }

    /// A keytab from entries (tests, or a server that builds keys in memory).
    pub fn from_entries(entries: Vec<KeytabEntry>) -> Self {
        Self { entries }
    }

    /// All entries in file order.
    pub fn entries(&self) -> &[KeytabEntry] {
        &self.entries
    }

    /// Serialize as version 0x0502 (with the 32-bit kvno trailer), e.g. to write test keytabs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0x05, 0x02];
        for e in &self.entries {
            let mut rec = Vec::new();
            let put = |rec: &mut Vec<u8>, b: &[u8]| {
                rec.extend_from_slice(&(b.len() as u16).to_be_bytes());
                rec.extend_from_slice(b);
            };
            rec.extend_from_slice(&(e.components.len() as u16).to_be_bytes());
            put(&mut rec, &e.realm);
            for c in &e.components {
                put(&mut rec, c);
            }
            rec.extend_from_slice(&e.name_type.to_be_bytes());
            rec.extend_from_slice(&e.timestamp.to_be_bytes());
            rec.push((e.kvno & 0xff) as u8);
            rec.extend_from_slice(&(e.enctype as i16).to_be_bytes());
            put(&mut rec, &e.key);
            rec.extend_from_slice(&e.kvno.to_be_bytes());
            out.extend_from_slice(&(rec.len() as u32).to_be_bytes());
            out.extend(rec);
        }
        out
    }

    /// One line per (principal, kvno) with its enctypes, for start-up logs (R5), e.g.
    /// `cifs/h.example.test@EXAMPLE.TEST kvno 3 [aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96]`.
    pub fn summary(&self) -> Vec<String> {
        let mut groups: Vec<(String, u32, Vec<&'static str>)> = Vec::new();
        for e in &self.entries {
            let p = e.principal_text();
            match groups
                .iter_mut()
                .find(|(gp, k, _)| *gp == p && *k == e.kvno)
            {
                Some((_, _, names)) => names.push(enctype_name(e.enctype)),
                None => groups.push((p, e.kvno, vec![enctype_name(e.enctype)])),
            }
        }
        groups
            .into_iter()
            .map(|(p, k, n)| format!("{p} kvno {k} [{}]", n.join(", ")))
            .collect()
    }

    /// True if every key is RC4 (rc4-hmac): worth a start-up warning, modern Windows refuses it.
    pub fn is_rc4_only(&self) -> bool {
        !self.entries.is_empty() && self.entries.iter().all(|e| e.enctype == 23)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    /// A keytab written byte by byte (not by `to_bytes`), with a hole and an 8-bit-only kvno.
    fn hand_built() -> Vec<u8> {
        let mut f = vec![0x05, 0x02];
        let mut rec = Vec::new();
        rec.extend_from_slice(&[0x00, 0x02]); // 2 components
        rec.extend_from_slice(&[0x00, 0x0c]);
        rec.extend_from_slice(b"EXAMPLE.TEST");
        rec.extend_from_slice(&[0x00, 0x04]);
        rec.extend_from_slice(b"cifs");
        rec.extend_from_slice(&[0x00, 0x11]);
        rec.extend_from_slice(b"smb1.example.test");
        rec.extend_from_slice(&[0, 0, 0, 3]); // NT-SRV-HST
        rec.extend_from_slice(&[0x65, 0x00, 0x00, 0x01]); // timestamp
        rec.push(7); // kvno8
        rec.extend_from_slice(&[0x00, 0x12]); // aes256
        rec.extend_from_slice(&[0x00, 0x20]);
        rec.extend_from_slice(&[0x42; 32]);
        f.extend_from_slice(&(rec.len() as u32).to_be_bytes());
        f.extend_from_slice(&rec);
        // A hole of 5 bytes.
        f.extend_from_slice(&(-5i32).to_be_bytes());
        f.extend_from_slice(&[0xee; 5]);
        // Second entry with a 32-bit kvno of 300 (8-bit field wraps to 44).
        let mut rec2 = rec.clone();
        let kvno_pos = rec2.len() - 2 - 2 - 32 - 1;
        rec2[kvno_pos] = 44;
        rec2.extend_from_slice(&300u32.to_be_bytes());
        f.extend_from_slice(&(rec2.len() as u32).to_be_bytes());
        f.extend_from_slice(&rec2);
        f
    }

    #[test]
    fn parses_hand_built_keytab() {
        let kt = Keytab::parse(&hand_built()).unwrap();
        assert_eq!(kt.entries().len(), 2);
        let e = &kt.entries()[0];
        assert_eq!(e.principal_text(), "cifs/smb1.example.test@EXAMPLE.TEST");
        assert_eq!((e.name_type, e.kvno, e.enctype), (3, 7, 18));
        assert_eq!(e.key, vec![0x42; 32]);
        assert_eq!(kt.entries()[1].kvno, 300);
        assert_eq!(
            kt.summary(),
            vec![
                "cifs/smb1.example.test@EXAMPLE.TEST kvno 7 [aes256-cts-hmac-sha1-96]".to_string(),
                "cifs/smb1.example.test@EXAMPLE.TEST kvno 300 [aes256-cts-hmac-sha1-96]"
                    .to_string(),
            ]
        );
        assert!(!kt.is_rc4_only());
        // Writer and parser agree.
        assert_eq!(Keytab::parse(&kt.to_bytes()).unwrap(), kt);
    }

    #[test]
    fn version_0501_little_endian_counts_realm() {
        let mut f = vec![0x05, 0x01];
        let mut rec = Vec::new();
        rec.extend_from_slice(&2u16.to_le_bytes()); // realm + 1 component
        rec.extend_from_slice(&1u16.to_le_bytes());
        rec.extend_from_slice(b"R");
        rec.extend_from_slice(&5u16.to_le_bytes());
        rec.extend_from_slice(b"alice");
        rec.extend_from_slice(&0u32.to_le_bytes()); // timestamp (no name type in v1)
        rec.push(2);
        rec.extend_from_slice(&17u16.to_le_bytes());
        rec.extend_from_slice(&16u16.to_le_bytes());
        rec.extend_from_slice(&[1; 16]);
        f.extend_from_slice(&(rec.len() as u32).to_le_bytes());
        f.extend_from_slice(&rec);
        let kt = Keytab::parse(&f).unwrap();
        assert_eq!(kt.entries()[0].principal_text(), "alice@R");
        assert_eq!((kt.entries()[0].kvno, kt.entries()[0].enctype), (2, 17));
    }

    #[test]
    fn truncated_at_every_length_never_panics() {
        let f = hand_built();
        for cut in 0..f.len() {
            let r = Keytab::parse(&f[..cut]);
            // A cut exactly at a record boundary is a valid shorter keytab; anything else errors.
            if let Ok(kt) = r {
                assert!(kt.entries().len() < 2, "cut {cut}");
            }
        }
    }

    #[test]
    fn malformed_lengths_are_errors() {
        assert_eq!(Keytab::parse(&[0x05]), Err(KeytabError::Truncated(0)));
        assert_eq!(
            Keytab::parse(&[0x04, 0x02]),
            Err(KeytabError::BadVersion(4, 2))
        );
        // Huge positive record size.
        assert!(Keytab::parse(&[0x05, 0x02, 0x7f, 0xff, 0xff, 0xff, 0]).is_err());
        // Huge hole (i32::MIN).
        assert!(Keytab::parse(&[0x05, 0x02, 0x80, 0, 0, 0]).is_err());
        // Record whose inner key length overruns the record.
        let mut f = hand_built();
        let key_len_pos = 2 + 4 + 2 + 2 + 12 + 2 + 4 + 2 + 17 + 4 + 4 + 1 + 2;
        f[key_len_pos] = 0xff;
        assert!(Keytab::parse(&f).is_err());
        // Empty keytab (header only) is valid and empty.
        assert!(Keytab::parse(&[0x05, 0x02]).unwrap().entries().is_empty());
    }
}
