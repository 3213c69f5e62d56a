//! Address rules: single addresses and CIDR ranges, IPv4 and IPv6 (IPv4-mapped IPv6 addresses
//! match their IPv4 rules). Parsed once per config snapshot.

use std::net::IpAddr;

/// One address or range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `192.168.1.7`, `fd00::/8`, `::1`.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| format!("'{text}' is not an IP address or CIDR range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{text}': the prefix length must be 0..={max}"))?,
            None => max,
        };
        Ok(Cidr { network: canonical(network), prefix })
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, canonical(addr)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_match(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_match(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the IPv4 address it carries.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    }
}

fn prefix_match(net: &[u8], ip: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if net.get(..full) != ip.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    matches!((net.get(full), ip.get(full)), (Some(n), Some(i)) if n & mask == i & mask)
}

/// Allow and block lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpFilter {
    allow: Vec<Cidr>,
    block: Vec<Cidr>,
}

impl IpFilter {
    /// Every entry must parse; the error names the first that does not.
    pub fn parse(allow: &[String], block: &[String]) -> Result<IpFilter, String> {
        let parse_all = |list: &[String]| list.iter().map(|t| Cidr::parse(t)).collect::<Result<Vec<_>, _>>();
        Ok(IpFilter { allow: parse_all(allow)?, block: parse_all(block)? })
    }

    /// Blocked always loses; with an allow list, only listed addresses get in. An unknown
    /// address (a runtime that cannot tell) gets in only when there is no allow list.
    pub fn admits(&self, addr: Option<IpAddr>) -> bool {
        match addr {
            Some(addr) => {
                !self.block.iter().any(|c| c.contains(addr))
                    && (self.allow.is_empty() || self.allow.iter().any(|c| c.contains(addr)))
            }
            None => self.allow.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn cidr_ranges_v4_and_v6() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped IPv6 matches IPv4 rules");
        let odd = Cidr::parse("192.168.1.128/25").unwrap();
        assert!(odd.contains(ip("192.168.1.200")) && !odd.contains(ip("192.168.1.127")));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(Cidr::parse("::1").unwrap().contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope").is_err());
    }

    #[test]
    fn block_beats_allow() {
        let filter = IpFilter::parse(&["10.0.0.0/8".into()], &["10.0.0.66".into()]).unwrap();
        assert!(filter.admits(Some(ip("10.9.9.9"))));
        assert!(!filter.admits(Some(ip("10.0.0.66"))));
        assert!(!filter.admits(Some(ip("8.8.8.8"))));
        assert!(!filter.admits(None));
        let open = IpFilter::parse(&[], &["::1".into()]).unwrap();
        assert!(open.admits(None) && open.admits(Some(ip("127.0.0.1"))) && !open.admits(Some(ip("::1"))));
    }
}
