//! # rsmbd-protocol: the SMB2/3 wire codec
//!
//! Pure data: nom decoders and hand-written encoders for every SMB2 message of
//! [MS-SMB2 2.2], the negotiate and create contexts, the transform header, NTSTATUS and the
//! FSCC/DTYP structures the handlers need. No I/O, no keys, no clocks, no tokio.
//!
//! Invariants (see `ARCHITECTURE.md`):
//! - every wire type implements both [`codec::Decode`] and [`codec::Encode`], and a round-trip
//!   test holds the two together;
//! - decoding is structural validation (sizes, offsets, lengths); values the spec says to ignore
//!   are kept, never asserted;
//! - no `unwrap`/`expect`/indexing on input bytes: a decoder returns [`codec::DecodeError`].
//!
//! Map of the crate:
//! - [`header`]: the 64-byte SMB2 header and [`Command`]; [`status`]: [`NtStatus`];
//! - [`messages`]: one module per command with `XxxRequest` / `XxxResponse`, and the
//!   [`Request`] / [`Response`] enums (`Request::decode(command, msg)`,
//!   `Response::decode(command, status, msg)`, both `Encode`);
//! - [`negotiate_context`]: [`NegotiateContext`], [`Dialect`], [`CipherId`],
//!   [`HashAlgorithm`], [`SigningAlgorithm`]; [`create_context`]: [`CreateContext`] lists and
//!   typed MxAc / QFid / RqLs / DHnQ / DH2Q / DH2C helpers; [`file_id`]: [`FileId`];
//! - [`compound`]: [`split_compound`], [`pad_to_8`], [`CompoundWriter`];
//! - [`transform`]: [`TransformHeader`] and the AEAD associated data; [`smb1`]: the SMB1
//!   multi-protocol NEGOTIATE a client may open with;
//! - [`fscc`]: FILETIME, file attributes, information classes and structures, directory and
//!   change-notify entries; [`fsctl`]: IOCTL payloads (copychunk, network interfaces,
//!   snapshots, allocated ranges, zero data, pipe wait); [`dtyp`]: GUID, SID, ACL,
//!   self-relative security descriptor.
//!
//! [MS-SMB2 2.2]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/6eaf6e75-9c23-4eda-be99-c9223c60b181

pub mod codec;
pub mod compound;
pub mod create_context;
pub mod dtyp;
pub mod file_id;
pub mod fscc;
pub mod fsctl;
pub mod header;
pub mod macros;
pub mod messages;
pub mod negotiate_context;
pub mod smb1;
pub mod status;
pub mod transform;

pub use codec::{Buf, Decode, DecodeError, DecodeResult, Encode, Message, Writer};
pub use compound::{CompoundWriter, pad_to_8, split_compound};
pub use create_context::{CreateContext, CreateContextName};
pub use file_id::FileId;
pub use header::{Command, Header, HeaderFlags, HeaderKind};
pub use messages::{Request, Response};
pub use negotiate_context::{CipherId, Dialect, HashAlgorithm, NegotiateContext, SigningAlgorithm};
pub use smb1::{Smb1Negotiate, is_smb1};
pub use status::NtStatus;
pub use transform::TransformHeader;
