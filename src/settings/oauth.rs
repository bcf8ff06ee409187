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

use std::sync::Arc;

use super::{Context, Input, Plan, UsageError, exposed, nonempty, parse, schema, secrets};
use crate::cli::{self, OauthArgs};
use crate::net::http::Endpoint;
use crate::providers::check_token;
use crate::providers::oauth::{ClientAuth, Issuer, Oauth, OauthConfig, Revocation, TokenTypeHint};

pub fn resolve(args: OauthArgs, cx: &Context) -> Result<Plan<Oauth>, UsageError> {
    let layers = cx.layers;
    let url = |flag: &'static str, text: String| {
        Endpoint::parse(&text).map_err(|e| UsageError::Endpoint(format!("{flag}: {e}")))
    };
    let issuer = layers.get_opt("issuer", args.issuer, &parse::text)?;
    let at = layers.get_opt(
        "revocation_endpoint",
        args.revocation_endpoint,
        &parse::text,
    )?;
    // The one set in the highest layer wins (flag > plan step > env > config file); in one
    // layer, --revocation-endpoint, then --issuer, then --endpoint.
    let issuer_layer = issuer.as_ref().map_or(0, |_| layers.layer("issuer"));
    let at_layer = at
        .as_ref()
        .map_or(0, |_| layers.layer("revocation_endpoint"));
    let endpoint_layer = cx
        .global
        .endpoint
        .as_ref()
        .map_or(0, |_| layers.layer("endpoint"));
    let revocation = match (issuer, at, &cx.global.endpoint) {
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
    };
    let client_id = cx.required("client_id", args.client_id, "--client-id", "ID")?;
    let client_id = nonempty("--client-id", &client_id)?;
    let hint = layers
        .get_opt("token_type_hint", args.token_type_hint, &parse::choice)?
        .map(|h| match h {
            cli::TokenTypeHint::AccessToken => TokenTypeHint::AccessToken,
            cli::TokenTypeHint::RefreshToken => TokenTypeHint::RefreshToken,
        });
    let auth = layers
        .get_opt("client_auth", args.client_auth, &parse::choice)?
        .map(|a| match a {
            cli::OauthClientAuth::Public => ClientAuth::None,
            cli::OauthClientAuth::Post => ClientAuth::Post,
            cli::OauthClientAuth::Basic => ClientAuth::Basic,
        });
    let introspection = layers
        .get_opt(
            "introspection_endpoint",
            args.introspection_endpoint,
            &parse::text,
        )?
        .map(|u| url("--introspection-endpoint", u))
        .transpose()?;
    let from_args = cx.args_visible && !args.tokens.is_empty();
    let none = UsageError::NoTargets {
        what: "tokens",
        arg: "TOKEN",
        or: "",
    };
    let targets = cx.targets(exposed(&args.tokens), &check_token, none)?;
    let keys = schema::OAUTH_SECRET;
    let flag_file = args.client_secret_file;
    // No discovery tells which method to use without --issuer: post, as the contract says.
    let auth = match (&revocation, auth) {
        (Revocation::At(_), None) => Some(ClientAuth::Post),
        (_, auth) => auth,
    };
    let (client_secret, source) = match auth {
        // A public client reads no secret, even one that is set.
        Some(ClientAuth::None) => (None, "none: a public client (--client-auth none)".into()),
        Some(_) => {
            let (secret, source) = secrets::resolve(cx, &keys, flag_file).map_err(|e| {
                match secrets::locate(cx.layers, cx.env, &keys, None) {
                    // The secret is not found: say how a public client would go.
                    None => UsageError::Credentials(format!(
                        "{e}; or pass --client-auth none for a public client"
                    )),
                    Some(_) => e,
                }
            })?;
            (Some(secret), source)
        }
        None => match secrets::locate(cx.layers, cx.env, &keys, flag_file.clone()) {
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
