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
    /// Inspect the keytab: `list` its entries, `check` it against the names the server answers to.
    #[command(subcommand)]
    Keytab(KeytabCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the live sessions from the server's status file.
    Sessions(SessionsArgs),
}

/// `rsmbd keytab ...`.
#[derive(Debug, Subcommand)]
pub enum KeytabCommand {
    /// One line per entry: principal, kvno, enctype, timestamp.
    List {
        /// Keytab file (default: the config's `keytab`).
        #[arg(long)]
        keytab: Option<PathBuf>,
        /// TOML configuration file naming the keytab.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// For every name the server answers to, is there a usable cifs/<name> key? Exit status 1
    /// on any warning.
    Check {
        /// Where the listen addresses' names are looked up.
        #[arg(long, default_value = "/etc/hosts")]
        hosts_file: PathBuf,
        /// The server's configuration (same flags as `serve`).
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
}

/// `rsmbd config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate every key, the shares' directories and the keytab; print the effective
    /// configuration. Exit status 1 on an error.
    Check(ServeArgs),
}

/// `rsmbd sessions`.
#[derive(Debug, clap::Args)]
pub struct SessionsArgs {
    /// The status file (default: the config's `status_file`).
    #[arg(long)]
    pub status_file: Option<PathBuf>,
    /// TOML configuration file naming the status file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print the raw JSON instead of a table.
    #[arg(long)]
    pub json: bool,
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
    /// Accept rc4-hmac (23) Kerberos tickets (off by default).
    #[arg(long)]
    pub allow_rc4: bool,
    /// Accepted Kerberos enctypes, comma-separated MIT names (default: the four AES ones).
    #[arg(long, value_delimiter = ',')]
    pub enctypes: Option<Vec<String>>,
    /// Write the live sessions to FILE as JSON (read by `rsmbd sessions`).
    #[arg(long)]
    pub status_file: Option<PathBuf>,
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
        if self.allow_rc4 {
            config.allow_rc4 = true;
        }
        if let Some(e) = self.enctypes {
            config.enctypes = e;
        }
        if let Some(f) = self.status_file {
            config.status_file = Some(f);
        }
        config.validate()?;
        Ok(config)
    }
}

/// Reads a TOML config file (without flags on top, without validating).
pub fn read_config(path: &std::path::Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
    Config::from_toml(&text)
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
