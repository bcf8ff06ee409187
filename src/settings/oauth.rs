//! `revoke oauth`: flags, a `[oauth.NAME]` context and the client secret into an [`Oauth`]
//! client and one job per token.
//!
//! Where it revokes: `--revocation-endpoint` (no discovery), `--issuer` (discovery when the run
//! starts), or `--endpoint` (`REVOKE_ENDPOINT`) taken as the revocation endpoint. Of these set
//! in different layers (a context's issuer, a flag's or the environment's endpoint), the higher
//! layer wins, as for ciam's `--domain` and `--endpoint`; in one layer, that order.
//!
//! The secret: `--client-auth none` reads none (a public client). `post` and `basic` need one
//! (exit 2 without). With no `--client-auth`, a secret is read if one is found anywhere; the
//! method is then chosen from the server's metadata (see [`crate::providers::oauth::choose_auth`]).

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::GlobalArgs;
use super::layers::{id, opt};
use super::{Context, Input, Layers, Plan, UsageError, exposed, nonempty, parse, schema, secrets};
use crate::net::http::Endpoint;
use crate::providers::check_token;
use crate::providers::oauth::{ClientAuth, Issuer, Oauth, OauthConfig, Revocation, TokenTypeHint};
use crate::secret::Secret;

/// Its secret (a compile-time error if its descriptor declared none).
const SECRET: crate::providers::SecretKeys = schema::secret(&crate::providers::oauth::DESCRIPTOR);

pub fn resolve(args: OauthArgs, cx: &Context) -> Result<Plan, UsageError> {
    let layers = cx.layers;
    let url = |flag: &'static str, text: String| {
        Endpoint::parse(&text).map_err(|e| UsageError::Endpoint(format!("{flag}: {e}")))
    };
    let issuer = opt!(layers, args.issuer, &parse::text)?;
    let at = opt!(layers, args.revocation_endpoint, &parse::text)?;
    let revocation = revocation(layers, issuer, at, cx.global.endpoint.as_ref())?;
    let client_id = cx.required(
        id!(OauthArgs, client_id),
        args.client_id,
        "--client-id",
        "ID",
    )?;
    let client_id = nonempty("--client-id", &client_id)?;
    let hint = opt!(layers, args.token_type_hint, &parse::choice)?.map(|h| match h {
        Hint::AccessToken => TokenTypeHint::AccessToken,
        Hint::RefreshToken => TokenTypeHint::RefreshToken,
    });
    let auth = client_auth(layers, args.client_auth)?;
    let introspection = opt!(layers, args.introspection_endpoint, &parse::text)?
        .map(|u| url("--introspection-endpoint", u))
        .transpose()?;
    let from_args = cx.args_visible && !args.tokens.is_empty();
    let none = UsageError::NoTargets {
        what: "tokens",
        arg: "TOKEN",
        or: "",
    };
    let tokens = cx.positional(exposed(&args.tokens));
    let targets = cx.targets(tokens, &check_token, none)?;
    let keys = SECRET;
    let flag_file = args.client_secret_file;
    let auth = method(auth, &revocation);
    let (client_secret, source) = match secret_need(auth) {
        SecretNeed::Public => (None, PUBLIC.into()),
        SecretNeed::Required => {
            let (secret, source) = secrets::resolve(cx, &keys, flag_file).map_err(|e| {
                match secrets::locate(cx.layers, cx.env, &keys, None) {
                    None => missing_secret(),
                    Some(_) => e,
                }
            })?;
            (Some(secret), source)
        }
        SecretNeed::IfFound => match secrets::locate(cx.layers, cx.env, &keys, flag_file.clone()) {
            Some(_) => {
                let (secret, source) = secrets::resolve(cx, &keys, flag_file)?;
                (Some(secret), source)
            }
            None => (
                None,
                "none found: only a public client (none) is possible".into(),
            ),
        },
    };
    // Whether the run needs TLS: any https endpoint it knows of (a discovered one has the
    // issuer's scheme).
    let endpoint = match &revocation {
        Revocation::At(e) => e.clone(),
        Revocation::Discover(issuer) => issuer.endpoint().clone(),
    };
    let endpoint = match &introspection {
        Some(i) if endpoint.is_plain_http() => i.clone(),
        _ => endpoint,
    };
    let client = Oauth::new(OauthConfig {
        revocation,
        introspection,
        client_id,
        client_secret,
        auth,
        hint,
    });
    cx.plan(
        Arc::new(client),
        &endpoint,
        Input::tokens(targets, from_args),
        source,
    )
}

/// Where it revokes, from `--issuer`, `--revocation-endpoint` and the run's `--endpoint`.
fn revocation(
    layers: &Layers,
    issuer: Option<String>,
    at: Option<String>,
    endpoint: Option<&Endpoint>,
) -> Result<Revocation, UsageError> {
    let url = |flag: &'static str, text: String| {
        Endpoint::parse(&text).map_err(|e| UsageError::Endpoint(format!("{flag}: {e}")))
    };
    // The one set in the highest layer wins (flag > plan step > env > config file); in one
    // layer, --revocation-endpoint, then --issuer, then --endpoint.
    let layer = |set: bool, id: &str| if set { layers.layer(id) } else { 0 };
    let issuer_layer = layer(issuer.is_some(), id!(OauthArgs, issuer));
    let at_layer = layer(at.is_some(), id!(OauthArgs, revocation_endpoint));
    let endpoint_layer = layer(endpoint.is_some(), id!(GlobalArgs, endpoint));
    Ok(match (issuer, at, endpoint) {
        (_, Some(at), _) if at_layer >= issuer_layer && at_layer >= endpoint_layer => {
            Revocation::At(url("--revocation-endpoint", at)?)
        }
        (Some(issuer), _, _) if issuer_layer >= endpoint_layer => {
            Revocation::Discover(Issuer::parse(&issuer).map_err(UsageError::Endpoint)?)
        }
        (_, _, Some(endpoint)) => Revocation::At(endpoint.clone()),
        _ => {
            return Err(UsageError::NoEndpoint(
                "oauth needs --issuer URL (its endpoints are discovered) or --revocation-endpoint URL".into(),
            ));
        }
    })
}

/// `--client-auth`, as given (none: not given).
fn client_auth(layers: &Layers, parsed: Option<Auth>) -> Result<Option<ClientAuth>, UsageError> {
    Ok(layers
        .get_opt(id!(OauthArgs, client_auth), parsed, &parse::choice)?
        .map(|a| match a {
            Auth::Public => ClientAuth::None,
            Auth::Post => ClientAuth::Post,
            Auth::Basic => ClientAuth::Basic,
        }))
}

/// The method a run uses: the one given; without one, `post` where nothing is discovered (no
/// metadata tells which method the server takes, and the contract says post), else none yet
/// (the server's metadata chooses, see [`crate::providers::oauth::choose_auth`]).
fn method(auth: Option<ClientAuth>, revocation: &Revocation) -> Option<ClientAuth> {
    match (revocation, auth) {
        (Revocation::At(_), None) => Some(ClientAuth::Post),
        (_, auth) => auth,
    }
}

/// What a run needs of the client secret: the one rule that [`resolve`] follows and that
/// `revoke config` reports (through [`secret_need_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretNeed {
    /// A public client (`--client-auth none`): none is read, even one that is set.
    Public,
    /// `post` or `basic`: none found stops the run ([`missing_secret`]).
    Required,
    /// No method yet (discovery chooses it): one is read if found.
    IfFound,
}

/// The need of a run that authenticates with `method` (see [`method`]).
fn secret_need(method: Option<ClientAuth>) -> SecretNeed {
    match method {
        Some(ClientAuth::None) => SecretNeed::Public,
        Some(ClientAuth::Post | ClientAuth::Basic) => SecretNeed::Required,
        None => SecretNeed::IfFound,
    }
}

/// [`SecretNeed`] of a run with these settings (`endpoint`: the run's `--endpoint`), for
/// `revoke config`; `Ok(None)` when it cannot be told because the run would stop on where it
/// revokes first (no endpoint, or one it refuses: that is the problem to report).
pub fn secret_need_of(
    layers: &Layers,
    endpoint: Option<&Endpoint>,
) -> Result<Option<SecretNeed>, UsageError> {
    let issuer = layers.get_opt(id!(OauthArgs, issuer), None, &parse::text)?;
    let at = layers.get_opt(id!(OauthArgs, revocation_endpoint), None, &parse::text)?;
    let auth = client_auth(layers, None)?;
    match (auth, revocation(layers, issuer, at, endpoint)) {
        (_, Ok(revocation)) => Ok(Some(secret_need(method(auth, &revocation)))),
        // Given, the method does not depend on where it revokes.
        (Some(auth), Err(_)) => Ok(Some(secret_need(Some(auth)))),
        (None, Err(_)) => Ok(None),
    }
}

/// Where a public client's secret comes from, in words (`--dry-run`, `revoke config`).
pub const PUBLIC: &str = "none: a public client (--client-auth none)";

/// The run's error when the secret is required and found nowhere: it says how a public client
/// would go.
pub fn missing_secret() -> UsageError {
    UsageError::Credentials(format!(
        "{}; or pass --client-auth none for a public client",
        secrets::not_found(&SECRET)
    ))
}

/// `--token-type-hint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Hint {
    // The RFC 7009 2.1 spellings, as the contract writes them (clap would say `access-token`).
    #[value(name = "access_token")]
    AccessToken,
    #[value(name = "refresh_token")]
    RefreshToken,
}

/// `--client-auth`: RFC 6749 2.3.1's methods and a public client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Auth {
    /// A public client: client_id in the form body, no secret (RFC 7009 2.1)
    #[value(name = "none")]
    Public,
    /// client_id and client_secret in the form body (client_secret_post)
    Post,
    /// HTTP Basic authentication (client_secret_basic, RFC 6749 2.3.1)
    Basic,
}

#[derive(Debug, Clone, Args)]
pub struct OauthArgs {
    /// The authorization server's issuer identifier: its revocation and introspection
    /// endpoints are read from its metadata (RFC 8414, else OpenID Connect Discovery).
    #[arg(long, value_name = "URL", conflicts_with = "revocation_endpoint")]
    pub issuer: Option<String>,

    /// The RFC 7009 revocation endpoint itself: no discovery. Without it or --issuer,
    /// --endpoint is taken as the revocation endpoint
    #[arg(long, value_name = "URL")]
    pub revocation_endpoint: Option<String>,

    /// --verify: the RFC 7662 introspection endpoint; default: the issuer metadata's.
    #[arg(long, value_name = "URL")]
    pub introspection_endpoint: Option<String>,

    /// The client's client_id. Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// How the client authenticates; default: the first of the server's
    /// revocation_endpoint_auth_methods_supported possible with what was given, else post.
    #[arg(long, value_enum, value_name = "METHOD")]
    pub client_auth: Option<Auth>,

    /// Sent as token_type_hint (RFC 7009 2.1).
    #[arg(long, value_enum, value_name = "HINT")]
    pub token_type_hint: Option<Hint>,

    /// Read the client secret from FILE (`-` = stdin) instead of OAUTH2_CLIENT_SECRET.
    /// The file must not be readable by other users.
    #[arg(help_heading = "Credentials", long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// Tokens to revoke. Prefer --input: arguments are visible to other users.
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<Secret>,
}
