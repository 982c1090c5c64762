//! [MS-FSCC 2.4] File information structures answered by QUERY_INFO (InfoType FILE) and
//! accepted by SET_INFO. Each implements [`FsccStruct`]: `to_bytes` / `decode`.

use crate::codec::{
    DecodeError, DecodeResult, Encode, Reader, Writer, sat_u32, string_to_utf16le,
    utf16le_to_string,
};

/// A fixed or self-sized MS-FSCC structure (no SMB2 header: offsets are internal).
pub trait FsccStruct: Encode + Sized {
    /// Decodes the structure from the start of `bytes` (trailing bytes are ignored).
    fn decode(bytes: &[u8]) -> DecodeResult<Self>;

    /// Encodes into a fresh buffer.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_inner().to_vec()
    }
}

/// Reads a u32 length-prefixed UTF-16 name (the length was already read).
pub(crate) fn read_name(r: &mut Reader<'_>, len: u32, what: &'static str) -> DecodeResult<String> {
    let raw = r
        .take(len as usize)
        .map_err(|_| DecodeError::OutOfBounds { what })?;
    utf16le_to_string(raw).ok_or(DecodeError::Invalid { what })
}

/// [MS-FSCC 2.4.7] FileBasicInformation (40 bytes). In SET_INFO, 0 means "do not change"
/// and -1 (u64::MAX) "stop updating" for the times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileBasicInformation {
    /// CreationTime.
    pub creation_time: u64,
    /// LastAccessTime.
    pub last_access_time: u64,
    /// LastWriteTime.
    pub last_write_time: u64,
    /// ChangeTime.
    pub change_time: u64,
    /// FileAttributes.
    pub file_attributes: u32,
}

impl Encode for FileBasicInformation {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.creation_time);
        w.u64(self.last_access_time);
        w.u64(self.last_write_time);
        w.u64(self.change_time);
        w.u32(self.file_attributes);
        w.u32(0);
    }
}

impl FsccStruct for FileBasicInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileBasicInformation");
        let v = Self {
            creation_time: r.u64()?,
            last_access_time: r.u64()?,
            last_write_time: r.u64()?,
            change_time: r.u64()?,
            file_attributes: r.u32()?,
        };
        // Reserved: the structure is 40 bytes; a shorter SET_INFO buffer is
        // STATUS_INFO_LENGTH_MISMATCH (MS-FSA 2.1.5.14.2), so it must not decode.
        r.skip(4)?;
        Ok(v)
    }
}

/// [MS-FSCC 2.4.41] FileStandardInformation (24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStandardInformation {
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndOfFile.
    pub end_of_file: u64,
    /// NumberOfLinks.
    pub number_of_links: u32,
    /// DeletePending.
    pub delete_pending: bool,
    /// Directory.
    pub directory: bool,
}

impl Encode for FileStandardInformation {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.allocation_size);
        w.u64(self.end_of_file);
        w.u32(self.number_of_links);
        w.u8(u8::from(self.delete_pending));
        w.u8(u8::from(self.directory));
        w.u16(0);
    }
}

impl FsccStruct for FileStandardInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileStandardInformation");
        let v = Self {
            allocation_size: r.u64()?,
            end_of_file: r.u64()?,
            number_of_links: r.u32()?,
            delete_pending: r.u8()? != 0,
            directory: r.u8()? != 0,
        };
        r.skip(2)?;
        Ok(v)
    }
}

macro_rules! single_field_info {
    ($(#[$m:meta])* $name:ident, $field:ident: $ty:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name {
            #[allow(missing_docs)]
            pub $field: $ty,
        }

        impl Encode for $name {
            fn encode(&self, w: &mut Writer) {
                w.$ty(self.$field);
            }
        }

        impl FsccStruct for $name {
            fn decode(bytes: &[u8]) -> DecodeResult<Self> {
                Ok(Self { $field: Reader::new(bytes, $what).$ty()? })
            }
        }
    };
}

single_field_info!(
    /// [MS-FSCC 2.4.22] FileInternalInformation: IndexNumber (the file id).
    FileInternalInformation, index_number: u64, "FileInternalInformation"
);
single_field_info!(
    /// [MS-FSCC 2.4.13] FileEaInformation: EaSize.
    FileEaInformation, ea_size: u32, "FileEaInformation"
);
single_field_info!(
    /// [MS-FSCC 2.4.1] FileAccessInformation: AccessFlags (the open's granted access).
    FileAccessInformation, access_flags: u32, "FileAccessInformation"
);
single_field_info!(
    /// [MS-FSCC 2.4.35] FilePositionInformation: CurrentByteOffset.
    FilePositionInformation, current_byte_offset: u64, "FilePositionInformation"
);
single_field_info!(
    /// [MS-FSCC 2.4.26] FileModeInformation: Mode.
    FileModeInformation, mode: u32, "FileModeInformation"
);
single_field_info!(
    /// [MS-FSCC 2.4.3] FileAlignmentInformation: AlignmentRequirement.
    FileAlignmentInformation, alignment_requirement: u32, "FileAlignmentInformation"
);
single_field_info!(
    /// [MS-FSCC 2.4.14] FileEndOfFileInformation (SET_INFO): EndOfFile.
    FileEndOfFileInformation, end_of_file: u64, "FileEndOfFileInformation"
);
single_field_info!(
    /// [MS-FSCC 2.4.4] FileAllocationInformation (SET_INFO): AllocationSize.
    FileAllocationInformation, allocation_size: u64, "FileAllocationInformation"
);

/// [MS-FSCC 2.4.28] FileNameInformation: FileNameLength + FileName (UTF-16LE).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileNameInformation {
    /// FileName (for QUERY_INFO, the path from the share root starting with `\`).
    pub file_name: String,
}

impl Encode for FileNameInformation {
    fn encode(&self, w: &mut Writer) {
        let name = string_to_utf16le(&self.file_name);
        w.u32(sat_u32(name.len()));
        w.bytes(&name);
    }
}

impl FsccStruct for FileNameInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileNameInformation");
        let len = r.u32()?;
        Ok(Self {
            file_name: read_name(&mut r, len, "FileNameInformation name")?,
        })
    }
}

/// [MS-FSCC 2.4.2] FileAllInformation: Basic, Standard, Internal, Ea, Access, Position,
/// Mode, Alignment and Name, concatenated (100 bytes + name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileAllInformation {
    /// BasicInformation.
    pub basic: FileBasicInformation,
    /// StandardInformation.
    pub standard: FileStandardInformation,
    /// InternalInformation.
    pub internal: FileInternalInformation,
    /// EaInformation.
    pub ea: FileEaInformation,
    /// AccessInformation.
    pub access: FileAccessInformation,
    /// PositionInformation.
    pub position: FilePositionInformation,
    /// ModeInformation.
    pub mode: FileModeInformation,
    /// AlignmentInformation.
    pub alignment: FileAlignmentInformation,
    /// NameInformation.
    pub name: FileNameInformation,
}

impl Encode for FileAllInformation {
    fn encode(&self, w: &mut Writer) {
        self.basic.encode(w);
        self.standard.encode(w);
        self.internal.encode(w);
        self.ea.encode(w);
        self.access.encode(w);
        self.position.encode(w);
        self.mode.encode(w);
        self.alignment.encode(w);
        self.name.encode(w);
    }
}

impl FsccStruct for FileAllInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let tail = |from: usize| {
            bytes.get(from..).ok_or(DecodeError::Truncated {
                what: "FileAllInformation",
            })
        };
        Ok(Self {
            basic: FileBasicInformation::decode(bytes)?,
            standard: FileStandardInformation::decode(tail(40)?)?,
            internal: FileInternalInformation::decode(tail(64)?)?,
            ea: FileEaInformation::decode(tail(72)?)?,
            access: FileAccessInformation::decode(tail(76)?)?,
            position: FilePositionInformation::decode(tail(80)?)?,
            mode: FileModeInformation::decode(tail(88)?)?,
            alignment: FileAlignmentInformation::decode(tail(92)?)?,
            name: FileNameInformation::decode(tail(96)?)?,
        })
    }
}

/// [MS-FSCC 2.4.29] FileNetworkOpenInformation (56 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileNetworkOpenInformation {
    /// CreationTime.
    pub creation_time: u64,
    /// LastAccessTime.
    pub last_access_time: u64,
    /// LastWriteTime.
    pub last_write_time: u64,
    /// ChangeTime.
    pub change_time: u64,
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndOfFile.
    pub end_of_file: u64,
    /// FileAttributes.
    pub file_attributes: u32,
}

impl Encode for FileNetworkOpenInformation {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.creation_time);
        w.u64(self.last_access_time);
        w.u64(self.last_write_time);
        w.u64(self.change_time);
        w.u64(self.allocation_size);
        w.u64(self.end_of_file);
        w.u32(self.file_attributes);
        w.u32(0);
    }
}

impl FsccStruct for FileNetworkOpenInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileNetworkOpenInformation");
        let v = Self {
            creation_time: r.u64()?,
            last_access_time: r.u64()?,
            last_write_time: r.u64()?,
            change_time: r.u64()?,
            allocation_size: r.u64()?,
            end_of_file: r.u64()?,
            file_attributes: r.u32()?,
        };
        r.skip(4)?;
        Ok(v)
    }
}

/// [MS-FSCC 2.4.6] FileAttributeTagInformation (8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileAttributeTagInformation {
    /// FileAttributes.
    pub file_attributes: u32,
    /// ReparseTag.
    pub reparse_tag: u32,
}

impl Encode for FileAttributeTagInformation {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.file_attributes);
        w.u32(self.reparse_tag);
    }
}

impl FsccStruct for FileAttributeTagInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileAttributeTagInformation");
        Ok(Self {
            file_attributes: r.u32()?,
            reparse_tag: r.u32()?,
        })
    }
}

/// [MS-FSCC 2.4.43] One FileStreamInformation entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileStreamEntry {
    /// StreamSize.
    pub stream_size: u64,
    /// StreamAllocationSize.
    pub stream_allocation_size: u64,
    /// StreamName, e.g. `::$DATA`.
    pub stream_name: String,
}

/// [MS-FSCC 2.4.43] FileStreamInformation: entries chained by NextEntryOffset, 8-aligned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileStreamInformation {
    /// The streams.
    pub entries: Vec<FileStreamEntry>,
}

impl Encode for FileStreamInformation {
    fn encode(&self, w: &mut Writer) {
        let base = w.len();
        for (i, e) in self.entries.iter().enumerate() {
            let start = w.len();
            let next_at = w.reserve_u32();
            let name = string_to_utf16le(&e.stream_name);
            w.u32(sat_u32(name.len()));
            w.u64(e.stream_size);
            w.u64(e.stream_allocation_size);
            w.bytes(&name);
            if i + 1 < self.entries.len() {
                let pad = (8 - (w.len() - base) % 8) % 8;
                w.zeros(pad);
                w.patch_u32(next_at, sat_u32(w.len() - start));
            }
        }
    }
}

impl FsccStruct for FileStreamInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "FileStreamInformation";
        let mut entries = Vec::new();
        let mut pos = 0usize;
        while pos < bytes.len() {
            let mut r = Reader::new(bytes.get(pos..).unwrap_or(&[]), WHAT);
            let next = r.u32()? as usize;
            let len = r.u32()?;
            let stream_size = r.u64()?;
            let stream_allocation_size = r.u64()?;
            let stream_name = read_name(&mut r, len, WHAT)?;
            entries.push(FileStreamEntry {
                stream_size,
                stream_allocation_size,
                stream_name,
            });
            if next == 0 {
                break;
            }
            if next < 24 {
                return Err(DecodeError::Invalid {
                    what: "FileStreamInformation NextEntryOffset",
                });
            }
            pos = pos
                .checked_add(next)
                .ok_or(DecodeError::OutOfBounds { what: WHAT })?;
        }
        Ok(Self { entries })
    }
}

/// [MS-FSCC 2.4.9] FileCompressionInformation (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileCompressionInformation {
    /// CompressedFileSize.
    pub compressed_file_size: u64,
    /// CompressionFormat (0 = COMPRESSION_FORMAT_NONE).
    pub compression_format: u16,
    /// CompressionUnitShift.
    pub compression_unit_shift: u8,
    /// ChunkShift.
    pub chunk_shift: u8,
    /// ClusterShift.
    pub cluster_shift: u8,
}

impl Encode for FileCompressionInformation {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.compressed_file_size);
        w.u16(self.compression_format);
        w.u8(self.compression_unit_shift);
        w.u8(self.chunk_shift);
        w.u8(self.cluster_shift);
        w.zeros(3);
    }
}

impl FsccStruct for FileCompressionInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileCompressionInformation");
        let v = Self {
            compressed_file_size: r.u64()?,
            compression_format: r.u16()?,
            compression_unit_shift: r.u8()?,
            chunk_shift: r.u8()?,
            cluster_shift: r.u8()?,
        };
        r.skip(3)?;
        Ok(v)
    }
}

/// [MS-FSCC 2.4.23] FileIdInformation (24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileIdInformation {
    /// VolumeSerialNumber.
    pub volume_serial_number: u64,
    /// FileId (128-bit; our inode number in the low 8 bytes).
    pub file_id: [u8; 16],
}

impl Encode for FileIdInformation {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.volume_serial_number);
        w.bytes(&self.file_id);
    }
}

impl FsccStruct for FileIdInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileIdInformation");
        Ok(Self {
            volume_serial_number: r.u64()?,
            file_id: r.array::<16>()?,
        })
    }
}

/// [MS-FSCC 2.4.37.2] FileRenameInformation, the 64-bit form SMB2 uses (SET_INFO):
/// ReplaceIfExists, 7 reserved bytes, RootDirectory (0 over SMB2), FileNameLength, FileName.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileRenameInformation {
    /// ReplaceIfExists.
    pub replace_if_exists: bool,
    /// RootDirectory (must be 0 for SMB2; kept).
    pub root_directory: u64,
    /// FileName: the new path from the share root.
    pub file_name: String,
}

impl Encode for FileRenameInformation {
    fn encode(&self, w: &mut Writer) {
        let name = string_to_utf16le(&self.file_name);
        w.u8(u8::from(self.replace_if_exists));
        w.zeros(7);
        w.u64(self.root_directory);
        w.u32(sat_u32(name.len()));
        w.bytes(&name);
    }
}

impl FsccStruct for FileRenameInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "FileRenameInformation";
        let mut r = Reader::new(bytes, WHAT);
        let replace_if_exists = r.u8()? != 0;
        r.skip(7)?;
        let root_directory = r.u64()?;
        let len = r.u32()?;
        Ok(Self {
            replace_if_exists,
            root_directory,
            file_name: read_name(&mut r, len, WHAT)?,
        })
    }
}

/// [MS-FSCC 2.4.11] FileDispositionInformation (SET_INFO): DeletePending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileDispositionInformation {
    /// DeletePending: delete the file when the last handle closes.
    pub delete_pending: bool,
}

impl Encode for FileDispositionInformation {
    fn encode(&self, w: &mut Writer) {
        w.u8(u8::from(self.delete_pending));
    }
}

impl FsccStruct for FileDispositionInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        Ok(Self {
            delete_pending: Reader::new(bytes, "FileDispositionInformation").u8()? != 0,
        })
    }
}
