//! `revoke cloudbase`: flags into a [`Cloudbase`] client and one job per token. The tokens are
//! their own credentials: nothing else is read.

use std::sync::Arc;

use super::layers::{opt, val};
use super::{Context, Input, Plan, UsageError, dns_label, exposed, nonempty, parse};
use clap::Args;

use crate::net::http::Endpoint;
use crate::providers::check_token;
use crate::providers::cloudbase::{Cloudbase, CloudbaseConfig, GATEWAY_DOMAIN, gateway};
use crate::secret::Secret;

pub fn resolve(args: CloudbaseArgs, cx: &Context) -> Result<Plan, UsageError> {
    let layers = cx.layers;
    let env_id = opt!(layers, args.env_id, &parse::text)?;
    let intl = val!(layers, args.intl, &parse::boolean)?;
    let endpoint = endpoint(cx, env_id.as_deref(), intl)?;
    let client_id = opt!(layers, args.client_id, &parse::text)?
        .map(|c| nonempty("--client-id", &c))
        .transpose()?;
    let device_id = opt!(layers, args.device_id, &parse::text)?
        .map(|d| nonempty("--device-id", &d))
        .transpose()?;
    if device_id.as_deref().is_some_and(|d| !d.is_ascii()) {
        return Err(UsageError::NotAscii {
            flag: "--device-id",
            header: "x-device-id",
        });
    }
    let from_args = cx.args_visible && !args.tokens.is_empty();
    let tokens = cx.positional(exposed(&args.tokens));
    let none = UsageError::NoTargets {
        what: "tokens",
        arg: "TOKEN",
        or: "",
    };
    let targets = cx.targets(tokens, &check_token, none)?;
    let client = Cloudbase::new(CloudbaseConfig {
        endpoint: endpoint.clone(),
        client_id,
        device_id,
    });
    // "Rate limits: package-QPS based, numbers not documented": no default rate.
    cx.plan(
        Arc::new(client),
        &endpoint,
        Input::tokens(targets, from_args),
        crate::providers::TOKENS_ARE_CREDENTIALS,
    )
}

/// `--endpoint` if given (it replaces both gateways), else the gateway of `--env-id`.
fn endpoint(cx: &Context, env_id: Option<&str>, intl: bool) -> Result<Endpoint, UsageError> {
    let env_id = env_id
        .map(|id| dns_label("--env-id", id, "a CloudBase environment id", "my-env-1a2b"))
        .transpose()?;
    if let Some(e) = &cx.global.endpoint {
        return Ok(e.clone());
    }
    let Some(env_id) = env_id else {
        return Err(UsageError::NoEndpoint(format!(
            "--env-id is required (it names the host https://ENV.{GATEWAY_DOMAIN}), unless --endpoint is given"
        )));
    };
    Endpoint::parse(&gateway(&env_id, intl)).map_err(UsageError::Endpoint)
}

#[derive(Debug, Clone, Args)]
pub struct CloudbaseArgs {
    /// CloudBase environment ID; gives the default host https://ENV.api.tcloudbasegateway.com.
    #[arg(long, value_name = "ENV")]
    pub env_id: Option<String>,

    /// Client ID sent as ?client_id= (CloudBase defaults it to the environment ID).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Sent as the x-device-id header.
    #[arg(long, value_name = "ID")]
    pub device_id: Option<String>,

    /// Use the overseas gateway https://ENV.api.intl.tcloudbasegateway.com.
    #[arg(long)]
    pub intl: bool,

    /// Access tokens to revoke. Prefer --input: arguments are visible to other users.
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<Secret>,
}
