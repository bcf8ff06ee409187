//! The same target twice in one run is sent once (the contract's "How target lines are read").
//!
//! Every occurrence keeps its own record: a repeat gets the first occurrence's status with
//! `attempts: 0`, once the first one has ended (a repeat read while the first is in flight
//! waits for it). Targets are told apart by their journal key, a 128-bit fingerprint of the
//! provider, the options that give the target its meaning and the target itself.
//!
//! Memory is bounded: the first [`CAPACITY`] distinct targets of a run are remembered, each as
//! 96 bits of its key and its first index and status packed in 64 (about 1.6 MiB in all). A repeat of a target beyond that is sent again, which is harmless (revocation is
//! idempotent) and only shows in its record (identity-store answers `not_found` to the second
//! delete).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::report::record::Status;

/// How many distinct targets a run remembers.
pub const CAPACITY: usize = 50_000;

/// A repeat, once its first occurrence has ended.
pub struct Repeat {
    pub index: u64,
    pub target: Value,
    pub first: u64,
    pub status: Status,
    /// The repeat's own `source`.
    pub source: Option<String>,
}

/// What the run loop does with a target.
pub enum Check {
    /// The first occurrence: send it, and call [`Dedup::finish`] when it has ended.
    First,
    /// A repeat whose first occurrence has ended: record it now.
    Repeat(Repeat),
    /// A repeat whose first occurrence is still in flight: its record is written by
    /// [`Dedup::finish`].
    Waiting,
}

/// A first occurrence: its index (56 bits) and, once it has ended, its status (8 bits; 0 while
/// it is in flight).
#[derive(Clone, Copy)]
struct First(u64);

impl First {
    fn new(index: u64) -> First {
        First(index & ((1 << 56) - 1))
    }
    fn index(self) -> u64 {
        self.0 & ((1 << 56) - 1)
    }
    fn status(self) -> Option<Status> {
        let n = (self.0 >> 56) as usize;
        (n > 0).then(|| Status::ALL[n - 1])
    }
    fn ended(self, status: Status) -> First {
        let n = Status::ALL.iter().position(|s| *s == status).unwrap_or(3) as u64 + 1;
        First(self.index() | (n << 56))
    }
}

#[derive(Default)]
pub struct Dedup {
    firsts: Mutex<HashMap<Key, First>>,
    waiting: Mutex<HashMap<Key, Vec<Waiting>>>,
}

/// A repeat waiting for its first occurrence: its index, target and source.
type Waiting = (u64, Value, Option<String>);

/// 96 bits of a target's journal key.
type Key = [u8; 12];

/// 96 bits of a journal key (`sha256:` and 32 hex digits): plenty to tell a run's targets apart
/// (the chance of two of 50,000 colliding is below 10^-19).
fn bits(key: &str) -> Option<Key> {
    let hex = key.strip_prefix("sha256:")?;
    let mut out = [0u8; 12];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl Dedup {
    pub fn check(
        &self,
        key: &str,
        index: u64,
        target: Value,
        source: Option<String>,
    ) -> (Check, Option<Value>) {
        let Some(k) = bits(key) else {
            return (Check::First, Some(target));
        };
        let mut firsts = self.firsts.lock().unwrap_or_else(|e| e.into_inner());
        match firsts.get(&k).copied() {
            Some(f) if f.status().is_some() => (
                Check::Repeat(Repeat {
                    index,
                    target,
                    first: f.index(),
                    status: f.status().expect("ended"),
                    source,
                }),
                None,
            ),
            Some(_) => {
                self.waiting
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(k)
                    .or_default()
                    .push((index, target, source));
                (Check::Waiting, None)
            }
            None => {
                if firsts.len() < CAPACITY {
                    firsts.insert(k, First::new(index));
                }
                (Check::First, Some(target))
            }
        }
    }

    /// The first occurrence of `key` ended with `status`: the repeats that waited for it.
    pub fn finish(&self, key: &str, status: Status) -> Vec<Repeat> {
        let Some(k) = bits(key) else {
            return Vec::new();
        };
        let first = {
            let mut firsts = self.firsts.lock().unwrap_or_else(|e| e.into_inner());
            match firsts.get_mut(&k) {
                Some(f) => {
                    *f = f.ended(status);
                    f.index()
                }
                None => return Vec::new(),
            }
        };
        let waiting = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&k)
            .unwrap_or_default();
        waiting
            .into_iter()
            .map(|(index, target, source)| Repeat {
                index,
                target,
                first,
                status,
                source,
            })
            .collect()
    }

    /// Repeats still waiting when the run ends (their first occurrence never ended: it was
    /// stopped): they end as it did, `skipped`.
    pub fn leftovers(&self) -> Vec<Waiting> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting.drain().flat_map(|(_, v)| v).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "sha256:0123456789abcdef0123456789abcdef";

    #[test]
    fn a_repeat_waits_for_its_first_then_gets_its_status() {
        let d = Dedup::default();
        assert!(matches!(d.check(K, 0, Value::Null, None).0, Check::First));
        assert!(matches!(d.check(K, 1, Value::Null, None).0, Check::Waiting));
        let r = d.finish(K, Status::Revoked);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].index, r[0].first, r[0].status),
            (1, 0, Status::Revoked)
        );
        match d.check(K, 2, Value::Null, None).0 {
            Check::Repeat(r) => assert_eq!((r.index, r.first, r.status), (2, 0, Status::Revoked)),
            _ => panic!("not a repeat"),
        }
        assert!(d.leftovers().is_empty());
    }
}
