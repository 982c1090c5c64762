//! The descriptor limit: every connection and every open holds a file descriptor, and Debian's
//! default soft limit (1024) is far below `max_connections`. At start the soft limit is raised
//! to the hard one, and a limit still too low for `max_connections` is reported, since past it
//! `accept` fails for everybody, not just the client that hit a `[limits]` key.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use super::Limits;

/// Descriptors kept aside for listeners, share roots, the keytab, logs and opens.
const RESERVE: u64 = 1024;

/// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the soft limit now in force.
pub fn raise_nofile(limits: &Limits) -> Option<u64> {
    let current = getrlimit(Resource::Nofile);
    let raised = match (current.current, current.maximum) {
        (Some(soft), Some(hard)) if soft < hard => {
            let want = Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            match setrlimit(Resource::Nofile, want) {
                Ok(()) => Some(hard),
                Err(e) => {
                    tracing::warn!(target: "rsmbd", "cannot raise the descriptor limit from {soft} to {hard}: {e}");
                    Some(soft)
                }
            }
        }
        (soft, _) => soft,
    };
    if let Some(n) = raised {
        let needed = (limits.max_connections as u64).saturating_add(RESERVE);
        if n < needed {
            tracing::warn!(target: "rsmbd", "descriptor limit {n} is below limits.max_connections + {RESERVE} = {needed}: past it accept fails for every client; raise `ulimit -n` (LimitNOFILE=) or lower limits.max_connections");
        } else {
            tracing::debug!(target: "rsmbd", "descriptor limit {n}");
        }
    }
    raised
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let after = raise_nofile(&Limits::default());
        let now = getrlimit(Resource::Nofile);
        assert_eq!(after, now.current);
        assert_eq!(now.current, now.maximum);
    }
}
