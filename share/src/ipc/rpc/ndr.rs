//! NDR 2.0 (C706 ch. 14) marshalling primitives, both directions.
//!
//! Types marshal in two phases, the way MIDL-generated stubs do: `scalars` writes the inline
//! part of a constructed type (its integers and the referent ids of its embedded pointers),
//! `buffers` then writes the deferred pointees in field order, each pointee again as scalars
//! followed by its own buffers (C706 14.3.12.3). An array of structures therefore carries all
//! elements' inline parts first, then every element's pointees. Top-level pointer parameters
//! are not deferred: a parameter is complete before the next one starts (C706 14.3.12.1).
//!
//! Alignment is relative to the start of the stub data (the RPC request/response headers are
//! 24 bytes, a multiple of 8, so this equals alignment in the PDU).

use std::collections::HashMap;

/// Errors unmarshalling NDR stub data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdrError {
    /// The data ends before the type does.
    #[error("NDR data truncated")]
    Truncated,
    /// A value the type does not allow (inconsistent counts, bad discriminant, …).
    #[error("invalid NDR data: {0}")]
    Invalid(&'static str),
}

/// First referent id handed out; MIDL and Samba both start at 0x00020000 and step by 4.
const FIRST_REFERENT: u32 = 0x0002_0000;

/// Builds NDR stub data.
#[derive(Debug)]
pub struct NdrWriter {
    buf: Vec<u8>,
    next_referent: u32,
    full_ptrs: HashMap<usize, u32>,
}

impl Default for NdrWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl NdrWriter {
    /// An empty stub.
    pub fn new() -> Self {
        NdrWriter {
            buf: Vec::new(),
            next_referent: FIRST_REFERENT,
            full_ptrs: HashMap::new(),
        }
    }

    /// The marshalled bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Pads with zeros to a multiple of `n` (1, 2, 4 or 8).
    pub fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }

    /// `small`/`byte`.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// `short`, 2-aligned.
    pub fn u16(&mut self, v: u16) {
        self.align(2);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// `long`, 4-aligned.
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// `hyper`, 8-aligned.
    pub fn u64(&mut self, v: u64) {
        self.align(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn fresh_referent(&mut self) -> u32 {
        let id = self.next_referent;
        // Ids only need to be unique and nonzero within one stub.
        self.next_referent = self.next_referent.checked_add(4).unwrap_or(FIRST_REFERENT);
        id
    }

    /// A unique (or embedded ref) pointer's inline representation: a fresh nonzero referent
    /// id when `present`, else 0 (C706 14.3.10/14.3.11.1).
    pub fn pointer(&mut self, present: bool) {
        let id = if present { self.fresh_referent() } else { 0 };
        self.u32(id);
    }

    /// A full pointer (C706 14.3.11.2): pointers to the same object (`key`, e.g. its address)
    /// share one referent id and the pointee is marshalled only the first time. Returns true
    /// when the caller must marshal the pointee now (or in the deferred phase).
    pub fn full_pointer(&mut self, key: Option<usize>) -> bool {
        match key {
            None => {
                self.u32(0);
                false
            }
            Some(k) => match self.full_ptrs.get(&k) {
                Some(&id) => {
                    self.u32(id);
                    false
                }
                None => {
                    let id = self.fresh_referent();
                    self.full_ptrs.insert(k, id);
                    self.u32(id);
                    true
                }
            },
        }
    }

    /// A conformant varying string of `wchar_t` (`[string] wchar_t*` pointee; C706 14.3.4.2):
    /// max count, offset 0, actual count, UTF-16LE code units, all counts including the
    /// terminating NUL.
    pub fn wstr(&mut self, s: &str) {
        let units: Vec<u16> = s.encode_utf16().chain(std::iter::once(0)).collect();
        let n = u32::try_from(units.len()).unwrap_or(u32::MAX); // ok: strings are ours, tiny
        self.u32(n);
        self.u32(0);
        self.u32(n);
        for u in units {
            self.buf.extend_from_slice(&u.to_le_bytes());
        }
    }
}

/// Reads NDR stub data with bounds checks; never panics, never allocates beyond the input.
#[derive(Debug)]
pub struct NdrReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> NdrReader<'a> {
    /// Starts at the beginning of a stub.
    pub fn new(buf: &'a [u8]) -> Self {
        NdrReader { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Current offset from the start of the stub.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], NdrError> {
        let end = self.pos.checked_add(n).ok_or(NdrError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(NdrError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], NdrError> {
        self.take(N)?.try_into().map_err(|_| NdrError::Truncated)
    }

    /// Skips padding to a multiple of `n`.
    pub fn align(&mut self, n: usize) -> Result<(), NdrError> {
        let pad = (n - self.pos % n) % n;
        self.take(pad).map(|_| ())
    }

    /// `small`/`byte`.
    pub fn u8(&mut self) -> Result<u8, NdrError> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    /// `short`, 2-aligned.
    pub fn u16(&mut self) -> Result<u16, NdrError> {
        self.align(2)?;
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// `long`, 4-aligned.
    pub fn u32(&mut self) -> Result<u32, NdrError> {
        self.align(4)?;
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// `hyper`, 8-aligned.
    pub fn u64(&mut self) -> Result<u64, NdrError> {
        self.align(8)?;
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A unique/full pointer's referent id: `Some(id)` when non-null.
    pub fn pointer(&mut self) -> Result<Option<u32>, NdrError> {
        let id = self.u32()?;
        Ok((id != 0).then_some(id))
    }

    /// An embedded `[ref]` pointer: must not be null (C706 14.3.11.1).
    pub fn ref_pointer(&mut self) -> Result<u32, NdrError> {
        self.pointer()?.ok_or(NdrError::Invalid("null ref pointer"))
    }

    /// A conformance count (`max_count`) for an array whose elements take at least
    /// `min_elem_size` bytes each: rejected if the remaining input cannot hold that many, so
    /// that a hostile count never drives an allocation.
    pub fn conformance(&mut self, min_elem_size: usize) -> Result<usize, NdrError> {
        let n = usize::try_from(self.u32()?).map_err(|_| NdrError::Truncated)?;
        let need = n
            .checked_mul(min_elem_size.max(1))
            .ok_or(NdrError::Truncated)?;
        if need > self.remaining() {
            return Err(NdrError::Truncated);
        }
        Ok(n)
    }

    /// A conformant varying `wchar_t` string (C706 14.3.4.2). Requires `offset + actual <=
    /// max`; a trailing NUL is stripped; invalid UTF-16 is replaced (names are only compared).
    pub fn wstr(&mut self) -> Result<String, NdrError> {
        let max = self.u32()?;
        let offset = self.u32()?;
        let actual = self.u32()?;
        if offset.checked_add(actual).is_none_or(|end| end > max) {
            return Err(NdrError::Invalid("string counts inconsistent"));
        }
        let len = usize::try_from(actual).map_err(|_| NdrError::Truncated)?;
        let bytes = self.take(len.checked_mul(2).ok_or(NdrError::Truncated)?)?;
        let mut units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| {
                u16::from_le_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            })
            .collect();
        if units.last() == Some(&0) {
            units.pop();
        }
        Ok(String::from_utf16_lossy(&units))
    }
}

/// A type with an NDR representation, marshalled in the two MIDL phases.
pub trait NdrEncode {
    /// Inline part: integers, discriminants, referent ids.
    fn encode_scalars(&self, w: &mut NdrWriter);
    /// Deferred part: pointees of embedded pointers, in field order.
    fn encode_buffers(&self, _w: &mut NdrWriter) {}
    /// The whole value: scalars then buffers.
    fn encode(&self, w: &mut NdrWriter) {
        self.encode_scalars(w);
        self.encode_buffers(w);
    }
}

/// The decoding mirror of [`NdrEncode`]. `decode_scalars` leaves a `Default` placeholder in
/// each non-null embedded pointer; `decode_buffers` replaces it with the pointee.
pub trait NdrDecode: Sized {
    /// Inline part.
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError>;
    /// Deferred part.
    fn decode_buffers(&mut self, _r: &mut NdrReader<'_>) -> Result<(), NdrError> {
        Ok(())
    }
    /// The whole value.
    fn decode(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        let mut v = Self::decode_scalars(r)?;
        v.decode_buffers(r)?;
        Ok(v)
    }
}

/// `[string] wchar_t*` pointee: a conformant varying string.
impl NdrEncode for String {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        w.wstr(self);
    }
}

impl NdrDecode for String {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        r.wstr()
    }
}

impl NdrEncode for u32 {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        w.u32(*self);
    }
}

impl NdrDecode for u32 {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        r.u32()
    }
}

/// Embedded unique pointer, phase 1: the referent id.
pub fn encode_ptr_scalars<T>(w: &mut NdrWriter, p: &Option<T>) {
    w.pointer(p.is_some());
}

/// Embedded unique pointer, phase 2: the pointee (its scalars then its buffers).
pub fn encode_ptr_buffers<T: NdrEncode>(w: &mut NdrWriter, p: &Option<T>) {
    if let Some(v) = p {
        v.encode(w);
    }
}

/// Top-level unique pointer parameter: referent id immediately followed by the pointee.
pub fn encode_top_ptr<T: NdrEncode>(w: &mut NdrWriter, p: &Option<T>) {
    encode_ptr_scalars(w, p);
    encode_ptr_buffers(w, p);
}

/// Embedded unique pointer, phase 1: `Some(placeholder)` when non-null.
pub fn decode_ptr_scalars<T: Default>(r: &mut NdrReader<'_>) -> Result<Option<T>, NdrError> {
    Ok(r.pointer()?.map(|_| T::default()))
}

/// Embedded unique pointer, phase 2: fills a placeholder left by [`decode_ptr_scalars`].
pub fn decode_ptr_buffers<T: NdrDecode>(
    r: &mut NdrReader<'_>,
    p: &mut Option<T>,
) -> Result<(), NdrError> {
    if let Some(v) = p {
        *v = T::decode(r)?;
    }
    Ok(())
}

/// Top-level unique pointer parameter.
pub fn decode_top_ptr<T: NdrDecode>(r: &mut NdrReader<'_>) -> Result<Option<T>, NdrError> {
    match r.pointer()? {
        Some(_) => Ok(Some(T::decode(r)?)),
        None => Ok(None),
    }
}

/// Pointee of `[size_is(n)] T*`: a conformant array (C706 14.3.3.2). All elements' scalars
/// come first, then all elements' buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformantArray<T>(pub Vec<T>);

impl<T> Default for ConformantArray<T> {
    fn default() -> Self {
        ConformantArray(Vec::new())
    }
}

/// Smallest number of bytes one element of a type occupies inline; bounds hostile counts.
pub trait NdrMinSize {
    /// Bytes.
    const MIN_SIZE: usize;
}

impl<T: NdrEncode> NdrEncode for ConformantArray<T> {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        w.u32(u32::try_from(self.0.len()).unwrap_or(u32::MAX)); // ok: our arrays are small
        for e in &self.0 {
            e.encode_scalars(w);
        }
    }
    fn encode_buffers(&self, w: &mut NdrWriter) {
        for e in &self.0 {
            e.encode_buffers(w);
        }
    }
}

impl<T: NdrDecode + NdrMinSize> NdrDecode for ConformantArray<T> {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        let n = r.conformance(T::MIN_SIZE)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::decode_scalars(r)?);
        }
        Ok(ConformantArray(v))
    }
    fn decode_buffers(&mut self, r: &mut NdrReader<'_>) -> Result<(), NdrError> {
        for e in &mut self.0 {
            e.decode_buffers(r)?;
        }
        Ok(())
    }
}

/// Declares a non-encapsulated union of unique pointers switched on a `DWORD` level, the
/// shape of MS-SRVS/MS-WKST `*_INFO` unions (C706 14.3.8: the discriminant is marshalled, then
/// the arm; the arm's pointee is deferred like any embedded pointer).
///
/// Besides the arms served here, the enum has `NullArm(level)` for arms the IDL defines but
/// this server leaves null, and `NoArm(level)` for levels the IDL has no arm for (marshalled as
/// the discriminant alone, like Samba's `[default]` arm).
macro_rules! pointer_union {
    (
        $(#[$m:meta])*
        $name:ident { $($level:literal => $arm:ident($ty:ty)),* $(,)? }
        other_arms: [$($other:literal),* $(,)?]
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $(
                #[doc = concat!("Level ", stringify!($level), ": a unique pointer to the info.")]
                $arm(Option<$ty>),
            )*
            /// A level the IDL defines that this server does not fill: a null pointer arm.
            NullArm(u32),
            /// A level with no arm in the IDL: the discriminant alone.
            NoArm(u32),
        }

        impl $name {
            /// The discriminant.
            pub fn level(&self) -> u32 {
                match self {
                    $( Self::$arm(_) => $level, )*
                    Self::NullArm(l) | Self::NoArm(l) => *l,
                }
            }

            /// Whether the IDL defines an arm for `level`.
            pub fn has_arm(level: u32) -> bool {
                matches!(level, $($level)|* $(| $other)*)
            }

            /// The value for `level` with no data: a null pointer, or no arm at all.
            pub fn empty(level: u32) -> Self {
                match level {
                    $( $level => Self::$arm(None), )*
                    l if Self::has_arm(l) => Self::NullArm(l),
                    l => Self::NoArm(l),
                }
            }
        }

        impl $crate::ipc::rpc::ndr::NdrEncode for $name {
            fn encode_scalars(&self, w: &mut $crate::ipc::rpc::ndr::NdrWriter) {
                w.u32(self.level());
                match self {
                    $( Self::$arm(p) => $crate::ipc::rpc::ndr::encode_ptr_scalars(w, p), )*
                    Self::NullArm(_) => w.pointer(false),
                    Self::NoArm(_) => {}
                }
            }
            fn encode_buffers(&self, w: &mut $crate::ipc::rpc::ndr::NdrWriter) {
                match self {
                    $( Self::$arm(p) => $crate::ipc::rpc::ndr::encode_ptr_buffers(w, p), )*
                    Self::NullArm(_) | Self::NoArm(_) => {}
                }
            }
        }

        impl $crate::ipc::rpc::ndr::NdrDecode for $name {
            fn decode_scalars(
                r: &mut $crate::ipc::rpc::ndr::NdrReader<'_>,
            ) -> Result<Self, $crate::ipc::rpc::ndr::NdrError> {
                match r.u32()? {
                    $( $level => Ok(Self::$arm($crate::ipc::rpc::ndr::decode_ptr_scalars(r)?)), )*
                    l if Self::has_arm(l) => match r.pointer()? {
                        None => Ok(Self::NullArm(l)),
                        Some(_) => Err($crate::ipc::rpc::ndr::NdrError::Invalid("unsupported info level")),
                    },
                    l => Ok(Self::NoArm(l)),
                }
            }
            fn decode_buffers(
                &mut self,
                r: &mut $crate::ipc::rpc::ndr::NdrReader<'_>,
            ) -> Result<(), $crate::ipc::rpc::ndr::NdrError> {
                match self {
                    $( Self::$arm(p) => $crate::ipc::rpc::ndr::decode_ptr_buffers(r, p), )*
                    Self::NullArm(_) | Self::NoArm(_) => Ok(()),
                }
            }
        }
    };
}
pub(crate) use pointer_union;

/// Decodes a complete stub. Trailing bytes are ignored: some clients pad the stub.
pub fn decode_stub<T: NdrDecode>(stub: &[u8]) -> Result<T, NdrError> {
    T::decode(&mut NdrReader::new(stub))
}

/// Encodes a complete stub.
pub fn encode_stub<T: NdrEncode>(v: &T) -> Vec<u8> {
    let mut w = NdrWriter::new();
    v.encode(&mut w);
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    /// `struct { [string] wchar_t* a; DWORD n; [string] wchar_t* b; }`, like SHARE_INFO_1.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    struct Pair {
        a: Option<String>,
        n: u32,
        b: Option<String>,
    }

    impl NdrMinSize for Pair {
        const MIN_SIZE: usize = 12;
    }

    impl NdrEncode for Pair {
        fn encode_scalars(&self, w: &mut NdrWriter) {
            w.align(4);
            encode_ptr_scalars(w, &self.a);
            w.u32(self.n);
            encode_ptr_scalars(w, &self.b);
        }
        fn encode_buffers(&self, w: &mut NdrWriter) {
            encode_ptr_buffers(w, &self.a);
            encode_ptr_buffers(w, &self.b);
        }
    }

    impl NdrDecode for Pair {
        fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
            r.align(4)?;
            Ok(Pair {
                a: decode_ptr_scalars(r)?,
                n: r.u32()?,
                b: decode_ptr_scalars(r)?,
            })
        }
        fn decode_buffers(&mut self, r: &mut NdrReader<'_>) -> Result<(), NdrError> {
            decode_ptr_buffers(r, &mut self.a)?;
            decode_ptr_buffers(r, &mut self.b)
        }
    }

    #[test]
    fn primitives_align_relative_to_stub_start() {
        let mut w = NdrWriter::new();
        w.u8(1);
        w.u16(2);
        w.u8(3);
        w.u32(4);
        w.u64(5);
        let b = w.into_bytes();
        assert_eq!(
            b,
            [
                1, 0, 2, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        let mut r = NdrReader::new(&b);
        assert_eq!(
            (r.u8(), r.u16(), r.u8(), r.u32(), r.u64()),
            (Ok(1), Ok(2), Ok(3), Ok(4), Ok(5))
        );
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn wstr_counts_include_nul() {
        let mut w = NdrWriter::new();
        w.u8(0xff); // misalign: the string must realign to 4
        w.wstr("IPC$");
        let b = w.into_bytes();
        let expect: &[u8] = &[
            0xff, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, b'I', 0, b'P', 0, b'C', 0, b'$', 0,
            0, 0,
        ];
        assert_eq!(b, expect);
        let mut r = NdrReader::new(&b);
        r.u8().unwrap();
        assert_eq!(r.wstr().unwrap(), "IPC$");
    }

    #[test]
    fn wstr_rejects_inconsistent_counts_and_truncation() {
        let mut w = NdrWriter::new();
        w.u32(2);
        w.u32(0);
        w.u32(3); // actual > max
        w.u32(0x0041_0041);
        w.u32(0);
        assert_eq!(
            NdrReader::new(&w.into_bytes()).wstr(),
            Err(NdrError::Invalid("string counts inconsistent"))
        );
        // A huge claimed length with no data: truncated, no allocation.
        let mut w = NdrWriter::new();
        w.u32(u32::MAX);
        w.u32(0);
        w.u32(u32::MAX);
        assert_eq!(
            NdrReader::new(&w.into_bytes()).wstr(),
            Err(NdrError::Truncated)
        );
    }

    #[test]
    fn deferred_pointees_follow_the_whole_array() {
        let arr = ConformantArray(vec![
            Pair {
                a: Some("A".into()),
                n: 7,
                b: None,
            },
            Pair {
                a: Some("BC".into()),
                n: 8,
                b: Some("D".into()),
            },
        ]);
        let mut w = NdrWriter::new();
        arr.encode(&mut w);
        let b = w.into_bytes();
        let r32 = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        assert_eq!(r32(0), 2); // max_count
        // Inline parts of both elements first, with referent ids 0x20000, 0x20004, 0x20008.
        assert_eq!([r32(4), r32(8), r32(12)], [0x20000, 7, 0]);
        assert_eq!([r32(16), r32(20), r32(24)], [0x20004, 8, 0x20008]);
        // Then the pointees in order: "A", "BC", "D".
        assert_eq!([r32(28), r32(32), r32(36)], [2, 0, 2]);
        assert_eq!(&b[40..44], &[b'A', 0, 0, 0]);
        assert_eq!([r32(44), r32(48), r32(52)], [3, 0, 3]);
        assert_eq!(&b[56..62], &[b'B', 0, b'C', 0, 0, 0]);
        assert_eq!([r32(64), r32(68), r32(72)], [2, 0, 2]); // realigned from 62 to 64
        let back = ConformantArray::<Pair>::decode(&mut NdrReader::new(&b)).unwrap();
        assert_eq!(back, arr);
        for n in 0..b.len() {
            assert!(ConformantArray::<Pair>::decode(&mut NdrReader::new(&b[..n])).is_err());
        }
    }

    #[test]
    fn hostile_conformance_is_rejected_before_allocating() {
        let mut w = NdrWriter::new();
        w.u32(0x4000_0000);
        w.u32(0);
        assert_eq!(
            ConformantArray::<Pair>::decode(&mut NdrReader::new(&w.into_bytes())),
            Err(NdrError::Truncated)
        );
    }

    #[test]
    fn pointers_unique_ref_full() {
        let mut w = NdrWriter::new();
        encode_top_ptr(&mut w, &Some(5u32));
        encode_top_ptr::<u32>(&mut w, &None);
        let x = 1usize;
        assert!(w.full_pointer(Some(x)));
        assert!(!w.full_pointer(Some(x))); // alias: same id, pointee not repeated
        assert!(!w.full_pointer(None));
        let b = w.into_bytes();
        let mut r = NdrReader::new(&b);
        assert_eq!(decode_top_ptr::<u32>(&mut r).unwrap(), Some(5));
        assert_eq!(decode_top_ptr::<u32>(&mut r).unwrap(), None);
        let first = r.ref_pointer().unwrap();
        assert_eq!(r.pointer().unwrap(), Some(first));
        assert_eq!(r.ref_pointer(), Err(NdrError::Invalid("null ref pointer")));
    }
}
