//! Round trips for every request and response: `decode(encode(v)) == v` with hand-built
//! values, through the `Request` / `Response` dispatchers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::borrow::Cow;

use common::{
    assert_request_round_trip, assert_response_round_trip, request_bytes, response_bytes,
};
use rsmbd_protocol::codec::Message;
use rsmbd_protocol::create_context::{MaximalAccessResponse, QueryOnDiskIdResponse};
use rsmbd_protocol::messages::*;
use rsmbd_protocol::negotiate_context::{CipherId, Dialect, NegotiateContext};
use rsmbd_protocol::{Command, CreateContext, FileId, NtStatus};

const FID: FileId = FileId {
    persistent: 0x0000_0004_0000_0006,
    volatile: 0x0000_0004_0000_0001,
};

fn b(v: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(v)
}

#[test]
fn negotiate_request_smb311_with_contexts() {
    assert_request_round_trip(Request::Negotiate(NegotiateRequest {
        security_mode: SecurityMode::SIGNING_ENABLED,
        capabilities: Capabilities::DFS | Capabilities::LEASING | Capabilities::ENCRYPTION,
        client_guid: [0x11; 16],
        dialects: vec![
            Dialect::SMB2_0_2,
            Dialect::SMB2_1,
            Dialect::SMB3_0,
            Dialect::SMB3_1_1,
        ],
        negotiate_contexts: vec![
            NegotiateContext::PreauthIntegrity {
                hash_algorithms: vec![1],
                salt: vec![9; 32],
            },
            NegotiateContext::Encryption {
                ciphers: vec![4, 2, 0x77],
            },
            NegotiateContext::NetnameNegotiateContextId {
                netname: "fs1.example.org".into(),
            },
            NegotiateContext::Compression {
                flags: 1,
                algorithms: vec![1, 2, 3],
            },
            NegotiateContext::TransportCapabilities { flags: 1 },
            NegotiateContext::RdmaTransformCapabilities {
                transform_ids: vec![1, 2],
            },
            NegotiateContext::Signing {
                algorithms: vec![2, 1, 0],
            },
            NegotiateContext::Unknown {
                context_type: 0x1234,
                data: vec![1, 2, 3],
            },
        ],
    }));
}

#[test]
fn negotiate_request_without_311_ignores_contexts() {
    let req = NegotiateRequest {
        security_mode: SecurityMode::SIGNING_REQUIRED,
        capabilities: 0,
        client_guid: [0x22; 16],
        dialects: vec![Dialect::SMB2_0_2, Dialect::SMB3_0_2],
        negotiate_contexts: vec![],
    };
    assert_request_round_trip(Request::Negotiate(req));
}

#[test]
fn negotiate_response_311_and_202() {
    let token = [0x60, 0x03, 0x06, 0x01, 0x00];
    assert_response_round_trip(
        Command::NEGOTIATE,
        NtStatus::SUCCESS,
        Response::Negotiate(NegotiateResponse {
            security_mode: 1,
            dialect_revision: Dialect::SMB3_1_1,
            server_guid: [0xAB; 16],
            capabilities: Capabilities::LARGE_MTU,
            max_transact_size: 8 << 20,
            max_read_size: 8 << 20,
            max_write_size: 8 << 20,
            system_time: 0x01D0_AECD_698E_16D1,
            server_start_time: 0,
            security_buffer: b(&token),
            negotiate_contexts: vec![
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms: vec![1],
                    salt: vec![5; 32],
                },
                NegotiateContext::Encryption {
                    ciphers: vec![CipherId::AES_128_GCM.0],
                },
                NegotiateContext::Signing {
                    algorithms: vec![1],
                },
            ],
        }),
    );
    assert_response_round_trip(
        Command::NEGOTIATE,
        NtStatus::SUCCESS,
        Response::Negotiate(NegotiateResponse {
            dialect_revision: Dialect::SMB2_0_2,
            security_buffer: b(&[]),
            ..NegotiateResponse::default()
        }),
    );
}

#[test]
fn session_setup() {
    let token = [0xA1u8; 70];
    assert_request_round_trip(Request::SessionSetup(SessionSetupRequest {
        flags: SessionSetupFlags::BINDING,
        security_mode: 1,
        capabilities: Capabilities::DFS,
        channel: 0,
        previous_session_id: 0x1000_0000_0021,
        security_buffer: b(&token),
    }));
    assert_response_round_trip(
        Command::SESSION_SETUP,
        NtStatus::MORE_PROCESSING_REQUIRED,
        Response::SessionSetup(SessionSetupResponse {
            session_flags: 0,
            security_buffer: b(&token),
        }),
    );
    assert_response_round_trip(
        Command::SESSION_SETUP,
        NtStatus::SUCCESS,
        Response::SessionSetup(SessionSetupResponse {
            session_flags: SessionFlags::ENCRYPT_DATA,
            security_buffer: b(&[]),
        }),
    );
}

#[test]
fn logoff_echo_cancel_tree_disconnect_flush() {
    assert_request_round_trip(Request::Logoff(LogoffRequest));
    assert_request_round_trip(Request::Echo(EchoRequest));
    assert_request_round_trip(Request::Cancel(CancelRequest));
    assert_request_round_trip(Request::TreeDisconnect(TreeDisconnectRequest));
    assert_request_round_trip(Request::Flush(FlushRequest { file_id: FID }));
    for (cmd, r) in [
        (Command::LOGOFF, Response::Logoff(LogoffResponse)),
        (Command::ECHO, Response::Echo(EchoResponse)),
        (
            Command::TREE_DISCONNECT,
            Response::TreeDisconnect(TreeDisconnectResponse),
        ),
        (Command::FLUSH, Response::Flush(FlushResponse)),
        (Command::LOCK, Response::Lock(LockResponse)),
        (Command::SET_INFO, Response::SetInfo(SetInfoResponse)),
    ] {
        assert_response_round_trip(cmd, NtStatus::SUCCESS, r);
    }
}

#[test]
fn tree_connect() {
    assert_request_round_trip(Request::TreeConnect(TreeConnectRequest {
        flags: 0,
        path: "\\\\fs1.example.org\\pub€".into(),
        tree_connect_contexts: vec![],
    }));
    assert_request_round_trip(Request::TreeConnect(TreeConnectRequest {
        flags: TreeConnectFlags::EXTENSION_PRESENT,
        path: "\\\\srv\\IPC$".into(),
        tree_connect_contexts: vec![
            TreeConnectContext {
                context_type: 1,
                data: vec![1, 2, 3, 4, 5],
            },
            TreeConnectContext {
                context_type: 7,
                data: vec![],
            },
        ],
    }));
    assert_response_round_trip(
        Command::TREE_CONNECT,
        NtStatus::SUCCESS,
        Response::TreeConnect(TreeConnectResponse {
            share_type: ShareType::DISK,
            share_flags: ShareFlags::ENCRYPT_DATA | ShareFlags::NO_CACHING,
            capabilities: ShareCapabilities::DFS,
            maximal_access: AccessMask::FILE_ALL_ACCESS,
        }),
    );
}

#[test]
fn create_with_contexts() {
    let name: Vec<u8> = "dir\\file.txt"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let sd = vec![1u8; 20];
    let req = CreateRequest {
        security_flags: 0,
        requested_oplock_level: OplockLevel::LEASE,
        impersonation_level: ImpersonationLevel::IMPERSONATION,
        smb_create_flags: 0,
        desired_access: AccessMask::GENERIC_READ | AccessMask::SYNCHRONIZE,
        file_attributes: 0x80,
        share_access: ShareAccess::READ | ShareAccess::WRITE,
        create_disposition: CreateDisposition::OPEN_IF.0,
        create_options: CreateOptions::NON_DIRECTORY_FILE,
        name: b(&name),
        create_contexts: vec![
            CreateContext {
                name: b(b"MxAc"),
                data: b(&[]),
            },
            CreateContext {
                name: b(b"QFid"),
                data: b(&[]),
            },
            CreateContext {
                name: b(b"SecD"),
                data: b(&sd),
            },
            CreateContext {
                name: b(&[
                    0x93, 0xAD, 0x25, 0x50, 0x9C, 0xB4, 0x11, 0xE7, 0xB4, 0x23, 0x83, 0xDE, 0x96,
                    0x8B, 0xCD, 0x7C,
                ]),
                data: b(&[7; 5]),
            },
        ],
    };
    assert_request_round_trip(Request::Create(req.clone()));
    // An empty name and no contexts (opening the share root).
    assert_request_round_trip(Request::Create(CreateRequest {
        name: b(&[]),
        create_contexts: vec![],
        ..req
    }));

    let resp = CreateResponse {
        oplock_level: OplockLevel::BATCH,
        flags: 0,
        create_action: CreateAction::CREATED.0,
        creation_time: 1,
        last_access_time: 2,
        last_write_time: 3,
        change_time: 4,
        allocation_size: 4096,
        end_of_file: 23,
        file_attributes: 0x20,
        file_id: FID,
        create_contexts: vec![
            MaximalAccessResponse {
                query_status: NtStatus::SUCCESS,
                maximal_access: 0x1F01FF,
            }
            .to_context(),
            QueryOnDiskIdResponse {
                disk_file_id: 0x1234,
                volume_id: 0x99,
            }
            .to_context(),
        ],
    };
    assert_response_round_trip(
        Command::CREATE,
        NtStatus::SUCCESS,
        Response::Create(resp.clone()),
    );
    assert_response_round_trip(
        Command::CREATE,
        NtStatus::SUCCESS,
        Response::Create(CreateResponse {
            create_contexts: vec![],
            ..resp
        }),
    );
}

#[test]
fn close() {
    assert_request_round_trip(Request::Close(CloseRequest {
        flags: CloseFlags::POSTQUERY_ATTRIB,
        file_id: FID,
    }));
    assert_response_round_trip(
        Command::CLOSE,
        NtStatus::SUCCESS,
        Response::Close(CloseResponse {
            flags: 1,
            creation_time: 10,
            last_access_time: 11,
            last_write_time: 12,
            change_time: 13,
            allocation_size: 14,
            end_of_file: 15,
            file_attributes: 16,
        }),
    );
}

#[test]
fn read_and_write() {
    assert_request_round_trip(Request::Read(ReadRequest {
        padding: 0x50,
        flags: 0,
        length: 65536,
        offset: 1 << 40,
        file_id: FID,
        minimum_count: 1,
        channel: Channel::NONE,
        remaining_bytes: 0,
        read_channel_info: b(&[]),
    }));
    assert_request_round_trip(Request::Read(ReadRequest {
        channel: Channel::RDMA_V1,
        read_channel_info: b(&[1; 16]),
        ..ReadRequest::default()
    }));
    for data in [&b"hello"[..], &[][..]] {
        assert_response_round_trip(
            Command::READ,
            NtStatus::SUCCESS,
            Response::Read(ReadResponse {
                data_remaining: 0,
                data: b(data),
            }),
        );
    }
    assert_response_round_trip(
        Command::READ,
        NtStatus::BUFFER_OVERFLOW,
        Response::Read(ReadResponse {
            data_remaining: 5,
            data: b(b"pipe"),
        }),
    );
    assert_request_round_trip(Request::Write(WriteRequest {
        offset: 42,
        file_id: FID,
        channel: 0,
        remaining_bytes: 0,
        flags: WriteFlags::WRITE_THROUGH,
        data: b(b"some data"),
        write_channel_info: b(&[]),
    }));
    assert_request_round_trip(Request::Write(WriteRequest {
        data: b(b"x"),
        write_channel_info: b(&[9; 16]),
        ..WriteRequest::default()
    }));
    assert_request_round_trip(Request::Write(WriteRequest::default()));
    assert_response_round_trip(
        Command::WRITE,
        NtStatus::SUCCESS,
        Response::Write(WriteResponse {
            count: 9,
            remaining: 0,
        }),
    );
}

#[test]
fn read_response_fixed_part_matches_full_encoder() {
    let data = b"zero-copy";
    let full = response_bytes(
        Command::READ,
        NtStatus::SUCCESS,
        &Response::Read(ReadResponse {
            data_remaining: 0,
            data: b(data),
        }),
    );
    let mut w = rsmbd_protocol::Writer::new();
    rsmbd_protocol::Header::response(Command::READ).encode(&mut w);
    ReadResponse::encode_fixed_part(&mut w, data.len() as u32);
    w.bytes(data);
    assert_eq!(w.as_slice(), &full[..]);
    assert_eq!(full[64 + 2], 0x50, "DataOffset is 0x50");
}

#[test]
fn lock() {
    assert_request_round_trip(Request::Lock(LockRequest {
        lock_sequence: (5 << 4) | 3,
        file_id: FID,
        locks: vec![
            LockElement {
                offset: 0,
                length: 10,
                flags: LockFlags::EXCLUSIVE_LOCK | LockFlags::FAIL_IMMEDIATELY,
            },
            LockElement {
                offset: 100,
                length: u64::MAX,
                flags: LockFlags::UNLOCK,
            },
        ],
    }));
    let l = LockRequest {
        lock_sequence: (5 << 4) | 3,
        ..LockRequest::default()
    };
    assert_eq!((l.lock_sequence_number(), l.lock_sequence_index()), (3, 5));
}

#[test]
fn ioctl_and_validate_negotiate() {
    let vni = ValidateNegotiateInfoRequest {
        capabilities: 0x7F,
        guid: [3; 16],
        security_mode: 1,
        dialects: vec![Dialect::SMB3_0, Dialect::SMB3_0_2],
    };
    assert_eq!(
        ValidateNegotiateInfoRequest::decode(&vni.to_bytes()).unwrap(),
        vni
    );
    let vnr = ValidateNegotiateInfoResponse {
        capabilities: 1,
        guid: [4; 16],
        security_mode: 1,
        dialect: Dialect::SMB3_0_2,
    };
    assert_eq!(vnr.to_bytes().len(), 24);
    assert_eq!(
        ValidateNegotiateInfoResponse::decode(&vnr.to_bytes()).unwrap(),
        vnr
    );

    let input = vni.to_bytes();
    assert_request_round_trip(Request::Ioctl(IoctlRequest {
        ctl_code: FsctlCode::VALIDATE_NEGOTIATE_INFO.0,
        file_id: FileId::COMPOUND_PREVIOUS,
        input: b(&input),
        max_input_response: 0,
        output: b(&[]),
        max_output_response: 24,
        flags: IoctlFlags::IS_FSCTL,
    }));
    assert_request_round_trip(Request::Ioctl(IoctlRequest {
        ctl_code: FsctlCode::PIPE_TRANSCEIVE.0,
        file_id: FID,
        input: b(&[5; 7]),
        output: b(&[6; 3]),
        max_output_response: 4280,
        flags: IoctlFlags::IS_FSCTL,
        ..IoctlRequest::default()
    }));
    let out = vnr.to_bytes();
    for status in [NtStatus::SUCCESS, NtStatus::BUFFER_OVERFLOW] {
        assert_response_round_trip(
            Command::IOCTL,
            status,
            Response::Ioctl(IoctlResponse {
                ctl_code: FsctlCode::VALIDATE_NEGOTIATE_INFO.0,
                file_id: FileId::COMPOUND_PREVIOUS,
                input: b(&[]),
                output: b(&out),
                flags: 0,
            }),
        );
    }
    // A copychunk failure keeps the IOCTL body under an error status.
    assert_response_round_trip(
        Command::IOCTL,
        NtStatus::INVALID_PARAMETER,
        Response::Ioctl(IoctlResponse {
            ctl_code: FsctlCode::SRV_COPYCHUNK.0,
            file_id: FID,
            input: b(&[]),
            output: b(&[1; 12]),
            flags: 0,
        }),
    );
}

#[test]
fn query_directory_change_notify_query_info_set_info() {
    let pattern: Vec<u8> = "*.txt".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_request_round_trip(Request::QueryDirectory(QueryDirectoryRequest {
        file_information_class: 37,
        flags: QueryDirectoryFlags::RESTART_SCANS,
        file_index: 0,
        file_id: FID,
        file_name: b(&pattern),
        output_buffer_length: 65536,
    }));
    assert_request_round_trip(Request::QueryDirectory(QueryDirectoryRequest::default()));
    assert_response_round_trip(
        Command::QUERY_DIRECTORY,
        NtStatus::SUCCESS,
        Response::QueryDirectory(QueryDirectoryResponse {
            buffer: b(&[1, 2, 3, 4, 5, 6, 7, 8, 9]),
        }),
    );
    assert_request_round_trip(Request::ChangeNotify(ChangeNotifyRequest {
        flags: ChangeNotifyFlags::WATCH_TREE,
        output_buffer_length: 4096,
        file_id: FID,
        completion_filter: CompletionFilter::FILE_NAME | CompletionFilter::DIR_NAME,
    }));
    assert_response_round_trip(
        Command::CHANGE_NOTIFY,
        NtStatus::SUCCESS,
        Response::ChangeNotify(ChangeNotifyResponse {
            buffer: b(&[0; 20]),
        }),
    );
    assert_response_round_trip(
        Command::CHANGE_NOTIFY,
        NtStatus::NOTIFY_ENUM_DIR,
        Response::ChangeNotify(ChangeNotifyResponse { buffer: b(&[]) }),
    );
    assert_request_round_trip(Request::QueryInfo(QueryInfoRequest {
        info_type: InfoType::SECURITY,
        file_info_class: 0,
        output_buffer_length: 4096,
        input: b(&[]),
        additional_information: SecurityInformation::OWNER | SecurityInformation::DACL,
        flags: 0,
        file_id: FID,
    }));
    assert_request_round_trip(Request::QueryInfo(QueryInfoRequest {
        info_type: InfoType::QUOTA,
        input: b(&[1; 24]),
        ..QueryInfoRequest::default()
    }));
    for status in [NtStatus::SUCCESS, NtStatus::BUFFER_OVERFLOW] {
        assert_response_round_trip(
            Command::QUERY_INFO,
            status,
            Response::QueryInfo(QueryInfoResponse {
                buffer: b(&[0xEE; 40]),
            }),
        );
    }
    assert_request_round_trip(Request::SetInfo(SetInfoRequest {
        info_type: InfoType::FILE,
        file_info_class: 13,
        buffer: b(&[1]),
        additional_information: 0,
        file_id: FID,
    }));
}

#[test]
fn oplock_and_lease_breaks() {
    let oplock = OplockBreakAcknowledgment {
        oplock_level: OplockLevel::II,
        file_id: FID,
    };
    let lease = LeaseBreakAcknowledgment {
        flags: 0,
        lease_key: [8; 16],
        lease_state: LeaseState::READ_CACHING,
        lease_duration: 0,
    };
    assert_request_round_trip(Request::OplockBreak(OplockBreakRequest::Oplock(oplock)));
    assert_request_round_trip(Request::OplockBreak(OplockBreakRequest::Lease(lease)));
    for r in [
        OplockBreakResponse::Oplock(oplock),
        OplockBreakResponse::Lease(lease),
        OplockBreakResponse::LeaseNotification(LeaseBreakNotification {
            new_epoch: 2,
            flags: LeaseBreakFlags::ACK_REQUIRED,
            lease_key: [8; 16],
            current_lease_state: 7,
            new_lease_state: 1,
            break_reason: 0,
            access_mask_hint: 0,
            share_mask_hint: 0,
        }),
    ] {
        assert_response_round_trip(
            Command::OPLOCK_BREAK,
            NtStatus::SUCCESS,
            Response::OplockBreak(r),
        );
    }
}

#[test]
fn error_response_body() {
    // MS-SMB2 2.2.2: an empty ErrorData is ByteCount 0 followed by one zero byte.
    let bytes = response_bytes(
        Command::CREATE,
        NtStatus::OBJECT_NAME_NOT_FOUND,
        &Response::Error(ErrorResponse::empty()),
    );
    assert_eq!(&bytes[64..], &[9, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (cmd, status) in [
        (Command::CREATE, NtStatus::OBJECT_NAME_NOT_FOUND),
        (Command::SESSION_SETUP, NtStatus::LOGON_FAILURE),
        (Command::QUERY_DIRECTORY, NtStatus::NO_MORE_FILES),
        (Command::READ, NtStatus::PENDING),
        (Command::QUERY_INFO, NtStatus::ACCESS_DENIED),
    ] {
        assert_response_round_trip(cmd, status, Response::Error(ErrorResponse::empty()));
    }
    let ctx = ErrorContext::encode_list(&[
        ErrorContext {
            error_id: 0,
            data: vec![1, 2, 3],
        },
        ErrorContext {
            error_id: 0x7264_5253,
            data: vec![4; 9],
        },
    ]);
    assert_response_round_trip(
        Command::TREE_CONNECT,
        NtStatus::BAD_NETWORK_NAME,
        Response::Error(ErrorResponse {
            error_context_count: 2,
            error_data: b(&ctx),
        }),
    );
    let back = ErrorContext::decode_list(&ctx, 2).unwrap();
    assert_eq!(back[1].error_id, 0x7264_5253);
    assert_eq!(back[1].data, vec![4; 9]);
}

#[test]
fn response_command_and_error_body_rules() {
    assert_eq!(Response::Error(ErrorResponse::empty()).command(), None);
    assert_eq!(Response::Echo(EchoResponse).command(), Some(Command::ECHO));
    assert!(!Response::has_error_body(
        Command::SESSION_SETUP,
        NtStatus::MORE_PROCESSING_REQUIRED
    ));
    assert!(Response::has_error_body(
        Command::TREE_CONNECT,
        NtStatus::MORE_PROCESSING_REQUIRED
    ));
    assert!(!Response::has_error_body(
        Command::READ,
        NtStatus::BUFFER_OVERFLOW
    ));
    assert!(Response::has_error_body(
        Command::QUERY_DIRECTORY,
        NtStatus::NO_MORE_FILES
    ));
    assert!(Response::has_error_body(Command::CREATE, NtStatus::PENDING));
    assert!(!Response::has_error_body(
        Command::CHANGE_NOTIFY,
        NtStatus::NOTIFY_ENUM_DIR
    ));
    assert!(!Response::has_error_body(
        Command::CREATE,
        NtStatus::SUCCESS
    ));
}

#[test]
fn unknown_command_is_invalid() {
    let bytes = request_bytes(&Request::Echo(EchoRequest));
    assert_eq!(
        Request::decode(rsmbd_protocol::Command(0x13), Message::new(&bytes)),
        Err(rsmbd_protocol::DecodeError::Invalid { what: "command" })
    );
    assert!(
        Response::decode(
            rsmbd_protocol::Command(0x99),
            NtStatus::SUCCESS,
            Message::new(&bytes)
        )
        .is_err()
    );
}

#[test]
fn tree_connect_context_offset_relative_to_the_body() {
    let req = TreeConnectRequest {
        flags: TreeConnectFlags::EXTENSION_PRESENT,
        path: "\\\\srv\\share".into(),
        tree_connect_contexts: vec![TreeConnectContext {
            context_type: 1,
            data: vec![9; 4],
        }],
    };
    let mut bytes = request_bytes(&Request::TreeConnect(req.clone()));
    let off = u32::from_le_bytes(bytes[64 + 8..64 + 12].try_into().unwrap());
    assert!(off >= 64);
    bytes[64 + 8..64 + 12].copy_from_slice(&(off - 64).to_le_bytes());
    let back = Request::decode(Command::TREE_CONNECT, Message::new(&bytes)).unwrap();
    assert_eq!(back, Request::TreeConnect(req));
}
