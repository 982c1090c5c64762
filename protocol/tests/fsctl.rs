//! FSCTL payload codecs: round trips, spec sizes and hostile counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::SocketAddr;

use rsmbd_protocol::fsctl::*;

#[test]
fn copychunk() {
    let req = SrvCopychunkCopy {
        source_key: [7; 24],
        chunks: vec![
            CopyChunk {
                source_offset: 0,
                target_offset: 4096,
                length: 1 << 20,
            },
            CopyChunk {
                source_offset: 1 << 20,
                target_offset: 0,
                length: 5,
            },
        ],
    };
    let bytes = req.to_bytes();
    assert_eq!(bytes.len(), 32 + 2 * 24);
    assert_eq!(SrvCopychunkCopy::decode(&bytes).unwrap(), req);
    let mut lying = bytes.clone();
    lying[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(
        SrvCopychunkCopy::decode(&lying).is_err(),
        "ChunkCount beyond the data"
    );
    let resp = SrvCopychunkResponse {
        chunks_written: 256,
        chunk_bytes_written: 1 << 20,
        total_bytes_written: 16 << 20,
    };
    assert_eq!(resp.to_bytes().len(), 12);
    assert_eq!(
        SrvCopychunkResponse::decode(&resp.to_bytes()).unwrap(),
        resp
    );
    let key = SrvRequestResumeKeyResponse {
        resume_key: [3; 24],
    };
    assert_eq!(key.to_bytes().len(), 32);
    assert_eq!(
        SrvRequestResumeKeyResponse::decode(&key.to_bytes()).unwrap(),
        key
    );
}

#[test]
fn network_interfaces() {
    let list = vec![
        NetworkInterfaceInfo {
            if_index: 2,
            capability: NetworkInterfaceInfo::RSS_CAPABLE,
            link_speed: 10_000_000_000,
            address: "192.0.2.10:0".parse::<SocketAddr>().unwrap(),
        },
        NetworkInterfaceInfo {
            if_index: 3,
            capability: 0,
            link_speed: 1_000_000_000,
            address: "[2001:db8::1]:445".parse::<SocketAddr>().unwrap(),
        },
    ];
    let bytes = NetworkInterfaceInfo::encode_list(&list);
    assert_eq!(bytes.len(), 2 * 152);
    assert_eq!(&bytes[..4], &152u32.to_le_bytes());
    assert_eq!(&bytes[24..26], &[0x02, 0x00], "AF_INET");
    assert_eq!(&bytes[28..32], &[192, 0, 2, 10]);
    assert_eq!(NetworkInterfaceInfo::decode_list(&bytes).unwrap(), list);
    assert!(NetworkInterfaceInfo::decode_list(&bytes[..151]).is_err());
}

#[test]
fn snapshots() {
    let a = SrvSnapshotArray {
        snapshots: vec![
            "@GMT-2026.11.23-12.00.00".into(),
            "@GMT-2026.11.22-12.00.00".into(),
        ],
    };
    let full = a.to_bytes(65536);
    // Two names of 24 UTF-16 characters + NUL each, plus the final NUL.
    assert_eq!(full.len(), 12 + 2 * 50 + 2);
    assert_eq!(SrvSnapshotArray::decode(&full).unwrap(), (2, a.clone()));
    let counts_only = a.to_bytes(16);
    assert_eq!(counts_only.len(), 12);
    assert_eq!(
        u32::from_le_bytes(counts_only[8..12].try_into().unwrap()),
        102,
        "size needed"
    );
    assert_eq!(
        SrvSnapshotArray::decode(&counts_only).unwrap(),
        (2, SrvSnapshotArray::default())
    );
    assert_eq!(SrvSnapshotArray::default().to_bytes(16).len(), 12);
}

#[test]
fn ranges_zero_data_pipe_wait_resiliency() {
    let ranges = [
        FileAllocatedRange {
            file_offset: 0,
            length: 4096,
        },
        FileAllocatedRange {
            file_offset: 1 << 30,
            length: 1,
        },
    ];
    let bytes = FileAllocatedRange::encode_list(&ranges);
    assert_eq!(bytes.len(), 32);
    assert_eq!(FileAllocatedRange::decode(&bytes[16..]).unwrap(), ranges[1]);
    let z = FileZeroDataInformation {
        file_offset: 10,
        beyond_final_zero: 20,
    };
    assert_eq!(FileZeroDataInformation::decode(&z.to_bytes()).unwrap(), z);
    assert!(FileZeroDataInformation::decode(&z.to_bytes()[..15]).is_err());
    let w = FsctlPipeWaitRequest {
        timeout: -50_000_000,
        timeout_specified: true,
        name: "srvsvc".into(),
    };
    let bytes = w.to_bytes();
    assert_eq!(bytes.len(), 14 + 12);
    assert_eq!(FsctlPipeWaitRequest::decode(&bytes).unwrap(), w);
    let mut lying = bytes.clone();
    lying[8..12].copy_from_slice(&1000u32.to_le_bytes());
    assert!(FsctlPipeWaitRequest::decode(&lying).is_err());
    let n = NetworkResiliencyRequest { timeout: 120_000 };
    assert_eq!(NetworkResiliencyRequest::decode(&n.to_bytes()).unwrap(), n);
}

#[test]
fn set_sparse_and_compression_state() {
    // No buffer means "set"; only the first byte counts (MS-FSA 2.1.5.10.28).
    assert!(FileSetSparseBuffer::decode(&[]).set_sparse);
    assert!(FileSetSparseBuffer::decode(&[0xFF, 0, 0]).set_sparse);
    assert!(!FileSetSparseBuffer::decode(&[0, 0xFF]).set_sparse);
    for on in [true, false] {
        let b = FileSetSparseBuffer { set_sparse: on };
        assert_eq!(b.to_bytes().len(), 1);
        assert_eq!(FileSetSparseBuffer::decode(&b.to_bytes()), b);
    }
    let c = CompressionState {
        format: CompressionState::LZNT1,
    };
    assert_eq!(c.to_bytes(), vec![2, 0]);
    assert_eq!(CompressionState::decode(&c.to_bytes()).unwrap(), c);
    assert!(CompressionState::decode(&[1]).is_err());
}
