//! Setup requests that list the targets before they are revoked (identity-store's `--all`).
//!
//! The pages are asked for one after the other through the same attempt loop as the targets
//! ([`Attempts::run`]): the same rate limit, timeout, retries, credentials rule and signals. A
//! page waiting for its answer is dropped on a stop: a listing changes nothing. The listing is
//! bounded, whatever the server answers: at most [`MAX_PAGES`] pages and [`MAX_LISTED`] items,
//! a next-page marker of at most [`MAX_MARKER`] bytes (each is kept, and sent back in a URL),
//! and a next-page marker seen before ends it (the pages would go round for ever). A bound
//! reached is an error naming the bound; the caller says what it means for the run (before the
//! deletes: nothing was revoked; `--verify`'s listing after them: they are not verified).

use std::collections::HashSet;

use super::attempt::{Attempts, Label, OnStop, Tried};
use super::signals::StopReason;
use super::{JobItem, Listing};
use crate::error::{ApiError, ErrorKind};
use crate::net::http::exchange;

/// The most pages one listing may have.
pub const MAX_PAGES: usize = 1_000;
/// The most items one listing may return (a hundred pages of the largest page size).
pub const MAX_LISTED: usize = 100_000;
/// The longest next-page marker followed, in bytes: the markers seen are kept, so that a
/// thousand pages hold a few MB of them, not a thousand answers' worth.
pub const MAX_MARKER: usize = 4 * 1024;

/// How a listing ended.
pub(crate) enum Listed<J> {
    All(Vec<JobItem<J>>),
    /// Interrupted: nothing more is sent.
    Stopped,
    /// Failed: why, for the caller to report (with credentials rejected on a listing of the
    /// targets, the stop says so too).
    Failed(String),
}

/// Every page of `listing`, through the attempt loop, as `label` (a listing of the targets, or
/// `--verify`'s, whose failures never stop the run).
/// With how the listing ended comes the number of requests it took (pages and retries).
pub(crate) async fn list<J: Send + Sync + 'static>(
    listing: &dyn Listing<Job = J>,
    attempts: &Attempts,
    label: Label,
) -> (Listed<J>, u32) {
    let mut sent = 0;
    let listed = pages(listing, attempts, label, &mut sent).await;
    (listed, sent)
}

async fn pages<J: Send + Sync + 'static>(
    listing: &dyn Listing<Job = J>,
    attempts: &Attempts,
    label: Label,
    sent: &mut u32,
) -> Listed<J> {
    let what = listing.what();
    let mut items = Vec::new();
    let mut seen = HashSet::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let m = marker.as_deref();
        let tried = attempts
            .run(label, &[], OnStop::Abandon, |now| async move {
                let request = listing.page_request(m, now)?;
                exchange(&attempts.transport, &request, |a| listing.read_page(a)).await
            })
            .await;
        let (result, tries) = match tried {
            Tried::Stopped(_) | Tried::Abandoned => return Listed::Stopped,
            Tried::Done { result, attempts } => (result, attempts),
        };
        *sent += tries;
        let next = match result {
            Ok(p) => {
                items.extend(p.items);
                if items.len() > MAX_LISTED {
                    return failed(format!(
                        "{what}: more than {MAX_LISTED} items listed, the most one run takes (MAX_LISTED)"
                    ));
                }
                p.next_marker.filter(|m| !m.is_empty())
            }
            Err(_) if attempts.stop.reason() == Some(StopReason::Interrupted) => {
                return Listed::Stopped;
            }
            Err(e) if e.kind() == ErrorKind::Credentials => {
                return failed(format!(
                    "{what}: the provider rejected the credentials: {}",
                    describe(&e)
                ));
            }
            Err(e) => {
                return failed(format!(
                    "{what} failed after {tries} attempt(s): {}",
                    describe(&e)
                ));
            }
        };
        match next {
            None => return Listed::All(items),
            Some(next) if next.len() > MAX_MARKER => {
                return failed(format!(
                    "{what}: next_marker longer than {} KiB, the longest followed (MAX_MARKER)",
                    MAX_MARKER / 1024
                ));
            }
            Some(next) if !seen.insert(next.clone()) => {
                return failed(format!(
                    "{what}: next_marker {next:?} came back a second time (the pages would go round for ever)"
                ));
            }
            Some(next) => marker = Some(next),
        }
    }
    // The last page allowed named a next one.
    failed(format!(
        "{what}: more than {MAX_PAGES} pages, the most one listing may have (MAX_PAGES)"
    ))
}

fn failed<J>(message: String) -> Listed<J> {
    Listed::Failed(message)
}

/// A failed setup request, for the one-line error message.
fn describe(e: &ApiError) -> String {
    let mut text = e.to_string();
    if let Some(s) = e.http_status() {
        text.push_str(&format!(" (HTTP {s}"));
        if let Some(id) = e.request_id() {
            text.push_str(&format!(", request {id}"));
        }
        text.push(')');
    }
    text
}
