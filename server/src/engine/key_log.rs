//! The opt-in key log (`--key-log FILE`): one line per session with the SessionId and the
//! session, signing and both encryption keys, so a learner can decrypt a capture of rsmbd's
//! own traffic. Off by default; the file is created 0600 and only ever appended to.
//!
//! Each line is a ready-to-paste entry for Wireshark's SMB2 "Secret session keys" table
//! (`smb2_seskey_list` UAT: Session ID, Session Key, Server-to-Client, Client-to-Server; hex
//! byte fields, unquoted as in the UAT file; the Session ID as its 8 bytes appear on the wire,
//! little-endian), preceded by a comment line naming the other keys:
//!
//! ```text
//! # rsmbd session_id=0x... cipher=AES-256-GCM signing_key=... application_key=...
//! 0100000000a0b1c2,<session key>,<S2C key>,<C2S key>
//! ```
//!
//! Use it with `tshark -o "uat:smb2_seskey_list:<the line>"`, or append the lines to
//! `smb2_seskey_list` in a Wireshark profile directory.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;

/// An open key log.
#[derive(Debug)]
pub struct KeyLog {
    file: Mutex<File>,
}

/// The keys of one session to log.
#[derive(Debug)]
pub struct LoggedKeys<'a> {
    /// SessionId.
    pub session_id: u64,
    /// Cipher name, or "-".
    pub cipher: &'a str,
    /// Session.SessionKey (16 bytes).
    pub session_key: &'a [u8],
    /// Session.SigningKey.
    pub signing_key: &'a [u8],
    /// Session.ApplicationKey.
    pub application_key: &'a [u8],
    /// Server-to-client (Session.EncryptionKey).
    pub s2c: &'a [u8],
    /// Client-to-server (Session.DecryptionKey).
    pub c2s: &'a [u8],
}

impl KeyLog {
    /// Opens (creating 0600, appending) the key log.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("key_log {}", path.display()))?;
        tracing::warn!(target: "rsmbd::session", "key log enabled: every session's keys are written to {}", path.display());
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    /// Appends one session's entry; failures are logged, never fatal.
    pub fn write(&self, k: &LoggedKeys<'_>) {
        let line = format_entry(k);
        let Ok(mut f) = self.file.lock() else { return };
        if let Err(e) = f.write_all(line.as_bytes()) {
            tracing::warn!(target: "rsmbd::session", "key log write failed: {e}");
        }
    }
}

/// A channel bound to an existing session (MS-SMB2 3.3.5.5.3): its own session key and
/// Channel.SigningKey. Only a comment line: the session's UAT line (cipher keys) stays the one
/// Wireshark uses, since every channel encrypts with the session's keys.
pub fn format_channel(
    session_id: u64,
    client: &str,
    session_key: &[u8],
    signing_key: &[u8],
) -> String {
    format!(
        "# rsmbd channel session_id={session_id:#x} client={client} session_key={} signing_key={}\n",
        hex(session_key),
        hex(signing_key),
    )
}

impl KeyLog {
    /// Appends a bound channel's keys ([`format_channel`]); failures are logged, never fatal.
    pub fn write_channel(
        &self,
        session_id: u64,
        client: &str,
        session_key: &[u8],
        signing_key: &[u8],
    ) {
        let line = format_channel(session_id, client, session_key, signing_key);
        let Ok(mut f) = self.file.lock() else { return };
        if let Err(e) = f.write_all(line.as_bytes()) {
            tracing::warn!(target: "rsmbd::session", "key log write failed: {e}");
        }
    }
}

/// The two lines for one session.
///
/// For the AES-256 ciphers the UAT line leaves the Session Key field empty and the comment line
/// carries it: given a session key, Wireshark up to at least 4.0 derives the encryption keys
/// itself, as 128-bit keys, and ignores the 32-byte ones (checked with Debian 12's tshark
/// 4.0.17: the same capture decodes with the field empty and fails with it filled).
pub fn format_entry(k: &LoggedKeys<'_>) -> String {
    let wide = k.s2c.len() == 32 || k.c2s.len() == 32;
    let uat_session_key = if wide {
        String::new()
    } else {
        hex(k.session_key)
    };
    format!(
        "# rsmbd session_id={:#x} cipher={} session_key={} signing_key={} application_key={}\n{},{},{},{}\n",
        k.session_id,
        k.cipher,
        hex(k.session_key),
        hex(k.signing_key),
        hex(k.application_key),
        hex(&k.session_id.to_le_bytes()),
        uat_session_key,
        hex(k.s2c),
        hex(k.c2s),
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn entry_is_a_wireshark_uat_line_with_the_wire_order_session_id() {
        let e = format_entry(&LoggedKeys {
            session_id: 0x0008_E400_1400_0011, // the MS 3.0 blog session
            cipher: "AES-128-CCM",
            session_key: &[0xab; 16],
            signing_key: &[1; 16],
            application_key: &[2; 16],
            s2c: &[3; 16],
            c2s: &[4; 16],
        });
        let uat = e.lines().nth(1).unwrap();
        assert!(uat.starts_with("1100001400e40800,abababab"));
        assert_eq!(uat.split(',').count(), 4);
        assert!(uat.ends_with(&format!(",{}", "04".repeat(16))));
    }

    #[test]
    fn aes256_entry_leaves_the_session_key_to_the_comment() {
        let e = format_entry(&LoggedKeys {
            session_id: 1,
            cipher: "AES-256-GCM",
            session_key: &[0xab; 16],
            signing_key: &[1; 16],
            application_key: &[2; 16],
            s2c: &[3; 32],
            c2s: &[4; 32],
        });
        let mut lines = e.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .contains(&format!("session_key={}", "ab".repeat(16)))
        );
        let fields: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(fields.len(), 4);
        assert_eq!(fields[1], "");
        assert_eq!(fields[2], "03".repeat(32));
    }

    #[test]
    fn channel_entry_is_a_comment_with_both_keys() {
        let e = format_channel(0x11, "192.0.2.7:445", &[0xab; 16], &[0xcd; 16]);
        assert_eq!(e.lines().count(), 1);
        assert!(e.starts_with("# rsmbd channel session_id=0x11 client=192.0.2.7:445"));
        assert!(e.contains(&format!("session_key={}", "ab".repeat(16))));
        assert!(
            e.trim_end()
                .ends_with(&format!("signing_key={}", "cd".repeat(16)))
        );
    }

    #[test]
    fn file_is_created_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.log");
        let log = KeyLog::open(&p).unwrap();
        log.write(&LoggedKeys {
            session_id: 1,
            cipher: "-",
            session_key: &[0; 16],
            signing_key: &[0; 16],
            application_key: &[0; 16],
            s2c: &[],
            c2s: &[],
        });
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&p).unwrap().lines().count(), 2);
    }
}
