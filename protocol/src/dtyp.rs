//! [MS-DTYP] data types: GUIDs, SIDs and self-relative security descriptors.
//!
//! [MS-DTYP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dtyp/cca27429-5689-4a16-b2b4-9325d93e4ba2

/// [MS-DTYP 2.3.4] GUID in its wire (mixed-endian) byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);
