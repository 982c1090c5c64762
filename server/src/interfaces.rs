//! The server's network interfaces as FSCTL_QUERY_NETWORK_INTERFACE_INFO reports them
//! ([MS-SMB2 2.2.32.5], 3.3.5.15.11): one entry per address clients can reach a listener on,
//! with the interface index and link speed of the host interface that carries it.
//!
//! A listener bound to one address reports that address; a wildcard listener (`0.0.0.0`,
//! `::`) reports every non-loopback address of its family on the host (loopback only if
//! there is nothing else). Addresses, interfaces and speeds come from procfs and sysfs
//! (`/proc/net/fib_trie`, `/proc/net/route`, `/proc/net/if_inet6`,
//! `/sys/class/net/<if>/{ifindex,speed}`), read when a client asks. A link speed the kernel
//! does not know (loopback, virtual devices) is reported as 1 Gbit/s, as Samba does. RSS and
//! RDMA are never claimed: rsmbd has neither.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use rsmbd_protocol::fsctl::NetworkInterfaceInfo;

/// Reported when the kernel does not know an interface's speed (bits per second).
pub const DEFAULT_LINK_SPEED: u64 = 1_000_000_000;

/// The entries for listeners bound to `listeners`, each address once.
pub fn for_listeners(listeners: &[SocketAddr]) -> Vec<NetworkInterfaceInfo> {
    let host = HostAddresses::read();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for l in listeners {
        let ips: Vec<IpAddr> = if l.ip().is_unspecified() {
            host.wildcard(l.is_ipv4())
        } else {
            vec![l.ip()]
        };
        for ip in ips {
            if !seen.insert(ip) {
                continue;
            }
            let name = host.interface_of(ip);
            let read = |attr: &str| {
                name.as_ref().and_then(|n| {
                    std::fs::read_to_string(format!("/sys/class/net/{n}/{attr}")).ok()
                })
            };
            out.push(NetworkInterfaceInfo {
                if_index: read("ifindex")
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0),
                capability: 0,
                link_speed: read("speed")
                    .and_then(|s| parse_speed(&s))
                    .unwrap_or(DEFAULT_LINK_SPEED),
                address: SocketAddr::new(ip, 0),
            });
        }
    }
    out
}

/// `/sys/class/net/<if>/speed` (Mbit/s; -1 or an error when unknown) in bits per second.
pub fn parse_speed(s: &str) -> Option<u64> {
    let mbit: i64 = s.trim().parse().ok()?;
    u64::try_from(mbit)
        .ok()
        .filter(|m| *m > 0)
        .and_then(|m| m.checked_mul(1_000_000))
}

/// What procfs says about the host's addresses.
#[derive(Debug, Default)]
struct HostAddresses {
    /// Local IPv4 addresses (`/32 host LOCAL` entries of the FIB).
    v4: Vec<Ipv4Addr>,
    /// IPv4 routes: interface, destination, mask.
    routes: Vec<(String, Ipv4Addr, Ipv4Addr)>,
    /// IPv6 addresses and their interfaces.
    v6: Vec<(Ipv6Addr, String)>,
}

impl HostAddresses {
    fn read() -> Self {
        let text = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Self {
            v4: parse_fib_trie(&text("/proc/net/fib_trie")),
            routes: parse_route(&text("/proc/net/route")),
            v6: parse_if_inet6(&text("/proc/net/if_inet6")),
        }
    }

    /// The addresses a wildcard listener of that family answers on.
    fn wildcard(&self, v4: bool) -> Vec<IpAddr> {
        let all: Vec<IpAddr> = if v4 {
            self.v4.iter().copied().map(IpAddr::V4).collect()
        } else {
            // Link-local addresses need a scope the client cannot use from this answer.
            self.v6
                .iter()
                .map(|(a, _)| *a)
                .filter(|a| a.segments().first().is_none_or(|s| s & 0xffc0 != 0xfe80))
                .map(IpAddr::V6)
                .collect()
        };
        let outside: Vec<IpAddr> = all.iter().copied().filter(|a| !a.is_loopback()).collect();
        if outside.is_empty() { all } else { outside }
    }

    /// The interface that carries `ip`, if procfs says.
    fn interface_of(&self, ip: IpAddr) -> Option<String> {
        if ip.is_loopback() {
            return Some("lo".to_owned());
        }
        match ip {
            IpAddr::V4(a) => self
                .routes
                .iter()
                .filter(|(_, dest, mask)| {
                    u32::from(*mask) != 0 && u32::from(a) & u32::from(*mask) == u32::from(*dest)
                })
                .max_by_key(|(_, _, mask)| u32::from(*mask))
                .map(|(name, _, _)| name.clone()),
            IpAddr::V6(a) => self
                .v6
                .iter()
                .find(|(x, _)| *x == a)
                .map(|(_, n)| n.clone()),
        }
    }
}

/// The local addresses in `/proc/net/fib_trie`: an address line (`|-- a.b.c.d`) followed by
/// `/32 host LOCAL`.
fn parse_fib_trie(text: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(a) = t.strip_prefix("|-- ") {
            last = a.trim().parse().ok();
        } else if t.starts_with("/32 host LOCAL")
            && let Some(a) = last
            && !out.contains(&a)
        {
            out.push(a);
        }
    }
    out
}

/// `/proc/net/route`: interface, destination and mask (little-endian hex) of each route.
fn parse_route(text: &str) -> Vec<(String, Ipv4Addr, Ipv4Addr)> {
    let hex = |s: &str| {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| Ipv4Addr::from(v.swap_bytes()))
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Some(((*f.first()?).to_owned(), hex(f.get(1)?)?, hex(f.get(7)?)?))
        })
        .collect()
}

/// `/proc/net/if_inet6`: 32 hex digits of address, index, prefix, scope, flags, name.
fn parse_if_inet6(text: &str) -> Vec<(Ipv6Addr, String)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let addr = u128::from_str_radix(f.first()?, 16).ok()?;
            Some((Ipv6Addr::from(addr), (*f.get(5)?).to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const FIB: &str = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 127.0.0.0/8 2 0 2\n        +-- 127.0.0.0/31 1 0 0\n           |-- 127.0.0.0\n              /8 host LOCAL\n           |-- 127.0.0.1\n              /32 host LOCAL\n     |-- 192.0.2.2\n        /32 host LOCAL\n     |-- 192.0.2.255\n        /32 link BROADCAST\nLocal:\n     |-- 192.0.2.2\n        /32 host LOCAL\n";
    const ROUTE: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    const INET6: &str = "fd000000000000000000000000000002 04 40 00 82     eth0\n00000000000000000000000000000001 01 80 10 80       lo\nfe8000000000000000fc00fffe000001 04 40 20 80     eth0\n";

    fn host() -> HostAddresses {
        HostAddresses {
            v4: parse_fib_trie(FIB),
            routes: parse_route(ROUTE),
            v6: parse_if_inet6(INET6),
        }
    }

    #[test]
    fn procfs_parsing() {
        let h = host();
        assert_eq!(
            h.v4,
            vec![Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(192, 0, 2, 2)]
        );
        assert_eq!(
            h.interface_of("192.0.2.2".parse().unwrap()).as_deref(),
            Some("eth0")
        );
        assert_eq!(
            h.interface_of("127.0.0.2".parse().unwrap()).as_deref(),
            Some("lo")
        );
        assert_eq!(h.interface_of("198.51.100.1".parse().unwrap()), None);
        assert_eq!(
            h.interface_of("fd00::2".parse().unwrap()).as_deref(),
            Some("eth0")
        );
    }

    #[test]
    fn wildcard_listeners_skip_loopback_and_link_local() {
        let h = host();
        assert_eq!(
            h.wildcard(true),
            vec!["192.0.2.2".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            h.wildcard(false),
            vec!["fd00::2".parse::<IpAddr>().unwrap()]
        );
        let lonely = HostAddresses {
            v4: vec![Ipv4Addr::LOCALHOST],
            ..Default::default()
        };
        assert_eq!(lonely.wildcard(true), vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    }

    #[test]
    fn speeds() {
        assert_eq!(parse_speed("10000\n"), Some(10_000_000_000));
        assert_eq!(parse_speed("-1"), None);
        assert_eq!(parse_speed("garbage"), None);
    }

    #[test]
    fn specific_listeners_report_their_address_once() {
        let a: SocketAddr = "127.0.0.2:445".parse().unwrap();
        let list = for_listeners(&[a, a]);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].address, "127.0.0.2:0".parse().unwrap());
        assert_eq!(list[0].capability, 0);
        assert!(list[0].link_speed > 0);
    }
}
