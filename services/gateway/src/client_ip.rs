//! Who is calling, by network address: the peer address, or, when the peer is a configured trusted proxy, the
//! address that proxy reports in `X-Forwarded-For`. Rate limits and login throttling key on it. Without trusted
//! proxies the header is ignored: anyone can write it.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
};

use anyhow::Context as _;
use axum::{
    extract::{ConnectInfo, Request},
    http::HeaderMap,
    response::Response,
};

/// The caller's address as resolved for this request (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// A network in CIDR form (`10.0.0.0/8`, `::1/128`); a bare address is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let base: IpAddr = addr
            .parse()
            .with_context(|| format!("{text:?} is not an IP address or CIDR network"))?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .with_context(|| format!("{text:?}: the prefix must be 0 to {max}"))?,
            None => max,
        };
        Ok(Self { base, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (canonical(self.base), ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`, as dual-stack listeners report) as the IPv4 it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`gateway.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[Network]>);

impl TrustedProxies {
    pub fn parse(entries: &[String]) -> anyhow::Result<Self> {
        let networks = entries
            .iter()
            .map(|e| Network::parse(e))
            .collect::<anyhow::Result<Vec<_>>>()
            .context("gateway.trusted_proxies")?;
        Ok(Self(networks.into()))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client behind `peer`: walking `X-Forwarded-For` from the right (the hop nearest us), the first address
    /// that is not a trusted proxy. A peer we do not trust is the client, whatever its headers say; a malformed
    /// entry stops the walk at the last proxy that was trusted.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// Resolves the request's [`ClientIp`] once, for every layer and handler after this one. A router driven without
/// a socket (in-process tests) has no peer; its callers share the unspecified address.
pub async fn resolve<F, Fut>(proxies: &TrustedProxies, mut request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let client = proxies.client(peer, request.headers());
    request.extensions_mut().insert(ClientIp(client));
    next(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in forwarded {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_match() {
        let lan = Network::parse("10.0.0.0/8").unwrap();
        assert!(lan.contains(ip("10.200.3.4")));
        assert!(!lan.contains(ip("11.0.0.1")));
        assert!(lan.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped");
        let one = Network::parse("::1").unwrap();
        assert!(one.contains(ip("::1")));
        assert!(!one.contains(ip("::2")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0.0/x", "::/129"] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("203.0.113.9"), &headers(&["1.2.3.4"])),
            ip("203.0.113.9"),
            "no trusted proxies: the header is ignored"
        );
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.0.2.1".into()]).unwrap();
        assert_eq!(
            proxies.client(ip("203.0.113.9"), &headers(&["1.2.3.4"])),
            ip("203.0.113.9"),
            "an untrusted peer is the client"
        );
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &headers(&["1.2.3.4"])),
            ip("1.2.3.4")
        );
        // The client wrote its own header first; the proxies appended what they saw.
        assert_eq!(
            proxies.client(
                ip("10.0.0.5"),
                &headers(&["6.6.6.6, 198.51.100.7", "192.0.2.1"])
            ),
            ip("198.51.100.7"),
            "a forged leftmost entry is not believed"
        );
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &headers(&["garbage, 10.0.0.9"])),
            ip("10.0.0.9"),
            "a malformed hop stops the walk at the last trusted proxy"
        );
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &headers(&[])),
            ip("10.0.0.5")
        );
        assert!(TrustedProxies::parse(&["nonsense".into()]).is_err());
    }
}
