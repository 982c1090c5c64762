//! [MS-SMB2 3.3.4.6 / 3.3.4.7] Oplock and lease break notifications: how another connection's
//! CREATE reaches this one (a [`BreakChannel`] and a waker), and how queued breaks become
//! unsolicited OPLOCK_BREAK messages.

use std::sync::Arc;

use rsmbd_protocol::messages::negotiate::{Capabilities, Dialect};
use rsmbd_protocol::messages::oplock_break::{
    LeaseBreakFlags, LeaseBreakNotification, OplockBreakNotification, OplockBreakResponse,
};
use rsmbd_protocol::{Command, Header};
use rsmbd_share::oplock::{BreakNotice, ClientLink};

use super::Connection;
use super::compound::ResponsePart;
use super::framing::OutFrame;

impl Connection {
    /// Installs what wakes the connection's task when another connection queues a break
    /// notification for it; the task then calls [`Self::poll_pending`].
    pub fn set_break_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        self.breaks.set_waker(waker);
    }

    /// What share handlers learn about this connection (break routing, lease identity).
    pub(super) fn client_link(&self) -> ClientLink {
        let dialect = self.dialect();
        ClientLink {
            client_guid: self.negotiated.as_ref().map_or([0; 16], |n| n.client_guid),
            breaks: Arc::clone(&self.breaks),
            leasing: dialect.is_some_and(|d| d >= Dialect::SMB2_1 && d != Dialect::SMB2_WILDCARD),
            lease_v2: dialect.is_some_and(|d| d >= Dialect::SMB3_0 && d != Dialect::SMB2_WILDCARD),
            replay: false,
            multichannel: self.negotiated.as_ref().is_some_and(|n| {
                n.dialect.is_smb3()
                    && n.client_capabilities & n.server_capabilities & Capabilities::MULTI_CHANNEL
                        != 0
            }),
        }
    }

    /// [MS-SMB2 3.3.4.6 / 3.3.4.7] The break notifications queued for this connection, each
    /// its own message: MessageId 0xFFFFFFFFFFFFFFFF, SessionId 0, unsigned; sealed with the
    /// key of the open's session when that session encrypts.
    pub fn poll_breaks(&mut self) -> Vec<OutFrame> {
        let mut out = Vec::new();
        for notice in self.breaks.drain() {
            let (session_id, body) = match notice {
                BreakNotice::Oplock {
                    session_id,
                    file_id,
                    level,
                } => (
                    session_id,
                    OplockBreakResponse::Oplock(OplockBreakNotification {
                        oplock_level: level,
                        file_id,
                    }),
                ),
                BreakNotice::Lease {
                    session_id,
                    new_epoch,
                    ack_required,
                    lease_key,
                    current,
                    new,
                } => (
                    session_id,
                    OplockBreakResponse::LeaseNotification(LeaseBreakNotification {
                        new_epoch,
                        flags: if ack_required {
                            LeaseBreakFlags::ACK_REQUIRED
                        } else {
                            0
                        },
                        lease_key,
                        current_lease_state: current,
                        new_lease_state: new,
                        ..Default::default()
                    }),
                ),
            };
            let mut header = Header::response(Command::OPLOCK_BREAK);
            header.message_id = u64::MAX;
            header.session_id = 0;
            header.credits = 0;
            let part = ResponsePart::new(
                header,
                rsmbd_protocol::messages::Response::OplockBreak(body),
                None,
            );
            let encrypt = self.session_encrypts(session_id);
            if let Some(msg) = self.emit(vec![part], encrypt) {
                out.push(msg);
            }
        }
        out
    }
}
