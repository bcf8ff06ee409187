//! `revoke ciam`: flags and the client secret into a [`Ciam`] client and one job per token.

use std::sync::Arc;

use super::GlobalArgs;
use super::layers::{id, opt, val};
use super::{Context, Input, Plan, UsageError, exposed, nonempty, parse, schema, secrets};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::net::http::Endpoint;
use crate::providers::check_token;
use crate::providers::ciam::{Ciam, CiamConfig, ClientAuth, TokenTypeHint};
use crate::secret::Secret;

/// Its secret (a compile-time error if its descriptor declared none).
const SECRET: crate::providers::SecretKeys = schema::secret(&crate::providers::ciam::DESCRIPTOR);

pub fn resolve(args: CiamArgs, cx: &Context) -> Result<Plan, UsageError> {
    let layers = cx.layers;
    // clap refuses --domain together with --endpoint (or a non-empty REVOKE_ENDPOINT); from
    // different layers (a context's domain, REVOKE_ENDPOINT), the higher one wins.
    let domain = opt!(layers, args.domain, &parse::text)?
        .filter(|_| layers.layer(id!(CiamArgs, domain)) >= layers.layer(id!(GlobalArgs, endpoint)));
    let endpoint = match (domain, &cx.global.endpoint) {
        (Some(domain), _) => domain_endpoint(&domain)?,
        (None, Some(endpoint)) => endpoint.clone(),
        (None, None) => {
            return Err(UsageError::NoEndpoint(
                "ciam needs --domain HOST (the user directory's domain) or --endpoint URL".into(),
            ));
        }
    };
    let client_id = cx.required(
        id!(CiamArgs, client_id),
        args.client_id,
        "--client-id",
        "ID",
    )?;
    let client_id = nonempty("--client-id", &client_id)?;
    let hint = opt!(layers, args.token_type_hint, &parse::choice)?.map(|h| match h {
        Hint::AccessToken => TokenTypeHint::AccessToken,
        Hint::RefreshToken => TokenTypeHint::RefreshToken,
    });
    let auth = match val!(layers, args.client_auth, &parse::choice)? {
        Auth::Post => ClientAuth::Post,
        Auth::Basic => ClientAuth::Basic,
    };
    let introspection = layers
        .get_opt(
            "introspection_endpoint",
            args.introspection_endpoint,
            &parse::text,
        )?
        .map(|u| Endpoint::parse(&u).map_err(UsageError::Endpoint))
        .transpose()?;
    let from_args = cx.args_visible && !args.tokens.is_empty();
    let tokens = cx.positional(exposed(&args.tokens));
    let none = UsageError::NoTargets {
        what: "tokens",
        arg: "TOKEN",
        or: "",
    };
    let targets = cx.targets(tokens, &check_token, none)?;
    let (client_secret, source) = secrets::resolve(cx, &SECRET, args.client_secret_file)?;
    let client = Ciam::new(CiamConfig {
        endpoint: endpoint.clone(),
        client_id,
        client_secret,
        auth,
        hint,
        introspection,
    });
    cx.plan(
        Arc::new(client),
        &endpoint,
        Input::tokens(targets, from_args),
        source,
    )
}

/// `--domain HOST` is `https://HOST`: a host name (and port), never a URL.
fn domain_endpoint(domain: &str) -> Result<Endpoint, UsageError> {
    let d = domain.trim();
    if d.is_empty()
        || d.contains("://")
        || d.contains(['/', '?', '#', '@'])
        || d.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(UsageError::NotAHost(d.to_string()));
    }
    Endpoint::parse(&format!("https://{d}")).map_err(UsageError::Endpoint)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Hint {
    // The RFC 7009 2.1 spellings, as the contract writes them (clap would say `access-token`).
    #[value(name = "access_token")]
    AccessToken,
    #[value(name = "refresh_token")]
    RefreshToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Auth {
    /// client_id and client_secret in the form body (client_secret_post)
    Post,
    /// HTTP Basic authentication (client_secret_basic, RFC 6749 2.3.1)
    Basic,
}

#[derive(Debug, Clone, Args)]
pub struct CiamArgs {
    /// The user directory's domain; means --endpoint https://HOST.
    #[arg(long, value_name = "HOST", conflicts_with = "endpoint")]
    pub domain: Option<String>,

    /// The application's client_id. Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Sent as token_type_hint (RFC 7009 2.1).
    #[arg(long, value_enum, value_name = "HINT")]
    pub token_type_hint: Option<Hint>,

    /// How the client authenticates.
    #[arg(long, value_enum, default_value = "post", value_name = "METHOD")]
    pub client_auth: Auth,

    /// --verify: the RFC 7662 introspection endpoint; default: the one named by
    /// {endpoint}/.well-known/openid-configuration.
    #[arg(long, value_name = "URL")]
    pub introspection_endpoint: Option<String>,

    /// Read the client secret from FILE (`-` = stdin) instead of CIAM_CLIENT_SECRET.
    /// The file must not be readable by other users.
    #[arg(help_heading = "Credentials", long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// Tokens to revoke. Prefer --input: arguments are visible to other users.
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<Secret>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ciam::PATH;

    #[test]
    fn domain_is_a_host_not_a_url() {
        let e = domain_endpoint("sample.portal.tencentciam.com").unwrap();
        assert_eq!(
            e.join(PATH).as_str(),
            "https://sample.portal.tencentciam.com/oauth2/revoke"
        );
        assert!(domain_endpoint("auth.example.com:8443").is_ok());
        for bad in [
            "",
            "https://sample.portal.tencentciam.com",
            "sample.portal.tencentciam.com/oauth2",
            "a b",
            "u@host",
            "host?x",
        ] {
            let err = domain_endpoint(bad).unwrap_err().to_string();
            assert!(err.contains("--domain"), "{bad:?}: {err}");
        }
    }
}
