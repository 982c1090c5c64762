//! Property-based round trips: header, NEGOTIATE (contexts in random order, unknown context
//! types, unknown cipher ids), CREATE with contexts, READ, WRITE, QUERY_DIRECTORY, and the
//! compound split/build pair.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::borrow::Cow;

use common::{assert_request_round_trip, assert_response_round_trip, request_header};
use proptest::prelude::*;
use rsmbd_protocol::codec::Writer;
use rsmbd_protocol::messages::*;
use rsmbd_protocol::negotiate_context::{Dialect, NegotiateContext};
use rsmbd_protocol::{
    Command, CompoundWriter, CreateContext, Encode, FileId, Header, HeaderFlags, HeaderKind,
    NtStatus, split_compound,
};

fn arb_file_id() -> impl Strategy<Value = FileId> {
    (any::<u64>(), any::<u64>()).prop_map(|(p, v)| FileId::new(p, v))
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn arb_header() -> impl Strategy<Value = Header> {
    (
        (
            any::<u16>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
        ),
        prop_oneof![
            (any::<u32>(), any::<u32>()).prop_map(|(p, t)| HeaderKind::Sync {
                process_id: p,
                tree_id: t
            }),
            any::<u64>().prop_map(|a| HeaderKind::Async { async_id: a }),
        ],
        any::<u64>(),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(
                (credit_charge, status, command, credits, flags, next_command, message_id),
                kind,
                session_id,
                signature,
            )| {
                // The async bit is implied by the kind.
                let is_async = matches!(kind, HeaderKind::Async { .. });
                Header {
                    credit_charge,
                    status: NtStatus(status),
                    command: Command(command),
                    credits,
                    flags: HeaderFlags(flags).with(HeaderFlags::ASYNC_COMMAND, is_async),
                    next_command,
                    message_id,
                    kind,
                    session_id,
                    signature,
                }
            },
        )
}

fn arb_u16s() -> impl Strategy<Value = Vec<u16>> {
    proptest::collection::vec(any::<u16>(), 0..8)
}

fn arb_context() -> impl Strategy<Value = NegotiateContext> {
    prop_oneof![
        (arb_u16s(), arb_bytes(40)).prop_map(|(h, s)| NegotiateContext::PreauthIntegrity {
            hash_algorithms: h,
            salt: s
        }),
        // Cipher ids are arbitrary u16: unknown ones must survive.
        arb_u16s().prop_map(|c| NegotiateContext::Encryption { ciphers: c }),
        (any::<u32>(), arb_u16s()).prop_map(|(f, a)| NegotiateContext::Compression {
            flags: f,
            algorithms: a
        }),
        "[a-zA-Z0-9.\\-é€]{0,30}"
            .prop_map(|n| NegotiateContext::NetnameNegotiateContextId { netname: n }),
        any::<u32>().prop_map(|f| NegotiateContext::TransportCapabilities { flags: f }),
        arb_u16s().prop_map(|t| NegotiateContext::RdmaTransformCapabilities { transform_ids: t }),
        arb_u16s().prop_map(|a| NegotiateContext::Signing { algorithms: a }),
        (
            any::<u16>().prop_filter("unknown type", |t| !matches!(t, 1 | 2 | 3 | 5 | 6 | 7 | 8)),
            arb_bytes(50)
        )
            .prop_map(|(t, d)| NegotiateContext::Unknown {
                context_type: t,
                data: d
            }),
    ]
}

fn arb_create_context() -> impl Strategy<Value = CreateContext<'static>> {
    (proptest::collection::vec(any::<u8>(), 1..17), arb_bytes(70))
        .prop_map(|(n, d)| CreateContext::new(&n, d))
}

proptest! {
    #[test]
    fn header_round_trip(h in arb_header()) {
        let mut w = Writer::new();
        h.encode(&mut w);
        prop_assert_eq!(w.len(), 64);
        prop_assert_eq!(Header::decode(w.as_slice()).unwrap(), h);
    }

    #[test]
    fn negotiate_request_round_trip(
        security_mode in any::<u16>(),
        capabilities in any::<u32>(),
        client_guid in any::<[u8; 16]>(),
        mut dialects in proptest::collection::vec(any::<u16>().prop_map(Dialect), 0..8),
        with_311 in any::<bool>(),
        contexts in proptest::collection::vec(arb_context(), 0..10),
    ) {
        dialects.retain(|d| *d != Dialect::SMB3_1_1);
        if with_311 {
            dialects.push(Dialect::SMB3_1_1);
        }
        let negotiate_contexts = if with_311 { contexts } else { Vec::new() };
        assert_request_round_trip(Request::Negotiate(NegotiateRequest { security_mode, capabilities, client_guid, dialects, negotiate_contexts }));
    }

    #[test]
    fn negotiate_response_round_trip(
        dialect in prop_oneof![Just(Dialect::SMB3_1_1), Just(Dialect::SMB3_0), Just(Dialect::SMB2_WILDCARD)],
        token in arb_bytes(200),
        contexts in proptest::collection::vec(arb_context(), 0..6),
        fields in (any::<u16>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u64>(), any::<u64>(), any::<[u8; 16]>()),
    ) {
        let (security_mode, capabilities, max_transact_size, max_read_size, max_write_size, system_time, server_start_time, server_guid) = fields;
        let negotiate_contexts = if dialect == Dialect::SMB3_1_1 { contexts } else { Vec::new() };
        assert_response_round_trip(Command::NEGOTIATE, NtStatus::SUCCESS, Response::Negotiate(NegotiateResponse {
            security_mode, dialect_revision: dialect, server_guid, capabilities, max_transact_size,
            max_read_size, max_write_size, system_time, server_start_time,
            security_buffer: Cow::Owned(token), negotiate_contexts,
        }));
    }

    #[test]
    fn create_request_round_trip(
        fixed in (any::<u8>(), any::<u8>(), any::<u32>(), any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
        name in arb_bytes(100),
        contexts in proptest::collection::vec(arb_create_context(), 0..6),
    ) {
        let (security_flags, requested_oplock_level, impersonation_level, smb_create_flags, desired_access, file_attributes, share_access, create_disposition, create_options) = fixed;
        assert_request_round_trip(Request::Create(CreateRequest {
            security_flags, requested_oplock_level, impersonation_level, smb_create_flags, desired_access,
            file_attributes, share_access, create_disposition, create_options,
            name: Cow::Owned(name), create_contexts: contexts,
        }));
    }

    #[test]
    fn create_response_round_trip(
        times in any::<[u64; 6]>(),
        oplock_level in any::<u8>(),
        create_action in any::<u32>(),
        file_attributes in any::<u32>(),
        file_id in arb_file_id(),
        contexts in proptest::collection::vec(arb_create_context(), 0..4),
    ) {
        assert_response_round_trip(Command::CREATE, NtStatus::SUCCESS, Response::Create(CreateResponse {
            oplock_level, flags: 0, create_action,
            creation_time: times[0], last_access_time: times[1], last_write_time: times[2], change_time: times[3],
            allocation_size: times[4], end_of_file: times[5], file_attributes, file_id, create_contexts: contexts,
        }));
    }

    #[test]
    fn read_round_trip(
        fixed in (any::<u8>(), any::<u8>(), any::<u32>(), any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>()),
        file_id in arb_file_id(),
        info in arb_bytes(40),
        data in arb_bytes(300),
        data_remaining in any::<u32>(),
    ) {
        let (padding, flags, length, offset, minimum_count, channel, remaining_bytes) = fixed;
        assert_request_round_trip(Request::Read(ReadRequest {
            padding, flags, length, offset, file_id, minimum_count, channel, remaining_bytes,
            read_channel_info: Cow::Owned(info),
        }));
        assert_response_round_trip(Command::READ, NtStatus::SUCCESS, Response::Read(ReadResponse { data_remaining, data: Cow::Owned(data) }));
    }

    #[test]
    fn write_round_trip(
        fixed in (any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>()),
        file_id in arb_file_id(),
        data in arb_bytes(300),
        info in arb_bytes(40),
        count in any::<u32>(),
    ) {
        let (offset, channel, remaining_bytes, flags) = fixed;
        assert_request_round_trip(Request::Write(WriteRequest {
            offset, file_id, channel, remaining_bytes, flags, data: Cow::Owned(data), write_channel_info: Cow::Owned(info),
        }));
        assert_response_round_trip(Command::WRITE, NtStatus::SUCCESS, Response::Write(WriteResponse { count, remaining: 0 }));
    }

    #[test]
    fn query_directory_round_trip(
        class in any::<u8>(),
        flags in any::<u8>(),
        file_index in any::<u32>(),
        file_id in arb_file_id(),
        pattern in arb_bytes(60),
        output_buffer_length in any::<u32>(),
        buffer in arb_bytes(300),
    ) {
        assert_request_round_trip(Request::QueryDirectory(QueryDirectoryRequest {
            file_information_class: class, flags, file_index, file_id, file_name: Cow::Owned(pattern), output_buffer_length,
        }));
        assert_response_round_trip(Command::QUERY_DIRECTORY, NtStatus::SUCCESS, Response::QueryDirectory(QueryDirectoryResponse { buffer: Cow::Owned(buffer) }));
    }

    /// Build a compound of random members, split it back: same members, in order, each
    /// starting 8-aligned, padding included, the last unpadded.
    #[test]
    fn compound_build_and_split(sizes in proptest::collection::vec(0usize..100, 1..6)) {
        let mut cw = CompoundWriter::new();
        for (i, size) in sizes.iter().enumerate() {
            let w = cw.begin_member();
            let mut h = request_header(Command::WRITE);
            h.message_id = i as u64;
            h.encode(w);
            WriteRequest { data: Cow::Owned(vec![i as u8; *size]), ..WriteRequest::default() }.encode(w);
        }
        let (frame, ranges) = cw.finish();
        let members: Vec<&[u8]> = split_compound(&frame).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(members.len(), sizes.len());
        prop_assert_eq!(ranges.len(), sizes.len());
        for (i, (m, r)) in members.iter().zip(&ranges).enumerate() {
            prop_assert_eq!(*m, &frame[r.clone()]);
            prop_assert_eq!(r.start % 8, 0);
            let h = Header::decode(m).unwrap();
            prop_assert_eq!(h.message_id, i as u64);
            let last = i + 1 == sizes.len();
            prop_assert_eq!(h.next_command == 0, last);
            if !last {
                prop_assert_eq!(h.next_command as usize, m.len());
                prop_assert_eq!(m.len() % 8, 0);
            }
            let Request::Write(wr) = Request::decode(Command::WRITE, rsmbd_protocol::Message::new(m)).unwrap() else { panic!() };
            prop_assert_eq!(wr.data.len(), sizes[i]);
        }
    }
}
