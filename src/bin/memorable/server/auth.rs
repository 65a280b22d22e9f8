//! API keys: which key a bearer token is (by its SHA-256, compared in constant time), which
//! users it may act for, and its token bucket.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use memorable::{Memorable, Memory, UserMemories};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::settings::{RateLimit, ServerSettings};

/// A key as the server holds it: never the key itself.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub name: String,
    digest: [u8; 32],
    users: Vec<String>,
    user_prefix: Option<String>,
    rate: RateLimit,
}

impl Key {
    pub(crate) fn may_act_for(&self, user: &str) -> bool {
        self.users.iter().any(|u| u == user)
            || self.user_prefix.as_deref().is_some_and(|p| user.starts_with(p))
    }

    /// The prefix the store may list holders by for this key: its own prefix when it lists no
    /// users (so a tenant's listing reads only its tenant), else none.
    pub(crate) fn listing_prefix(&self) -> Option<&str> {
        if self.users.is_empty() {
            self.user_prefix.as_deref()
        } else {
            None
        }
    }

    /// The users this key may see among `holders` (every user holding memories), plus its
    /// listed users that hold none yet (count 0), by id.
    pub(crate) fn visible(&self, holders: Vec<UserMemories>) -> Vec<UserMemories> {
        let mut out: Vec<UserMemories> = holders.into_iter().filter(|u| self.may_act_for(&u.user)).collect();
        for user in &self.users {
            if !out.iter().any(|u| u.user == *user) {
                out.push(UserMemories { user: user.clone(), memories: 0 });
            }
        }
        out.sort_by(|a, b| a.user.cmp(&b.user));
        out
    }

    /// The user a key stands for when a call names none: its only user.
    pub(crate) fn sole_user(&self) -> Option<&str> {
        match (self.users.as_slice(), &self.user_prefix) {
            ([one], None) => Some(one),
            _ => None,
        }
    }

    /// The user a call acts for (HTTP routes and MCP alike): the one it names, within the
    /// key's scope, else the key's only user.
    pub(crate) fn acting_for(&self, named: Option<&str>) -> Result<String, Refusal> {
        match named {
            Some(user) if user.trim().is_empty() => Err(Refusal::Blank),
            Some(user) if self.may_act_for(user) => Ok(user.to_owned()),
            Some(_) => Err(Refusal::Outside),
            None => self.sole_user().map(str::to_owned).ok_or(Refusal::Unnamed),
        }
    }
}

/// Why [`Key::acting_for`] found no user to act for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The named user id is blank.
    Blank,
    /// The named user is outside the key's scope.
    Outside,
    /// No user named, and the key acts for several.
    Unnamed,
}

/// The memory `id` if it belongs to `user`; another user's answers exactly like a missing
/// one (`NOT_FOUND`), so ids are no oracle of other users' data.
pub(crate) fn owned(mem: &Memorable, id: u64, user: &str) -> memorable::Result<Memory> {
    match mem.get(id) {
        Ok(m) if m.user == user => Ok(m),
        Ok(_) => Err(memorable::Error::NotFound(id)),
        Err(e) => Err(e),
    }
}

pub(crate) fn keys_of(settings: &ServerSettings) -> Vec<Key> {
    settings
        .keys
        .iter()
        .map(|k| {
            let mut digest = [0u8; 32];
            for (i, d) in digest.iter_mut().enumerate() {
                *d = u8::from_str_radix(&k.sha256[2 * i..2 * i + 2], 16).unwrap_or(0);
            }
            Key {
                name: k.name.clone(),
                digest,
                users: k.users.clone(),
                user_prefix: k.user_prefix.clone(),
                rate: settings.key_rate(k),
            }
        })
        .collect()
}

/// The lowercase hex SHA-256 of a key (`memorable keys hash`).
pub(crate) fn digest_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The key whose digest matches `token`. Every entry is compared (no early exit) and each
/// comparison is constant-time, so timing tells nothing about how close a guess was.
pub(crate) fn find<'k>(keys: &'k [Key], token: &str) -> Option<&'k Key> {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let mut found = None;
    for k in keys {
        if bool::from(k.digest.ct_eq(&digest)) {
            found = Some(k);
        }
    }
    found
}

/// Token buckets, one per key name (kept across reloads for keys that stay).
#[derive(Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// Takes a token for `key`; `Err(wait)` when its bucket is empty.
    pub(crate) fn take(&self, key: &Key) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(key.name.clone()).or_insert(Bucket { tokens: key.rate.burst, at: now });
        let refill = now.duration_since(b.at).as_secs_f64() * key.rate.per_second;
        b.tokens = (b.tokens + refill).min(key.rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::try_from_secs_f64((1.0 - b.tokens) / key.rate.per_second).unwrap_or(Duration::MAX))
        }
    }

    /// Drops the buckets of keys that are gone (after a reload).
    pub(crate) fn retain(&self, keys: &[Key]) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.retain(|name, _| keys.iter().any(|k| &k.name == name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::settings::SettingsFile;

    fn keys() -> Vec<Key> {
        let text = format!(
            "[[server.keys]]\nname = \"a\"\nsha256 = \"{}\"\nusers = [\"alice\"]\n\
             rate_limit = {{ per_second = 1.0, burst = 2.0 }}\n\
             [[server.keys]]\nname = \"t\"\nsha256 = \"{}\"\nuser_prefix = \"t/\"\n",
            digest_hex("key-a"),
            digest_hex("key-t")
        );
        keys_of(&SettingsFile::parse(&text).unwrap().server)
    }

    #[test]
    fn keys_are_found_by_digest_and_scoped() {
        let keys = keys();
        assert_eq!(find(&keys, "key-a").map(|k| k.name.as_str()), Some("a"));
        assert!(find(&keys, "key-b").is_none() && find(&keys, "").is_none());
        let t = find(&keys, "key-t").unwrap();
        assert!(t.may_act_for("t/bob") && !t.may_act_for("alice") && !t.may_act_for("t"));
        assert_eq!((keys[0].sole_user(), t.sole_user()), (Some("alice"), None));
        assert_eq!(keys[0].acting_for(None).as_deref(), Ok("alice"));
        assert_eq!(t.acting_for(Some("t/bob")).as_deref(), Ok("t/bob"));
        assert_eq!(t.acting_for(None), Err(Refusal::Unnamed));
        assert_eq!(t.acting_for(Some("alice")), Err(Refusal::Outside));
        assert_eq!(keys[0].acting_for(Some(" ")), Err(Refusal::Blank));
    }

    #[test]
    fn the_bucket_allows_its_burst_then_says_how_long_to_wait() {
        let keys = keys();
        let limiter = RateLimiter::default();
        assert!(limiter.take(&keys[0]).is_ok() && limiter.take(&keys[0]).is_ok());
        let wait = limiter.take(&keys[0]).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.take(&keys[1]).is_ok(), "buckets are per key");
    }
}
