//! `cargo run --release --example scrub_bench`: how the secret scrubber scales with the number of
//! secrets it holds. Prints the time to register 1,000, 10,000 and 100,000 random 40-byte
//! secrets (and the first scrub after them, which builds the matcher), then the time to scrub a
//! 1 KiB and a 64 KiB message with 10,000 secrets registered (median of several runs). Not part
//! of `cargo test`. A size is skipped when the one before it took longer than `SCRUB_BENCH_BUDGET`
//! seconds (default 60): registering is quadratic in some builds.
//!
//! First, in the fresh process (so that its resident memory is the index's), the run's targets:
//! 1,000, 10,000 and 100,000 random 40-byte targets registered with `Redactor::add_target`, the
//! resident memory before and after, and the scrub of a 1 KiB and a 64 KiB message with 100,000
//! targets registered.

use std::time::{Duration, Instant};

use revoke::secret::{Redactor, Secret};

/// Token-like characters: letters, digits and the punctuation of base64url and JWTs.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

fn secret(rng: &mut fastrand::Rng) -> Secret {
    let s: String = (0..40)
        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
        .collect();
    Secret::new(s)
}

/// Text that holds no secret: words of the same characters, with spaces.
fn message(rng: &mut fastrand::Rng, len: usize) -> String {
    let mut s = String::with_capacity(len);
    while s.len() < len {
        if rng.u8(..8) == 0 {
            s.push(' ');
        } else {
            s.push(ALPHABET[rng.usize(..ALPHABET.len())] as char);
        }
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:10.3} ms", d.as_secs_f64() * 1e3)
}

/// The resident memory of this process (Linux), to see what the matcher holds.
fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l["VmRSS:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

/// Times `runs` scrubs of `text` by `r`: the median.
fn time_scrub(r: &Redactor, text: &str, runs: usize) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let out = r.scrub(text);
                let d = t.elapsed();
                std::hint::black_box(out);
                d
            })
            .collect(),
    )
}

/// The run's targets: registering them, the memory they hold, the scrubs with 100,000.
fn targets() {
    let mut rng = fastrand::Rng::with_seed(11);
    println!("scrubber benchmark: the run's targets, random 40-byte tokens (add_target)");
    println!("## register N targets, resident memory before and after");
    let mut kept = None;
    for n in [1_000usize, 10_000, 100_000] {
        let targets: Vec<Secret> = (0..n).map(|_| secret(&mut rng)).collect();
        let before = rss();
        let r = Redactor::default();
        let t = Instant::now();
        for s in &targets {
            r.add_target(s.expose());
        }
        let add = t.elapsed();
        println!(
            "{n:>7} targets: add {} ({:.2} us each), RSS {before} before, {} after",
            ms(add),
            add.as_secs_f64() * 1e6 / n as f64,
            rss()
        );
        kept = Some((r, targets));
    }
    let (r, targets) = kept.expect("the last size");
    println!("## scrub with 100000 targets registered (median of runs)");
    for (label, len, runs) in [("1 KiB", 1024usize, 51), ("64 KiB", 64 * 1024, 11)] {
        let clean = message(&mut rng, len);
        let mut dirty = message(&mut rng, len - 3 * 41);
        for s in targets.iter().step_by(40_000) {
            dirty.push(' ');
            dirty.push_str(s.expose());
        }
        assert_eq!(r.scrub(&clean), clean);
        assert_eq!(r.scrub(&dirty).matches("***").count(), 3);
        for (what, text) in [("no target", &clean), ("3 targets", &dirty)] {
            println!(
                "{label:>6} message, {what}: {}",
                ms(time_scrub(&r, text, runs))
            );
        }
    }
}

fn main() {
    let budget = Duration::from_secs(
        std::env::var("SCRUB_BENCH_BUDGET")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    targets();
    let mut rng = fastrand::Rng::with_seed(7);
    println!("scrubber benchmark: random 40-byte secrets");
    println!("## register N secrets (add), then the first scrub of a 1 KiB message");
    let mut skip = false;
    for n in [1_000usize, 10_000, 100_000] {
        if skip {
            println!("{n:>7} secrets: skipped (the size before took over {budget:?})");
            continue;
        }
        let secrets: Vec<Secret> = (0..n).map(|_| secret(&mut rng)).collect();
        let text = message(&mut rng, 1024);
        let r = Redactor::default();
        let t = Instant::now();
        for s in &secrets {
            r.add(s);
        }
        let add = t.elapsed();
        let t = Instant::now();
        let out = r.scrub(&text);
        let first = t.elapsed();
        assert_eq!(out, text);
        println!(
            "{n:>7} secrets: add {} ({:.2} us each), first scrub {}, RSS {}",
            ms(add),
            add.as_secs_f64() * 1e6 / n as f64,
            ms(first),
            rss()
        );
        drop(r);
        skip = add + first > budget;
    }

    println!("## scrub with 10000 secrets registered (median of runs)");
    let r = Redactor::default();
    let secrets: Vec<Secret> = (0..10_000).map(|_| secret(&mut rng)).collect();
    for s in &secrets {
        r.add(s);
    }
    r.scrub("warm up: builds the matcher where it is built lazily");
    for (label, len, runs) in [("1 KiB", 1024usize, 51), ("64 KiB", 64 * 1024, 11)] {
        let clean = message(&mut rng, len);
        // The same size with three of the secrets in it.
        let mut dirty = message(&mut rng, len - 3 * 41);
        for s in secrets.iter().step_by(4_000) {
            dirty.push(' ');
            dirty.push_str(s.expose());
        }
        for (what, text) in [("no secret", &clean), ("3 secrets", &dirty)] {
            let times: Vec<Duration> = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    let out = r.scrub(text);
                    let d = t.elapsed();
                    std::hint::black_box(out);
                    d
                })
                .collect();
            println!("{label:>6} message, {what}: {}", ms(median(times)));
        }
    }
}
