//! # rsmbd-share: everything after authentication
//!
//! Sessions and their keys (SP800-108 KDF, signing, encryption), tree connects, opens, and the
//! share backends: disk directories with confined paths, and IPC$ named pipes carrying DCE/RPC
//! (srvsvc, wkssvc). No sockets and no async runtime: the `server` crate drives the handlers
//! here and moves blocking disk I/O off its reactor.
//!
//! Invariants (see `ARCHITECTURE.md`):
//! - a path never escapes its share root (`..`, symlinks, absolute names, odd Unicode);
//! - keys are zeroized on drop and compared in constant time;
//! - signing and encryption are pure functions over bytes and keys, applied by the connection
//!   pipeline in exactly one place; handlers and backends never see a key.

pub mod crypto;
pub mod disk;
pub mod durable;
pub mod handlers;
pub mod ipc;
pub mod open;
pub mod oplock;
pub mod registry;
pub mod session;
pub mod tree;
