//! `revoke smh`: flags and the library secret into an [`Smh`] client, and the user ids into
//! batched jobs (every combination of a user batch, a client chunk and a session chunk).

use std::sync::Arc;

use super::layers::id;
use super::{Context, Input, Plan, UsageError, nonempty, schema, secrets, segment};
use std::path::PathBuf;

use crate::providers::smh::{
    Batches, DEFAULT_ENDPOINT, MAX_CLIENT_IDS, MAX_SESSION_IDS, Smh, SmhConfig, check_user_id,
    chunks, job_count,
};
use clap::Args;

/// Its secret (a compile-time error if its descriptor declared none).
const SECRET: crate::providers::SecretKeys = schema::secret(&crate::providers::smh::DESCRIPTOR);

pub fn resolve(args: SmhArgs, cx: &Context) -> Result<Plan, UsageError> {
    let layers = cx.layers;
    let endpoint = cx.endpoint_or(DEFAULT_ENDPOINT)?;
    let library_id = cx.required(
        id!(SmhArgs, library_id),
        args.library_id,
        "--library-id",
        "ID",
    )?;
    let library_id = segment("--library-id", &library_id)?;
    let client_ids = flag_ids("--client-id", &layers.list("client_ids", args.client_ids))?;
    let session_ids = flag_ids(
        "--session-id",
        &layers.list("session_ids", args.session_ids),
    )?;
    let none = UsageError::NoTargets {
        what: "user ids",
        arg: "USER_ID",
        or: "",
    };
    let targets = cx.targets(cx.positional(args.user_ids), &check_user_id, none)?;
    let (library_secret, source) = secrets::resolve(cx, &SECRET, args.library_secret_file)?;
    let client = Smh::new(SmhConfig {
        endpoint: endpoint.clone(),
        library_id,
        library_secret,
    });
    let clients = chunks(&client_ids, MAX_CLIENT_IDS).len();
    let sessions = chunks(&session_ids, MAX_SESSION_IDS).len();
    let input = Input::from_targets(
        targets,
        check_user_id,
        |users| users.map(|n| job_count(n, clients, sessions)),
        |users| Batches::new(users, &client_ids, &session_ids),
    );
    // The business APIs' rate limits are not documented: no default rate.
    cx.plan(Arc::new(client), &endpoint, input, source)
}

/// A `--client-id` / `--session-id` value: trimmed, not empty, no control character, no comma.
fn flag_id(flag: &'static str, value: &str) -> Result<String, UsageError> {
    let v = nonempty(flag, value)?;
    if v.contains(',') {
        return Err(UsageError::Comma { flag, value: v });
    }
    Ok(v)
}

/// The flag's values checked, in order, each once (a repeated id would only make more
/// requests).
fn flag_ids(flag: &'static str, values: &[String]) -> Result<Vec<String>, UsageError> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let v = flag_id(flag, v)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Args)]
pub struct SmhArgs {
    /// Media library ID (LibraryId). Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub library_id: Option<String>,

    /// Only tokens of this client (repeatable; at most 100 per request, more are batched).
    #[arg(long = "client-id", value_name = "ID")]
    pub client_ids: Vec<String>,

    /// Only tokens of this session (repeatable; at most 100 per request, more are batched).
    #[arg(long = "session-id", value_name = "ID")]
    pub session_ids: Vec<String>,

    /// Read the library secret from FILE (`-` = stdin) instead of SMH_LIBRARY_SECRET.
    /// The file must not be readable by other users.
    #[arg(help_heading = "Credentials", long, value_name = "FILE")]
    pub library_secret_file: Option<PathBuf>,

    /// User IDs whose tokens are deleted (at most 10 per request, more are batched).
    #[arg(value_name = "USER_ID")]
    pub user_ids: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_and_session_ids_are_checked_and_deduplicated() {
        let empty = flag_id("--client-id", "  ").unwrap_err().to_string();
        assert!(empty.contains("empty"), "{empty}");
        let comma = flag_id("--client-id", "w,x").unwrap_err().to_string();
        assert!(comma.contains("comma"), "{comma}");
        assert_eq!(flag_id("--client-id", " web ").unwrap(), "web");
        let v = flag_ids("--session-id", &["a".into(), "b".into(), "a".into()]).unwrap();
        assert_eq!(v, ["a", "b"], "repeats are dropped, order kept");
    }
}
