//! [MS-SMB2 3.3.1.5] GlobalSessionTable: every authenticated session of the server, by
//! SessionId, so a second connection can find a session to bind to (multichannel,
//! [MS-SMB2 3.3.5.5]) and every channel sees a LOGOFF made on any other.
//!
//! A connection keeps its own view of a session (`session_setup::ValidSession`: the channel's
//! signing key, signing policy); what all channels share lives here: the share-layer session
//! (identity, trees, opens), Session.SigningKey of the first channel (binding requests are
//! signed with it), the cipher keys with their one nonce sequence, and the channel count.
//! The table's mutex is held for map operations only, never across I/O.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use rsmbd_protocol::messages::negotiate::Dialect;
use rsmbd_share::crypto::SigningAlgorithm;
use rsmbd_share::crypto::encryption::{Cipher, CipherKey, NonceSequence};
use rsmbd_share::crypto::keys::Dialect3Keys;
use rsmbd_share::session::Session;
use zeroize::Zeroizing;

/// [MS-SMB2 3.3.1.8] Session.EncryptionKey/DecryptionKey with the connection's cipher, and the
/// nonce sequence of the encryption key: one per session, shared by all its channels, so a
/// nonce never repeats under the key whichever connection seals.
#[derive(Debug)]
pub struct SessionCrypto {
    /// Session.DecryptionKey (client to server).
    pub decrypt: CipherKey,
    /// Session.EncryptionKey (server to client).
    pub encrypt: CipherKey,
    /// Nonces for `encrypt`; locked only to take the next one.
    pub nonces: Mutex<NonceSequence>,
}

impl SessionCrypto {
    /// The keys with a fresh nonce sequence.
    pub fn new(decrypt: CipherKey, encrypt: CipherKey) -> Self {
        Self {
            decrypt,
            encrypt,
            nonces: Mutex::new(NonceSequence::new()),
        }
    }
}

/// What every channel of one session shares ([MS-SMB2 3.3.1.8] Session).
pub struct SharedSession {
    /// Session.SessionId.
    pub id: u64,
    /// The share layer's session: identity, tree connects, opens.
    pub share: Arc<Session>,
    /// Session.Connection.Dialect: a channel must negotiate the same one.
    pub dialect: Dialect,
    /// The first channel's signing algorithm (Session.SigningKey is used with it).
    pub signing_algorithm: SigningAlgorithm,
    /// Session.Connection.CipherId: a channel must negotiate the same cipher.
    pub cipher: Option<Cipher>,
    /// Session.SigningKey: the first channel's; binding requests are signed with it
    /// ([MS-SMB2 3.3.5.2.4]). Zeroized on drop.
    pub signing_key: Zeroizing<[u8; 16]>,
    /// The session's cipher keys, shared by every channel.
    pub crypto: Option<Arc<SessionCrypto>>,
    /// The 3.x application and cipher keys, for the key log of later channels.
    pub dialect3: Option<Dialect3Keys>,
    /// Session.EncryptData.
    pub encrypt_data: bool,
    /// The principal a channel's authentication must name.
    pub principal: String,
    /// The endtime of the latest ticket any channel re-authenticated with (MS-SMB2 3.3.5.5.3
    /// sets Session.ExpirationTime for the whole session).
    expires_at: Mutex<SystemTime>,
    /// Connections holding a channel of the session.
    channels: AtomicUsize,
    /// Set by LOGOFF or a failed re-authentication on any channel; the other channels drop
    /// the session the next time they look.
    ended: AtomicBool,
}

impl std::fmt::Debug for SharedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSession")
            .field("id", &format_args!("{:#x}", self.id))
            .field("dialect", &self.dialect)
            .field("signing_algorithm", &self.signing_algorithm)
            .field("channels", &self.channels.load(Ordering::Relaxed))
            .field("ended", &self.is_ended())
            .finish_non_exhaustive()
    }
}

/// The parts of a new session's first channel that every later channel shares.
#[derive(Debug)]
pub struct FirstChannel {
    /// Session.SessionId.
    pub id: u64,
    /// The share-layer session.
    pub share: Arc<Session>,
    /// The first connection's dialect.
    pub dialect: Dialect,
    /// The first connection's signing algorithm.
    pub signing_algorithm: SigningAlgorithm,
    /// The first connection's cipher.
    pub cipher: Option<Cipher>,
    /// Session.SigningKey.
    pub signing_key: Zeroizing<[u8; 16]>,
    /// The cipher keys.
    pub crypto: Option<Arc<SessionCrypto>>,
    /// The 3.x keys (key log).
    pub dialect3: Option<Dialect3Keys>,
    /// Session.EncryptData.
    pub encrypt_data: bool,
    /// The authenticated principal.
    pub principal: String,
    /// The ticket's endtime.
    pub expires_at: SystemTime,
}

impl SharedSession {
    /// A session with its first channel.
    pub fn new(first: FirstChannel) -> Self {
        Self {
            id: first.id,
            share: first.share,
            dialect: first.dialect,
            signing_algorithm: first.signing_algorithm,
            cipher: first.cipher,
            signing_key: first.signing_key,
            crypto: first.crypto,
            dialect3: first.dialect3,
            encrypt_data: first.encrypt_data,
            principal: first.principal,
            expires_at: Mutex::new(first.expires_at),
            channels: AtomicUsize::new(1),
            ended: AtomicBool::new(false),
        }
    }

    /// True once LOGOFF (or a failed re-authentication) ended the session on some channel.
    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Marks the session ended; true for the caller that ended it (it closes the opens).
    pub fn end(&self) -> bool {
        !self.ended.swap(true, Ordering::AcqRel)
    }

    /// Session.ExpirationTime as the latest re-authentication on any channel set it.
    pub fn expires_at(&self) -> SystemTime {
        *self.expires_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A re-authentication on some channel moved Session.ExpirationTime.
    pub fn set_expires_at(&self, t: SystemTime) {
        *self.expires_at.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }

    /// A connection was bound to the session as a new channel.
    pub fn add_channel(&self) {
        self.channels.fetch_add(1, Ordering::AcqRel);
    }

    /// A channel's connection went away: true when it was the last one (the session ends).
    pub fn drop_channel(&self) -> bool {
        self.channels.fetch_sub(1, Ordering::AcqRel) <= 1
    }

    /// How many connections hold a channel (for tests and the status line).
    pub fn channel_count(&self) -> usize {
        self.channels.load(Ordering::Acquire)
    }
}

/// [MS-SMB2 3.3.1.5] GlobalSessionTable.
#[derive(Debug, Default)]
pub struct SessionTable {
    map: Mutex<HashMap<u64, Arc<SharedSession>>>,
}

impl SessionTable {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<SharedSession>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an authenticated session.
    pub fn insert(&self, session: Arc<SharedSession>) {
        self.lock().insert(session.id, session);
    }

    /// The live session `id`, from any connection.
    pub fn get(&self, id: u64) -> Option<Arc<SharedSession>> {
        self.lock().get(&id).filter(|s| !s.is_ended()).cloned()
    }

    /// Forgets session `id` (ended, or its last channel is gone).
    pub fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Number of sessions (tests).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no session is registered.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}
