//! The SSRF guard: upstream URLs set over the management API may not point at loopback,
//! private, link-local or otherwise internal addresses unless the security settings allow it.
//!
//! URLs are parsed with the WHATWG parser the HTTP client itself uses (`url`), so every spelling
//! it accepts (decimal `2130706433`, octal `0177.0.0.1`, short `127.1`, hex, IPv4-mapped IPv6)
//! is judged as the address it would really connect to. Host names are checked by name only
//! (`localhost`, `*.localhost`, cloud metadata names): the core does no DNS, so a public name
//! that resolves to a private address is not caught here (filter egress in the network too).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Why an address counts as internal, or `None` for a public one.
pub fn internal_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        // 0.0.0.0/8: "this network"; connecting to 0.0.0.0 reaches the local host on Linux.
        (0, _, _) => "an unspecified (0.0.0.0/8) address",
        (127, _, _) => "a loopback address",
        (10, _, _) => "a private address",
        (172, 16..=31, _) => "a private address",
        (192, 168, _) => "a private address",
        // Cloud metadata services (169.254.169.254) live here.
        (169, 254, _) => "a link-local address",
        (100, 64..=127, _) => "a shared (carrier-grade NAT) address",
        (192, 0, 0) => "an IETF protocol assignment (192.0.0.0/24)",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved or broadcast address",
        _ => return None,
    })
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("the unspecified address (::)");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    let segments = ip.segments();
    let embedded_v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    // ::ffff:a.b.c.d (IPv4-mapped) and the deprecated ::a.b.c.d (IPv4-compatible) reach the v4 host.
    if segments[..5] == [0; 5] && (segments[5] == 0xffff || segments[5] == 0) {
        return internal_v4(embedded_v4(segments[6], segments[7]));
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry a v4 address a gateway forwards to.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return internal_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return internal_v4(embedded_v4(segments[1], segments[2]));
    }
    Some(match segments[0] {
        0xfc00..=0xfdff => "a unique-local address (fc00::/7)",
        0xfe80..=0xfebf => "a link-local address (fe80::/10)",
        0xfec0..=0xfeff => "a site-local address (fec0::/10)",
        0xff00..=0xffff => "a multicast address",
        _ => return None,
    })
}

/// Names that always mean this host or a cloud's metadata service, whatever DNS says.
fn internal_name(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host == "localhost"
        || host.ends_with(".localhost")
        || matches!(
            host,
            "localhost.localdomain" | "ip6-localhost" | "ip6-loopback" | "metadata.google.internal" | "metadata.goog"
        )
}

/// Checks an upstream base URL: `http(s)://host[:port][/path]`, no credentials, query or
/// fragment, and (unless `allow_private`) no internal host. Returns the URL without a
/// trailing `/`. The message says what is wrong, for the field at fault.
pub fn check_base_url(text: &str, allow_private: bool) -> Result<String, String> {
    let trimmed = text.trim().trim_end_matches('/');
    let url = check_url(trimmed, allow_private)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment (the request path is appended to it)".into());
    }
    Ok(trimmed.to_owned())
}

/// Checks any URL the gateway is asked to call (scheme, no credentials, internal hosts).
pub fn check_url(text: &str, allow_private: bool) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials (put keys in an account's apiKey or in headers)".into());
    }
    let reason = match url.host() {
        None => return Err("has no host".into()),
        Some(Host::Ipv4(ip)) => internal_address(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => internal_address(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => internal_name(name).then_some("a local host name"),
    };
    match reason {
        Some(reason) if !allow_private => Err(format!(
            "points at {reason}; upstreams on private networks need the security setting allowPrivateUpstreams"
        )),
        _ => Ok(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        check_url(url, false).is_err()
    }

    #[test]
    fn v4_internal_ranges_are_named() {
        for (ip, internal) in [
            ("127.0.0.1", true),
            ("127.255.255.254", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("172.31.255.255", true),
            ("172.32.0.1", false),
            ("172.15.255.255", false),
            ("192.168.1.1", true),
            ("192.169.1.1", false),
            ("169.254.169.254", true),
            ("100.64.0.1", true),
            ("100.127.255.255", true),
            ("100.128.0.1", false),
            ("0.0.0.0", true),
            ("0.1.2.3", true),
            ("192.0.0.8", true),
            ("198.18.0.1", true),
            ("224.0.0.1", true),
            ("255.255.255.255", true),
            ("8.8.8.8", false),
            ("1.1.1.1", false),
            ("104.18.0.1", false),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(internal_address(ip).is_some(), internal, "{ip}");
        }
    }

    #[test]
    fn v6_internal_ranges_and_embedded_v4_are_named() {
        for (ip, internal) in [
            ("::1", true),
            ("::", true),
            ("fc00::1", true),
            ("fd12:3456::1", true),
            ("fe80::1", true),
            ("febf::1", true),
            ("fec0::1", true),
            ("ff02::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.0.0.1", true),
            ("::ffff:8.8.8.8", false),
            ("::127.0.0.1", true),
            ("64:ff9b::7f00:1", true),
            ("64:ff9b::808:808", false),
            ("2002:7f00:1::", true),
            ("2002:c0a8:101::1", true),
            ("2002:808:808::1", false),
            ("2606:4700::1111", false),
            ("2001:4860:4860::8888", false),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(internal_address(ip).is_some(), internal, "{ip}");
        }
    }

    #[test]
    fn every_spelling_of_an_internal_host_is_refused() {
        for url in [
            "http://127.0.0.1:11434",
            "http://localhost:8080/v1",
            "http://LOCALHOST/v1",
            "http://localhost./v1",
            "http://api.localhost/v1",
            "http://2130706433/v1",
            "http://0x7f000001/v1",
            "http://0177.0.0.1/v1",
            "http://127.1/v1",
            "http://0/v1",
            "http://[::1]:8000/v1",
            "http://[::ffff:127.0.0.1]/v1",
            "http://[::ffff:7f00:1]/v1",
            "http://[fd00::1]/v1",
            "http://[fe80::1]/v1",
            "http://169.254.169.254/latest/meta-data",
            "http://metadata.google.internal/computeMetadata/v1",
            "http://10.0.0.5:8000/v1",
            "https://192.168.0.10/v1",
        ] {
            assert!(refused(url), "{url} must be refused");
            assert!(check_url(url, true).is_ok(), "{url} is allowed with allowPrivateUpstreams");
        }
    }

    #[test]
    fn public_hosts_pass_and_malformed_urls_never_do() {
        for url in ["https://api.openai.com/v1", "https://8.8.8.8/v1", "http://[2606:4700::1111]:8080/v1"] {
            assert!(!refused(url), "{url}");
        }
        for url in [
            "ftp://example.com",
            "file:///etc/passwd",
            "gopher://127.0.0.1:70",
            "not a url",
            "https://user:pass@example.com/v1",
            "https://token@example.com/v1",
            "http://",
        ] {
            assert!(check_url(url, true).is_err(), "{url} is never an upstream");
        }
        assert_eq!(check_base_url(" https://api.example.com/v1/ ", false).unwrap(), "https://api.example.com/v1");
        assert!(check_base_url("https://api.example.com/v1?x=1", false).unwrap_err().contains("query"));
        let message = check_base_url("http://127.0.0.1/v1", false).unwrap_err();
        assert!(message.contains("loopback") && message.contains("allowPrivateUpstreams"), "{message}");
    }
}
