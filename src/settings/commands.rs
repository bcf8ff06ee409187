//! The run commands: the one list of them. Each is a clap variant of [`RunCommand`] (its
//! `--help` text), and one line of `with_commands!` (in `lib.rs`) that ties it to its settings file
//! (`settings/NAME.rs`: the clap arguments and `resolve`) and its client's descriptor
//! (`providers/NAME.rs`: `DESCRIPTOR`). Everything that names the commands (config file
//! contexts, plan steps, `revoke config`'s choices, completions, help's ENVIRONMENT, the
//! manual's FILES) comes from here; the compiler refuses a variant without its line.

use clap::{Args, FromArgMatches, Subcommand};

use super::{Context, Plan, UsageError, bi_embed, ciam, cloudbase, identity_store, oauth, smh};
use crate::providers::Descriptor;

/// The command list: each run command's clap variant and its module, the same name under
/// `settings/` (its arguments and `resolve`) and `providers/` (its client and `DESCRIPTOR`).
macro_rules! command_list {
    ($($variant:ident => $module:ident,)*) => {
        impl RunCommand {
            /// Every run command, in the order of `--help`.
            pub const ALL: &'static [&'static Descriptor] =
                &[$(&crate::providers::$module::DESCRIPTOR),*];

            /// What this command is.
            pub fn descriptor(&self) -> &'static Descriptor {
                match self {
                    $(RunCommand::$variant(_) => &crate::providers::$module::DESCRIPTOR,)*
                }
            }

            /// The command's settings resolved into a plan ready to run: every usage error
            /// is found here, and nothing is sent.
            pub fn resolve(self, cx: &Context) -> Result<Plan, UsageError> {
                match self {
                    $(RunCommand::$variant(args) => $module::resolve(args, cx),)*
                }
            }
        }
    };
}

with_commands!(command_list);

impl RunCommand {
    /// The command called `name`, if one is.
    pub fn named(name: &str) -> Option<&'static Descriptor> {
        RunCommand::ALL.iter().copied().find(|d| d.name == name)
    }

    /// The names of every run command.
    pub fn names() -> impl Iterator<Item = &'static str> {
        RunCommand::ALL.iter().map(|d| d.name)
    }

    /// The names of every run command, as a message lists them: `bi-embed, smh, ...`.
    pub fn listed() -> String {
        RunCommand::names().collect::<Vec<_>>().join(", ")
    }

    pub fn name(&self) -> &'static str {
        self.descriptor().name
    }

    /// Command `name` with no argument given: its options' defaults, for a plan's step, whose
    /// settings come from its keys (through [`super::Layers::for_step`]) and whose targets
    /// from [`Context::step_targets`]. Made once per command and process, then copied.
    pub fn blank(name: &str) -> Option<RunCommand> {
        static BLANK: std::sync::OnceLock<Vec<RunCommand>> = std::sync::OnceLock::new();
        let all = BLANK.get_or_init(|| {
            // With the global options, which the commands' own refer to (ciam's --domain
            // conflicts with --endpoint), but none of the environment: a step's global options
            // come from `revoke apply`'s own command line (an empty or bad REVOKE_* variable
            // is that command line's to judge, not this blank one's).
            let mut parser = super::GlobalArgs::augment_args(RunCommand::augment_subcommands(
                clap::Command::new("revoke"),
            ));
            let ids: Vec<clap::Id> = parser.get_arguments().map(|a| a.get_id().clone()).collect();
            for id in ids {
                parser = parser.mut_arg(id, |a| a.env(None));
            }
            RunCommand::names()
                .filter_map(|n| {
                    let matches = parser.clone().try_get_matches_from(["revoke", n]).ok()?;
                    RunCommand::from_arg_matches(&matches).ok()
                })
                .collect()
        });
        all.iter().find(|c| c.name() == name).cloned()
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum RunCommand {
    /// Clear Tencent Cloud BI embed tokens (ClearEmbedToken)
    ///
    /// One signed ClearEmbedToken request (API 3.0, TC3-HMAC-SHA256) per page id; with no page
    /// id and no --input, one request without PageId. Credentials: TENCENTCLOUD_SECRET_ID and
    /// TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_TOKEN with temporary keys), else tccli's
    /// profile file ~/.tccli/NAME.credential. The default endpoint is the international
    /// https://bi.intl.tencentcloudapi.com; mainland accounts pass --endpoint
    /// https://bi.tencentcloudapi.com. The default rate is the documented 20 requests/s.
    #[command(
        override_usage = "revoke bi-embed [OPTIONS] --project-id <ID> --user-corp-id <ID> --scope <SCOPE> [PAGE_ID]...",
        after_help = BI_EMBED_EXAMPLES
    )]
    BiEmbed(bi_embed::BiEmbedArgs),

    /// Delete all access tokens of users in a Smart Media Hosting library
    ///
    /// DELETE /api/v1/token/{LibraryId} with the user ids (and client and session ids) in the
    /// query; 204 means the tokens are gone. At most 10 user ids, 100 client ids and 100
    /// session ids go in one request: longer lists are split and every combination of the
    /// chunks is sent. The library secret comes from SMH_LIBRARY_SECRET or
    /// --library-secret-file. The default endpoint is https://api.tencentsmh.cn.
    #[command(
        override_usage = "revoke smh [OPTIONS] --library-id <ID> (<USER_ID>... | --input <FILE>)",
        after_help = SMH_EXAMPLES
    )]
    Smh(smh::SmhArgs),

    /// Revoke Tencent CloudBase access tokens
    ///
    /// POST /auth/v1/revoke with the token as Authorization: Bearer and in the JSON body; each
    /// token is its own credential. A 401 ACCESS_TOKEN_INVALID or ACCESS_TOKEN_EXPIRED means
    /// the token is already unusable: status already_invalid, a success. The host is
    /// https://ENV.api.tcloudbasegateway.com (with --intl
    /// https://ENV.api.intl.tcloudbasegateway.com), or --endpoint.
    #[command(
        override_usage = "revoke cloudbase [OPTIONS] (--env-id <ENV> | --endpoint <URL>) (<TOKEN>... | --input <FILE>)",
        after_help = CLOUDBASE_EXAMPLES
    )]
    Cloudbase(cloudbase::CloudbaseArgs),

    /// Revoke Tencent Cloud CIAM OAuth 2.0 tokens (RFC 7009)
    ///
    /// POST /oauth2/revoke, form-encoded, with the client credentials in the body (or as HTTP
    /// Basic with --client-auth basic). Works with any RFC 7009 server. As the RFC says, 200
    /// means revoked or unknown, so both are revoked; 401 invalid_client stops the run (exit
    /// 3); 503 is retried, honouring Retry-After. The client secret comes from
    /// CIAM_CLIENT_SECRET or --client-secret-file.
    #[command(
        override_usage = "revoke ciam [OPTIONS] (--domain <HOST> | --endpoint <URL>) --client-id <ID> (<TOKEN>... | --input <FILE>)",
        after_help = CIAM_EXAMPLES
    )]
    Ciam(ciam::CiamArgs),

    /// Revoke OAuth 2.0 tokens at any RFC 7009 server, its endpoints discovered from the issuer
    ///
    /// --issuer URL reads the server's metadata (RFC 8414
    /// {origin}/.well-known/oauth-authorization-server{path}, else
    /// {issuer}/.well-known/openid-configuration), once per run, before the first revocation;
    /// a document whose issuer is not identical to the one asked for is not used (RFC 8414
    /// 3.3). --revocation-endpoint URL skips discovery. The client authenticates as --client-auth
    /// says, else as the first of the server's revocation_endpoint_auth_methods_supported that
    /// is possible (none needs no secret; post and basic need one), else post. The client
    /// secret comes from OAUTH2_CLIENT_SECRET, --client-secret-file or the config file.
    #[command(
        override_usage = "revoke oauth [OPTIONS] (--issuer <URL> | --revocation-endpoint <URL>) --client-id <ID> (<TOKEN>... | --input <FILE>)",
        after_help = OAUTH_EXAMPLES
    )]
    Oauth(oauth::OauthArgs),

    /// Delete Huawei Cloud Identity Center bearer tokens
    ///
    /// DELETE .../bearer-token/{token_id} signed with SDK-HMAC-SHA256; 404 is not_found, a
    /// failure unless --missing-ok. --all lists the tenant's bearer tokens first and deletes
    /// each one. Credentials: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (and
    /// HUAWEICLOUD_SDK_SECURITY_TOKEN with temporary keys), else the Huawei SDK credentials
    /// file (HUAWEICLOUD_SDK_CREDENTIALS_FILE, else ~/.huaweicloud/credentials).
    #[command(
        override_usage = "revoke identity-store [OPTIONS] (--region <R> | --endpoint <URL>) --identity-store-id <ID> --tenant-id <ID> (<TOKEN_ID>... | --input <FILE> | --all)",
        after_help = IDENTITY_STORE_EXAMPLES
    )]
    IdentityStore(identity_store::IdentityStoreArgs),
}

const BI_EMBED_EXAMPLES: &str = "\
Examples:
  # Clear the embed tokens of two pages (keys from TENCENTCLOUD_* or tccli)
  revoke bi-embed --project-id 889 --user-corp-id 700000777778 \\
    --scope page 8991 8992
  # All panel tokens of a project on the mainland site, as NDJSON
  revoke bi-embed --project-id 889 --user-corp-id 700000777778 \\
    --scope panel --endpoint https://bi.tencentcloudapi.com -o json
  # The exact signed request, secrets masked, without sending it
  revoke bi-embed --project-id 889 --user-corp-id 700000777778 \\
    --scope page 8991 --dry-run";

const SMH_EXAMPLES: &str = "\
Examples:
  # Delete every token of two users (secret from SMH_LIBRARY_SECRET)
  revoke smh --library-id smh0a1b2c3d alice bob
  # Only the tokens of one client; secret and users from files
  revoke smh --library-id smh0a1b2c3d --library-secret-file ~/.smh-secret \\
    --client-id web --input users.txt";

const CLOUDBASE_EXAMPLES: &str = "\
Examples:
  # Revoke access tokens read from a file (safer than arguments)
  revoke cloudbase --env-id my-env-1a2b --input tokens.txt
  # An environment in an overseas region, one token from stdin
  printf '%s\\n' \"$TOKEN\" | \\
    revoke cloudbase --env-id my-env-1a2b --intl --input -";

const CIAM_EXAMPLES: &str = "\
Examples:
  # Revoke refresh tokens (and their access tokens) listed in a file;
  # the client secret comes from CIAM_CLIENT_SECRET
  revoke ciam --domain sample.portal.tencentciam.com --client-id app \\
    --token-type-hint refresh_token --input tokens.txt
  # Any RFC 7009 server, client credentials as HTTP Basic, tokens on stdin
  revoke ciam --endpoint https://auth.example.com --client-id app \\
    --client-auth basic --client-secret-file secret.txt --input -";

const OAUTH_EXAMPLES: &str = "\
Examples:
  # Endpoints and client authentication from the issuer's metadata;
  # the client secret comes from OAUTH2_CLIENT_SECRET
  revoke oauth --issuer https://auth.example.com --client-id app \\
    --input tokens.txt
  # A public client (no secret), proving each revocation by introspection
  revoke oauth --issuer https://auth.example.com --client-id spa \\
    --client-auth none --verify --input -
  # No discovery: the revocation endpoint itself
  revoke oauth --revocation-endpoint https://auth.example.com/oauth2/revoke \\
    --client-id app --client-auth basic --input tokens.txt";

const IDENTITY_STORE_EXAMPLES: &str = "\
Examples:
  # Delete two bearer tokens (keys from HUAWEICLOUD_SDK_AK/SK or
  # ~/.huaweicloud/credentials)
  revoke identity-store --region ap-southeast-1 --identity-store-id d-1 \\
    --tenant-id t-1 tok-1 tok-2
  # Delete every bearer token of the tenant; tokens already gone are fine
  revoke identity-store --region ap-southeast-1 --identity-store-id d-1 \\
    --tenant-id t-1 --all --missing-ok";
