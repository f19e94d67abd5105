//! The wallet PIN: a gate on the app, never a key. It is stored only as an Argon2id verifier
//! (salt, parameters, hash); knowing the verifier does not open anything, and the records
//! are sealed by a data key in the OS keyring, not by the PIN. Wrong PINs are throttled with
//! growing delays, counted on disk so that restarting the app does not reset them.
//!
//! Pure: callers pass the time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::VaultError;
use crate::seal::{KdfParams, salt};

/// Shortest PIN or passphrase accepted.
pub const MIN_PIN_CHARS: usize = 6;
/// Longest (a passphrase, not a document).
pub const MAX_PIN_CHARS: usize = 256;
/// Wrong tries before the first delay.
pub const FREE_TRIES: u32 = 3;
/// The first delay, doubled at each further wrong try, up to [`MAX_DELAY_MS`].
pub const FIRST_DELAY_MS: u64 = 30_000;
pub const MAX_DELAY_MS: u64 = 60 * 60 * 1000;

/// What is stored of the PIN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinVerifier {
    kdf: KdfParams,
    salt: String,
    hash: String,
}

impl PinVerifier {
    /// A verifier of `pin`, after checking it is long enough to be a PIN.
    pub fn new(pin: &str) -> Result<Self, VaultError> {
        check_policy(pin)?;
        let s = salt();
        let kdf = KdfParams::PIN;
        let hash = kdf
            .derive(pin.as_bytes(), &s)
            .map_err(|e| VaultError::Storage(e.to_string()))?;
        Ok(Self {
            kdf,
            salt: URL_SAFE_NO_PAD.encode(s),
            hash: URL_SAFE_NO_PAD.encode(*hash),
        })
    }

    /// Whether `pin` is the one this verifier was made from (compared in constant time).
    pub fn matches(&self, pin: &str) -> Result<bool, VaultError> {
        if pin.chars().count() > MAX_PIN_CHARS {
            return Ok(false);
        }
        let bad = || VaultError::Corrupt("the stored PIN verifier".into());
        let salt = URL_SAFE_NO_PAD.decode(&self.salt).map_err(|_| bad())?;
        let want = URL_SAFE_NO_PAD.decode(&self.hash).map_err(|_| bad())?;
        let got = self.kdf.derive(pin.as_bytes(), &salt).map_err(|_| bad())?;
        Ok(bool::from(got.as_slice().ct_eq(&want)))
    }
}

/// Refuses a PIN that is too short or too long.
pub fn check_policy(pin: &str) -> Result<(), VaultError> {
    let n = pin.chars().count();
    if n < MIN_PIN_CHARS {
        return Err(VaultError::PinTooShort { min: MIN_PIN_CHARS });
    }
    if n > MAX_PIN_CHARS {
        return Err(VaultError::PinTooLong { max: MAX_PIN_CHARS });
    }
    Ok(())
}

/// Wrong tries so far and when the next try is allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Throttle {
    pub failures: u32,
    pub not_before_ms: u64,
}

impl Throttle {
    /// How long until a try is allowed (0: now).
    pub fn wait_ms(&self, now_ms: u64) -> u64 {
        self.not_before_ms.saturating_sub(now_ms)
    }

    /// Wrong tries left before delays begin.
    pub fn free_tries_left(&self) -> u32 {
        FREE_TRIES.saturating_sub(self.failures)
    }

    /// Counts a wrong try made at `now_ms`.
    pub fn record_failure(&mut self, now_ms: u64) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= FREE_TRIES {
            let doublings = (self.failures - FREE_TRIES).min(20);
            let delay = FIRST_DELAY_MS
                .saturating_mul(1u64 << doublings)
                .min(MAX_DELAY_MS);
            self.not_before_ms = now_ms.saturating_add(delay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_recognises_its_pin_only() {
        let v = PinVerifier::new("482915").unwrap();
        assert!(v.matches("482915").unwrap());
        assert!(!v.matches("482916").unwrap());
        assert!(!v.matches("").unwrap());
        assert!(!v.matches(&"4".repeat(10_000)).unwrap());
        // The stored form holds no PIN, and two verifiers of one PIN differ (salted).
        let json = serde_json::to_string(&v).unwrap();
        assert!(!json.contains("482915"));
        assert_ne!(v, PinVerifier::new("482915").unwrap());
    }

    #[test]
    fn short_pins_are_refused_with_the_minimum() {
        assert!(matches!(
            PinVerifier::new("1234"),
            Err(VaultError::PinTooShort { min: 6 })
        ));
        assert!(PinVerifier::new("correct horse").is_ok());
    }

    #[test]
    fn wrong_tries_are_free_three_times_then_delays_double() {
        let mut t = Throttle::default();
        let now = 1_000_000;
        for left in [2, 1] {
            t.record_failure(now);
            assert_eq!(t.free_tries_left(), left);
            assert_eq!(t.wait_ms(now), 0);
        }
        t.record_failure(now);
        assert_eq!(t.free_tries_left(), 0);
        assert_eq!(t.wait_ms(now), 30_000);
        t.record_failure(now + 30_000);
        assert_eq!(t.wait_ms(now + 30_000), 60_000);
        for _ in 0..40 {
            t.record_failure(now);
        }
        assert_eq!(t.wait_ms(now), MAX_DELAY_MS);
        assert_eq!(t.wait_ms(now + MAX_DELAY_MS), 0);
    }
}
