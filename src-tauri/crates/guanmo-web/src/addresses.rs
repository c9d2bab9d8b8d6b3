//! This machine's network addresses, as the listeners need them: the interfaces media staff
//! pick the resident site's address from, the rule for following an interface whose address
//! changed (Wi-Fi roaming), and the addresses laptops type to reach the hub. Only IPv4: phones
//! and laptops on a venue's LAN are reached by those.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A network interface with an IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct NetInterface {
    /// Interface name, e.g. wlan0.
    pub name: String,
    /// Its address.
    pub ip: String,
}

/// IPv4 interfaces, real ones first, loopback last (an interface with several addresses
/// appears once per address).
pub fn interfaces() -> Vec<NetInterface> {
    let mut out: Vec<(bool, NetInterface)> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| match i.ip() {
            IpAddr::V4(v4) => Some((
                v4.is_loopback(),
                NetInterface {
                    name: i.name.clone(),
                    ip: v4.to_string(),
                },
            )),
            IpAddr::V6(_) => None,
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.name.cmp(&b.1.name)));
    out.into_iter().map(|(_, i)| i).collect()
}

/// The address the site should move to, if `interface` no longer has `ip` but has another:
/// `None` while `ip` is still one of its addresses (an interface may have several) and while
/// the interface is gone (Wi-Fi dropped: the site stays where it was until it comes back).
pub fn moved_to(interface: &str, ip: &str, now: &[NetInterface]) -> Option<String> {
    let mut addresses = now
        .iter()
        .filter(|i| i.name == interface)
        .map(|i| i.ip.as_str());
    let first = addresses.next()?;
    if first == ip || addresses.any(|a| a == ip) {
        return None;
    }
    Some(first.to_string())
}

/// Addresses laptops can use to reach this machine on `port`: LAN addresses first; the
/// loopback address only when there is nothing else.
pub fn lan_urls(port: u16) -> Vec<String> {
    urls_on(&interfaces(), port)
}

/// [`lan_urls`] over the interfaces `all`.
fn urls_on(all: &[NetInterface], port: u16) -> Vec<String> {
    let lan: Vec<_> = all.iter().filter(|i| !i.ip.starts_with("127.")).collect();
    let chosen = if lan.is_empty() {
        all.iter().collect()
    } else {
        lan
    };
    chosen
        .into_iter()
        .map(|i| format!("http://{}:{port}", i.ip))
        .collect()
}

/// A QR code of `text` as SVG markup, at least `side` pixels square (none when `text` is too
/// long for a QR code).
pub fn qr_svg(text: &str, side: u32) -> Option<String> {
    qrcode::QrCode::new(text.as_bytes()).ok().map(|code| {
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(side, side)
            .build()
    })
}

/// The pairing link `guanmo://pair?url=…&code=…` a laptop scans on the hub's screen, with
/// `&fp=…` (the certificate's SHA-256, 64 hex digits) when the hub serves its own TLS
/// certificate, so the laptop pins it.
pub fn pairing_link(
    url: &str,
    code: &str,
    fingerprint: Option<&guanmo_sync::Fingerprint>,
) -> String {
    let mut link = format!(
        "guanmo://pair?url={}&code={}",
        query_value(url),
        query_value(code)
    );
    if let Some(fp) = fingerprint {
        link.push_str("&fp=");
        link.push_str(&fp.hex());
    }
    link
}

/// Percent-encodes a query value (ASCII letters, digits and `-._~` stay).
fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{moved_to, pairing_link, qr_svg, urls_on, NetInterface};

    #[test]
    fn the_pairing_link_escapes_the_address() {
        assert_eq!(
            pairing_link("http://10.0.0.2:8787", "123456", None),
            "guanmo://pair?url=http%3A%2F%2F10.0.0.2%3A8787&code=123456"
        );
        let fp = guanmo_sync::Fingerprint::of_der(b"cert");
        assert_eq!(
            pairing_link("https://live.example.cn", "123456", Some(&fp)),
            format!(
                "guanmo://pair?url=https%3A%2F%2Flive.example.cn&code=123456&fp={}",
                fp.hex()
            )
        );
        assert!(
            qr_svg(&pairing_link("http://10.0.0.2:8787", "123456", None), 160)
                .is_some_and(|svg| svg.starts_with("<?xml") || svg.contains("<svg"))
        );
    }

    fn nic(name: &str, ip: &str) -> NetInterface {
        NetInterface {
            name: name.into(),
            ip: ip.into(),
        }
    }

    #[test]
    fn the_site_moves_only_when_its_interface_has_lost_its_address() {
        let wlan = |ip: &str| nic("wlan0", ip);
        let lo = nic("lo", "127.0.0.1");
        // Unchanged.
        assert_eq!(
            moved_to("wlan0", "192.168.1.20", &[wlan("192.168.1.20"), lo.clone()]),
            None
        );
        // Roamed to another access point: a new address.
        assert_eq!(
            moved_to("wlan0", "192.168.1.20", &[lo.clone(), wlan("10.0.8.31")]),
            Some("10.0.8.31".to_string())
        );
        // A second address appeared beside the one in use: stay.
        assert_eq!(
            moved_to(
                "wlan0",
                "192.168.1.20",
                &[wlan("10.0.8.31"), wlan("192.168.1.20")]
            ),
            None
        );
        // Wi-Fi dropped: the interface is gone, wait for it.
        assert_eq!(
            moved_to("wlan0", "192.168.1.20", std::slice::from_ref(&lo)),
            None
        );
        assert_eq!(moved_to("wlan0", "192.168.1.20", &[]), None);
        // Another interface's address is not ours to take.
        assert_eq!(
            moved_to("wlan0", "192.168.1.20", &[nic("eth0", "10.1.1.1")]),
            None
        );
    }

    #[test]
    fn laptops_are_shown_lan_addresses_and_loopback_only_when_there_is_nothing_else() {
        let lo = nic("lo", "127.0.0.1");
        assert_eq!(
            urls_on(
                &[
                    nic("eth0", "10.1.1.1"),
                    nic("wlan0", "192.168.1.20"),
                    lo.clone()
                ],
                8787
            ),
            ["http://10.1.1.1:8787", "http://192.168.1.20:8787"]
        );
        assert_eq!(
            urls_on(std::slice::from_ref(&lo), 9000),
            ["http://127.0.0.1:9000"]
        );
        assert!(urls_on(&[], 8787).is_empty());
    }

    #[test]
    fn the_interfaces_carry_ipv4_addresses_with_loopback_last() {
        let all = super::interfaces();
        for i in &all {
            assert!(
                i.ip.parse::<std::net::Ipv4Addr>().is_ok(),
                "{i:?} is not an IPv4 address"
            );
        }
        let first_loopback = all.iter().position(|i| i.ip.starts_with("127."));
        if let Some(at) = first_loopback {
            assert!(
                all[at..].iter().all(|i| i.ip.starts_with("127.")),
                "loopback comes after every real interface: {all:?}"
            );
        }
    }
}
