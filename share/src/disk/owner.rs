//! Ownership of what a session creates: the `[[identity]]` mapping gives a principal a local
//! uid/gid, and every new file or directory is handed to it with fchown(2) on the new
//! descriptor (never by name, so nothing planted at the path can be chowned instead).
//! Changing ownership needs root (CAP_CHOWN); without it the server says so once and carries on.

use std::sync::atomic::{AtomicBool, Ordering};

static WARNED: AtomicBool = AtomicBool::new(false);

/// Gives the newly created `file` to `(uid, gid)`. Failure is logged, never fatal: the file
/// exists and the client's create succeeded.
pub fn apply(file: &std::fs::File, (uid, gid): (u32, u32)) {
    match std::os::unix::fs::fchown(file, Some(uid), Some(gid)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(target: "rsmbd::identity", "new files are not given to the mapped uid/gid (uid={uid} gid={gid}): the server is not running as root ({e}); logged once");
            }
        }
        Err(e) => {
            tracing::warn!(target: "rsmbd::identity", "cannot give a new file to uid={uid} gid={gid}: {e}");
        }
    }
}
