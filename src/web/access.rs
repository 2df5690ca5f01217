//! Who may see what: the admin's bearer token, loopback for the metrics, and the
//! rate limit of the endpoints that take a token.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};

/// Requests per client and minute on the token endpoints (links, reports without the
/// admin token). A person clicking through a digest needs a handful; guessing a
/// 256-bit signature needs more than any limit allows anyway, this keeps a scanner
/// from hammering the database.
pub const TOKEN_REQUESTS_PER_MINUTE: u32 = 120;
const WINDOW: Duration = Duration::from_secs(60);
/// Clients remembered at most; older windows are dropped first.
const MAX_CLIENTS: usize = 10_000;

/// Whether the request carries `Authorization: Bearer <admin token>`. Both sides
/// are hashed first, so the comparison takes the same time whatever matches.
pub fn is_admin(headers: &HeaderMap, admin_token: Option<&str>) -> bool {
    let Some(expected) = admin_token else { return false };
    let Some(given) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    constant_time_eq(&Sha256::digest(given.trim()), &Sha256::digest(expected))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A request straight from this machine. A request through a reverse proxy on this
/// machine is not: the proxy forwards the world, and says so in its headers.
pub fn is_local(peer: SocketAddr, headers: &HeaderMap) -> bool {
    let proxied = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    peer.ip().is_loopback() && !proxied
}

/// The client a request comes from: the peer, or the last hop a local reverse proxy
/// names in `X-Forwarded-For`.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if peer.ip().is_loopback()
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.ip()
}

/// Fixed one-minute windows per client.
pub struct RateLimiter {
    limit: u32,
    clients: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32) -> RateLimiter {
        RateLimiter {
            limit,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Counts the request; false when the client is over its limit.
    pub fn allow(&self, client: IpAddr, now: Instant) -> bool {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= MAX_CLIENTS {
            clients.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = clients.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_needs_the_exact_bearer_token() {
        let mut headers = HeaderMap::new();
        assert!(!is_admin(&headers, Some("s3cret-token-0123")));
        headers.insert(AUTHORIZATION, "Bearer s3cret-token-0123".parse().unwrap());
        assert!(is_admin(&headers, Some("s3cret-token-0123")));
        assert!(!is_admin(&headers, Some("s3cret-token-0124")));
        assert!(!is_admin(&headers, None), "no token configured: nobody is admin");
        headers.insert(AUTHORIZATION, "Basic s3cret-token-0123".parse().unwrap());
        assert!(!is_admin(&headers, Some("s3cret-token-0123")));
    }

    #[test]
    fn a_proxied_request_is_not_local() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert!(is_local(local, &headers) && !is_local(remote, &headers));
        headers.insert("x-forwarded-for", "198.51.100.1, 203.0.113.9".parse().unwrap());
        assert!(!is_local(local, &headers));
        assert_eq!(client_ip(local, &headers), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(
            client_ip(remote, &headers),
            remote.ip(),
            "only a local proxy is trusted"
        );
    }

    #[test]
    fn the_limit_holds_per_client_and_window() {
        let limiter = RateLimiter::new(3);
        let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t = Instant::now();
        assert!((0..3).all(|_| limiter.allow(a, t)));
        assert!(!limiter.allow(a, t));
        assert!(limiter.allow(b, t));
        assert!(limiter.allow(a, t + WINDOW));
    }
}
