//! What every connection shares: the validated configuration, the share registry, the Kerberos
//! acceptor's keytab and replay cache, and the stable ServerGuid.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use rsmbd_auth::{AcceptorConfig, ReplayCache};
use rsmbd_protocol::messages::negotiate::Dialect;
use rsmbd_share::registry::ShareRegistry;
use sha2::{Digest, Sha256};

use rsmbd_share::crypto::encryption::Cipher;

use crate::config::{Config, EncryptPolicy};

/// Server-wide state, shared by every connection behind an `Arc`.
#[derive(Debug)]
pub struct ServerContext {
    /// The validated configuration.
    pub config: Config,
    /// Shares by name (IPC$ included).
    pub registry: Arc<ShareRegistry>,
    /// The keytab and acceptor policy; swapped whole when the keytab is reloaded
    /// (`keytab_reload`). Read through [`Self::acceptor`].
    acceptor: RwLock<Arc<AcceptorConfig>>,
    /// [MS-SMB2 3.3.1.5] GlobalSessionTable: every authenticated session, reachable from any
    /// connection (session binding, LOGOFF seen by every channel).
    pub session_table: super::session_table::SessionTable,
    /// Live sessions, for `status_file` / `rsmbd sessions`.
    pub status: crate::status::StatusBoard,
    /// Authenticators seen within the skew window (RFC 4120 3.2.3), across all connections.
    pub replay: Arc<ReplayCache>,
    /// ServerGuid: stable across restarts and identical on every interface (field-research R17).
    pub server_guid: [u8; 16],
    /// Lowest dialect offered.
    pub min_dialect: Dialect,
    /// Highest dialect offered.
    pub max_dialect: Dialect,
    /// The SPNEGO NegTokenInit2 sent in every NEGOTIATE response.
    pub negotiate_hint: Vec<u8>,
    /// The same, listing NTLMSSP too: for listeners with `ntlm = true`.
    pub negotiate_hint_ntlm: Vec<u8>,
    /// The `encrypt` policy.
    pub encrypt: EncryptPolicy,
    /// 3.1.1 cipher preference, most preferred first.
    pub ciphers: Vec<Cipher>,
    /// 3.1.1 signing preference, most preferred first.
    pub signing_algorithms: Vec<rsmbd_share::crypto::SigningAlgorithm>,
    /// The opt-in key log (`key_log`), opened once.
    pub key_log: Option<super::key_log::KeyLog>,
    /// Where "now" comes from: the system clock, or a hand-set one in tests.
    pub clock: Arc<dyn super::clock::Clock>,
    next_session: AtomicU64,
}

impl ServerContext {
    /// Builds the context from a validated config and its loaded parts.
    pub fn new(
        config: Config,
        registry: Arc<ShareRegistry>,
        acceptor: Arc<AcceptorConfig>,
    ) -> anyhow::Result<Self> {
        let min_dialect = config.min_dialect()?;
        let max_dialect = config.max_dialect()?;
        let server_guid = stable_guid(&config.server_name);
        let encrypt = config.encrypt_policy()?;
        let ciphers = config.ciphers()?;
        let signing_algorithms = config.signing_algorithms()?;
        let key_log = match &config.key_log {
            Some(path) => Some(super::key_log::KeyLog::open(path)?),
            None => None,
        };
        // Session ids are unguessable across restarts but unique within one: a random
        // high half and a counter.
        registry
            .oplocks()
            .set_break_timeout(std::time::Duration::from_millis(
                config.oplock_break_timeout_ms,
            ));
        registry
            .durables()
            .set_max_timeout(std::time::Duration::from_secs(
                config.durable_handle_timeout_secs,
            ));
        let mut seed = [0u8; 4];
        let _ = getrandom::fill(&mut seed);
        let first = (u64::from(u32::from_le_bytes(seed) | 1) << 32) | 1;
        Ok(Self {
            config,
            registry,
            acceptor: RwLock::new(acceptor),
            session_table: super::session_table::SessionTable::default(),
            status: crate::status::StatusBoard::default(),
            replay: Arc::new(ReplayCache::default()),
            server_guid,
            min_dialect,
            max_dialect,
            negotiate_hint: rsmbd_auth::negotiate_hint(),
            negotiate_hint_ntlm: rsmbd_auth::negotiate_hint_for(true),
            encrypt,
            ciphers,
            signing_algorithms,
            key_log,
            clock: Arc::new(super::clock::SystemClock),
            next_session: AtomicU64::new(first),
        })
    }

    /// The current keytab and acceptor policy (a snapshot: a new exchange keeps the one it
    /// started with even if the keytab is reloaded meanwhile).
    pub fn acceptor(&self) -> Arc<AcceptorConfig> {
        match self.acceptor.read() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Installs a new keytab/policy (the lock is held for one pointer store, never across I/O).
    pub fn set_acceptor(&self, acceptor: Arc<AcceptorConfig>) {
        match self.acceptor.write() {
            Ok(mut a) => *a = acceptor,
            Err(poisoned) => *poisoned.into_inner() = acceptor,
        }
    }

    /// A fresh, never-zero SessionId.
    pub fn allocate_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed).max(1)
    }
}

/// A GUID derived from the server name: the same box answers with the same ServerGuid on every
/// interface and after every restart, which is what VALIDATE_NEGOTIATE_INFO and multichannel
/// clients expect (ksmbd's zero GUID and Impacket's fixed one are what not to do).
pub fn stable_guid(server_name: &str) -> [u8; 16] {
    let digest =
        Sha256::digest(format!("rsmbd server guid\0{}", server_name.to_lowercase()).as_bytes());
    let mut guid = [0u8; 16];
    for (g, d) in guid.iter_mut().zip(digest.iter()) {
        *g = *d;
    }
    // RFC 9562 version 8 (custom) and the RFC variant bits.
    guid[7] = (guid[7] & 0x0F) | 0x80;
    guid[8] = (guid[8] & 0x3F) | 0x80;
    guid
}
