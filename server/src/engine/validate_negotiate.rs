//! [MS-SMB2 3.3.5.15.12] FSCTL_VALIDATE_NEGOTIATE_INFO: the 3.0/3.0.2 client re-sends what it
//! offered in NEGOTIATE over a signed channel; any difference means someone tampered with the
//! negotiation, and the connection is dropped.

use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::messages::ioctl::{
    IoctlRequest, IoctlResponse, ValidateNegotiateInfoRequest, ValidateNegotiateInfoResponse,
};
use rsmbd_protocol::messages::negotiate::Dialect;

use super::context::ServerContext;
use super::negotiate::Negotiated;
use super::{Disconnect, disconnect};

/// FSCTL_VALIDATE_NEGOTIATE_INFO.
pub const FSCTL_VALIDATE_NEGOTIATE_INFO: u32 = 0x0014_0204;

/// Validates and answers, or disconnects.
pub fn handle(
    ctx: &ServerContext,
    negotiated: &Negotiated,
    req: &IoctlRequest<'_>,
    signed: bool,
) -> Result<IoctlResponse<'static>, Disconnect> {
    if negotiated.dialect == Dialect::SMB3_1_1 {
        // 3.1.1 protects the negotiation with the preauth hash instead; a client asking
        // anyway is not behaving as the spec says.
        return Err(disconnect("VALIDATE_NEGOTIATE_INFO on a 3.1.1 connection"));
    }
    if !signed {
        return Err(disconnect("unsigned VALIDATE_NEGOTIATE_INFO"));
    }
    let info = ValidateNegotiateInfoRequest::decode(&req.input)
        .map_err(|e| disconnect(format!("malformed VALIDATE_NEGOTIATE_INFO: {e}")))?;
    // Comparing the whole offer (not only the greatest common dialect) also catches a
    // rewritten dialect list that happens to select the same dialect.
    if info.capabilities != negotiated.client_capabilities
        || info.guid != negotiated.client_guid
        || info.security_mode != negotiated.client_security_mode
        || info.dialects != negotiated.client_dialects
    {
        return Err(disconnect(
            "VALIDATE_NEGOTIATE_INFO does not match the NEGOTIATE request (possible downgrade)",
        ));
    }
    let answer = ValidateNegotiateInfoResponse {
        capabilities: negotiated.server_capabilities,
        guid: ctx.server_guid,
        security_mode: negotiated.server_security_mode,
        dialect: negotiated.dialect,
    };
    Ok(IoctlResponse {
        ctl_code: FSCTL_VALIDATE_NEGOTIATE_INFO,
        file_id: FileId::COMPOUND_PREVIOUS,
        input: Default::default(),
        output: answer.to_bytes().into(),
        flags: 0,
    })
}
