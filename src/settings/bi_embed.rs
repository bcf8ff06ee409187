//! `revoke bi-embed`: flags and credentials into a [`BiEmbed`] client and one job per page id
//! (or one job for every page, with no page id).

use std::sync::Arc;

use super::{Context, Input, Plan, UsageError, nonempty, optional, parse};
use crate::cli::{self, BiEmbedArgs};
use crate::providers::bi_embed::{
    BiEmbed, BiEmbedConfig, DEFAULT_ENDPOINT, DOCUMENTED_RATE, Job, Scope,
};
use crate::providers::check_id;

pub fn resolve(args: BiEmbedArgs, cx: &Context) -> Result<Plan<BiEmbed>, UsageError> {
    let layers = cx.layers;
    let endpoint = cx.endpoint_or(DEFAULT_ENDPOINT)?;
    let project_id = cx.required("project_id", args.project_id, "--project-id", "ID")?;
    let project_id = nonempty("--project-id", &project_id)?;
    let user_corp_id = cx.required("user_corp_id", args.user_corp_id, "--user-corp-id", "ID")?;
    let user_corp_id = nonempty("--user-corp-id", &user_corp_id)?;
    let scope = match layers.get_opt("scope", args.scope, &parse::choice)? {
        Some(cli::Scope::Panel) => Scope::Panel,
        Some(cli::Scope::Page) => Scope::Page,
        None => {
            return Err(UsageError::Missing {
                flag: "--scope",
                value: "panel|page",
                key: "scope",
                command: "bi-embed".into(),
            });
        }
    };
    let region = optional(
        "--region",
        layers.get_opt("region", args.region, &parse::text)?,
    )?;
    let profile = layers.get_opt("profile", args.profile, &parse::text)?;
    // "With no page id, one request without PageId."
    let every_page = args.page_ids.is_empty() && cx.global.input.is_none();
    let targets = cx.targets_or_none(args.page_ids, &check_id)?;
    let credentials = crate::settings::creds::tencent(profile.as_deref(), cx.env)
        .map_err(UsageError::Credentials)?;
    let source = credentials.source.clone();
    let client = BiEmbed::new(BiEmbedConfig {
        endpoint: endpoint.clone(),
        credentials,
        project_id,
        user_corp_id,
        scope,
        region,
    });
    let input = if every_page {
        Input::one(Job { page_id: None })
    } else {
        Input::per_target(
            targets,
            check_id,
            |p| Job { page_id: Some(p) },
            |p| serde_json::json!({ "page_id": p }),
        )
    };
    Ok(cx
        .plan(Arc::new(client), &endpoint, input, source)?
        .default_rate(DOCUMENTED_RATE))
}
