//! [MS-FSCC 2.5] File system information structures answered by QUERY_INFO (InfoType
//! FILESYSTEM).

use super::info::{FsccStruct, read_name};
use crate::codec::{DecodeResult, Encode, Reader, Writer, sat_u32, string_to_utf16le};

/// [MS-FSCC 2.5.9] FileFsVolumeInformation (18 bytes + label).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFsVolumeInformation {
    /// VolumeCreationTime (FILETIME).
    pub volume_creation_time: u64,
    /// VolumeSerialNumber.
    pub volume_serial_number: u32,
    /// SupportsObjects.
    pub supports_objects: bool,
    /// VolumeLabel.
    pub volume_label: String,
}

impl Encode for FileFsVolumeInformation {
    fn encode(&self, w: &mut Writer) {
        let label = string_to_utf16le(&self.volume_label);
        w.u64(self.volume_creation_time);
        w.u32(self.volume_serial_number);
        w.u32(sat_u32(label.len()));
        w.u8(u8::from(self.supports_objects));
        w.u8(0);
        w.bytes(&label);
    }
}

impl FsccStruct for FileFsVolumeInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "FileFsVolumeInformation";
        let mut r = Reader::new(bytes, WHAT);
        let volume_creation_time = r.u64()?;
        let volume_serial_number = r.u32()?;
        let len = r.u32()?;
        let supports_objects = r.u8()? != 0;
        r.skip(1)?;
        let volume_label = read_name(&mut r, len, WHAT)?;
        Ok(Self {
            volume_creation_time,
            volume_serial_number,
            supports_objects,
            volume_label,
        })
    }
}

/// [MS-FSCC 2.5.8] FileFsSizeInformation (24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileFsSizeInformation {
    /// TotalAllocationUnits.
    pub total_allocation_units: u64,
    /// AvailableAllocationUnits.
    pub available_allocation_units: u64,
    /// SectorsPerAllocationUnit.
    pub sectors_per_allocation_unit: u32,
    /// BytesPerSector.
    pub bytes_per_sector: u32,
}

impl Encode for FileFsSizeInformation {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.total_allocation_units);
        w.u64(self.available_allocation_units);
        w.u32(self.sectors_per_allocation_unit);
        w.u32(self.bytes_per_sector);
    }
}

impl FsccStruct for FileFsSizeInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileFsSizeInformation");
        Ok(Self {
            total_allocation_units: r.u64()?,
            available_allocation_units: r.u64()?,
            sectors_per_allocation_unit: r.u32()?,
            bytes_per_sector: r.u32()?,
        })
    }
}

/// [MS-FSCC 2.5.4] FileFsFullSizeInformation (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileFsFullSizeInformation {
    /// TotalAllocationUnits.
    pub total_allocation_units: u64,
    /// CallerAvailableAllocationUnits.
    pub caller_available_allocation_units: u64,
    /// ActualAvailableAllocationUnits.
    pub actual_available_allocation_units: u64,
    /// SectorsPerAllocationUnit.
    pub sectors_per_allocation_unit: u32,
    /// BytesPerSector.
    pub bytes_per_sector: u32,
}

impl Encode for FileFsFullSizeInformation {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.total_allocation_units);
        w.u64(self.caller_available_allocation_units);
        w.u64(self.actual_available_allocation_units);
        w.u32(self.sectors_per_allocation_unit);
        w.u32(self.bytes_per_sector);
    }
}

impl FsccStruct for FileFsFullSizeInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileFsFullSizeInformation");
        Ok(Self {
            total_allocation_units: r.u64()?,
            caller_available_allocation_units: r.u64()?,
            actual_available_allocation_units: r.u64()?,
            sectors_per_allocation_unit: r.u32()?,
            bytes_per_sector: r.u32()?,
        })
    }
}

/// [MS-FSCC 2.5.10] FileFsDeviceInformation (8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileFsDeviceInformation {
    /// DeviceType (FILE_DEVICE_DISK = 0x07).
    pub device_type: u32,
    /// Characteristics.
    pub characteristics: u32,
}

impl FileFsDeviceInformation {
    /// FILE_DEVICE_DISK.
    pub const FILE_DEVICE_DISK: u32 = 0x0000_0007;
    /// FILE_DEVICE_NAMED_PIPE.
    pub const FILE_DEVICE_NAMED_PIPE: u32 = 0x0000_0011;
    /// FILE_DEVICE_IS_MOUNTED characteristic.
    pub const FILE_DEVICE_IS_MOUNTED: u32 = 0x0000_0020;
}

impl Encode for FileFsDeviceInformation {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.device_type);
        w.u32(self.characteristics);
    }
}

impl FsccStruct for FileFsDeviceInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileFsDeviceInformation");
        Ok(Self {
            device_type: r.u32()?,
            characteristics: r.u32()?,
        })
    }
}

/// [MS-FSCC 2.5.1] FileFsAttributeInformation (12 bytes + name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFsAttributeInformation {
    /// FileSystemAttributes (see the consts).
    pub file_system_attributes: u32,
    /// MaximumComponentNameLength.
    pub maximum_component_name_length: u32,
    /// FileSystemName, e.g. `NTFS`.
    pub file_system_name: String,
}

impl FileFsAttributeInformation {
    /// FILE_CASE_SENSITIVE_SEARCH.
    pub const FILE_CASE_SENSITIVE_SEARCH: u32 = 0x0000_0001;
    /// FILE_CASE_PRESERVED_NAMES.
    pub const FILE_CASE_PRESERVED_NAMES: u32 = 0x0000_0002;
    /// FILE_UNICODE_ON_DISK.
    pub const FILE_UNICODE_ON_DISK: u32 = 0x0000_0004;
    /// FILE_PERSISTENT_ACLS.
    pub const FILE_PERSISTENT_ACLS: u32 = 0x0000_0008;
    /// FILE_SUPPORTS_SPARSE_FILES.
    pub const FILE_SUPPORTS_SPARSE_FILES: u32 = 0x0000_0040;
    /// FILE_SUPPORTS_OBJECT_IDS.
    pub const FILE_SUPPORTS_OBJECT_IDS: u32 = 0x0001_0000;
    /// FILE_NAMED_STREAMS.
    pub const FILE_NAMED_STREAMS: u32 = 0x0004_0000;
}

impl Encode for FileFsAttributeInformation {
    fn encode(&self, w: &mut Writer) {
        let name = string_to_utf16le(&self.file_system_name);
        w.u32(self.file_system_attributes);
        w.u32(self.maximum_component_name_length);
        w.u32(sat_u32(name.len()));
        w.bytes(&name);
    }
}

impl FsccStruct for FileFsAttributeInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "FileFsAttributeInformation";
        let mut r = Reader::new(bytes, WHAT);
        let file_system_attributes = r.u32()?;
        let maximum_component_name_length = r.u32()?;
        let len = r.u32()?;
        Ok(Self {
            file_system_attributes,
            maximum_component_name_length,
            file_system_name: read_name(&mut r, len, WHAT)?,
        })
    }
}

/// [MS-FSCC 2.5.7] FileFsSectorSizeInformation (28 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileFsSectorSizeInformation {
    /// LogicalBytesPerSector.
    pub logical_bytes_per_sector: u32,
    /// PhysicalBytesPerSectorForAtomicity.
    pub physical_bytes_per_sector_for_atomicity: u32,
    /// PhysicalBytesPerSectorForPerformance.
    pub physical_bytes_per_sector_for_performance: u32,
    /// FileSystemEffectivePhysicalBytesPerSectorForAtomicity.
    pub file_system_effective_physical_bytes_per_sector_for_atomicity: u32,
    /// Flags.
    pub flags: u32,
    /// ByteOffsetForSectorAlignment.
    pub byte_offset_for_sector_alignment: u32,
    /// ByteOffsetForPartitionAlignment.
    pub byte_offset_for_partition_alignment: u32,
}

impl Encode for FileFsSectorSizeInformation {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.logical_bytes_per_sector);
        w.u32(self.physical_bytes_per_sector_for_atomicity);
        w.u32(self.physical_bytes_per_sector_for_performance);
        w.u32(self.file_system_effective_physical_bytes_per_sector_for_atomicity);
        w.u32(self.flags);
        w.u32(self.byte_offset_for_sector_alignment);
        w.u32(self.byte_offset_for_partition_alignment);
    }
}

impl FsccStruct for FileFsSectorSizeInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileFsSectorSizeInformation");
        Ok(Self {
            logical_bytes_per_sector: r.u32()?,
            physical_bytes_per_sector_for_atomicity: r.u32()?,
            physical_bytes_per_sector_for_performance: r.u32()?,
            file_system_effective_physical_bytes_per_sector_for_atomicity: r.u32()?,
            flags: r.u32()?,
            byte_offset_for_sector_alignment: r.u32()?,
            byte_offset_for_partition_alignment: r.u32()?,
        })
    }
}

/// [MS-FSCC 2.5.6] FileFsObjectIdInformation (64 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFsObjectIdInformation {
    /// ObjectId (a GUID).
    pub object_id: [u8; 16],
    /// ExtendedInfo.
    pub extended_info: [u8; 48],
}

impl Default for FileFsObjectIdInformation {
    fn default() -> Self {
        Self {
            object_id: [0; 16],
            extended_info: [0; 48],
        }
    }
}

impl Encode for FileFsObjectIdInformation {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.object_id);
        w.bytes(&self.extended_info);
    }
}

impl FsccStruct for FileFsObjectIdInformation {
    fn decode(bytes: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(bytes, "FileFsObjectIdInformation");
        Ok(Self {
            object_id: r.array::<16>()?,
            extended_info: r.array::<48>()?,
        })
    }
}
