//! Where a URL mount may connect: [`AddressFilter`] refuses loopback, private,
//! link-local (cloud metadata among them) and other internal addresses unless the operator
//! allowed their network, and [`FilteringResolver`] applies it to every address a name
//! resolves to, on every connection — so a name that resolves inward (or is re-pointed
//! there after the mount was made) is refused like an internal IP literal.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

/// An IP network: an address and a prefix length (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP network (e.g. 10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            "" => max,
            p => p
                .parse()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix must be 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl Network {
    /// Whether `ip` lies in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `ip`, with an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 it maps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is not a public unicast address: loopback, unspecified, private,
/// shared (CGNAT), link-local (169.254.169.254 and other metadata services), unique-local
/// (fd00:ec2::254), multicast, broadcast, documentation or benchmarking ranges.
pub fn is_internal(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// Which addresses URL mounts may reach: public ones, plus the `allowed` networks.
#[derive(Debug, Clone, Default)]
pub struct AddressFilter {
    /// Internal networks the operator allowed (`--allow-mount-network`).
    pub allowed: Vec<Network>,
}

impl AddressFilter {
    /// Refuses an internal `ip` outside the allowed networks, saying how to allow it.
    ///
    /// # Errors
    /// A message naming the address and the flag.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        if !is_internal(ip) || self.allowed.iter().any(|n| n.contains(ip)) {
            return Ok(());
        }
        Err(format!(
            "{ip} is an internal address (loopback, private, link-local or metadata); the \
             operator can allow its network with --allow-mount-network"
        ))
    }
}

impl AddressFilter {
    /// The addresses `host` resolves to that may be reached.
    ///
    /// # Errors
    /// Why none may: it does not resolve, or only to refused addresses.
    pub async fn resolve(&self, host: &str) -> Result<Vec<SocketAddr>, String> {
        let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|e| format!("{host} does not resolve: {e}"))?
            .collect();
        let mut refusal = None;
        let allowed: Vec<SocketAddr> = resolved
            .into_iter()
            .filter(|addr| match self.check(addr.ip()) {
                Ok(()) => true,
                Err(why) => {
                    refusal.get_or_insert(why);
                    false
                }
            })
            .collect();
        if allowed.is_empty() {
            let why = refusal.unwrap_or_else(|| "it has no address".to_owned());
            return Err(format!("{host} resolves to {why}"));
        }
        Ok(allowed)
    }
}

/// A resolver for the HTTP client of URL mounts: the system's, minus what the filter
/// refuses; a name with no address left fails to resolve, saying why.
#[derive(Debug, Clone)]
pub struct FilteringResolver(pub Arc<AddressFilter>);

impl reqwest::dns::Resolve for FilteringResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let filter = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let allowed = filter.resolve(&host).await?;
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_refused_unless_allowed() {
        let filter = AddressFilter::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let error = filter.check(ip).unwrap_err();
            assert!(error.contains("--allow-mount-network"), "{ip}: {error}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
            filter.check(ip.parse().unwrap()).unwrap();
        }
        let filter = AddressFilter {
            allowed: vec!["127.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()],
        };
        filter.check("127.0.0.2".parse().unwrap()).unwrap();
        filter.check("::ffff:127.0.0.1".parse().unwrap()).unwrap();
        filter.check("fd00:ec2::254".parse().unwrap()).unwrap();
        assert!(filter.check("10.0.0.1".parse().unwrap()).is_err());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_inward_on_every_lookup() {
        use reqwest::dns::Resolve;
        let resolver = FilteringResolver(Arc::new(AddressFilter::default()));
        let refused = resolver.resolve("localhost".parse().unwrap()).await;
        let error = refused.err().expect("localhost is refused").to_string();
        assert!(error.contains("internal address"), "{error}");
        let allowed = AddressFilter {
            allowed: vec!["127.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()],
        };
        let resolver = FilteringResolver(Arc::new(allowed));
        let addrs: Vec<_> = resolver
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }

    #[test]
    fn networks_parse_with_or_without_a_prefix() {
        let net: Network = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.255.0.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let one: Network = "192.168.1.5".parse().unwrap();
        assert!(one.contains("192.168.1.5".parse().unwrap()));
        assert!(!one.contains("192.168.1.6".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "x/8", "fe80::/129", ""] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }
}
