//! FSCTL_QUERY_NETWORK_INTERFACE_INFO ([MS-SMB2 3.3.5.15.11], [2.2.32.5]): the server's
//! addresses, for multichannel clients. The engine knows the listeners and the host's
//! interfaces (`server::interfaces`) and passes them in; this file only checks and encodes.

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::fsctl::NetworkInterfaceInfo;
use rsmbd_protocol::messages::ioctl::{IoctlRequest, IoctlResponse};

use super::response;

/// The FileId must be all 0xFF (the FSCTL names no file, 3.3.5.15.11; the same bits as the
/// related-compound FileId) and the list must fit
/// MaxOutputResponse (`BUFFER_TOO_SMALL` otherwise); no interface at all is `NOT_SUPPORTED`.
pub fn handle(
    req: &IoctlRequest<'_>,
    interfaces: &[NetworkInterfaceInfo],
) -> Result<IoctlResponse<'static>, NtStatus> {
    if req.file_id != FileId::COMPOUND_PREVIOUS {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if interfaces.is_empty() {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    let out = NetworkInterfaceInfo::encode_list(interfaces);
    if out.len() > req.max_output_response as usize {
        return Err(NtStatus::BUFFER_TOO_SMALL);
    }
    Ok(response(req, out))
}
