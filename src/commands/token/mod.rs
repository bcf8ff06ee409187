//! The building blocks of `revoke token`, where the provider is not named: what a token is
//! ([`jwt`]), where it may be sent ([`route`]), and the leaks a secret scanner found
//! ([`findings`]). Each is pure or reads one file; the command that groups the routed tokens into
//! one plan and runs it is built on them.
//!
//! - [`jwt::classify`]`(&str) -> `[`jwt::Classified`]: a JWT's claims (signature not checked),
//!   or opaque with a reason.
//! - [`route::decide`]`(&Classified, &Destinations, Option<&DefaultRoute>, discover) ->
//!   `[`route::Decision`]: the configured context a token goes to, or `UnknownIssuer`. No
//!   credential ever goes to an issuer that no context names; `--discover` only to a public
//!   https issuer, and [`route::PublicOnly`] keeps its connections off private addresses.
//! - [`findings::read`]`(path, Option<Format>)`: gitleaks and trufflehog reports, one result per
//!   finding.

pub mod findings;
pub mod jwt;
pub mod route;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use self::findings::{FindingInfo, Format as FindingsFormat};
use self::jwt::Classified;
use self::route::{
    CiamContext, CloudbaseContext, Decision, DefaultRoute, Destinations, OauthContext, Route,
    Unknown,
};
use super::run::{self, Refused, RowRun, Step, usage};
use crate::cli::{FindingsChoice, GlobalArgs, TokenArgs};
use crate::providers::{check_token, token_identity};
use crate::report::exit::Ended;
use crate::report::record::{Record, RecordError, Status};
use crate::report::sink::{Notes, StepTag, TargetNotes};
use crate::report::text::escape;
use crate::secret::{Secret, fingerprint};
use crate::settings::config_file::{ConfigFile, Scoped};
use crate::settings::creds::{Env, ProcessEnv};
use crate::settings::input::Targets;
use crate::settings::schema::Kind;
use crate::settings::toml_file::{Entry, Table, Val};
use crate::settings::{Context, Given, Global, Layers, Lookup, RunCommand, UsageError};

/// The most tokens one run of `revoke token` takes (arguments, `--input` and findings).
pub const MAX_TOKENS: usize = 100_000;

/// The most bytes of tokens one run holds (they are all read, routed and grouped before the
/// first is sent): a line may hold 64 KiB, and 100,000 such lines would not fit.
pub const MAX_TOKEN_BYTES: usize = 64 << 20;

/// One token of the run, before it is routed.
struct Target {
    token: Secret,
    source: Option<String>,
    finding: Option<FindingInfo>,
}

/// A target that cannot be sent anywhere, known before routing: an `--input` line that is no
/// token, a finding without its secret.
struct Refusal {
    info: Option<FindingInfo>,
    target: Value,
    source: Option<String>,
    code: &'static str,
    message: String,
}

/// Where routed tokens go: one step per destination.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Destination {
    command: &'static str,
    context: Option<String>,
    /// A CloudBase environment with no context: its id and whether its gateway is overseas.
    env: Option<(String, bool)>,
    /// `--discover`: the issuer itself, and the client the token names.
    issuer: Option<String>,
    client_id: Option<String>,
}

impl Destination {
    fn name(&self) -> String {
        match (&self.context, &self.env, &self.issuer) {
            (Some(c), _, _) => format!("{}.{c}", self.command),
            (None, Some((env, _)), _) => format!("{} env {env}", self.command),
            (None, None, Some(iss)) => format!("{} at {}", self.command, route::shown(iss)),
            _ => self.command.to_string(),
        }
    }
}

/// The routed tokens by destination, each with its route and its expiry.
type Groups = BTreeMap<Destination, Vec<(Target, Route, Option<String>)>>;

/// `revoke token`: every token routed to its provider, the routes run as one plan.
pub async fn run(
    args: &TokenArgs,
    g: &GlobalArgs,
    given: &Given,
    file: Option<&ConfigFile>,
) -> Ended {
    let env = ProcessEnv;
    // The run's own settings: flags, environment, the config file's [defaults].
    let defaults = Scoped::new([file.map(|f| &f.defaults)]);
    let layers = Layers::new(given, &defaults);
    let mut global = match Global::resolve(g, &layers) {
        Ok(global) => global,
        Err(e) => return usage(e),
    };
    global.verify = !args.no_verify;
    // Each route's server is its context's: one --endpoint for all of them would send every
    // token to one place.
    if layers.layer(crate::settings::layers::id!(GlobalArgs, endpoint)) >= 2 {
        return usage(
            "revoke token sends each token where its context says: --endpoint (REVOKE_ENDPOINT) cannot be used; set endpoint in the context",
        );
    }
    let default = match args.default.as_deref().map(DefaultRoute::parse).transpose() {
        Ok(d) => d,
        Err(why) => return usage(format!("--default: {why}")),
    };
    let targets = match gather(args, &global) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let destinations = destinations(file);
    if let Some(d) = &default
        && file.is_none_or(|f| {
            !f.context_names(d.provider.command())
                .contains(&d.context.as_str())
        })
    {
        return usage(format!(
            "--default {}.{}: the config file has no [{}.{}] context",
            d.provider.command(),
            d.context,
            d.provider.command(),
            d.context
        ));
    }
    // Route every token; group the routed ones by destination.
    let mut groups: Groups = BTreeMap::new();
    let mut refused: Vec<Record> = Vec::new();
    let mut refused_notes: Vec<TargetNotes> = Vec::new();
    let mut findings_failed: Vec<Refusal> = Vec::new();
    for item in targets {
        let target = match item {
            Ok(t) => t,
            Err(bad) => {
                findings_failed.push(bad);
                continue;
            }
        };
        let classified = jwt::classify(target.token.expose());
        let expires_at = match &classified {
            Classified::Jwt(claims) => claims.expires_at.clone(),
            Classified::Opaque(_) => None,
        };
        match route::decide(&classified, &destinations, default.as_ref(), args.discover) {
            Decision::Route(r) => {
                let client_id = match &classified {
                    Classified::Jwt(claims) => claims.client_id.clone(),
                    Classified::Opaque(_) => None,
                };
                let discovered = r.matched_by == route::MatchedBy::Discover;
                if discovered && client_id.is_none() {
                    // A public client's revocation names its client: without one, nothing
                    // is sent.
                    let u = Unknown {
                        issuer: r.issuer.as_deref().map(route::shown),
                        reason: "--discover: the token names no client (no client_id or azp claim) to revoke it as".into(),
                        hint: "add an [oauth.NAME] context with this issuer and a client-id".into(),
                    };
                    refused_notes.push(TargetNotes {
                        route: None,
                        expires_at,
                        finding: target.finding.as_ref().map(finding_json),
                        source: target.source.clone(),
                    });
                    refused.push(unknown_record(refused.len() as u64, &target, &u));
                    continue;
                }
                let dest = Destination {
                    client_id: client_id.filter(|_| discovered),
                    command: r.provider.command(),
                    context: r.context.clone(),
                    env: match (&r.context, &r.cloudbase) {
                        (None, Some(e)) => Some((e.env_id.clone(), e.intl())),
                        _ => None,
                    },
                    issuer: match r.matched_by {
                        route::MatchedBy::Discover => r.issuer.clone(),
                        _ => None,
                    },
                };
                groups
                    .entry(dest)
                    .or_default()
                    .push((target, r, expires_at));
            }
            Decision::Unknown(u) => {
                refused_notes.push(TargetNotes {
                    route: None,
                    expires_at,
                    finding: target.finding.as_ref().map(finding_json),
                    source: target.source.clone(),
                });
                refused.push(unknown_record(refused.len() as u64, &target, &u));
            }
        }
    }
    for bad in findings_failed {
        refused_notes.push(TargetNotes {
            route: None,
            expires_at: None,
            finding: bad.info.as_ref().map(finding_json),
            source: bad.source.clone(),
        });
        let r = Record::bare(
            "token",
            refused.len() as u64,
            bad.target,
            Status::Failed,
            Some(RecordError {
                code: bad.code.into(),
                message: bad.message,
                retryable: false,
            }),
        );
        refused.push(r);
    }
    if global.dry_run && !global.quiet {
        say_routes(&groups, &refused);
    }
    // One step per destination, resolved as a plan's step is: its context, its keys.
    let mut steps = Vec::new();
    let mut problems = Vec::new();
    let base = usize::from(!refused.is_empty());
    for (i, (dest, tokens)) in groups.into_iter().enumerate() {
        match resolve_step(base + i, &dest, tokens, g, given, file, &env, &global) {
            Ok(step) => steps.push(step),
            Err(e) => problems.push(format!("{}: {e}", dest.name())),
        }
    }
    if !problems.is_empty() {
        for p in &problems {
            crate::report::logging::error(p);
        }
        return Ended::NothingSent;
    }
    let refused = (!refused.is_empty()).then(|| Refused {
        tag: StepTag {
            step: 0,
            name: Some("unrouted".into()),
            row: None,
            notes: Some(Arc::new(Notes {
                route: None,
                targets: refused_notes,
            })),
        },
        records: refused,
    });
    let runs = vec![RowRun { tag: None, steps }];
    run::execute_plan(&global, runs, false, refused).await
}

/// The tokens of the run: arguments, `--input` lines and findings, each with where it came
/// from; a finding without its secret is an error of its own (`Err`: the finding, its
/// source, why).
#[allow(clippy::type_complexity)]
fn gather(args: &TokenArgs, global: &Global) -> Result<Vec<Result<Target, Refusal>>, UsageError> {
    let given: Vec<String> = args.tokens.iter().map(|t| t.expose().to_string()).collect();
    if !given.is_empty() {
        crate::settings::warn_tokens_in_arguments();
    }
    let mut out = Vec::new();
    let mut bytes = 0usize;
    if !given.is_empty() || global.input.is_some() {
        let targets = Targets::prepare(given, global.input.as_deref(), &check_token)
            .map_err(UsageError::Target)?;
        for raw in targets.stream(Box::new(check_token)) {
            bytes += raw.text.len();
            if out.len() >= MAX_TOKENS || bytes > MAX_TOKEN_BYTES {
                return Err(UsageError::Target(format!(
                    "more than {MAX_TOKENS} tokens or {} MiB of them: split the list",
                    MAX_TOKEN_BYTES >> 20
                )));
            }
            match raw.problem {
                None => out.push(Ok(Target {
                    token: keep(raw.text),
                    source: raw.source,
                    finding: None,
                })),
                Some(why) => out.push(Err(Refusal {
                    info: None,
                    target: token_identity(&raw.text),
                    source: raw.source,
                    code: "InvalidTarget",
                    message: why,
                })),
            }
        }
    }
    if let Some(path) = &args.findings {
        let format = args.findings_format.map(|f| match f {
            FindingsChoice::Gitleaks => FindingsFormat::Gitleaks,
            FindingsChoice::Trufflehog => FindingsFormat::Trufflehog,
        });
        let found = findings::read(path, format).map_err(UsageError::Target)?;
        let name = path.display().to_string();
        for f in found {
            if out.len() >= MAX_TOKENS {
                return Err(UsageError::Target(format!(
                    "more than {MAX_TOKENS} tokens: split the report"
                )));
            }
            match f {
                Ok(f) => out.push(Ok(Target {
                    source: Some(format!("{name}:finding {}", f.index)),
                    token: keep(f.secret.expose().to_string()),
                    finding: Some(f.info),
                })),
                Err(e) => out.push(Err(Refusal {
                    target: json!({ "finding": e.index }),
                    info: Some(e.info.clone()),
                    source: Some(format!("{name}:finding {}", e.index)),
                    code: "NoSecret",
                    message: e.to_string(),
                })),
            }
        }
    }
    if out.is_empty() {
        return Err(UsageError::NoTargets {
            what: "tokens",
            arg: "TOKEN",
            or: ", or --findings FILE",
        });
    }
    Ok(out)
}

/// A token. Not added to the process-wide scrubber's credentials, whose automaton takes about
/// 14 KiB per 40-byte token to build (20,000 tokens made a dry run 2.2 s and 312 MiB instead of
/// 0.27 s and 38 MiB; README, "The scrubber with many secrets"). Like `--input`'s tokens, the
/// engine registers it in the scrubber's compact index of the run's targets, so any log line or
/// answer of the run that quotes it is masked, and no path prints it (records and messages name
/// it by its fingerprint).
fn keep(text: String) -> Secret {
    Secret::new(text)
}

/// The configured destinations: the config file's cloudbase, ciam and oauth contexts.
fn destinations(file: Option<&ConfigFile>) -> Destinations {
    let mut d = Destinations::default();
    let Some(file) = file else { return d };
    let value = |command: &str, name: &str, key: &str| {
        let table = file.context(command, Some(name)).ok().flatten()?;
        Scoped::new([Some(table)])
            .lookup(command, key)
            .map(|f| f.text)
    };
    for name in file.context_names("cloudbase") {
        if let Some(env_id) = value("cloudbase", name, "env-id") {
            d.cloudbase.push(CloudbaseContext {
                name: name.to_string(),
                env_id,
                region: None,
            });
        }
    }
    for name in file.context_names("ciam") {
        if let Some(domain) = value("ciam", name, "domain") {
            d.ciam.push(CiamContext {
                name: name.to_string(),
                domain,
            });
        }
    }
    for name in file.context_names("oauth") {
        if let Some(issuer) = value("oauth", name, "issuer") {
            d.oauth.push(OauthContext {
                name: name.to_string(),
                issuer,
            });
        }
    }
    d
}

/// A destination's step: its command with the context's keys (and, for a CloudBase
/// environment no context names, its `env-id` and `intl`), the tokens as its targets.
#[allow(clippy::too_many_arguments)]
fn resolve_step(
    index: usize,
    dest: &Destination,
    tokens: Vec<(Target, Route, Option<String>)>,
    g: &GlobalArgs,
    given: &Given,
    file: Option<&ConfigFile>,
    env: &dyn Env,
    plan_global: &Global,
) -> Result<Step, UsageError> {
    let command = RunCommand::blank(dest.command)
        .ok_or_else(|| UsageError::ConfigFile(format!("no command {}", dest.command)))?;
    let context = match &dest.context {
        Some(name) => file
            .map(|f| f.context(dest.command, Some(name)))
            .transpose()?
            .flatten(),
        None => None,
    };
    let own = own_keys(dest);
    let config = Scoped::new([context, file.map(|f| &f.defaults)]);
    let own_lookup = Scoped::new([Some(&own)]);
    let layers = Layers::for_step(given, dest.command, &own_lookup, &config);
    let mut global = Global::resolve(g, &layers)?;
    // What holds for the whole run is the run's; the tokens were read already.
    global.format = plan_global.format;
    global.dry_run = plan_global.dry_run;
    global.concurrency = plan_global.concurrency;
    global.quiet = plan_global.quiet;
    global.verify = plan_global.verify;
    global.no_progress = true;
    global.input = None;
    global.journal = None;
    // A route's endpoint is its context's, never --endpoint's or REVOKE_ENDPOINT's: those
    // name one server, and these tokens go to several.
    global.endpoint = match context
        .and_then(|c| Scoped::new([Some(c)]).lookup(dest.command, "endpoint"))
    {
        Some(found) => Some(
            crate::net::http::Endpoint::parse(found.text.trim()).map_err(UsageError::Endpoint)?,
        ),
        None => None,
    };
    let route = tokens.first().map(|(_, r, _)| r.clone());
    let notes = Notes {
        route: route.map(|r| serde_json::to_value(&r).unwrap_or(Value::Null)),
        targets: tokens
            .iter()
            .map(|(t, r, expires_at)| TargetNotes {
                route: serde_json::to_value(r).ok(),
                expires_at: expires_at.clone(),
                finding: t.finding.as_ref().map(finding_json),
                source: t.source.clone(),
            })
            .collect(),
    };
    let cx = Context {
        global,
        layers: &layers,
        env,
        args_visible: false,
        step_targets: tokens
            .iter()
            .map(|(t, _, _)| t.token.expose().to_string())
            .collect(),
        resolver: dest
            .issuer
            .is_some()
            .then(|| Arc::new(route::PublicOnly::system()) as Arc<dyn reqwest::dns::Resolve>),
    };
    let tag = StepTag {
        step: index,
        name: Some(dest.name()),
        row: None,
        notes: Some(Arc::new(notes)),
    };
    Step::resolve(command, &cx, Some(tag))
}

/// The keys a route itself gives its step.
fn own_keys(dest: &Destination) -> Table {
    let mut table = Table::empty(std::path::Path::new("revoke token"), "route");
    let mut set = |key: &str, kind: Kind, value: String| {
        table.entries.push(Entry {
            key: key.into(),
            kind,
            value: Val::One(value),
            line: 0,
        })
    };
    if let Some((env_id, intl)) = &dest.env {
        set("env-id", Kind::Text, env_id.clone());
        set("intl", Kind::Bool, intl.to_string());
    }
    if let Some(issuer) = &dest.issuer {
        set("issuer", Kind::Text, issuer.clone());
        set("client-auth", Kind::Text, "none".into());
    }
    if let Some(client_id) = &dest.client_id {
        set("client-id", Kind::Text, client_id.clone());
    }
    table
}

fn finding_json(info: &FindingInfo) -> Value {
    serde_json::to_value(info).unwrap_or(Value::Null)
}

/// The record of a token sent nowhere.
fn unknown_record(index: u64, target: &Target, u: &Unknown) -> Record {
    let mut r = Record::bare(
        "token",
        index,
        token_identity(target.token.expose()),
        Status::Failed,
        Some(RecordError {
            code: Unknown::CODE.into(),
            message: u.message(),
            retryable: false,
        }),
    );
    r.route = Some(json!({
        "provider": null,
        "context": null,
        "issuer": u.issuer,
        "matched_by": null,
    }));
    r
}

/// `--dry-run`: where each token goes and why, on stderr.
fn say_routes(groups: &Groups, refused: &[Record]) {
    for (dest, tokens) in groups {
        for (t, r, _) in tokens {
            let by = serde_json::to_value(r.matched_by)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let issuer = r
                .issuer
                .as_deref()
                .map(|i| format!(", issuer {}", route::shown(i)))
                .unwrap_or_default();
            crate::report::logging::say(&format!(
                "revoke: dry run: token {} ({}): {}{issuer}, matched by {by}",
                fingerprint(t.token.expose()),
                escape(t.source.as_deref().unwrap_or("-")),
                dest.name()
            ));
        }
    }
    for r in refused {
        let why = r.error.as_ref().map(|e| e.message.as_str()).unwrap_or("");
        crate::report::logging::say(&format!(
            "revoke: dry run: {}: sent nowhere: {}",
            escape(&r.target.to_string()),
            escape(why)
        ));
    }
}
