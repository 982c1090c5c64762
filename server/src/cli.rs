//! Command line: `rsmbd serve` with flags that mirror the configuration keys.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, parse_share_flag};

/// rsmbd: an SMB2/3 file server whose centrepiece is Kerberos session setup.
#[derive(Debug, Parser)]
#[command(name = "rsmbd", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Print an `ntlm_users` line for USER; the password is read from stdin.
    NtlmHash {
        /// NTLM user name (optionally `user@REALM`: the session's principal).
        user: String,
    },
}

/// `rsmbd serve`: each flag overrides the config key of the same name.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Listen address ADDR:PORT (repeatable; default 0.0.0.0:445). Replaces the config's list.
    #[arg(long = "listen")]
    pub listen: Vec<SocketAddr>,
    /// Keytab with the cifs/<name> keys.
    #[arg(long)]
    pub keytab: Option<PathBuf>,
    /// A disk share NAME=PATH (repeatable; added to the config's shares).
    #[arg(long = "share")]
    pub shares: Vec<String>,
    /// Require signed sessions.
    #[arg(long)]
    pub require_signing: bool,
    /// Server name (srvsvc, logs, ServerGuid seed).
    #[arg(long)]
    pub server_name: Option<String>,
    /// Lowest dialect: 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1.
    #[arg(long)]
    pub min_dialect: Option<String>,
    /// Highest dialect.
    #[arg(long)]
    pub max_dialect: Option<String>,
    /// Encryption policy: off, enabled, desired, required.
    #[arg(long)]
    pub encrypt: Option<String>,
    /// 3.1.1 cipher preference, comma-separated (e.g. AES-256-GCM,AES-128-GCM).
    #[arg(long, value_delimiter = ',')]
    pub encryption_ciphers: Option<Vec<String>>,
    /// 3.1.1 signing preference, comma-separated (e.g. AES-128-CMAC,HMAC-SHA256).
    #[arg(long, value_delimiter = ',')]
    pub signing_algorithms: Option<Vec<String>>,
    /// Accept unencrypted requests on encrypting sessions and shares (RejectUnencryptedAccess
    /// off).
    #[arg(long)]
    pub allow_unencrypted: bool,
    /// Append each session's keys to FILE (created 0600) for Wireshark/tshark decryption.
    #[arg(long)]
    pub key_log: Option<PathBuf>,
    /// NTLMv2 password file for listeners with `ntlm = true`.
    #[arg(long)]
    pub ntlm_users: Option<PathBuf>,
    /// The `[limits]` keys that are worth a flag.
    #[command(flatten)]
    pub limits: LimitFlags,
}

/// Flags for the most-tuned `[limits]` keys (each overrides the key of the same name).
#[derive(Debug, Default, clap::Args)]
pub struct LimitFlags {
    /// limits.max_connections: connections open at once, server-wide.
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// limits.max_connections_per_client: connections open at once from one IP address.
    #[arg(long)]
    pub max_connections_per_client: Option<usize>,
    /// limits.max_unauthenticated: connections without an authenticated session.
    #[arg(long)]
    pub max_unauthenticated: Option<usize>,
    /// limits.unauth_timeout_secs: seconds a connection may stay unauthenticated.
    #[arg(long)]
    pub unauth_timeout_secs: Option<u64>,
    /// limits.idle_timeout_secs: seconds an authenticated connection may be idle (0 = never).
    #[arg(long)]
    pub idle_timeout_secs: Option<u64>,
    /// limits.shutdown_grace_secs: seconds SIGTERM waits for in-flight requests.
    #[arg(long)]
    pub shutdown_grace_secs: Option<u64>,
}

impl LimitFlags {
    fn apply(self, l: &mut crate::limits::Limits) {
        let Self {
            max_connections,
            max_connections_per_client,
            max_unauthenticated,
            unauth_timeout_secs,
            idle_timeout_secs,
            shutdown_grace_secs,
        } = self;
        l.max_connections = max_connections.unwrap_or(l.max_connections);
        l.max_connections_per_client =
            max_connections_per_client.unwrap_or(l.max_connections_per_client);
        l.max_unauthenticated = max_unauthenticated.unwrap_or(l.max_unauthenticated);
        l.unauth_timeout_secs = unauth_timeout_secs.unwrap_or(l.unauth_timeout_secs);
        l.idle_timeout_secs = idle_timeout_secs.unwrap_or(l.idle_timeout_secs);
        l.shutdown_grace_secs = shutdown_grace_secs.unwrap_or(l.shutdown_grace_secs);
    }
}

impl ServeArgs {
    /// Loads the config file (if any) and applies the flags on top.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
                Config::from_toml(&text)?
            }
            None => Config::default(),
        };
        if !self.listen.is_empty() {
            config.listen = self.listen;
            config.listeners.clear();
        }
        if let Some(p) = self.ntlm_users {
            config.ntlm_users = Some(p);
        }
        if let Some(k) = self.keytab {
            config.keytab = Some(k);
        }
        for s in &self.shares {
            config.shares.push(parse_share_flag(s)?);
        }
        if self.require_signing {
            config.require_signing = true;
        }
        if let Some(n) = self.server_name {
            config.server_name = n;
        }
        if let Some(d) = self.min_dialect {
            config.min_dialect = d;
        }
        if let Some(d) = self.max_dialect {
            config.max_dialect = d;
        }
        if let Some(e) = self.encrypt {
            config.encrypt = e;
        }
        if let Some(a) = self.signing_algorithms {
            config.signing_algorithms = a;
        }
        if let Some(c) = self.encryption_ciphers {
            config.encryption_ciphers = c;
        }
        if self.allow_unencrypted {
            config.reject_unencrypted = false;
        }
        if let Some(k) = self.key_log {
            config.key_log = Some(k);
        }
        self.limits.apply(&mut config.limits);
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn limit_flags_override_the_limits_table() {
        let cli = Cli::try_parse_from([
            "rsmbd",
            "serve",
            "--keytab",
            "/k",
            "--max-connections",
            "5",
            "--unauth-timeout-secs",
            "7",
            "--shutdown-grace-secs",
            "3",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve expected");
        };
        let config = args.into_config().unwrap();
        assert_eq!(config.limits.max_connections, 5);
        assert_eq!(config.limits.unauth_timeout_secs, 7);
        assert_eq!(config.limits.shutdown_grace_secs, 3);
        assert_eq!(
            config.limits.idle_timeout_secs,
            crate::limits::Limits::default().idle_timeout_secs
        );
    }
}
