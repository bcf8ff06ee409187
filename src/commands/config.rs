//! `revoke config [--context NAME] [COMMAND]`: the settings a run would use, each with where it
//! comes from (`flag`, `env NAME`, `FILE:LINE`, `default`), so that a user can see why a value
//! is what it is. Secrets are shown as `***` with their source; a `*-command` is not run.
//!
//! The values are those the run's settings layers hold (the same [`Layers`] a run reads), as
//! text; the global options are also checked as a run checks them, so a value a run would
//! refuse is refused here too.

use std::io::Write;

use serde_json::json;

use crate::cli::{ConfigArgs, GlobalArgs};
use crate::net::http::Endpoint;
use crate::providers::{Credentials, Required};
use crate::report::exit::Ended;
use crate::report::sink::Format;
use crate::report::text::escape;
use crate::secret::{MASK, Redactor};
use crate::settings::config_file::{self, ConfigFile, DEFAULT_CONTEXT, Scoped};
use crate::settings::creds::{Env, ProcessEnv};
use crate::settings::oauth::{self, SecretNeed};
use crate::settings::schema::{self, Key};
use crate::settings::{Given, Global, Layers, NoConfig, Origin, RunCommand, UsageError, secrets};

/// One row of the table.
struct Row {
    option: String,
    value: Option<String>,
    from: String,
    secret: bool,
}

/// Shows the settings; exit 0, or 2 when the settings a run would use cannot be (a bad value,
/// an unknown context, a required option unset, a secret that cannot be read), each problem
/// on its own stderr line after the table.
pub fn show(args: &ConfigArgs, g: &GlobalArgs, given: &Given, file: Option<&ConfigFile>) -> Ended {
    match rows(args, g, given, file) {
        Ok((head, rows, problems)) => {
            let printed = print(g.output, &head, &rows);
            if problems.is_empty() {
                return printed;
            }
            for p in &problems {
                crate::report::logging::error(p);
            }
            crate::report::logging::error(&format!(
                "{} problem{}: a run with these settings would stop before sending anything",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            ));
            Ended::NothingSent
        }
        Err(e) => {
            crate::report::logging::error(&e.to_string());
            Ended::NothingSent
        }
    }
}

/// The required options of `command` that no layer sets, as the run would say (its
/// descriptor's [`Required`]).
fn unset_required(command: &str, layers: &Layers) -> Vec<String> {
    let set = |key: &str| layers.show(&key.replace('-', "_")).is_some();
    let required = RunCommand::named(command).map_or(&[][..], |d| d.required);
    required
        .iter()
        .filter_map(|r| match *r {
            Required::Flag { flag, value } if !set(flag.trim_start_matches('-')) => {
                Some(UsageError::Missing {
                    flag,
                    value,
                    key: flag.trim_start_matches('-'),
                    command: command.to_string(),
                })
            }
            Required::OneOf { keys, message } if !keys.iter().any(|k| set(k)) => {
                Some(UsageError::NoEndpoint(message.to_string()))
            }
            _ => None,
        })
        .map(|e| e.to_string())
        .collect()
}

/// Everything a run of `command` with these settings would stop on before sending, as it
/// would say it, that can be known without running a `*-command`: required options unset, no
/// credentials, a secret file missing, empty or readable by others. `revoke config` and a
/// plan's checks list them all at once.
pub fn problems(
    command: &str,
    layers: &Layers,
    env: &dyn Env,
    endpoint: Option<&Endpoint>,
) -> Vec<String> {
    let mut all = unset_required(command, layers);
    all.extend(credentials(command, layers, env, endpoint).1);
    all
}

/// What the table is about: the file, the context.
struct Head {
    file: Option<String>,
    command: Option<String>,
    context: Option<String>,
    contexts: Vec<String>,
}

/// The table's head and rows, and the problems a run with these settings would stop on.
fn rows(
    args: &ConfigArgs,
    g: &GlobalArgs,
    given: &Given,
    file: Option<&ConfigFile>,
) -> Result<(Head, Vec<Row>, Vec<String>), UsageError> {
    let env = ProcessEnv;
    let command = args.command.as_deref();
    let context = match command {
        Some(c) => config_file::context_for(file, c, g.context.as_deref())?,
        None => None,
    };
    let context_name = context.map(|_| {
        g.context
            .clone()
            .unwrap_or_else(|| DEFAULT_CONTEXT.to_string())
    });
    let scoped = Scoped::new([context, file.map(|f| &f.defaults)]);
    let none = NoConfig;
    let layers = match command {
        Some(c) => Layers::for_step(given, c, &none, &scoped),
        None => Layers::new(given, &scoped),
    };
    // Refused here as a run would refuse it.
    let mut problems = Vec::new();
    let global = match Global::resolve(g, &layers) {
        Ok(global) => Some(global),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    let keys = match command {
        Some(c) => schema::command_keys(c).unwrap_or_default(),
        None => schema::global_keys(),
    };
    let endpoint = global.as_ref().and_then(|g| g.endpoint.clone());
    let mut rows: Vec<Row> = keys
        .iter()
        .filter_map(|k| row(&layers, k))
        .collect::<Vec<_>>();
    // `--actor` unset defaults to the login name, found when the settings are resolved.
    if let Some(actor) = rows
        .iter_mut()
        .find(|r| r.option == "actor" && r.value.is_none())
        && let Some(name) = global.and_then(|g| g.evidence.actor)
    {
        actor.value = Some(name);
        actor.from = "login name".into();
    }
    if let Some(c) = command {
        problems.extend(unset_required(c, &layers));
        let (secret_rows, secret_problems) = credentials(c, &layers, &env, endpoint.as_ref());
        rows.extend(secret_rows);
        problems.extend(secret_problems);
    }
    // As the run would: a configured journal set aside by --no-journal is none.
    if g.no_journal
        && let Some(r) = rows.iter_mut().find(|r| r.option == "journal")
    {
        r.value = None;
        r.from = "set aside by --no-journal".into();
    }
    let head = Head {
        file: file.map(|f| f.path.display().to_string()).or_else(|| {
            if g.no_config {
                return Some("none (--no-config)".to_string());
            }
            config_file::location(g.config.as_deref(), &env)
                .map(|(p, _)| format!("{} (not found: no config file)", p.display()))
        }),
        command: command.map(str::to_string),
        context: context_name.or_else(|| {
            g.context
                .clone()
                .filter(|_| command.is_none())
                .map(|c| format!("{c} (applies to a command: revoke config --context {c} COMMAND)"))
        }),
        contexts: file
            .map(|f| {
                f.contexts
                    .iter()
                    .map(|c| format!("{}.{}", c.command, c.name))
                    .collect()
            })
            .unwrap_or_default(),
    };
    Ok((head, rows, problems))
}

/// The row of an option the command line defines (file-only secret keys are shown by
/// [`credentials`]).
fn row(layers: &Layers, key: &Key) -> Option<Row> {
    let id = key.id.as_deref()?;
    if schema::secret_of(layers.command()).is_some_and(|s| s.file_id == id) {
        return None;
    }
    // A flag such as `--all` is false unless set (clap fills that in only for the command it
    // parsed).
    let shown = layers.show(id).or_else(|| {
        (key.kind == schema::Kind::Bool).then(|| ("false".to_string(), Origin::Default))
    });
    Some(Row {
        option: key.long.clone(),
        from: shown
            .as_ref()
            .map(|(_, o)| o.to_string())
            .unwrap_or_default(),
        value: shown.map(|(v, _)| v),
        secret: false,
    })
}

/// The command's credentials, by source (never by value), and what a run would refuse in them
/// (none found where the run needs one; a secret file missing, empty or readable by others). A
/// `*-command` is not run. `endpoint`: the run's `--endpoint`.
fn credentials(
    command: &str,
    layers: &Layers,
    env: &dyn Env,
    endpoint: Option<&Endpoint>,
) -> (Vec<Row>, Vec<String>) {
    let mut problems = Vec::new();
    let kind = RunCommand::named(command).map(|d| d.credentials);
    // Whether the run needs its secret: oauth's (the one `SecretOrPublic`) depends on
    // --client-auth and on discovery, decided by the run's own rule; the other commands'
    // secret is always needed.
    let oauth_rule = matches!(kind, Some(Credentials::SecretOrPublic(_)));
    let need = if oauth_rule {
        oauth::secret_need_of(layers, endpoint).unwrap_or_else(|e| {
            problems.push(e.to_string());
            None
        })
    } else {
        Some(SecretNeed::Required)
    };
    if need == Some(SecretNeed::Public) {
        let row = Row {
            option: schema::secret_of(command)
                .map_or("credentials", |k| k.what)
                .into(),
            value: None,
            from: oauth::PUBLIC.into(),
            secret: true,
        };
        return (vec![row], problems);
    }
    let rows = credential_rows(command, layers, env);
    if let Some(keys) = schema::secret_of(command) {
        match secrets::locate(layers, env, &keys, None) {
            None => match need {
                Some(SecretNeed::Required) if oauth_rule => {
                    problems.push(oauth::missing_secret().to_string());
                }
                Some(SecretNeed::Required) => problems.push(secrets::not_found(&keys).to_string()),
                // Read if found (discovery chooses the method), or the run stops on where it
                // revokes first (that problem is reported).
                _ => {}
            },
            Some(secrets::Source::File(f)) if f.text != "-" => {
                if let Err(why) = crate::settings::creds::read_secret_file(
                    std::path::Path::new(&f.text),
                    env,
                    keys.file_key,
                ) {
                    let e = UsageError::Config {
                        file: f.file.clone(),
                        line: f.line,
                        key: keys.file_key.to_string(),
                        why,
                    };
                    problems.push(e.to_string());
                }
            }
            Some(secrets::Source::Env(name))
                if env.var(name).is_none_or(|v| v.trim().is_empty()) =>
            {
                problems.push(format!("{name} is empty"));
            }
            _ => {}
        }
    }
    // Tencent's and Huawei's credentials: none found is what the run says too.
    if matches!(kind, Some(Credentials::Tencent | Credentials::Huawei)) {
        problems.extend(
            rows.iter()
                .filter(|r| r.value.is_none())
                .map(|r| r.from.clone()),
        );
    }
    (rows, problems)
}

fn credential_rows(command: &str, layers: &Layers, env: &dyn Env) -> Vec<Row> {
    let secret = |option: &str, found: Result<String, String>| match found {
        Ok(from) => Row {
            option: option.into(),
            value: Some(MASK.into()),
            from,
            secret: true,
        },
        Err(why) => Row {
            option: option.into(),
            value: None,
            from: why,
            secret: true,
        },
    };
    if let Some(keys) = schema::secret_of(command) {
        let flag_file = None;
        let found = secrets::locate(layers, env, &keys, flag_file)
            .map(|s| s.describe(&keys))
            .ok_or_else(|| {
                format!(
                    "none: set {}, or {} or {} in the context",
                    keys.env, keys.file_key, keys.command_key
                )
            });
        return vec![secret(keys.what, found)];
    }
    match RunCommand::named(command).map(|d| d.credentials) {
        Some(Credentials::Tencent) => {
            let profile = layers
                .show(crate::settings::layers::id!(
                    crate::settings::bi_embed::BiEmbedArgs,
                    profile
                ))
                .map(|(p, _)| p);
            let found = crate::settings::creds::tencent(profile.as_deref(), env).map(|c| c.source);
            vec![secret("credentials", found)]
        }
        Some(Credentials::Huawei) => {
            let found = crate::settings::creds::huawei(env).map(|c| c.source);
            vec![secret("credentials", found)]
        }
        _ => vec![Row {
            option: "credentials".into(),
            value: None,
            from: crate::providers::TOKENS_ARE_CREDENTIALS.into(),
            secret: true,
        }],
    }
}

fn print(format: Format, head: &Head, rows: &[Row]) -> Ended {
    let text = match format {
        Format::Json => json_text(head, rows),
        Format::Text => table_text(head, rows),
    };
    // A secret never leaves this process, whatever a file or a server put where.
    let text = Redactor::global().scrub(&text).into_owned();
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ended::Printed,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ended::Printed,
        Err(e) => {
            crate::report::logging::error(&format!("cannot write the settings: {e}"));
            Ended::NothingSent
        }
    }
}

fn json_text(head: &Head, rows: &[Row]) -> String {
    let settings: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "option": r.option,
                "value": r.value,
                "from": if r.value.is_some() || r.secret { Some(&r.from) } else { None },
                "secret": r.secret,
            })
        })
        .collect();
    let v = json!({
        "config_file": head.file,
        "command": head.command,
        "context": head.context,
        "contexts": head.contexts,
        "settings": settings,
    });
    let mut s = serde_json::to_string(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// ```text
/// config file  /home/u/.config/revoke/config.toml
/// context      prod ([smh.prod])
///
///   OPTION          VALUE        FROM
///   library-id      smh0a1b2c3d  /home/u/.config/revoke/config.toml:7
/// ```
fn table_text(head: &Head, rows: &[Row]) -> String {
    // Paths under the home directory read shorter as `~/...`.
    let home = ProcessEnv
        .var("HOME")
        .filter(|h| h.len() > 1)
        .map(|h| format!("{}/", h.trim_end_matches('/')));
    let short = |s: &str| -> String {
        let s = escape(s).into_owned();
        match &home {
            Some(h) => s.replace(h.as_str(), "~/"),
            None => s,
        }
    };
    let mut out = String::new();
    let none = "(none)".to_string();
    out.push_str(&format!(
        "config file  {}\n",
        short(head.file.as_ref().unwrap_or(&none))
    ));
    if let Some(c) = &head.command {
        let ctx = match &head.context {
            Some(name) => format!("{name} ([{c}.{name}])"),
            None => format!("none (no [{c}.{DEFAULT_CONTEXT}] and no --context)"),
        };
        out.push_str(&format!("context      {}\n", short(&ctx)));
    } else if let Some(ctx) = &head.context {
        out.push_str(&format!("context      {}\n", short(ctx)));
    }
    if !head.contexts.is_empty() {
        out.push_str(&format!(
            "contexts     {}\n",
            short(&head.contexts.join(", "))
        ));
    }
    out.push('\n');
    let shown: Vec<[String; 3]> = rows
        .iter()
        .map(|r| {
            let value = r.value.clone().unwrap_or_else(|| "-".into());
            let from = if r.value.is_none() && !r.secret && r.from.is_empty() {
                "not set".into()
            } else {
                r.from.clone()
            };
            [short(&r.option), short(&value), short(&from)]
        })
        .collect();
    let header = ["OPTION".to_string(), "VALUE".into(), "FROM".into()];
    let w0 = shown
        .iter()
        .chain([&header])
        .map(|r| width(&r[0]))
        .max()
        .unwrap_or(0);
    let w1 = shown
        .iter()
        .chain([&header])
        .map(|r| width(&r[1]))
        .max()
        .unwrap_or(0);
    for r in [&header].into_iter().chain(shown.iter()) {
        let line = format!(
            "  {}{}  {}{}  {}",
            r[0],
            " ".repeat(w0 - width(&r[0])),
            r[1],
            " ".repeat(w1 - width(&r[1])),
            r[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}
