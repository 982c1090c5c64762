//! Loading `ntlm_users`, the NTLMv2 password file (format: `rsmbd_auth::ntlm::users`), and
//! `rsmbd ntlm-hash`, which makes its lines. NT hashes are password equivalents for NTLM, so a
//! file others can read is refused rather than used.

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, bail};
use rsmbd_auth::NtUsers;

/// Reads and parses the file; refuses one that is world-readable or world-writable.
pub fn load(path: &Path) -> anyhow::Result<NtUsers> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read ntlm_users {}", path.display()))?;
    let mode = meta.permissions().mode();
    if mode & 0o006 != 0 {
        bail!(
            "ntlm_users {} is accessible to every user (mode {:o}); its NT hashes are password equivalents: chmod 600 it",
            path.display(),
            mode & 0o777
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read ntlm_users {}", path.display()))?;
    NtUsers::parse(&text).map_err(|e| anyhow::anyhow!("ntlm_users {}: {e}", path.display()))
}

/// `rsmbd ntlm-hash USER`: reads the password from the first line of stdin and prints the
/// `USER:<NT hash>` line for `ntlm_users`.
pub fn hash_command(user: &str) -> anyhow::Result<()> {
    if user.is_empty() || user.contains(':') {
        bail!("user name must be non-empty and contain no ':'");
    }
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']);
    let hash: String = rsmbd_auth::ntlm::nt_hash(password)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("{user}:{hash}");
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn world_readable_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("rsmbd-ntlm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("users");
        std::fs::write(&p, "alice:a4f49c406510bdcab6824ee7c30fd852\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("chmod 600"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load(&p).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
