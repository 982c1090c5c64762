//! # rsmbd: the server process
//!
//! The only crate with sockets and an async runtime: configuration, the command line, the
//! listeners, and the connection engine ([`engine::Connection`]), which is written so tests can
//! drive it with bytes, without sockets.

pub mod admin;
pub mod cli;
pub mod config;
pub mod connection;
pub mod engine;
pub mod identity;
pub mod interfaces;
pub mod keytab_check;
pub mod keytab_reload;
pub mod limits;
pub mod listener;
pub mod ntlm_users;
pub mod shutdown;
pub mod startup;
pub mod status;
