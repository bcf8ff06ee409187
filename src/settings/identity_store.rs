//! `revoke identity-store`: flags and Huawei credentials into an [`IdentityStore`] client, and
//! one job per token id, or (`--all`) the tenant's tokens as the engine lists them.

use std::sync::Arc;

use super::layers::{id, opt, val};
use super::{Context, Input, Plan, UsageError, dns_label, nonempty, parse, segment};
use crate::net::http::Endpoint;
use crate::providers::check_segment;
use crate::providers::identity_store::{IdentityStore, IdentityStoreConfig, Job, default_endpoint};
use clap::Args;

pub fn resolve(args: IdentityStoreArgs, cx: &Context) -> Result<Plan, UsageError> {
    let layers = cx.layers;
    let region = opt!(layers, args.region, &parse::text)?;
    let region = match region.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(dns_label("--region", r, "a region name", "ap-southeast-1")?),
    };
    let endpoint = match (&cx.global.endpoint, region) {
        (Some(e), _) => e.clone(),
        (None, Some(r)) => Endpoint::parse(&default_endpoint(&r)).map_err(UsageError::Endpoint)?,
        (None, None) => {
            return Err(UsageError::NoEndpoint(
                "identity-store needs --region R (for https://identitystore.R.myhuaweicloud.com) or --endpoint URL".into(),
            ));
        }
    };
    let identity_store_id = cx.required(
        "identity_store_id",
        args.identity_store_id,
        "--identity-store-id",
        "ID",
    )?;
    let identity_store_id = segment("--identity-store-id", &identity_store_id)?;
    let tenant_id = cx.required(
        id!(IdentityStoreArgs, tenant_id),
        args.tenant_id,
        "--tenant-id",
        "ID",
    )?;
    let tenant_id = segment("--tenant-id", &tenant_id)?;
    let project_id = opt!(layers, args.project_id, &parse::text)?;
    let project_id = project_id
        .map(|p| nonempty("--project-id", &p))
        .transpose()?;
    let all = val!(layers, args.all, &parse::boolean)?;
    let missing_ok = val!(layers, args.missing_ok, &parse::boolean)?;
    let token_ids = cx.positional(args.token_ids);
    let targets = if all {
        // clap refuses --all with TOKEN_ID arguments, but `all` may come from a settings
        // file; --input is global, so it is checked here.
        if cx.global.input.is_some() || !token_ids.is_empty() {
            return Err(UsageError::AllWithInput);
        }
        None
    } else {
        let none = UsageError::NoTargets {
            what: "token ids",
            arg: "TOKEN_ID",
            or: ", or --all",
        };
        Some(cx.targets(token_ids, &check_segment, none)?)
    };
    let credentials = crate::settings::creds::huawei(cx.env).map_err(UsageError::Credentials)?;
    let source = credentials.source.clone();
    let project_id = project_id.or_else(|| credentials.project_id.clone());
    let client = Arc::new(IdentityStore::new(IdentityStoreConfig {
        endpoint: endpoint.clone(),
        credentials,
        identity_store_id,
        tenant_id,
        project_id,
    }));
    let input = match targets {
        Some(targets) => Input::per_target(
            targets,
            check_segment,
            |token_id| Job { token_id },
            |t| serde_json::json!({ "token_id": t }),
        ),
        // The engine lists the tokens first (in a dry run, it plans the list call).
        None => Input::listed(client.clone(), cx.global.dry_run),
    };
    Ok(cx
        .plan(client, &endpoint, input, source)?
        .missing_ok(missing_ok))
}

#[derive(Debug, Clone, Args)]
pub struct IdentityStoreArgs {
    /// Region; gives the default host https://identitystore.R.myhuaweicloud.com.
    #[arg(long, value_name = "R")]
    pub region: Option<String>,

    /// Identity source ID. Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub identity_store_id: Option<String>,

    /// Automatic-provisioning tenant ID. Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub tenant_id: Option<String>,

    /// Sent as X-Project-Id (else HUAWEICLOUD_SDK_PROJECT_ID or the credentials file's).
    #[arg(long, value_name = "ID")]
    pub project_id: Option<String>,

    /// List the tenant's bearer tokens first and delete every one. With --dry-run nothing is
    /// sent, not even the list request: it is shown as the plan (target token_id "*").
    #[arg(long, conflicts_with = "token_ids")]
    pub all: bool,

    /// A token that is already gone (404) counts as success.
    #[arg(long)]
    pub missing_ok: bool,

    /// Bearer token IDs to delete.
    #[arg(value_name = "TOKEN_ID")]
    pub token_ids: Vec<String>,
}

#[cfg(test)]
mod tests {
    use crate::settings::schema::{Kind, command_keys};

    /// `all = true` in a config file or a plan step is the switch `--all`.
    #[test]
    fn all_is_a_switch_in_settings_files() {
        let keys = command_keys("identity-store").unwrap();
        let all = keys.iter().find(|k| k.long == "all").unwrap();
        assert_eq!(all.kind, Kind::Bool);
    }
}
