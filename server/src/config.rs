//! The server configuration: a TOML file (`--config`) whose keys the command-line flags mirror
//! and override. Everything is validated here, before any socket is opened, so a bad config
//! fails at start-up with a message that names the key.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use rsmbd_auth::AcceptorConfig;
use rsmbd_auth::crypto::Enctype;
use rsmbd_protocol::messages::negotiate::Dialect;
use serde::Deserialize;

use crate::limits::Limits;

/// Direct-TCP port for SMB2 (MS-SMB2 2.1).
pub const DEFAULT_PORT: u16 = 445;

/// The whole configuration, as read from TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Addresses to listen on (`ADDR:PORT`): shorthand for `[[listener]]` tables with the
    /// defaults. With neither, `0.0.0.0:445`. Use [`Config::listeners`] for the full list.
    #[serde(default)]
    pub listen: Vec<SocketAddr>,
    /// Listeners in table form, each with its own policy (`[[listener]]`).
    #[serde(default, rename = "listener")]
    pub listeners: Vec<ListenerSection>,
    /// NTLMv2 password file (`user:<NT hash hex>` lines, not world-readable); needed by any
    /// listener with `ntlm = true`.
    pub ntlm_users: Option<PathBuf>,
    /// The keytab holding a key for every SPN the server answers to (`cifs/<name>`).
    pub keytab: Option<PathBuf>,
    /// The name the server reports (srvsvc, logs); also seeds the stable ServerGuid.
    #[serde(default = "default_server_name")]
    pub server_name: String,
    /// Refuse sessions that are not signed (SMB2_NEGOTIATE_SIGNING_REQUIRED).
    #[serde(default)]
    pub require_signing: bool,
    /// Lowest dialect offered, e.g. "2.0.2".
    #[serde(default = "default_min_dialect")]
    pub min_dialect: String,
    /// Highest dialect offered, e.g. "3.1.1".
    #[serde(default = "default_max_dialect")]
    pub max_dialect: String,
    /// Allowed clock difference for Kerberos authenticators, in seconds (RFC 4120 default 300).
    #[serde(default = "default_max_skew")]
    pub max_skew_secs: u64,
    /// Largest READ/WRITE/IOCTL payload advertised (bytes). At least 64 KiB (MS-SMB2 3.2.5.2).
    #[serde(default = "default_max_io")]
    pub max_io_size: u32,
    /// Largest number of credits granted to one connection (MS-SMB2 3.3.1.2).
    #[serde(default = "default_max_credits")]
    pub max_credits: u16,
    /// Session encryption policy (MS-SMB2 Session.EncryptData): `off` (never offered),
    /// `enabled` (offered; used when the client asks), `desired` (every capable client's
    /// session is encrypted), `required` (clients that cannot encrypt are refused).
    #[serde(default = "default_encrypt")]
    pub encrypt: String,
    /// 3.1.1 cipher preference, most preferred first (AES-128-GCM, AES-128-CCM, AES-256-GCM,
    /// AES-256-CCM). 3.0 and 3.0.2 always use AES-128-CCM.
    #[serde(default = "default_encryption_ciphers")]
    pub encryption_ciphers: Vec<String>,
    /// 3.1.1 signing preference, most preferred first (AES-128-GMAC, AES-128-CMAC,
    /// HMAC-SHA256): the first one the client's SIGNING context offers is chosen.
    #[serde(default = "default_signing_algorithms")]
    pub signing_algorithms: Vec<String>,
    /// RejectUnencryptedAccess (MS-SMB2 3.3.1.5): an unencrypted request on an encrypting
    /// session or share gets STATUS_ACCESS_DENIED, and a client that cannot encrypt is refused
    /// an `encrypt_data` share.
    #[serde(default = "default_true")]
    pub reject_unencrypted: bool,
    /// Opt-in: append every session's keys to this file (created 0600) for Wireshark.
    pub key_log: Option<PathBuf>,
    /// Resource limits and the shutdown grace time (`[limits]`, see [`crate::limits`]).
    #[serde(default)]
    pub limits: Limits,
    /// How long an oplock or lease break waits for the client's acknowledgment before the
    /// server completes it (MS-SMB2 3.3.2.1/3.3.2.5; Windows waits 35 s), in milliseconds.
    #[serde(default = "default_oplock_break_timeout")]
    pub oplock_break_timeout_ms: u64,
    /// Advertise SMB2_GLOBAL_CAP_MULTI_CHANNEL (3.x) and let a client bind further connections
    /// to a session (MS-SMB2 3.3.5.5; Samba 4.15+ and Windows have it on by default).
    #[serde(default = "default_true")]
    pub multichannel: bool,
    /// The longest a durable open is kept after its client's connection drops, in seconds
    /// (MS-SMB2 3.3.5.9.10: caps a DH2Q Timeout; durable v1 opens keep 60 s, or this if
    /// lower). 0 keeps none: durable handles are then never granted.
    #[serde(default = "default_durable_handle_timeout")]
    pub durable_handle_timeout_secs: u64,
    /// Accept rc4-hmac (23) tickets even when `enctypes` does not list it (R5: off).
    #[serde(default)]
    pub allow_rc4: bool,
    /// Kerberos enctypes accepted for tickets and session keys, by MIT name
    /// (`aes256-cts-hmac-sha384-192`, ...). Default: the four AES enctypes (17, 18, 19, 20).
    #[serde(default = "default_enctypes")]
    pub enctypes: Vec<String>,
    /// Re-read the keytab when its file changes, checked every this many seconds (0: only on
    /// SIGHUP).
    #[serde(default = "default_keytab_poll")]
    pub keytab_poll_secs: u64,
    /// Write the live sessions here as JSON (read by `rsmbd sessions`).
    pub status_file: Option<PathBuf>,
    /// Shares.
    #[serde(default, rename = "share")]
    pub shares: Vec<ShareSection>,
    /// Realms whose principals may log on (exact); empty admits every realm.
    #[serde(default)]
    pub realms: Vec<String>,
    /// Principal or realm to local user mappings (see [`crate::identity`]).
    #[serde(default, rename = "identity")]
    pub identities: Vec<crate::identity::IdentityRule>,
    /// Named groups of principals, for `valid_users = ["@name"]`.
    #[serde(default, rename = "group")]
    pub groups: Vec<crate::identity::GroupSection>,
}

/// One `[[listener]]`: an address and what clients arriving on it may do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerSection {
    /// `ADDR:PORT`.
    pub address: SocketAddr,
    /// Accept NTLMv2 (users from `ntlm_users`) besides Kerberos; every NTLM session logs a
    /// warning naming the SPN that is probably missing.
    #[serde(default)]
    pub ntlm: bool,
    /// DNS names clients dial to reach this address (first = the name NTLM warnings and the
    /// NTLM CHALLENGE use when the client did not say which name it dialled).
    #[serde(default)]
    pub names: Vec<String>,
}

impl ListenerSection {
    /// A listener with the defaults (Kerberos only, no names).
    pub fn plain(address: SocketAddr) -> Self {
        Self {
            address,
            ntlm: false,
            names: Vec::new(),
        }
    }

    /// The name this listener answers to: its first configured name, else its IP address.
    pub fn name(&self) -> String {
        self.names
            .first()
            .cloned()
            .unwrap_or_else(|| self.address.ip().to_string())
    }
}

/// The `encrypt` policy (MS-SMB2 3.3.1.5 EncryptData).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptPolicy {
    /// Encryption is not negotiated at all.
    Off,
    /// Negotiated; a session is encrypted when the client encrypts (or a share asks).
    Enabled,
    /// Session.EncryptData for every client that can encrypt.
    Desired,
    /// Session.EncryptData, and clients that cannot encrypt are refused a session.
    Required,
}

/// One `[[share]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareSection {
    /// Share name as clients type it (`\\server\NAME`).
    pub name: String,
    /// Directory served.
    pub path: PathBuf,
    /// Description shown by `smbclient -L`.
    #[serde(default)]
    pub comment: String,
    /// Refuse writes.
    #[serde(default)]
    pub read_only: bool,
    /// Who may connect: principals (`user@REALM`, exact), `@group` ([[group]]) or SIDs from
    /// the PAC (`S-1-5-21-...`); absent = any authenticated principal.
    pub valid_users: Option<Vec<String>>,
    /// SMB2_SHAREFLAG_ENCRYPT_DATA: requests on this share must be encrypted.
    #[serde(default)]
    pub encrypt_data: bool,
}

fn default_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT))]
}
fn default_server_name() -> String {
    "RSMBD".to_string()
}
fn default_min_dialect() -> String {
    "2.0.2".to_string()
}
fn default_max_dialect() -> String {
    "3.1.1".to_string()
}
fn default_max_skew() -> u64 {
    300
}
fn default_max_io() -> u32 {
    8 * 1024 * 1024
}
fn default_encrypt() -> String {
    "enabled".to_string()
}
fn default_signing_algorithms() -> Vec<String> {
    rsmbd_share::crypto::SigningAlgorithm::ALL
        .iter()
        .map(|a| a.name().to_string())
        .collect()
}
fn default_encryption_ciphers() -> Vec<String> {
    rsmbd_share::crypto::encryption::Cipher::ALL
        .iter()
        .map(|c| c.name().to_string())
        .collect()
}
fn default_true() -> bool {
    true
}
fn default_max_credits() -> u16 {
    8192
}
fn default_oplock_break_timeout() -> u64 {
    35_000
}
fn default_durable_handle_timeout() -> u64 {
    300
}
fn default_enctypes() -> Vec<String> {
    AcceptorConfig::DEFAULT_ENCTYPES
        .iter()
        .map(|e| e.name().to_string())
        .collect()
}
fn default_keytab_poll() -> u64 {
    5
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            listeners: Vec::new(),
            ntlm_users: None,
            keytab: None,
            server_name: default_server_name(),
            require_signing: false,
            min_dialect: default_min_dialect(),
            max_dialect: default_max_dialect(),
            max_skew_secs: default_max_skew(),
            max_io_size: default_max_io(),
            max_credits: default_max_credits(),
            encrypt: default_encrypt(),
            encryption_ciphers: default_encryption_ciphers(),
            signing_algorithms: default_signing_algorithms(),
            reject_unencrypted: true,
            key_log: None,
            limits: Limits::default(),
            oplock_break_timeout_ms: default_oplock_break_timeout(),
            multichannel: true,
            durable_handle_timeout_secs: default_durable_handle_timeout(),
            allow_rc4: false,
            enctypes: default_enctypes(),
            keytab_poll_secs: default_keytab_poll(),
            status_file: None,
            shares: Vec::new(),
            realms: Vec::new(),
            identities: Vec::new(),
            groups: Vec::new(),
        }
    }
}

impl Config {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        toml::from_str(text).context("invalid configuration")
    }

    /// Every listener: `listen` entries (defaults) then `[[listener]]` tables; `0.0.0.0:445`
    /// when neither is given.
    pub fn listeners(&self) -> Vec<ListenerSection> {
        let mut out: Vec<ListenerSection> = self
            .listen
            .iter()
            .copied()
            .map(ListenerSection::plain)
            .chain(self.listeners.iter().cloned())
            .collect();
        if out.is_empty() {
            out = default_listen()
                .into_iter()
                .map(ListenerSection::plain)
                .collect();
        }
        out
    }

    /// Checks everything that can be checked without touching the network.
    pub fn validate(&self) -> anyhow::Result<()> {
        let listeners = self.listeners();
        let mut addrs = std::collections::HashSet::new();
        for l in &listeners {
            if !addrs.insert(l.address) {
                bail!(
                    "listener {} is configured twice (listen and [[listener]] together list every address once)",
                    l.address
                );
            }
            if l.names
                .iter()
                .any(|n| n.is_empty() || n.contains(['/', '\\', ' ']))
            {
                bail!("listener {}: names must be DNS names", l.address);
            }
        }
        if listeners.iter().any(|l| l.ntlm) && self.ntlm_users.is_none() {
            bail!("a listener has ntlm = true but no ntlm_users password file is configured");
        }
        if self.keytab.is_none() {
            bail!(
                "keytab: no keytab configured (use --keytab or `keytab = ...`): rsmbd accepts Kerberos only"
            );
        }
        let (min, max) = (self.min_dialect()?, self.max_dialect()?);
        if min > max {
            bail!(
                "min_dialect {} is above max_dialect {}",
                self.min_dialect,
                self.max_dialect
            );
        }
        if self.max_io_size < 65536 {
            bail!(
                "max_io_size must be at least 65536 (clients disconnect below it, MS-SMB2 3.2.5.2)"
            );
        }
        if self.max_credits == 0 {
            bail!("max_credits must be at least 1");
        }
        self.limits.validate()?;
        if self.oplock_break_timeout_ms == 0 {
            bail!("oplock_break_timeout_ms must be at least 1");
        }
        self.encrypt_policy()?;
        self.ciphers()?;
        self.signing_algorithms()?;
        self.kerberos_enctypes()?;
        let mut seen = std::collections::HashSet::new();
        for s in &self.shares {
            if s.name.is_empty() || s.name.contains(['\\', '/', ':']) {
                bail!("share name {:?} is not a valid share name", s.name);
            }
            if s.name.eq_ignore_ascii_case("IPC$") {
                bail!("share name IPC$ is reserved");
            }
            if !seen.insert(s.name.to_lowercase()) {
                bail!("share {:?} is defined twice", s.name);
            }
        }
        crate::identity::validate(self)?;
        Ok(())
    }

    /// The `encrypt` key, parsed.
    pub fn encrypt_policy(&self) -> anyhow::Result<EncryptPolicy> {
        Ok(match self.encrypt.to_ascii_lowercase().as_str() {
            "off" => EncryptPolicy::Off,
            "enabled" => EncryptPolicy::Enabled,
            "desired" => EncryptPolicy::Desired,
            "required" => EncryptPolicy::Required,
            other => bail!("encrypt {other:?}: expected off, enabled, desired or required"),
        })
    }

    /// The `encryption_ciphers` key, parsed (at least one, no duplicates).
    pub fn ciphers(&self) -> anyhow::Result<Vec<rsmbd_share::crypto::encryption::Cipher>> {
        let mut out = Vec::new();
        for name in &self.encryption_ciphers {
            let Some(c) = rsmbd_share::crypto::encryption::Cipher::from_name(name) else {
                bail!(
                    "encryption_ciphers: unknown cipher {name:?} (AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM)"
                );
            };
            if out.contains(&c) {
                bail!("encryption_ciphers: {name:?} listed twice");
            }
            out.push(c);
        }
        if out.is_empty() {
            bail!("encryption_ciphers: list at least one cipher (or set encrypt = \"off\")");
        }
        Ok(out)
    }

    /// The `signing_algorithms` key, parsed (at least one, no duplicates).
    pub fn signing_algorithms(&self) -> anyhow::Result<Vec<rsmbd_share::crypto::SigningAlgorithm>> {
        let mut out = Vec::new();
        for name in &self.signing_algorithms {
            let Some(a) = rsmbd_share::crypto::SigningAlgorithm::from_name(name) else {
                bail!(
                    "signing_algorithms: unknown algorithm {name:?} (AES-128-GMAC, AES-128-CMAC, HMAC-SHA256)"
                );
            };
            if out.contains(&a) {
                bail!("signing_algorithms: {name:?} listed twice");
            }
            out.push(a);
        }
        if out.is_empty() {
            bail!("signing_algorithms: list at least one algorithm");
        }
        Ok(out)
    }

    /// The `enctypes` key, parsed (at least one, no duplicates; `allow_rc4` adds rc4-hmac).
    /// MIT's names and aliases (`aes256-sha2`, `arcfour-hmac`) and numbers are accepted.
    pub fn kerberos_enctypes(&self) -> anyhow::Result<Vec<Enctype>> {
        let mut out = Vec::new();
        for name in &self.enctypes {
            let e = parse_enctype(name)?;
            if out.contains(&e) {
                bail!("enctypes: {name:?} listed twice");
            }
            out.push(e);
        }
        if out.is_empty() {
            bail!("enctypes: list at least one enctype (e.g. aes256-cts-hmac-sha1-96)");
        }
        if self.allow_rc4 && !out.contains(&Enctype::Rc4Hmac) {
            out.push(Enctype::Rc4Hmac);
        }
        Ok(out)
    }

    /// The lowest dialect offered.
    pub fn min_dialect(&self) -> anyhow::Result<Dialect> {
        parse_dialect(&self.min_dialect)
            .with_context(|| format!("min_dialect {:?}", self.min_dialect))
    }

    /// The highest dialect offered.
    pub fn max_dialect(&self) -> anyhow::Result<Dialect> {
        parse_dialect(&self.max_dialect)
            .with_context(|| format!("max_dialect {:?}", self.max_dialect))
    }
}

/// "2.0.2", "2.1", "3.0", "3.0.2", "3.1.1" (also Samba's "SMB2_02" … "SMB3_11").
pub fn parse_dialect(s: &str) -> anyhow::Result<Dialect> {
    Ok(match s.trim().to_ascii_uppercase().as_str() {
        "2.0.2" | "2.02" | "SMB2_02" => Dialect::SMB2_0_2,
        "2.1" | "2.10" | "SMB2_10" => Dialect::SMB2_1,
        "3.0" | "3.00" | "SMB3_00" => Dialect::SMB3_0,
        "3.0.2" | "3.02" | "SMB3_02" => Dialect::SMB3_0_2,
        "3.1.1" | "3.11" | "SMB3_11" => Dialect::SMB3_1_1,
        other => bail!("unknown dialect {other:?} (use 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1)"),
    })
}

/// An enctype by MIT name, alias or number. DES and 3DES are refused outright: they are
/// broken, and rsmbd does not implement them.
pub fn parse_enctype(s: &str) -> anyhow::Result<Enctype> {
    let n: i32 = match s.trim().to_ascii_lowercase().as_str() {
        "aes128-cts-hmac-sha1-96" | "aes128-cts" | "aes128-sha1" | "17" => 17,
        "aes256-cts-hmac-sha1-96" | "aes256-cts" | "aes256-sha1" | "18" => 18,
        "aes128-cts-hmac-sha256-128" | "aes128-sha2" | "19" => 19,
        "aes256-cts-hmac-sha384-192" | "aes256-sha2" | "20" => 20,
        "rc4-hmac" | "arcfour-hmac" | "arcfour-hmac-md5" | "23" => 23,
        d if d.starts_with("des") || d == "1" || d == "3" || d == "16" => {
            bail!("enctypes: {s:?} is DES/3DES, which rsmbd never accepts; use AES")
        }
        other => bail!(
            "enctypes: unknown enctype {other:?} (aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192, aes128-cts-hmac-sha256-128, rc4-hmac)"
        ),
    };
    Enctype::from_i32(n).with_context(|| format!("enctypes: {s:?} is not implemented"))
}

/// `NAME=PATH` from `--share`.
pub fn parse_share_flag(s: &str) -> anyhow::Result<ShareSection> {
    let (name, path) = s
        .split_once('=')
        .with_context(|| format!("--share {s:?}: expected NAME=PATH"))?;
    Ok(ShareSection {
        name: name.to_string(),
        path: PathBuf::from(path),
        comment: String::new(),
        read_only: false,
        valid_users: None,
        encrypt_data: false,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn full_file_parses_and_validates() {
        let c = Config::from_toml(
            r#"
            listen = ["127.0.0.2:445", "127.0.0.3:1445"]
            keytab = "/k"
            require_signing = true
            min_dialect = "2.1"
            [[share]]
            name = "data"
            path = "/srv"
            valid_users = ["alice@EXAMPLE.TEST"]
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.listen.len(), 2);
        assert_eq!(c.min_dialect().unwrap(), Dialect::SMB2_1);
        assert_eq!(
            c.shares[0].valid_users.as_deref(),
            Some(&["alice@EXAMPLE.TEST".to_string()][..])
        );
    }

    #[test]
    fn enctypes_default_to_aes_and_rc4_needs_a_switch() {
        let mut c = Config::default();
        assert_eq!(
            c.kerberos_enctypes().unwrap(),
            AcceptorConfig::DEFAULT_ENCTYPES.to_vec()
        );
        c.allow_rc4 = true;
        assert!(c.kerberos_enctypes().unwrap().contains(&Enctype::Rc4Hmac));
        let c = Config::from_toml(r#"enctypes = ["aes256-cts-hmac-sha384-192", "arcfour-hmac"]"#)
            .unwrap();
        assert_eq!(
            c.kerberos_enctypes().unwrap(),
            vec![Enctype::Aes256CtsHmacSha384192, Enctype::Rc4Hmac]
        );
    }

    #[test]
    fn listener_tables_and_the_listen_shorthand() {
        let c = Config::from_toml(
            r#"
            listen = ["127.0.0.2:445"]
            keytab = "/k"
            ntlm_users = "/etc/rsmbd/ntlm_users"
            [[listener]]
            address = "127.0.0.3:445"
            ntlm = true
            names = ["data2.example.test"]
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        let l = c.listeners();
        assert_eq!(l.len(), 2);
        assert!(!l[0].ntlm && l[0].name() == "127.0.0.2");
        assert!(l[1].ntlm && l[1].name() == "data2.example.test");
        // Neither form: the default address.
        let c = Config::from_toml("keytab = \"/k\"").unwrap();
        assert_eq!(
            c.listeners(),
            vec![ListenerSection::plain("0.0.0.0:445".parse().unwrap())]
        );
        // ntlm without a password file, and an address twice, are refused.
        let c = Config::from_toml(
            "keytab = \"/k\"\n[[listener]]\naddress = \"127.0.0.3:445\"\nntlm = true",
        )
        .unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("ntlm_users"));
        let c = Config::from_toml(
            "keytab = \"/k\"\nlisten = [\"127.0.0.3:445\"]\n[[listener]]\naddress = \"127.0.0.3:445\"",
        )
        .unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn mistakes_are_named() {
        assert!(
            Config::from_toml("listn = []").is_err(),
            "unknown keys are refused"
        );
        let mut c = Config {
            keytab: Some("/k".into()),
            ..Config::default()
        };
        c.min_dialect = "3.1.1".into();
        c.max_dialect = "2.1".into();
        assert!(c.validate().unwrap_err().to_string().contains("above"));
        c.max_dialect = "3.1.1".into();
        c.max_io_size = 1000;
        assert!(c.validate().is_err());
        assert!(parse_share_flag("nopath").is_err());
        c.max_io_size = 65536;
        c.enctypes = vec!["des-cbc-crc".into()];
        assert!(c.validate().unwrap_err().to_string().contains("DES"));
        c.enctypes = vec!["aes256-sha1".into(), "18".into()];
        assert!(c.validate().unwrap_err().to_string().contains("twice"));
        assert!(parse_dialect("SMB1").is_err());
    }
}
