//! Turning a validated [`Config`] into a running [`ServerContext`]: load the keytab, open the
//! share roots, and report what was loaded so a misconfiguration shows up at start, not at the
//! first refused logon.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rsmbd_auth::{AcceptorConfig, Keytab};
use rsmbd_share::registry::{ShareConfig, ShareKind, ShareRegistry};

use crate::config::Config;
use crate::engine::context::ServerContext;

/// Reads and parses a keytab file; the error names the file and the fix.
pub fn load_keytab(path: &Path) -> anyhow::Result<Keytab> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read keytab {}", path.display()))?;
    Keytab::parse(&bytes).map_err(|e| anyhow::anyhow!("keytab {}: {e}", path.display()))
}

/// The acceptor policy the config asks for, around `keytab`.
pub fn acceptor_config(config: &Config, keytab: Arc<Keytab>) -> anyhow::Result<AcceptorConfig> {
    let mut acceptor = AcceptorConfig::new(keytab);
    acceptor.max_skew = Duration::from_secs(config.max_skew_secs);
    acceptor.allow_rc4 = config.allow_rc4;
    acceptor.enctypes = config.kerberos_enctypes()?;
    Ok(acceptor)
}

/// Loads everything the config names.
pub fn build_context(config: Config) -> anyhow::Result<ServerContext> {
    let keytab_path = config.keytab.clone().context("no keytab configured")?;
    let keytab = load_keytab(&keytab_path)?;
    for line in keytab.summary() {
        tracing::info!(target: "rsmbd", "keytab {}: {line}", keytab_path.display());
    }
    let mut acceptor = acceptor_config(&config, Arc::new(keytab))?;
    if let Some(path) = &config.ntlm_users {
        let users = crate::ntlm_users::load(path)?;
        tracing::info!(target: "rsmbd", "ntlm_users {}: {} users", path.display(), users.len());
        acceptor.ntlm_users = Some(Arc::new(users));
    }

    let shares = config
        .shares
        .iter()
        .map(|s| ShareConfig {
            name: s.name.clone(),
            kind: ShareKind::Disk {
                path: s.path.clone(),
            },
            comment: s.comment.clone(),
            valid_users: s.valid_users.clone(),
            read_only: s.read_only,
            encrypt_data: s.encrypt_data,
        })
        .collect();
    let registry = ShareRegistry::new(config.server_name.clone(), shares)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for s in &config.shares {
        tracing::info!(target: "rsmbd", "share {} -> {}{}", s.name, s.path.display(), if s.read_only { " (read-only)" } else { "" });
    }
    ServerContext::new(config, Arc::new(registry), Arc::new(acceptor))
}
