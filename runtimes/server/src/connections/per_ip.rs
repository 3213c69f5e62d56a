//! The cap on open connections per client address, so one host cannot take every file
//! descriptor (and every slot the timeouts free) for itself.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// Open connections by client address.
pub struct PerIpCap {
    /// 0: no cap (nothing is counted).
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection; its place is given back when it is dropped.
pub struct Permit {
    counted: Option<(Arc<PerIpCap>, IpAddr)>,
}

/// The cap was reached: how many connections the address holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    pub open: usize,
}

impl PerIpCap {
    pub fn new(cap: usize) -> Arc<PerIpCap> {
        Arc::new(PerIpCap { cap, open: Mutex::new(HashMap::new()) })
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// A place for one more connection from `peer`, unless it holds `cap` already.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Permit, Full> {
        if self.cap == 0 {
            return Ok(Permit { counted: None });
        }
        let key = client_key(peer);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let held = open.entry(key).or_insert(0);
        if *held >= self.cap {
            return Err(Full { open: *held });
        }
        *held += 1;
        Ok(Permit { counted: Some((self.clone(), key)) })
    }

    fn release(&self, key: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = open.get_mut(&key) {
            *held = held.saturating_sub(1);
            // Addresses that hold nothing are forgotten: the map stays as small as the clients.
            if *held == 0 {
                open.remove(&key);
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some((cap, key)) = self.counted.take() {
            cap.release(key);
        }
    }
}

/// Whom a connection counts against: an IPv4 address (also when it arrives IPv4-mapped on a
/// dual-stack socket), or an IPv6 /64, since one IPv6 host is usually handed a whole /64 and
/// could otherwise open each connection from a fresh address.
fn client_key(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn refuses_over_the_cap_and_frees_places_on_drop() {
        let cap = PerIpCap::new(2);
        let first = cap.admit(ip("10.0.0.1")).unwrap();
        let _second = cap.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(cap.admit(ip("10.0.0.1")).err(), Some(Full { open: 2 }));
        assert!(cap.admit(ip("10.0.0.2")).is_ok(), "another address has its own places");
        drop(first);
        assert!(cap.admit(ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn forgets_addresses_that_hold_nothing() {
        let cap = PerIpCap::new(1);
        drop(cap.admit(ip("10.0.0.1")).unwrap());
        assert!(cap.open.lock().unwrap().is_empty());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let cap = PerIpCap::new(1);
        let _held = cap.admit(ip("2001:db8:1:2::1")).unwrap();
        assert!(cap.admit(ip("2001:db8:1:2::ffff")).is_err(), "same /64");
        assert!(cap.admit(ip("2001:db8:1:3::1")).is_ok(), "another /64");
        let _v4 = cap.admit(ip("192.0.2.7")).unwrap();
        assert!(cap.admit(ip("::ffff:192.0.2.7")).is_err(), "the same IPv4 client");
    }

    #[test]
    fn zero_counts_nothing() {
        let cap = PerIpCap::new(0);
        let permits: Vec<_> = (0..10).map(|_| cap.admit(ip("10.0.0.1")).unwrap()).collect();
        assert!(cap.open.lock().unwrap().is_empty());
        drop(permits);
    }
}
