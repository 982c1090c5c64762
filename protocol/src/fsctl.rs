//! The IOCTL input/output payloads of the FSCTLs a file server answers: copychunk
//! ([MS-SMB2 2.2.31.1 / 2.2.32.1 / 2.2.32.3]), network interfaces ([2.2.32.5]), snapshots
//! ([2.2.32.2]), resiliency ([2.2.31.3]), and the MS-FSCC ones (allocated ranges [2.3.34],
//! zero data [2.3.67], pipe wait [2.3.49]).
//!
//! [MS-SMB2 2.2.31.1 / 2.2.32.1 / 2.2.32.3]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/cd0162e4-7650-4293-8a2a-d696923203ef

use std::net::{IpAddr, SocketAddr};

use crate::codec::{
    DecodeError, DecodeResult, Reader, Writer, sat_u32, string_to_utf16le, utf16le_to_string,
};

/// [MS-SMB2 2.2.31.1.1] One SRV_COPYCHUNK range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CopyChunk {
    /// SourceOffset.
    pub source_offset: u64,
    /// TargetOffset.
    pub target_offset: u64,
    /// Length.
    pub length: u32,
}

/// [MS-SMB2 2.2.31.1] SRV_COPYCHUNK_COPY: the input of FSCTL_SRV_COPYCHUNK(_WRITE).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SrvCopychunkCopy {
    /// SourceKey: a resume key from FSCTL_SRV_REQUEST_RESUME_KEY.
    pub source_key: [u8; 24],
    /// Chunks (ChunkCount is computed on encode).
    pub chunks: Vec<CopyChunk>,
}

impl SrvCopychunkCopy {
    /// Decodes the IOCTL input; a ChunkCount beyond the data is an error.
    pub fn decode(input: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(input, "SRV_COPYCHUNK_COPY");
        let source_key = r.array::<24>()?;
        let count = r.u32()?;
        r.skip(4)?;
        let mut chunks = Vec::with_capacity((count as usize).min(r.remaining() / 24));
        for _ in 0..count {
            let source_offset = r.u64()?;
            let target_offset = r.u64()?;
            let length = r.u32()?;
            r.skip(4)?;
            chunks.push(CopyChunk {
                source_offset,
                target_offset,
                length,
            });
        }
        Ok(Self { source_key, chunks })
    }

    /// Encodes the IOCTL input.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(&self.source_key);
        w.u32(sat_u32(self.chunks.len()));
        w.u32(0);
        for c in &self.chunks {
            w.u64(c.source_offset);
            w.u64(c.target_offset);
            w.u32(c.length);
            w.u32(0);
        }
        w.into_inner().to_vec()
    }
}

/// [MS-SMB2 2.2.32.1] SRV_COPYCHUNK_RESPONSE (12 bytes). On STATUS_INVALID_PARAMETER the
/// fields carry the server's limits instead (chunk count, chunk size, total size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SrvCopychunkResponse {
    /// ChunksWritten.
    pub chunks_written: u32,
    /// ChunkBytesWritten.
    pub chunk_bytes_written: u32,
    /// TotalBytesWritten.
    pub total_bytes_written: u32,
}

impl SrvCopychunkResponse {
    /// Decodes the IOCTL output.
    pub fn decode(output: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(output, "SRV_COPYCHUNK_RESPONSE");
        Ok(Self {
            chunks_written: r.u32()?,
            chunk_bytes_written: r.u32()?,
            total_bytes_written: r.u32()?,
        })
    }

    /// Encodes the IOCTL output.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.chunks_written);
        w.u32(self.chunk_bytes_written);
        w.u32(self.total_bytes_written);
        w.into_inner().to_vec()
    }
}

/// [MS-SMB2 2.2.32.3] SRV_REQUEST_RESUME_KEY response: ResumeKey, ContextLength 0 and four
/// context bytes (32 bytes, as Windows sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SrvRequestResumeKeyResponse {
    /// ResumeKey: opaque to the client, names the source open.
    pub resume_key: [u8; 24],
}

impl SrvRequestResumeKeyResponse {
    /// Decodes the IOCTL output (at least the key and ContextLength).
    pub fn decode(output: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(output, "SRV_REQUEST_RESUME_KEY response");
        let resume_key = r.array::<24>()?;
        r.skip(4)?;
        Ok(Self { resume_key })
    }

    /// Encodes the IOCTL output.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(&self.resume_key);
        w.u32(0);
        w.u32(0);
        w.into_inner().to_vec()
    }
}

/// [MS-SMB2 2.2.32.5] One NETWORK_INTERFACE_INFO entry (152 bytes on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkInterfaceInfo {
    /// IfIndex.
    pub if_index: u32,
    /// Capability (RSS_CAPABLE = 1, RDMA_CAPABLE = 2).
    pub capability: u32,
    /// LinkSpeed in bits per second.
    pub link_speed: u64,
    /// The address (SockAddr_Storage: AF_INET 0x2 or AF_INET6 0x17).
    pub address: SocketAddr,
}

impl NetworkInterfaceInfo {
    /// RSS_CAPABLE.
    pub const RSS_CAPABLE: u32 = 0x0000_0001;
    /// RDMA_CAPABLE.
    pub const RDMA_CAPABLE: u32 = 0x0000_0002;
    /// Size of one entry.
    pub const SIZE: usize = 152;

    /// Encodes a list (each entry's Next points to the following one, the last is 0).
    pub fn encode_list(list: &[NetworkInterfaceInfo]) -> Vec<u8> {
        let mut w = Writer::new();
        for (i, e) in list.iter().enumerate() {
            let last = i + 1 == list.len();
            w.u32(if last { 0 } else { Self::SIZE as u32 });
            w.u32(e.if_index);
            w.u32(e.capability);
            w.u32(0);
            w.u64(e.link_speed);
            let mut sa = Writer::new();
            match e.address {
                SocketAddr::V4(a) => {
                    sa.u16(0x0002);
                    sa.bytes(&a.port().to_be_bytes());
                    sa.bytes(&a.ip().octets());
                }
                SocketAddr::V6(a) => {
                    sa.u16(0x0017);
                    sa.bytes(&a.port().to_be_bytes());
                    sa.u32(a.flowinfo());
                    sa.bytes(&a.ip().octets());
                    sa.u32(a.scope_id());
                }
            }
            w.bytes(sa.as_slice());
            w.zeros(128 - sa.len());
        }
        w.into_inner().to_vec()
    }

    /// Decodes a list (for the test client).
    pub fn decode_list(bytes: &[u8]) -> DecodeResult<Vec<NetworkInterfaceInfo>> {
        const WHAT: &str = "NETWORK_INTERFACE_INFO";
        let mut out = Vec::new();
        let mut pos = 0usize;
        loop {
            let mut r = Reader::new(bytes.get(pos..).unwrap_or(&[]), WHAT);
            let next = r.u32()? as usize;
            let if_index = r.u32()?;
            let capability = r.u32()?;
            r.skip(4)?;
            let link_speed = r.u64()?;
            let mut sa = Reader::new(r.take(128)?, WHAT);
            let family = sa.u16()?;
            let port = u16::from_be_bytes(sa.array::<2>()?);
            let address = match family {
                0x0002 => SocketAddr::new(IpAddr::from(sa.array::<4>()?), port),
                0x0017 => {
                    let flow = sa.u32()?;
                    let ip = std::net::Ipv6Addr::from(sa.array::<16>()?);
                    let scope = sa.u32()?;
                    SocketAddr::V6(std::net::SocketAddrV6::new(ip, port, flow, scope))
                }
                _ => {
                    return Err(DecodeError::Invalid {
                        what: "SockAddr_Storage family",
                    });
                }
            };
            out.push(NetworkInterfaceInfo {
                if_index,
                capability,
                link_speed,
                address,
            });
            if next == 0 {
                return Ok(out);
            }
            if next < Self::SIZE {
                return Err(DecodeError::Invalid {
                    what: "NETWORK_INTERFACE_INFO Next",
                });
            }
            pos = pos
                .checked_add(next)
                .ok_or(DecodeError::OutOfBounds { what: WHAT })?;
        }
    }
}

/// [MS-SMB2 2.2.32.2] SRV_SNAPSHOT_ARRAY: the FSCTL_SRV_ENUMERATE_SNAPSHOTS output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SrvSnapshotArray {
    /// Snapshot names, `@GMT-YYYY.MM.DD-HH.MM.SS`.
    pub snapshots: Vec<String>,
}

impl SrvSnapshotArray {
    /// Encodes for a client accepting `max_output` bytes: the names (each NUL-terminated,
    /// the list ending with an extra NUL) only if they fit, else just the counts and the
    /// size needed, so the client can retry with a larger buffer.
    pub fn to_bytes(&self, max_output: usize) -> Vec<u8> {
        let mut names = Writer::new();
        for s in &self.snapshots {
            names.bytes(&string_to_utf16le(s));
            names.u16(0);
        }
        if !self.snapshots.is_empty() {
            names.u16(0);
        }
        let fits = 12 + names.len() <= max_output;
        let mut w = Writer::new();
        w.u32(sat_u32(self.snapshots.len()));
        w.u32(if fits {
            sat_u32(self.snapshots.len())
        } else {
            0
        });
        w.u32(sat_u32(names.len()));
        if fits {
            w.bytes(names.as_slice());
        }
        w.into_inner().to_vec()
    }

    /// Decodes the output: the total count and the names returned.
    pub fn decode(output: &[u8]) -> DecodeResult<(u32, Self)> {
        let mut r = Reader::new(output, "SRV_SNAPSHOT_ARRAY");
        let total = r.u32()?;
        let returned = r.u32()?;
        let size = r.u32()?;
        let mut snapshots = Vec::new();
        if returned > 0 {
            let raw = r.take(size as usize)?;
            for part in raw
                .chunks_exact(2)
                .collect::<Vec<_>>()
                .split(|c| *c == [0, 0])
            {
                if part.is_empty() {
                    continue;
                }
                let bytes: Vec<u8> = part.iter().flat_map(|c| c.iter().copied()).collect();
                snapshots.push(utf16le_to_string(&bytes).ok_or(DecodeError::Invalid {
                    what: "snapshot name",
                })?);
            }
        }
        Ok((total, Self { snapshots }))
    }
}

/// [MS-FSCC 2.3.34] FILE_ALLOCATED_RANGE_BUFFER (FSCTL_QUERY_ALLOCATED_RANGES input and
/// output elements, 16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileAllocatedRange {
    /// FileOffset.
    pub file_offset: u64,
    /// Length.
    pub length: u64,
}

impl FileAllocatedRange {
    /// Decodes one range from the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FILE_ALLOCATED_RANGE_BUFFER");
        Ok(Self {
            file_offset: r.u64()?,
            length: r.u64()?,
        })
    }

    /// Encodes a list of ranges (the output).
    pub fn encode_list(list: &[FileAllocatedRange]) -> Vec<u8> {
        let mut w = Writer::new();
        for r in list {
            w.u64(r.file_offset);
            w.u64(r.length);
        }
        w.into_inner().to_vec()
    }
}

/// [MS-FSCC 2.3.67] FILE_ZERO_DATA_INFORMATION (FSCTL_SET_ZERO_DATA input, 16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileZeroDataInformation {
    /// FileOffset: first byte to zero.
    pub file_offset: u64,
    /// BeyondFinalZero: one past the last byte to zero.
    pub beyond_final_zero: u64,
}

impl FileZeroDataInformation {
    /// Decodes the input.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FILE_ZERO_DATA_INFORMATION");
        Ok(Self {
            file_offset: r.u64()?,
            beyond_final_zero: r.u64()?,
        })
    }

    /// Encodes the input.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u64(self.file_offset);
        w.u64(self.beyond_final_zero);
        w.into_inner().to_vec()
    }
}

/// [MS-FSCC 2.3.49] FSCTL_PIPE_WAIT request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FsctlPipeWaitRequest {
    /// Timeout (100 ns units, negative = relative), valid if `timeout_specified`.
    pub timeout: i64,
    /// TimeoutSpecified.
    pub timeout_specified: bool,
    /// Name of the pipe (without `\pipe\`).
    pub name: String,
}

impl FsctlPipeWaitRequest {
    /// Decodes the input.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "FSCTL_PIPE_WAIT";
        let mut r = Reader::new(bytes, WHAT);
        let timeout = r.u64()? as i64;
        let len = r.u32()?;
        let timeout_specified = r.u8()? != 0;
        r.skip(1)?;
        let raw = r
            .take(len as usize)
            .map_err(|_| DecodeError::OutOfBounds { what: WHAT })?;
        let name = utf16le_to_string(raw).ok_or(DecodeError::Invalid { what: "pipe name" })?;
        Ok(Self {
            timeout,
            timeout_specified,
            name,
        })
    }

    /// Encodes the input.
    pub fn to_bytes(&self) -> Vec<u8> {
        let name = string_to_utf16le(&self.name);
        let mut w = Writer::new();
        w.u64(self.timeout as u64);
        w.u32(sat_u32(name.len()));
        w.u8(u8::from(self.timeout_specified));
        w.u8(0);
        w.bytes(&name);
        w.into_inner().to_vec()
    }
}

/// [MS-SMB2 2.2.31.3] NETWORK_RESILIENCY_REQUEST (FSCTL_LMR_REQUEST_RESILIENCY input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkResiliencyRequest {
    /// Timeout in milliseconds.
    pub timeout: u32,
}

impl NetworkResiliencyRequest {
    /// Decodes the input (8 bytes).
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "NETWORK_RESILIENCY_REQUEST");
        let timeout = r.u32()?;
        r.skip(4)?;
        Ok(Self { timeout })
    }

    /// Encodes the input.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.timeout);
        w.u32(0);
        w.into_inner().to_vec()
    }
}

/// [MS-FSCC 2.3.64] FILE_SET_SPARSE_BUFFER: the optional FSCTL_SET_SPARSE input. No input
/// at all means "set" (MS-FSA 2.1.5.10.28); bytes after the first are ignored, as Windows does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSetSparseBuffer {
    /// SetSparse: nonzero sets the flag, zero clears it.
    pub set_sparse: bool,
}

impl FileSetSparseBuffer {
    /// Decodes the input (empty = set).
    pub fn decode(input: &[u8]) -> Self {
        Self {
            set_sparse: input.first().is_none_or(|b| *b != 0),
        }
    }

    /// Encodes the input (one byte, 0xFF or 0 as Windows clients send).
    pub fn to_bytes(&self) -> Vec<u8> {
        vec![if self.set_sparse { 0xFF } else { 0 }]
    }
}

/// [MS-FSCC 2.3.8 / 2.3.68] COMPRESSION_STATE: FSCTL_GET_COMPRESSION output and
/// FSCTL_SET_COMPRESSION input (2 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompressionState {
    /// CompressionState: COMPRESSION_FORMAT_NONE (0), _DEFAULT (1), _LZNT1 (2).
    pub format: u16,
}

impl CompressionState {
    /// COMPRESSION_FORMAT_NONE.
    pub const NONE: u16 = 0;
    /// COMPRESSION_FORMAT_DEFAULT.
    pub const DEFAULT: u16 = 1;
    /// COMPRESSION_FORMAT_LZNT1.
    pub const LZNT1: u16 = 2;
    /// Size on the wire.
    pub const SIZE: usize = 2;

    /// Decodes the input.
    pub fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "COMPRESSION_STATE");
        Ok(Self { format: r.u16()? })
    }

    /// Encodes the output.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.format.to_le_bytes().to_vec()
    }
}
