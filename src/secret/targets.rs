//! The run's targets, masked in any text for the rest of the run.
//!
//! A server's answer for one target can quote another (the one revoked just before, no longer in
//! flight). The credentials' Aho-Corasick automaton cannot hold them: it takes about 14 KiB per
//! 40-byte token to build, and a run may hold 100,000 (README, "The scrubber with many
//! secrets"). This index holds the targets' own bytes and a few words per form instead, and finds
//! them by a rolling hash (Rabin-Karp) over a fixed window at the end of each form, where tokens
//! are random (their beginnings are often shared: a JWT's header, a vendor prefix such as
//! `ghp_`). A candidate is confirmed by comparing bytes, so a hash collision costs a comparison,
//! never a wrong mask.
//!
//! A form at least [`WINDOW`] bytes long is found by its last [`WINDOW`] bytes; a shorter one (of
//! [`super::MIN_SCRUB_LEN`] bytes or more) by all of its bytes, in a window of its own width. A
//! scan is one rolling pass per width present (one for tokens, which are longer than
//! [`WINDOW`]): linear in the text, whatever the number of targets.
//!
//! Forms that share their last [`WINDOW`] bytes share a chain, walked at each occurrence of
//! those bytes: a run of tokens that differ only in their beginnings would make a scan cost
//! their number at each occurrence (no token format known here does that).
//!
//! Where forms overlap in a text, the union of their matches becomes one mask, so no part of
//! either is left; forms that only abut are masked separately.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::{MASK, MIN_SCRUB_LEN};

/// The widest window: a form this long or longer is found by its last `WINDOW` bytes.
pub(super) const WINDOW: usize = 16;

/// The rolling hash's base (odd, so that multiplying by it modulo 2^64 loses nothing).
const BASE: u64 = 0x100_0000_01b3;

/// The end of a chain of forms sharing a bucket.
const NONE: u32 = u32::MAX;

/// Every form of every target registered, and one hash index per window width.
#[derive(Default)]
pub(super) struct Targets {
    /// The forms, end to end.
    bytes: Vec<u8>,
    /// Where each form ends in `bytes`; it starts where the one before it ends.
    ends: Vec<u32>,
    /// The next form in the same bucket, or [`NONE`].
    next: Vec<u32>,
    /// One index per width, widest last.
    windows: Vec<Window>,
}

/// The forms found by the hash of a window of one width.
struct Window {
    width: usize,
    /// `BASE^width`, to take the byte leaving the window out of the hash.
    out: u64,
    /// The hash of a form's last `width` bytes: the first form of its chain.
    heads: HashMap<u64, u32, BuildHasherDefault<Mix>>,
    /// A bit set at least [`FILTER_BITS_PER_KEY`] times as large as `heads`, with each key's
    /// bit set: most windows of a text are ruled out by a bit that stays in cache, before the
    /// table is read.
    filter: Vec<u64>,
}

/// The filter's size for each key of `heads`, at least: at most about one in eight windows of
/// a text holding no target pass it and are looked up in the table.
const FILTER_BITS_PER_KEY: usize = 8;

/// The filter's bit for a window's hash: the top bits of its mix.
fn bit(h: u64, bits: usize) -> usize {
    let mut m = Mix(0);
    m.write_u64(h);
    (m.finish() >> (64 - bits.trailing_zeros())) as usize
}

/// The window's hash is already a hash: the map only spreads its bits (the low ones of a
/// polynomial hash depend only on the low bits of the bytes).
#[derive(Default)]
struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(self.0 ^ u64::from(*b));
        }
    }

    fn write_u64(&mut self, h: u64) {
        // The finaliser of MurmurHash3.
        let mut h = h ^ (h >> 33);
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        self.0 = h ^ (h >> 33);
    }
}

/// `h(b_0 .. b_{n-1}) = sum of b_i * BASE^(n-1-i)`, modulo 2^64.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |h, b| {
        h.wrapping_mul(BASE).wrapping_add(u64::from(*b))
    })
}

impl Window {
    fn new(width: usize) -> Window {
        Window {
            width,
            out: (0..width).fold(1u64, |p, _| p.wrapping_mul(BASE)),
            heads: HashMap::default(),
            filter: vec![0; 64],
        }
    }

    fn insert(&mut self, key: u64, id: u32) {
        self.heads.insert(key, id);
        let bits = 64 * self.filter.len();
        if self.heads.len() * FILTER_BITS_PER_KEY > bits {
            self.filter = vec![0; 2 * self.filter.len()];
            let bits = 2 * bits;
            for &k in self.heads.keys() {
                let b = bit(k, bits);
                self.filter[b / 64] |= 1 << (b % 64);
            }
        } else {
            let b = bit(key, bits);
            self.filter[b / 64] |= 1 << (b % 64);
        }
    }

    fn may_hold(&self, h: u64) -> bool {
        let b = bit(h, 64 * self.filter.len());
        self.filter[b / 64] & (1 << (b % 64)) != 0
    }

    /// Calls `found(end)` for each end of a window of `text` whose hash is in the index, with
    /// the first form of its chain.
    fn scan(&self, text: &[u8], mut found: impl FnMut(usize, u32) -> bool) -> bool {
        let w = self.width;
        if text.len() < w {
            return false;
        }
        let mut h = hash(&text[..w]);
        let mut end = w;
        loop {
            if self.may_hold(h)
                && let Some(&first) = self.heads.get(&h)
                && found(end, first)
            {
                return true;
            }
            if end == text.len() {
                return false;
            }
            h = h
                .wrapping_mul(BASE)
                .wrapping_add(u64::from(text[end]))
                .wrapping_sub(self.out.wrapping_mul(u64::from(text[end - w])));
            end += 1;
        }
    }
}

impl Targets {
    pub(super) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// How many distinct forms are held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    fn form(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    /// Remembers one form of a target for the rest of the run. A form shorter than
    /// [`MIN_SCRUB_LEN`] is not masked in free text (as for a credential); one already held is
    /// not held twice.
    pub(super) fn add(&mut self, form: &str) {
        let form = form.as_bytes();
        if form.len() < MIN_SCRUB_LEN {
            return;
        }
        // The offsets are 32-bit: past 4 GiB of forms (no run comes near it), no more are held.
        let Some(end) = u32::try_from(self.bytes.len() + form.len())
            .ok()
            .filter(|_| self.ends.len() < NONE as usize)
        else {
            return;
        };
        let width = form.len().min(WINDOW);
        let at = match self.windows.binary_search_by_key(&width, |w| w.width) {
            Ok(at) => at,
            Err(at) => {
                self.windows.insert(at, Window::new(width));
                at
            }
        };
        let key = hash(&form[form.len() - width..]);
        let head = self.windows[at].heads.get(&key).copied().unwrap_or(NONE);
        let mut i = head;
        while i != NONE {
            if self.form(i) == form {
                return;
            }
            i = self.next[i as usize];
        }
        let id = self.ends.len() as u32;
        self.bytes.extend_from_slice(form);
        self.ends.push(end);
        self.next.push(head);
        self.windows[at].insert(key, id);
    }

    /// Calls `found(start, end)` for each occurrence of a form in `text`, until it returns true.
    fn each_match(&self, text: &[u8], mut found: impl FnMut(usize, usize) -> bool) -> bool {
        for window in &self.windows {
            let hit = window.scan(text, |end, first| {
                let mut i = first;
                while i != NONE {
                    let form = self.form(i);
                    if let Some(start) = end.checked_sub(form.len())
                        && &text[start..end] == form
                        && found(start, end)
                    {
                        return true;
                    }
                    i = self.next[i as usize];
                }
                false
            });
            if hit {
                return true;
            }
        }
        false
    }

    pub(super) fn is_match(&self, text: &str) -> bool {
        !self.is_empty() && self.each_match(text.as_bytes(), |_, _| true)
    }

    /// `text` with each occurrence of a form masked (overlapping ones as one), or `None` when
    /// there is none. A form is UTF-8, as is the text, so a match starts and ends on character
    /// boundaries.
    pub(super) fn mask(&self, text: &str) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let mut spans = Vec::new();
        self.each_match(text.as_bytes(), |start, end| {
            spans.push((start, end));
            false
        });
        if spans.is_empty() {
            return None;
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut spans = spans.into_iter().peekable();
        while let Some((start, mut end)) = spans.next() {
            while let Some(&(s, e)) = spans.peek() {
                if s >= end {
                    break;
                }
                end = end.max(e);
                spans.next();
            }
            out.push_str(&text[last..start]);
            out.push_str(MASK);
            last = end;
        }
        out.push_str(&text[last..]);
        Some(out)
    }

    /// The bytes held: the forms, the offsets and chains, the hash tables' slots.
    #[cfg(test)]
    pub(super) fn held_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(u64, u32)>() + 1;
        self.bytes.capacity()
            + 4 * (self.ends.capacity() + self.next.capacity())
            + self
                .windows
                .iter()
                .map(|w| w.heads.capacity() * slot + 8 * w.filter.capacity())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(forms: &[&str]) -> Targets {
        let mut t = Targets::default();
        for f in forms {
            t.add(f);
        }
        t
    }

    #[test]
    fn masks_long_and_short_forms_whole() {
        let t = of(&["opaqueTokenNumberOne01", "tok5", "short-ten!"]);
        assert_eq!(
            t.mask("a opaqueTokenNumberOne01 b tok5 c short-ten! d tok"),
            Some("a *** b *** c *** d tok".into())
        );
        assert_eq!(t.mask("nothing here"), None);
        assert!(t.is_match("xxopaqueTokenNumberOne01"));
        assert!(!t.is_match("paqueTokenNumberOne01"));
    }

    #[test]
    fn shorter_than_the_minimum_is_not_held() {
        let t = of(&["abc"]);
        assert!(t.is_empty());
        assert_eq!(t.mask("abc"), None);
    }

    #[test]
    fn a_form_is_held_once() {
        let t = of(&["the-same-token-twice", "the-same-token-twice"]);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn overlapping_forms_are_masked_as_one_and_abutting_ones_apart() {
        let t = of(&["AAAAbbbbCCCCddddEE", "ddddEEffffGGGGhhhh"]);
        assert_eq!(
            t.mask("<AAAAbbbbCCCCddddEEffffGGGGhhhh>"),
            Some("<***>".into())
        );
        assert_eq!(
            t.mask("<AAAAbbbbCCCCddddEEddddEEffffGGGGhhhh>"),
            Some("<******>".into())
        );
    }

    #[test]
    fn forms_sharing_their_last_bytes_are_told_apart() {
        // Same window (the last 16 bytes), different beginnings.
        let t = of(&["one-0123456789abcdef", "two-0123456789abcdef"]);
        assert_eq!(
            t.mask("x two-0123456789abcdef y three-0123456789abcdef"),
            Some("x *** y three-0123456789abcdef".into())
        );
    }

    #[test]
    fn one_containing_another_is_masked_whole() {
        let t = of(&["inner-secret", "outer-inner-secret-tail"]);
        assert_eq!(
            t.mask("x outer-inner-secret-tail y inner-secret z"),
            Some("x *** y *** z".into())
        );
    }

    #[test]
    fn multibyte_text_and_forms() {
        let t = of(&["jeton-é-secret", "ééé"]);
        assert_eq!(
            t.mask("« jeton-é-secret » ééé é"),
            Some("« *** » *** é".into())
        );
    }

    #[test]
    fn memory_is_the_bytes_and_a_few_words_per_target() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut t = Targets::default();
        let n = 20_000;
        let all: Vec<String> = (0..n)
            .map(|_| (0..40).map(|_| rng.alphanumeric()).collect())
            .collect();
        for s in &all {
            t.add(s);
        }
        // Every one is still found once the filter has grown.
        let text = all.join(" ");
        let out = t.mask(&text).unwrap();
        assert_eq!(out.len(), n * 4 - 1, "{}", &out[..200]);
        // 40 bytes each, 8 of offsets and chain, a hash slot: under 128 bytes a target with
        // the vectors' and the table's growth room.
        assert!(t.held_bytes() < 128 * n, "{} bytes", t.held_bytes());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Few characters, so that targets overlap, abut and share their windows.
        fn target() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[abc-]{4,24}|[ab]é[ab]{3,30}").unwrap()
        }

        fn filler() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[abc -é]{0,5}").unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn no_target_survives(
                targets in proptest::collection::vec(target(), 1..8),
                parts in proptest::collection::vec(
                    (any::<prop::sample::Index>(), filler(), 0usize..6),
                    0..12,
                ),
            ) {
                let t = of(&targets.iter().map(String::as_str).collect::<Vec<_>>());
                let mut text = String::new();
                for (which, filler, overlap) in &parts {
                    let v = &targets[which.index(targets.len())];
                    // Overlapping the text before it by up to 5 bytes where those are the
                    // target's own beginning, else abutting or after a filler.
                    let shared = (1..=*overlap)
                        .rev()
                        .find(|k| text.ends_with(v.get(..*k).unwrap_or("\u{0}")));
                    match shared {
                        Some(k) => text.push_str(&v[k..]),
                        None => text.push_str(v),
                    }
                    text.push_str(filler);
                }
                let out = t.mask(&text).unwrap_or_else(|| text.clone());
                prop_assert_eq!(t.is_match(&text), out != text);
                for v in &targets {
                    prop_assert!(!out.contains(v.as_str()), "{:?} in {:?} (from {:?})", v, out, text);
                }
            }
        }
    }
}
