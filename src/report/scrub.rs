//! The scrubber: the one walk that masks secrets in every text of a record or an answer.
//!
//! [`clean`] is the sink's scrubber (every record passes it before it is printed or
//! journaled); [`walk`] is the walk over a JSON value it shares with the engine, which scrubs
//! an answer's outcome with its request's own secrets before anything keeps it.

use serde_json::Value;

use crate::report::record::Record;
use crate::secret::Redactor;

/// The longest provider message a record carries, in bytes.
pub const MAX_MESSAGE: usize = 1024;

/// The longest request id a record carries, in bytes.
const MAX_REQUEST_ID: usize = 256;

/// The sink's scrubber: every credential and the record's own request secrets masked in every
/// text a provider or an input put in the record (and the `--ticket` and `--actor` given),
/// whatever its status; the provider's message cut to [`MAX_MESSAGE`] (after scrubbing, so no
/// secret is cut into an unrecognised prefix).
/// The request's secrets (known by `scrub_id`) are forgotten afterwards.
pub fn clean(r: &mut Record, scrub_id: Option<u64>) {
    let redactor = Redactor::global();
    let scrub = |t: &str| match scrub_id {
        Some(id) => redactor.scrub_for(id, t),
        None => redactor.scrub(t).into_owned(),
    };
    if let Some(rid) = r.request_id.take() {
        r.request_id = Some(cut(scrub(&rid), MAX_REQUEST_ID));
    }
    if let Some(d) = r.data.as_mut() {
        walk(d, &scrub);
    }
    walk(&mut r.target, &scrub);
    if let Some(row) = r.row.as_mut() {
        row.key = scrub(&row.key);
    }
    // The user's words, but a secret pasted there by mistake is still a secret.
    for given in [&mut r.ticket, &mut r.actor].into_iter().flatten() {
        *given = scrub(given);
    }
    if let Some(e) = r.error.as_mut() {
        e.code = cut(scrub(&e.code), MAX_REQUEST_ID);
        e.message = cut(scrub(&e.message), MAX_MESSAGE);
    }
    if let Some(id) = scrub_id {
        redactor.leave(id);
    }
}

/// Every string in `v`, object keys included, replaced by `scrub` of it; a number whose digits
/// hold a secret (one of digits, sent back as a number) becomes the scrubbed text.
pub fn walk(v: &mut Value, scrub: &dyn Fn(&str) -> String) {
    match v {
        Value::String(s) => *s = scrub(s),
        Value::Number(n) => {
            let digits = n.to_string();
            let clean = scrub(&digits);
            if clean != digits {
                *v = Value::String(clean);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| walk(x, scrub)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut x) in old {
                walk(&mut x, scrub);
                map.insert(scrub(&k), x);
            }
        }
        _ => {}
    }
}

/// `text` cut to at most `max` bytes on a character boundary, saying that it was cut.
pub fn cut(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}... [cut at {} bytes of {}]",
        &text[..end],
        max,
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::Status;
    use crate::secret::Secret;

    #[test]
    fn a_secret_sent_back_as_a_json_number_is_masked() {
        // A secret of digits (a numeric library secret from the environment) that a server
        // echoes as a number, not a string.
        Redactor::global().add(&Secret::new("90817263545"));
        let data = serde_json::json!({"echo": 90817263545u64, "n": [1, 2.5], "90817263545": 3});
        let mut r = Record {
            data: Some(data),
            ..Record::bare("smh", 0, serde_json::json!({}), Status::Failed, None)
        };
        clean(&mut r, None);
        let out = serde_json::to_string(&r).unwrap();
        assert!(!out.contains("90817263545"), "{out}");
        // Other numbers stay numbers.
        assert_eq!(r.data.unwrap()["n"], serde_json::json!([1, 2.5]));
    }
}
