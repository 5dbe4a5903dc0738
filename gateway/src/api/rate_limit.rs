//! Rate limits (GCRA, the `governor` crate that tower_governor wraps): per authenticated user,
//! else per client IP, and a stricter one per IP for login and registration, where guessing
//! passwords is the threat. A refusal is 429 with `Retry-After` and names the limit hit.
//!
//! The limiters are per gateway process: behind N gateways a user gets up to N times the limit,
//! which bounds abuse while needing no shared state.

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use super::config::ApiConfig;
use super::ApiError;

/// Checks between two sweeps of keys that are no longer limited (keeps memory bounded).
const SWEEP_EVERY: u64 = 10_000;

struct Limit<K: Hash + Eq + Clone> {
    name: &'static str,
    per_minute: u32,
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    /// `None` when `per_minute` is 0 (the limit is off).
    fn new(name: &'static str, per_minute: u32) -> Option<Self> {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute)?);
        Some(Self {
            name,
            per_minute,
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        })
    }

    fn check(&self, key: &K) -> Result<(), ApiError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            // The limiter's own clock: a new one reads the CPU's features (`cpuid`, which
            // leaves a virtual machine for the hypervisor) to calibrate itself, and a refusal
            // must stay cheap when a flood of them is what is being refused.
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::RateLimited {
                limit: self.name.to_owned(),
                retry_after: retry_after.max(1),
                message: format!(
                    "rate limit {} ({} requests per minute) exceeded; retry in {} s",
                    self.name,
                    self.per_minute,
                    retry_after.max(1)
                ),
            }
        })
    }
}

pub struct Limits {
    per_user: Option<Limit<Uuid>>,
    per_ip: Option<Limit<IpAddr>>,
    login: Option<Limit<IpAddr>>,
}

impl Limits {
    pub fn new(config: &ApiConfig) -> Self {
        Self {
            per_user: Limit::new("per-user", config.rate_limit_per_user),
            per_ip: Limit::new("per-ip", config.rate_limit_per_ip),
            login: Limit::new("login-per-ip", config.rate_limit_login),
        }
    }

    pub fn check_user(&self, user: Uuid) -> Result<(), ApiError> {
        self.per_user.as_ref().map_or(Ok(()), |l| l.check(&user))
    }

    /// Requests whose address is unknown (not served over TCP) share one bucket.
    pub fn check_ip(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let ip = ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        self.per_ip.as_ref().map_or(Ok(()), |l| l.check(&ip))
    }

    pub fn check_login(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let ip = ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        self.login.as_ref().map_or(Ok(()), |l| l.check(&ip))
    }
}

/// The client's address (the TCP peer), when the server was started with connect info.
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_refuses_past_its_quota_and_names_itself() {
        let config = ApiConfig {
            rate_limit_per_user: 2,
            ..ApiConfig::default()
        };
        let limits = Limits::new(&config);
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(limits.check_user(alice).is_ok());
        assert!(limits.check_user(alice).is_ok());
        match limits.check_user(alice) {
            Err(ApiError::RateLimited {
                limit, retry_after, ..
            }) => {
                assert_eq!(limit, "per-user");
                assert!((1..=30).contains(&retry_after), "retry after {retry_after}");
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(limits.check_user(bob).is_ok(), "users have their own quota");
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let config = ApiConfig {
            rate_limit_login: 0,
            ..ApiConfig::default()
        };
        let limits = Limits::new(&config);
        for _ in 0..1000 {
            assert!(limits.check_login(None).is_ok());
        }
    }
}
