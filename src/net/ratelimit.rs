//! What a server says of its own rate limit, read from its answer's header fields, so that
//! `--rate auto` ([`crate::engine::pace::adaptive`]) rides a stated limit instead of probing for it.
//!
//! Three spellings are in use:
//! - the IETF draft (draft-ietf-httpapi-ratelimit-headers-08 and later): `RateLimit-Policy:
//!   "default";q=100;w=10` (a quota of `q` requests per window of `w` seconds, one member per
//!   policy) and `RateLimit: "default";r=50;t=30` (`r` left, `t` seconds until the window resets);
//! - its earlier versions (-06, -07): `RateLimit-Policy: 100;w=10`, `RateLimit-Limit`,
//!   `RateLimit-Remaining`, `RateLimit-Reset`, and `RateLimit: limit=100, remaining=50, reset=5`;
//! - the common `X-RateLimit-Limit` / `X-RateLimit-Remaining` / `X-RateLimit-Reset`, whose reset
//!   is seconds from now or a Unix time (GitHub's).
//!
//! The values come from a server that may be hostile: each field is read only up to
//! [`MAX_FIELD`] bytes and [`MAX_MEMBERS`] members, numbers are plain ASCII digits of at most
//! [`MAX_DIGITS`], and whatever does not parse is ignored (the run then probes as usual).

use std::time::Duration;

use reqwest::header::HeaderMap;

/// Longer fields are ignored whole.
pub const MAX_FIELD: usize = 512;
/// Policies read from one field.
pub const MAX_MEMBERS: usize = 16;
/// Digits of one number (a trillion is more than any limit or Unix time).
pub const MAX_DIGITS: usize = 13;
/// A reset further away than a day is not believed.
const MAX_RESET: u64 = 86_400;
/// A window shorter than this is a bucket's refill: its `remaining` swings with every request
/// in flight, and is not a pace.
const SHORT_WINDOW: Duration = Duration::from_secs(2);

/// What one answer said.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Statement {
    /// The strictest stated policy, in requests per second.
    pub policy: Option<f64>,
    /// Requests left in the current window, and when it resets.
    pub remaining: Option<u64>,
    pub reset: Option<Duration>,
}

impl Statement {
    /// The rate the statement allows, in requests per second: the strictest policy, and no
    /// faster than spreading what is left over the time until the window resets (for windows
    /// of a few seconds or more).
    pub fn pace(&self) -> Option<f64> {
        let left = match (self.remaining, self.reset) {
            (Some(r), Some(t)) if t >= SHORT_WINDOW => Some(r.max(1) as f64 / t.as_secs_f64()),
            _ => None,
        };
        let pace = match (self.policy, left) {
            (Some(p), Some(l)) => p.min(l),
            (p, l) => p.or(l)?,
        };
        (pace.is_finite() && pace > 0.0).then_some(pace)
    }
}

/// Reads every rate-limit field of an answer; `None` when it has none that parses. `now_unix`
/// turns a reset given as a Unix time into a delay.
pub fn read(headers: &HeaderMap, now_unix: u64) -> Option<Statement> {
    let field = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= MAX_FIELD)
    };
    let mut st = Statement::default();
    for name in ["ratelimit-policy", "x-ratelimit-policy"] {
        if let Some(v) = field(name) {
            st.policy = min(st.policy, policy(v));
        }
    }
    // An `X-RateLimit-Limit` of `100, 100;w=60` carries its window too.
    for name in ["x-ratelimit-limit", "ratelimit-limit"] {
        if let Some(v) = field(name).filter(|v| v.contains("w=")) {
            st.policy = min(st.policy, policy(v));
        }
    }
    if let Some(v) = field("ratelimit") {
        let (r, t) = current(v);
        st.remaining = r;
        st.reset = t.and_then(|t| reset(t, now_unix));
    }
    for prefix in ["x-ratelimit-", "ratelimit-"] {
        if st.remaining.is_none() {
            st.remaining = field(&format!("{prefix}remaining")).and_then(number);
        }
        if st.reset.is_none() {
            st.reset = field(&format!("{prefix}reset"))
                .and_then(number)
                .and_then(|t| reset(t, now_unix));
        }
    }
    (st != Statement::default()).then_some(st)
}

fn min(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Plain ASCII digits, at most [`MAX_DIGITS`] (a sign, a fraction or an exponent is refused).
fn number(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() || t.len() > MAX_DIGITS || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// A reset as a delay: seconds from now, or a Unix time (in seconds or milliseconds).
fn reset(value: u64, now_unix: u64) -> Option<Duration> {
    let secs = if value >= 1_000_000_000_000 {
        (value / 1000).checked_sub(now_unix)?
    } else if value >= 1_000_000_000 {
        value.checked_sub(now_unix)?
    } else {
        value
    };
    (secs <= MAX_RESET).then(|| Duration::from_secs(secs))
}

/// The members of a list field and their `key=value` parameters: `item;k=v;k=v, item;k=v`.
/// (Structured-field syntax is richer; these fields use only this much, and a quoted name
/// with a comma or semicolon in it at worst loses its policy.)
fn members(value: &str) -> impl Iterator<Item = (&str, Vec<(&str, &str)>)> {
    value.split(',').take(MAX_MEMBERS).map(|member| {
        let mut parts = member.split(';');
        let item = parts.next().unwrap_or("").trim();
        let params = parts
            .take(MAX_MEMBERS)
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        (item, params)
    })
}

/// The strictest policy of a `RateLimit-Policy` field, in requests per second: `q` (or the
/// item itself, in the earlier drafts) over `w`. A member without a window says no rate.
fn policy(value: &str) -> Option<f64> {
    let mut best: Option<f64> = None;
    for (item, params) in members(value) {
        let get = |key: &str| params.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let Some(quota) = get("q").or(Some(item)).and_then(number) else {
            continue;
        };
        let Some(window) = get("w").and_then(number).filter(|w| *w > 0) else {
            continue;
        };
        best = min(best, Some(quota as f64 / window as f64));
    }
    best.filter(|p| *p > 0.0)
}

/// `remaining` and `reset` from a `RateLimit` field: the current draft's `r` and `t`
/// parameters, or the earlier `remaining=` and `reset=` members; the least remaining of all.
fn current(value: &str) -> (Option<u64>, Option<u64>) {
    let (mut remaining, mut reset): (Option<u64>, Option<u64>) = (None, None);
    for (item, params) in members(value) {
        let mut pairs = params;
        if let Some((k, v)) = item.split_once('=') {
            pairs.push((k.trim(), v.trim()));
        }
        for (k, v) in pairs {
            let Some(n) = number(v) else { continue };
            match k {
                "r" | "remaining" => remaining = Some(remaining.map_or(n, |r| r.min(n))),
                "t" | "reset" => reset = Some(reset.map_or(n, |t| t.max(n))),
                _ => {}
            }
        }
    }
    (remaining, reset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn the_current_draft() {
        // draft-ietf-httpapi-ratelimit-headers-08, section 5's examples.
        let h = headers(&[
            (
                "ratelimit-policy",
                "\"burst\";q=100;w=60,\"daily\";q=1000;w=86400",
            ),
            ("ratelimit", "\"burst\";r=50;t=30"),
        ]);
        let st = read(&h, NOW).unwrap();
        assert_eq!(st.policy, Some(1000.0 / 86400.0));
        assert_eq!(st.remaining, Some(50));
        assert_eq!(st.reset, Some(Duration::from_secs(30)));
        assert_eq!(st.pace(), Some(1000.0 / 86400.0));
        let h = headers(&[("ratelimit-policy", "\"default\";q=10;w=1")]);
        assert_eq!(read(&h, NOW).unwrap().pace(), Some(10.0));
    }

    #[test]
    fn the_earlier_drafts() {
        let h = headers(&[("ratelimit-policy", "10;w=1, 50;w=60")]);
        assert_eq!(read(&h, NOW).unwrap().policy, Some(50.0 / 60.0));
        let h = headers(&[("ratelimit", "limit=100, remaining=20, reset=10")]);
        assert_eq!(read(&h, NOW).unwrap().pace(), Some(2.0));
        let h = headers(&[
            ("ratelimit-limit", "100"),
            ("ratelimit-remaining", "40"),
            ("ratelimit-reset", "20"),
        ]);
        assert_eq!(read(&h, NOW).unwrap().pace(), Some(2.0));
    }

    #[test]
    fn the_common_x_fields() {
        // GitHub: a reset as a Unix time.
        let h = headers(&[
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", "3600"),
            ("x-ratelimit-reset", &(NOW + 3600).to_string()),
        ]);
        assert_eq!(read(&h, NOW).unwrap().pace(), Some(1.0));
        let h = headers(&[("x-ratelimit-limit", "100, 100;w=60")]);
        assert_eq!(read(&h, NOW).unwrap().pace(), Some(100.0 / 60.0));
        // A per-second bucket's remaining swings with every request: not a pace.
        let h = headers(&[
            ("x-ratelimit-limit", "50"),
            ("x-ratelimit-remaining", "3"),
            ("x-ratelimit-reset", "1"),
        ]);
        assert_eq!(read(&h, NOW).unwrap().pace(), None);
    }

    #[test]
    fn nonsense_is_ignored() {
        for v in [
            "-5;w=1",
            "5;w=0",
            "5;w=-1",
            "1e9;w=1",
            "5.5;w=1",
            "99999999999999999999;w=1",
            "q=;w=",
            "",
            ";;;,,,",
        ] {
            let h = headers(&[("ratelimit-policy", v)]);
            assert_eq!(read(&h, NOW).and_then(|s| s.pace()), None, "{v:?}");
        }
        let long = format!("{};w=1", "1".repeat(MAX_FIELD));
        assert_eq!(read(&headers(&[("ratelimit-policy", &long)]), NOW), None);
        // A reset years away, or in the past as a Unix time.
        let h = headers(&[
            ("x-ratelimit-remaining", "5"),
            ("x-ratelimit-reset", "999999"),
        ]);
        assert_eq!(read(&h, NOW).unwrap().reset, None);
        let h = headers(&[("x-ratelimit-reset", &(NOW - 10).to_string())]);
        assert_eq!(read(&h, NOW), None);
    }

    proptest! {
        /// Whatever a server sends, reading it neither panics nor yields a pace that is not a
        /// positive finite number.
        #[test]
        fn any_field_reads_safely(
            policy in "[ -~]{0,80}",
            current in "[ -~]{0,80}",
            remaining in "[ -~]{0,20}",
            reset in "[ -~]{0,20}",
        ) {
            let mut h = HeaderMap::new();
            for (k, v) in [
                ("ratelimit-policy", &policy),
                ("ratelimit", &current),
                ("x-ratelimit-remaining", &remaining),
                ("x-ratelimit-reset", &reset),
            ] {
                if let Ok(v) = HeaderValue::from_str(v) {
                    h.insert(k, v);
                }
            }
            if let Some(pace) = read(&h, NOW).and_then(|s| s.pace()) {
                prop_assert!(pace.is_finite() && pace > 0.0);
            }
        }

        /// Policies built from parts read back as the strictest quota over its window.
        #[test]
        fn built_policies_read_back(
            parts in proptest::collection::vec((1u64..100_000, 1u64..100_000), 1..MAX_MEMBERS),
        ) {
            let v = parts
                .iter()
                .map(|(q, w)| format!("\"p\";q={q};w={w}"))
                .collect::<Vec<_>>()
                .join(", ");
            let want = parts.iter().map(|(q, w)| *q as f64 / *w as f64).fold(f64::INFINITY, f64::min);
            prop_assume!(v.len() <= MAX_FIELD);
            let h = headers(&[("ratelimit-policy", &v)]);
            prop_assert_eq!(read(&h, NOW).unwrap().policy, Some(want));
        }
    }
}
