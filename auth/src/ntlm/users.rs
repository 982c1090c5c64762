//! The NTLM password file: one `name:<32 hex digits of the NT hash>` line per user (`#`
//! comments and blank lines allowed). `name` is what the session reports as its principal;
//! the part before an `@` is the NTLM user name, matched case-insensitively as Windows does
//! (`alice@EXAMPLE.TEST:…` lets `valid_users = ["alice@EXAMPLE.TEST"]` cover both mechanisms).
//! The server reads the file; this module only parses text.

use std::collections::HashMap;
use std::fmt;

use md4::{Digest, Md4};
use zeroize::{Zeroize, Zeroizing};

/// NT hash (MS-NLMP 3.3.1 NTOWFv1): MD4 of the UTF-16LE password.
pub fn nt_hash(password: &str) -> [u8; 16] {
    let text = Zeroizing::new(super::utf16le(password));
    Md4::digest(&*text).into()
}

/// One user's entry.
struct Entry {
    principal: String,
    hash: [u8; 16],
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.hash.zeroize();
    }
}

/// The users NTLM can log on, keyed by the lower-cased NTLM user name.
pub struct NtUsers {
    by_name: HashMap<String, Entry>,
}

impl fmt::Debug for NtUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NtUsers({} users)", self.by_name.len())
    }
}

fn unhex(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

impl NtUsers {
    /// Parses the file's text; an error names the line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut by_name = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let lineno = n + 1;
            let (name, hex) = line
                .rsplit_once(':')
                .ok_or_else(|| format!("line {lineno}: expected name:<32 hex digits>"))?;
            let hash = unhex(hex.trim()).ok_or_else(|| {
                format!(
                    "line {lineno}: the NT hash must be 32 hex digits (rsmbd ntlm-hash makes them)"
                )
            })?;
            let principal = name.trim().to_string();
            let user = principal
                .split('@')
                .next()
                .unwrap_or_default()
                .to_lowercase();
            if user.is_empty() {
                return Err(format!("line {lineno}: empty user name"));
            }
            if by_name
                .insert(user.clone(), Entry { principal, hash })
                .is_some()
            {
                return Err(format!("line {lineno}: user {user:?} appears twice"));
            }
        }
        Ok(Self { by_name })
    }

    /// The principal and NT hash for an NTLM user name, if known.
    pub fn lookup(&self, user: &str) -> Option<(&str, &[u8; 16])> {
        self.by_name
            .get(&user.to_lowercase())
            .map(|e| (e.principal.as_str(), &e.hash))
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}
