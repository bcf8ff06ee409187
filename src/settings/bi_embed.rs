//! `revoke bi-embed`: flags and credentials into a [`BiEmbed`] client and one job per page id
//! (or one job for every page, with no page id).

use std::sync::Arc;

use super::layers::{id, opt};
use super::{Context, Input, Plan, UsageError, nonempty, optional, parse};
use crate::providers::bi_embed::{
    BiEmbed, BiEmbedConfig, DEFAULT_ENDPOINT, DOCUMENTED_RATE, Job, Scope,
};
use crate::providers::check_id;
use clap::{Args, ValueEnum};

pub fn resolve(args: BiEmbedArgs, cx: &Context) -> Result<Plan, UsageError> {
    let layers = cx.layers;
    let endpoint = cx.endpoint_or(DEFAULT_ENDPOINT)?;
    let project_id = cx.required(
        id!(BiEmbedArgs, project_id),
        args.project_id,
        "--project-id",
        "ID",
    )?;
    let project_id = nonempty("--project-id", &project_id)?;
    let user_corp_id = cx.required(
        id!(BiEmbedArgs, user_corp_id),
        args.user_corp_id,
        "--user-corp-id",
        "ID",
    )?;
    let user_corp_id = nonempty("--user-corp-id", &user_corp_id)?;
    let scope = match opt!(layers, args.scope, &parse::choice)? {
        Some(ScopeChoice::Panel) => Scope::Panel,
        Some(ScopeChoice::Page) => Scope::Page,
        None => {
            return Err(UsageError::Missing {
                flag: "--scope",
                value: "panel|page",
                key: "scope",
                command: "bi-embed".into(),
            });
        }
    };
    let region = optional("--region", opt!(layers, args.region, &parse::text)?)?;
    let profile = opt!(layers, args.profile, &parse::text)?;
    // "With no page id, one request without PageId."
    let page_ids = cx.positional(args.page_ids);
    let every_page = page_ids.is_empty() && cx.global.input.is_none();
    let targets = cx.targets_or_none(page_ids, &check_id)?;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeChoice {
    Panel,
    Page,
}

#[derive(Debug, Clone, Args)]
pub struct BiEmbedArgs {
    /// BI project ID (ProjectId). Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub project_id: Option<String>,

    /// Host account ID (UserCorpId). Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub user_corp_id: Option<String>,

    /// Token scope (Scope). Required, here or in the config file.
    #[arg(long, value_enum)]
    pub scope: Option<ScopeChoice>,

    /// Sent as X-TC-Region when given (ClearEmbedToken does not need a region).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,

    /// tccli profile to read credentials from (~/.tccli/NAME.credential) [env: TCCLI_PROFILE]
    /// [default: default]. An explicit --profile is used even when TENCENTCLOUD_* is set.
    #[arg(help_heading = "Credentials", long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Page IDs (PageId), one request each; none sends one request without PageId.
    #[arg(value_name = "PAGE_ID")]
    pub page_ids: Vec<String>,
}
