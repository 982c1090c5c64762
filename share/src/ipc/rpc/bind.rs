//! Presentation context negotiation for bind and alter_context (C706 12.6.4.3; MS-RPCE
//! 3.3.1.5.3): decides, per proposed context, acceptance with NDR 2.0, rejection, or the
//! bind-time feature negotiation acknowledgement.

use super::pdu::{ContextElem, ContextResult, provider_reason, result};
use super::{NDR20, SyntaxId, bind_time_features, features};

/// The outcome of negotiating one proposed presentation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// What goes into the bind_ack result list.
    pub result: ContextResult,
    /// True when the context id may be used in requests from now on.
    pub accepted: bool,
}

/// Answers one `p_cont_elem_t` for an endpoint that serves `interface`.
///
/// Order of checks: a bind-time feature negotiation transfer syntax is answered with
/// `negotiate_ack` (the abstract syntax does not matter for it); then the interface must match
/// (same UUID and major version, client minor <= ours, C706 12.6.3.1); then NDR 2.0 must be
/// among the transfer syntaxes (NDR64 alone is refused, which MS-RPCE 3.3.1.5.2 permits).
pub fn negotiate(elem: &ContextElem, interface: SyntaxId) -> Negotiated {
    let reject = |reason| Negotiated {
        result: ContextResult {
            result: result::PROVIDER_REJECTION,
            reason,
            transfer_syntax: SyntaxId::default(),
        },
        accepted: false,
    };
    if let Some(client) = elem.transfer_syntaxes.iter().find_map(bind_time_features) {
        return Negotiated {
            result: ContextResult {
                result: result::NEGOTIATE_ACK,
                reason: client & features::SUPPORTED,
                transfer_syntax: SyntaxId::default(),
            },
            accepted: false,
        };
    }
    let a = elem.abstract_syntax;
    if a.uuid != interface.uuid || a.major() != interface.major() || a.minor() > interface.minor() {
        return reject(provider_reason::ABSTRACT_SYNTAX_NOT_SUPPORTED);
    }
    if elem.transfer_syntaxes.contains(&NDR20) {
        Negotiated {
            result: ContextResult {
                result: result::ACCEPTANCE,
                reason: 0,
                transfer_syntax: NDR20,
            },
            accepted: true,
        }
    } else {
        reject(provider_reason::PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::ipc::rpc::{NDR64, SRVSVC, Uuid, WKSSVC};

    fn elem(a: SyntaxId, ts: &[SyntaxId]) -> ContextElem {
        ContextElem {
            context_id: 0,
            abstract_syntax: a,
            transfer_syntaxes: ts.to_vec(),
        }
    }

    #[test]
    fn ndr_accepted_ndr64_refused() {
        let n = negotiate(&elem(SRVSVC, &[NDR20]), SRVSVC);
        assert!(n.accepted);
        assert_eq!(n.result.transfer_syntax, NDR20);
        let n = negotiate(&elem(SRVSVC, &[NDR64]), SRVSVC);
        assert!(!n.accepted);
        assert_eq!(n.result.result, result::PROVIDER_REJECTION);
        assert_eq!(
            n.result.reason,
            provider_reason::PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED
        );
        assert_eq!(n.result.transfer_syntax, SyntaxId::default());
        // NDR64 preferred but NDR offered too: NDR is chosen.
        assert!(negotiate(&elem(SRVSVC, &[NDR64, NDR20]), SRVSVC).accepted);
    }

    #[test]
    fn wrong_interface_or_version_refused() {
        let n = negotiate(&elem(WKSSVC, &[NDR20]), SRVSVC);
        assert_eq!(
            n.result.reason,
            provider_reason::ABSTRACT_SYNTAX_NOT_SUPPORTED
        );
        let v2 = SyntaxId::new(SRVSVC.uuid, 2, 0);
        assert!(!negotiate(&elem(v2, &[NDR20]), SRVSVC).accepted);
        let minor1 = SyntaxId::new(SRVSVC.uuid, 3, 1);
        assert!(!negotiate(&elem(minor1, &[NDR20]), SRVSVC).accepted);
        assert!(negotiate(&elem(WKSSVC, &[NDR20]), WKSSVC).accepted);
    }

    #[test]
    fn bind_time_feature_negotiation_acknowledged() {
        let btfn = SyntaxId::new(
            Uuid::from_fields(0x6cb7_1c2c, 0x9812, 0x4540, [3, 0, 0, 0, 0, 0, 0, 0]),
            1,
            0,
        );
        let n = negotiate(&elem(SRVSVC, &[btfn]), SRVSVC);
        assert!(!n.accepted);
        assert_eq!(n.result.result, result::NEGOTIATE_ACK);
        assert_eq!(n.result.reason, features::KEEP_CONNECTION_ON_ORPHAN);
        assert_eq!(n.result.transfer_syntax, SyntaxId::default());
    }
}
