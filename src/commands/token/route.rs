//! Where a token whose provider is not named may be sent: a pure decision.
//!
//! [`decide`] takes what the token is ([`Classified`]), the configured destinations (plain
//! [`Destinations`], filled from the config file's `[cloudbase.*]`, `[ciam.*]` and `[oauth.*]`
//! contexts), `--default COMMAND.CONTEXT` ([`DefaultRoute::parse`]) and `--discover`, and returns
//! a [`Route`] or an [`Unknown`] (code `UnknownIssuer`). Routes, first match wins (CLI.md,
//! "`revoke token`"):
//!
//! | token | route | `matched_by` |
//! |---|---|---|
//! | JWT, `iss` host `ENV.REGION.tcb-api.tencentcloudapi.com` (`http://` or `https://`) | `cloudbase`, the `[cloudbase.*]` context whose `env-id` is ENV, else none (the documented gateway of ENV) | `cloudbase_issuer` |
//! | JWT, `iss` is `https://DOMAIN` of a `[ciam.*]` context (a trailing `/` or not, DOMAIN in any case) | that `ciam` context | `ciam_domain` |
//! | JWT, `iss` equal to an `[oauth.*]` context's `issuer` (one trailing `/` aside) | that `oauth` context | `oauth_issuer` |
//! | JWT, any other `iss`, `--discover`, a public https issuer | `oauth` at the issuer itself, a public client | `discover` |
//! | not a JWT, or a JWT without `iss`, `--default C.N` | context N of command C | `default` |
//! | anything else | `UnknownIssuer`, sent nowhere | |
//!
//! The claims prove nothing (the signature is not checked); they only choose among the
//! destinations the user configured. A CloudBase route never contacts the issuer's host: the
//! request goes to the context's endpoint or the documented gateway of the environment. The
//! equalities are deliberately narrow (no scheme change, no path, no port) so that a token cannot
//! steer itself to a context that does not name its issuer.
//!
//! `--discover` reaches a server that no context names, so it is held to more: https, no
//! userinfo, no query or fragment, and a host that is neither localhost, an intranet name nor a
//! loopback, private, link-local, unspecified, CGNAT or unique-local IP literal
//! ([`is_public_ip`]). A name can still resolve to such an address: the discovery client must
//! use [`PublicOnly`] as its resolver (reqwest skips the resolver for IP literals, which the
//! route has checked), no proxy (a proxy resolves names itself) and no redirects.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use serde::Serialize;

use super::jwt::Classified;
use crate::report::scrub::cut;
use crate::report::text::escape;

/// The CloudBase auth issuer's domain: `ENV.REGION.tcb-api.tencentcloudapi.com` (the auth SDK's
/// `apiOrigin`, and the `iss` of the documented token in seed 002).
pub const CLOUDBASE_ISSUER_DOMAIN: &str = "tcb-api.tencentcloudapi.com";

/// The most bytes of an issuer shown in a message (after escaping).
pub const MAX_SHOWN_ISSUER: usize = 200;

/// The configured destinations, as the config file's contexts give them.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    pub cloudbase: Vec<CloudbaseContext>,
    pub ciam: Vec<CiamContext>,
    pub oauth: Vec<OauthContext>,
}

/// A `[cloudbase.NAME]` context with an `env-id`.
#[derive(Debug, Clone)]
pub struct CloudbaseContext {
    pub name: String,
    pub env_id: String,
    pub region: Option<String>,
}

/// A `[ciam.NAME]` context with a `domain` (a host name, as `--domain` takes it).
#[derive(Debug, Clone)]
pub struct CiamContext {
    pub name: String,
    pub domain: String,
}

/// An `[oauth.NAME]` context with an `issuer`.
#[derive(Debug, Clone)]
pub struct OauthContext {
    pub name: String,
    pub issuer: String,
}

/// The commands a routed token can go to (the ones whose targets are tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Cloudbase,
    Ciam,
    Oauth,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Cloudbase, Provider::Ciam, Provider::Oauth];

    /// The command's name, as the record's `provider` says it.
    pub fn command(self) -> &'static str {
        match self {
            Provider::Cloudbase => "cloudbase",
            Provider::Ciam => "ciam",
            Provider::Oauth => "oauth",
        }
    }
}

/// How a route was decided: the record's `route.matched_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    CloudbaseIssuer,
    CiamDomain,
    OauthIssuer,
    Default,
    Discover,
}

/// The environment a CloudBase issuer names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudbaseEnv {
    pub env_id: String,
    pub region: String,
}

impl CloudbaseEnv {
    /// Whether the documented gateway of this environment is the overseas one: the node SDK's
    /// China list (`@cloudbase/node-sdk` `tcbopenapiendpoint.ts`, reference/providers.md (b));
    /// "any other region -> `.api.intl.`".
    pub fn intl(&self) -> bool {
        const CHINA: &[&str] = &[
            "ap-shanghai",
            "ap-guangzhou",
            "ap-shenzhen-fsi",
            "ap-shanghai-fsi",
            "ap-nanjing",
            "ap-beijing",
            "ap-chengdu",
            "ap-chongqing",
            "ap-hongkong",
        ];
        !CHINA.contains(&self.region.as_str())
    }
}

/// Where a token goes. Serialises as the record's `route`: `provider`, `context`, `issuer`,
/// `matched_by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub provider: Provider,
    /// The context of `provider` (`None`: CloudBase's documented gateway, or discovery).
    pub context: Option<String>,
    /// The token's `iss`, as it has it (at most `jwt::MAX_ISSUER` bytes; escape it to show it).
    pub issuer: Option<String>,
    pub matched_by: MatchedBy,
    /// For `cloudbase_issuer`: the environment and region the issuer names.
    #[serde(skip)]
    pub cloudbase: Option<CloudbaseEnv>,
}

/// A token sent nowhere: `failed`, code [`Unknown::CODE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// The token's issuer, escaped and cut to [`MAX_SHOWN_ISSUER`]; `None` when it has none.
    pub issuer: Option<String>,
    pub reason: String,
    /// What to add to the config so that such a token has a route.
    pub hint: String,
}

impl Unknown {
    pub const CODE: &'static str = "UnknownIssuer";

    /// One line for the record's error message: the reason, the issuer, the hint.
    pub fn message(&self) -> String {
        match &self.issuer {
            Some(iss) => format!("{} (issuer {iss}); {}", self.reason, self.hint),
            None => format!("{}; {}", self.reason, self.hint),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Route(Route),
    Unknown(Unknown),
}

/// `--default COMMAND.CONTEXT`: where tokens that are not JWTs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultRoute {
    pub provider: Provider,
    pub context: String,
}

/// The longest context name `--default` takes.
const MAX_CONTEXT_NAME: usize = 64;

impl DefaultRoute {
    /// Parses `ciam.prod`: a command whose targets are tokens, a dot, a context name (the
    /// characters of a bare TOML key, as the config file's tables are written). Whether the
    /// config file has that context is for the caller to check.
    pub fn parse(text: &str) -> Result<DefaultRoute, String> {
        let commands = Provider::ALL.map(Provider::command).join(", ");
        let Some((command, context)) = text.split_once('.') else {
            return Err(format!(
                "expected COMMAND.CONTEXT (for example ciam.prod), COMMAND one of {commands}"
            ));
        };
        let provider = Provider::ALL
            .into_iter()
            .find(|p| p.command() == command)
            .ok_or_else(|| {
                format!(
                    "{}: not a command whose targets are tokens ({commands})",
                    cut(escape(command).into_owned(), MAX_CONTEXT_NAME)
                )
            })?;
        if context.is_empty() {
            return Err("the context name after the dot is empty".into());
        }
        if context.len() > MAX_CONTEXT_NAME
            || !context
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "a context name is letters, digits, '-' and '_', at most {MAX_CONTEXT_NAME} of them"
            ));
        }
        Ok(DefaultRoute {
            provider,
            context: context.to_string(),
        })
    }

    fn route(&self, issuer: Option<&str>) -> Route {
        Route {
            provider: self.provider,
            context: Some(self.context.clone()),
            issuer: issuer.map(str::to_string),
            matched_by: MatchedBy::Default,
            cloudbase: None,
        }
    }
}

impl std::str::FromStr for DefaultRoute {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DefaultRoute::parse(s)
    }
}

/// The route of one token. Pure: nothing is resolved or sent.
pub fn decide(
    token: &Classified,
    to: &Destinations,
    default: Option<&DefaultRoute>,
    discover: bool,
) -> Decision {
    let no_issuer = |reason: String| {
        match default {
        Some(d) => Decision::Route(d.route(None)),
        None => Decision::Unknown(Unknown {
            issuer: None,
            reason,
            hint: "give --default COMMAND.CONTEXT (for example --default ciam.prod) to send such tokens to one context".into(),
        }),
    }
    };
    let claims = match token {
        Classified::Opaque(o) => return no_issuer(format!("not a JWT ({})", o.reason)),
        Classified::Jwt(claims) => claims,
    };
    let Some(iss) = claims.iss.as_deref() else {
        return no_issuer("the JWT has no iss claim".into());
    };
    let route = |provider, context: Option<&str>, matched_by, cloudbase| {
        Decision::Route(Route {
            provider,
            context: context.map(str::to_string),
            issuer: Some(iss.to_string()),
            matched_by,
            cloudbase,
        })
    };
    if let Some(env) = cloudbase_issuer(iss) {
        let context = to
            .cloudbase
            .iter()
            .find(|c| c.env_id.eq_ignore_ascii_case(&env.env_id));
        return route(
            Provider::Cloudbase,
            context.map(|c| c.name.as_str()),
            MatchedBy::CloudbaseIssuer,
            Some(env),
        );
    }
    if let Some(c) = to.ciam.iter().find(|c| ciam_issuer(&c.domain, iss)) {
        return route(Provider::Ciam, Some(&c.name), MatchedBy::CiamDomain, None);
    }
    if let Some(c) = to.oauth.iter().find(|c| same_issuer(&c.issuer, iss)) {
        return route(Provider::Oauth, Some(&c.name), MatchedBy::OauthIssuer, None);
    }
    let shown = Some(shown(iss));
    let hint = hint(iss);
    if discover {
        return match discoverable(iss) {
            Ok(()) => route(Provider::Oauth, None, MatchedBy::Discover, None),
            Err(why) => Decision::Unknown(Unknown {
                issuer: shown,
                reason: format!(
                    "no context names this issuer, and --discover does not reach it: {why}"
                ),
                hint,
            }),
        };
    }
    Decision::Unknown(Unknown {
        issuer: shown,
        reason: "no context names this issuer".into(),
        hint,
    })
}

/// An issuer as it may reach a terminal: control characters escaped, cut.
pub fn shown(iss: &str) -> String {
    cut(escape(iss).into_owned(), MAX_SHOWN_ISSUER)
}

/// The context to add, in the config file's words. A CIAM-looking host gets a `[ciam.NAME]`.
fn hint(iss: &str) -> String {
    let quoted = |s: &str| serde_json::to_string(&shown(s)).unwrap_or_default();
    let url = reqwest::Url::parse(iss).ok();
    let host = url.as_ref().and_then(|u| u.host_str().map(str::to_string));
    let bare = url.as_ref().is_some_and(|u| {
        u.scheme() == "https" && matches!(u.path(), "" | "/") && u.port().is_none()
    });
    match host {
        Some(h)
            if bare
                && (h.ends_with(".tencentciam.com") || h.ends_with(".ciam.tencentcloud.com")) =>
        {
            format!("add a [ciam.NAME] context with domain = {}", quoted(&h))
        }
        _ => format!("add an [oauth.NAME] context with issuer = {}", quoted(iss)),
    }
}

/// The environment and region of a CloudBase issuer: `http(s)://ENV.REGION.tcb-api.tencentcloudapi.com`
/// with nothing else (no userinfo, port, path, query or fragment).
pub fn cloudbase_issuer(iss: &str) -> Option<CloudbaseEnv> {
    let url = reqwest::Url::parse(iss).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
        || url.port().is_some()
        || !matches!(url.path(), "" | "/")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return None;
    }
    let Some(Host::Name(host)) = host_of(&url) else {
        return None;
    };
    let rest = host
        .strip_suffix(CLOUDBASE_ISSUER_DOMAIN)?
        .strip_suffix('.')?;
    let (env, region) = rest.split_once('.')?;
    (dns_label(env) && dns_label(region)).then(|| CloudbaseEnv {
        env_id: env.to_string(),
        region: region.to_string(),
    })
}

fn dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// `iss` names CIAM domain `domain`: it is `https://DOMAIN` or `https://DOMAIN/`, the domain
/// compared without regard to case (DNS names are case-insensitive; the config holds what was
/// typed). The `--domain` contract is "`--domain HOST` means `https://HOST`", so no other scheme,
/// port or path matches.
fn ciam_issuer(domain: &str, iss: &str) -> bool {
    let Some(host) = iss.strip_prefix("https://") else {
        return false;
    };
    let host = host.strip_suffix('/').unwrap_or(host);
    !domain.is_empty() && host.eq_ignore_ascii_case(domain)
}

/// An issuer is compared exactly (RFC 8414 section 3.3: "identical"), except that one trailing
/// `/` on either side is ignored: `https://idp.example` and `https://idp.example/` name the same
/// server, and configs and tokens disagree on it often.
fn same_issuer(configured: &str, iss: &str) -> bool {
    let trim = |s: &str| s.strip_suffix('/').unwrap_or(s).to_string();
    !configured.is_empty() && trim(configured) == trim(iss)
}

/// Whether `--discover` may reach `iss`, or why not.
pub fn discoverable(iss: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(iss).map_err(|_| "the issuer is not a URL".to_string())?;
    if url.scheme() != "https" {
        return Err("the issuer is not https".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the issuer holds a user name or password".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        // RFC 8414 section 2: "a URL that uses the "https" scheme and has no query or fragment
        // components".
        return Err("the issuer has a query or fragment".into());
    }
    match host_of(&url) {
        Some(Host::Name(host)) => public_name(host),
        Some(Host::Ip(ip)) => public_literal(ip),
        None => Err("the issuer has no host".into()),
    }
}

/// A URL's host: a name, or an IP literal (which reqwest connects to without resolving).
#[derive(Debug, PartialEq, Eq)]
pub enum Host<'a> {
    Name(&'a str),
    Ip(IpAddr),
}

/// The host of a parsed URL. The URL parser has already turned every spelling of an IPv4
/// address in an http(s) URL (`127.1`, `2130706433`, `0x7f.0.0.1`) into the dotted form.
pub fn host_of(url: &reqwest::Url) -> Option<Host<'_>> {
    let h = url.host_str()?;
    if let Some(v6) = h.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().ok().map(|ip| Host::Ip(ip.into()));
    }
    match h.parse::<Ipv4Addr>() {
        Ok(ip) => Some(Host::Ip(ip.into())),
        Err(_) => Some(Host::Name(h)),
    }
}

fn public_literal(ip: IpAddr) -> Result<(), String> {
    if is_public_ip(ip) {
        Ok(())
    } else {
        Err(format!(
            "{ip} is a loopback, private, link-local or otherwise non-public address"
        ))
    }
}

/// A host name that cannot be public whatever it resolves to: localhost (RFC 6761), the
/// special-use local names (`.local` RFC 6762, `.home.arpa` RFC 8375, `.internal`), and a
/// single label (an intranet name, completed by the resolver's search list).
fn public_name(host: &str) -> Result<(), String> {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let local = ["localhost", "local", "home.arpa", "internal"];
    if local
        .iter()
        .any(|l| host == *l || host.ends_with(&format!(".{l}")))
    {
        return Err(format!("{} is a local name", shown(&host)));
    }
    if !host.contains('.') {
        return Err(format!(
            "{} is a single-label (intranet) name",
            shown(&host)
        ));
    }
    Ok(())
}

/// Whether an address is on the public internet: not unspecified, loopback, private
/// (RFC 1918), link-local, CGNAT (100.64.0.0/10, RFC 6598), the IETF and documentation and
/// benchmarking blocks, multicast, reserved or broadcast; for IPv6 only global unicast
/// (2000::/3) outside its documentation, Teredo/ORCHID/benchmarking (2001::/23) blocks, with the
/// IPv4 address inside a mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) or 6to4 (2002::/16)
/// address judged as IPv4. Unique-local (fc00::/7) and link-local (fe80::/10) are not 2000::/3.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => public_v4(a),
        IpAddr::V6(a) => public_v6(a),
    }
}

fn public_v4(a: Ipv4Addr) -> bool {
    let o = a.octets();
    !(o[0] == 0
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || (o[0] == 100 && (o[1] & 0xC0) == 64)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || a.is_documentation()
        || (o[0] == 198 && (o[1] & 0xFE) == 18)
        || a.is_multicast()
        || o[0] >= 240)
}

fn public_v6(a: Ipv6Addr) -> bool {
    if let Some(v4) = a.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = a.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return public_v4(v4(s[6], s[7]));
    }
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    if s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8) {
        return false;
    }
    if s[0] == 0x2002 {
        return public_v4(v4(s[1], s[2]));
    }
    // 3fff::/20, documentation (RFC 9637).
    !(s[0] == 0x3fff && s[1] < 0x1000)
}

/// The addresses of `host` that may be reached, or why none may.
pub fn public_addrs(host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, String> {
    if addrs.is_empty() {
        return Err(format!("{} has no address", shown(host)));
    }
    let (public, refused): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|a| is_public_ip(a.ip()));
    if public.is_empty() {
        let listed: Vec<String> = refused.iter().take(4).map(|a| a.ip().to_string()).collect();
        return Err(format!(
            "{} resolves only to non-public addresses ({}): --discover does not reach them",
            shown(host),
            listed.join(", ")
        ));
    }
    Ok(public)
}

/// A host lookup: the system's resolver, or a table in tests.
pub type Lookup = dyn Fn(&str) -> std::io::Result<Vec<SocketAddr>> + Send + Sync;

/// A reqwest resolver for discovery: names are resolved as usual, and only their public
/// addresses are kept (a name with none fails). A name that resolves to both a public and a
/// private address is reached at the public one only, so a rebinding name cannot slip a private
/// address in. Install with `ClientBuilder::dns_resolver(Arc::new(PublicOnly::system()))`.
#[derive(Clone)]
pub struct PublicOnly {
    lookup: Arc<Lookup>,
}

impl PublicOnly {
    /// The system resolver (getaddrinfo, on a blocking thread, as reqwest's default does).
    pub fn system() -> PublicOnly {
        PublicOnly::with_lookup(Arc::new(|host: &str| {
            (host, 0).to_socket_addrs().map(|a| a.collect())
        }))
    }

    pub fn with_lookup(lookup: Arc<Lookup>) -> PublicOnly {
        PublicOnly { lookup }
    }
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let lookup = self.lookup.clone();
        Box::pin(async move {
            public_name(&host)?;
            let (host, found) = tokio::task::spawn_blocking(move || {
                let found = lookup(&host);
                (host, found)
            })
            .await?;
            let found = found?;
            let kept = public_addrs(&host, found)?;
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::token::jwt::{Claims, Opaque, classify};
    use proptest::prelude::*;

    const CLOUDBASE: &str =
        include_str!("../../../tests/fixtures/cloudbase/example_access_token.txt");

    fn jwt(iss: &str) -> Classified {
        Classified::Jwt(Claims {
            iss: Some(iss.to_string()),
            ..Claims::default()
        })
    }

    fn opaque() -> Classified {
        Classified::Opaque(Opaque {
            reason: "1 parts separated by '.', a JWT has 3".into(),
        })
    }

    fn destinations() -> Destinations {
        Destinations {
            cloudbase: vec![
                CloudbaseContext {
                    name: "other".into(),
                    env_id: "other-env".into(),
                    region: None,
                },
                CloudbaseContext {
                    name: "lowcode".into(),
                    env_id: "lowcode-5g9ac20u2a27da46".into(),
                    region: Some("ap-shanghai".into()),
                },
            ],
            ciam: vec![CiamContext {
                name: "prod".into(),
                domain: "sample.portal.tencentciam.com".into(),
            }],
            oauth: vec![OauthContext {
                name: "corp".into(),
                issuer: "https://idp.example.com/realms/corp".into(),
            }],
        }
    }

    fn routed(d: Decision) -> Route {
        match d {
            Decision::Route(r) => r,
            Decision::Unknown(u) => panic!("not routed: {}", u.message()),
        }
    }

    fn unknown(d: Decision) -> Unknown {
        match d {
            Decision::Unknown(u) => u,
            Decision::Route(r) => panic!("routed: {r:?}"),
        }
    }

    /// The documented CloudBase token (seed 002, `iss` with `http://`) goes to the context whose
    /// env-id its host names; with no such context, to the documented gateway of that env.
    #[test]
    fn the_documented_cloudbase_token_goes_to_its_environment() {
        let token = classify(CLOUDBASE.trim());
        let r = routed(decide(&token, &destinations(), None, false));
        assert_eq!(r.provider, Provider::Cloudbase);
        assert_eq!(r.context.as_deref(), Some("lowcode"));
        assert_eq!(r.matched_by, MatchedBy::CloudbaseIssuer);
        let env = r.cloudbase.clone().unwrap();
        assert_eq!(env.env_id, "lowcode-5g9ac20u2a27da46");
        assert_eq!(env.region, "ap-shanghai");
        assert!(!env.intl());
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"provider":"cloudbase","context":"lowcode","issuer":"http://lowcode-5g9ac20u2a27da46.ap-shanghai.tcb-api.tencentcloudapi.com","matched_by":"cloudbase_issuer"}"#
        );
        let r = routed(decide(&token, &Destinations::default(), None, false));
        assert_eq!((r.provider, r.context), (Provider::Cloudbase, None));
        let r = routed(decide(
            &jwt("https://env-1.ap-singapore.tcb-api.tencentcloudapi.com/"),
            &Destinations::default(),
            None,
            false,
        ));
        assert!(r.cloudbase.unwrap().intl());
    }

    #[test]
    fn lookalike_cloudbase_issuers_are_not_cloudbase() {
        for iss in [
            "https://evil.example/lowcode.ap-shanghai.tcb-api.tencentcloudapi.com",
            "https://lowcode.ap-shanghai.tcb-api.tencentcloudapi.com.evil.example",
            "https://a.b.lowcode.ap-shanghai.tcb-api.tencentcloudapi.com",
            "https://ap-shanghai.tcb-api.tencentcloudapi.com",
            "https://lowcode.ap-shanghai.tcb-api.tencentcloudapi.com:8443",
            "https://u:p@lowcode.ap-shanghai.tcb-api.tencentcloudapi.com",
            "https://lowcode.ap-shanghai.tcb-api.tencentcloudapi.com/path",
            "ftp://lowcode.ap-shanghai.tcb-api.tencentcloudapi.com",
            "https://lowcode.ap-shanghaixtcb-api.tencentcloudapi.com",
        ] {
            assert_eq!(cloudbase_issuer(iss), None, "{iss}");
            let u = unknown(decide(&jwt(iss), &destinations(), None, false));
            assert_eq!(u.reason, "no context names this issuer");
        }
    }

    /// A CIAM context's domain matches `https://DOMAIN` with or without the trailing slash, in
    /// any case; never http, another port or a path.
    #[test]
    fn a_ciam_issuer_is_https_and_the_domain() {
        for iss in [
            "https://sample.portal.tencentciam.com",
            "https://sample.portal.tencentciam.com/",
            "https://SAMPLE.portal.tencentciam.com",
        ] {
            let r = routed(decide(&jwt(iss), &destinations(), None, false));
            assert_eq!(r.provider, Provider::Ciam, "{iss}");
            assert_eq!(r.context.as_deref(), Some("prod"));
            assert_eq!(r.matched_by, MatchedBy::CiamDomain);
            assert_eq!(r.issuer.as_deref(), Some(iss));
        }
        for iss in [
            "http://sample.portal.tencentciam.com",
            "https://sample.portal.tencentciam.com:444",
            "https://sample.portal.tencentciam.com/oauth2",
            "https://sample.portal.tencentciam.com//",
            "https://x.sample.portal.tencentciam.com",
        ] {
            let u = unknown(decide(&jwt(iss), &destinations(), None, false));
            assert!(u.hint.starts_with("add "), "{iss}: {}", u.hint);
        }
    }

    #[test]
    fn an_oauth_issuer_is_compared_exactly_but_for_one_trailing_slash() {
        for iss in [
            "https://idp.example.com/realms/corp",
            "https://idp.example.com/realms/corp/",
        ] {
            let r = routed(decide(&jwt(iss), &destinations(), None, false));
            assert_eq!(
                (r.provider, r.context.as_deref(), r.matched_by),
                (Provider::Oauth, Some("corp"), MatchedBy::OauthIssuer)
            );
        }
        for iss in [
            "https://idp.example.com/realms/corp2",
            "https://idp.example.com/realms",
            "http://idp.example.com/realms/corp",
            "https://IDP.example.com/realms/corp",
            "https://idp.example.com/realms/corp//",
        ] {
            let u = unknown(decide(&jwt(iss), &destinations(), None, false));
            assert_eq!(u.reason, "no context names this issuer", "{iss}");
        }
    }

    #[test]
    fn an_unknown_issuer_is_shown_escaped_and_cut_with_the_context_to_add() {
        let u = unknown(decide(
            &jwt("https://idp.other.example/t1"),
            &destinations(),
            None,
            false,
        ));
        assert_eq!(u.issuer.as_deref(), Some("https://idp.other.example/t1"));
        assert_eq!(
            u.hint,
            r#"add an [oauth.NAME] context with issuer = "https://idp.other.example/t1""#
        );
        assert_eq!(
            u.message(),
            r#"no context names this issuer (issuer https://idp.other.example/t1); add an [oauth.NAME] context with issuer = "https://idp.other.example/t1""#
        );
        let u = unknown(decide(
            &jwt("https://other.portal.tencentciam.com"),
            &destinations(),
            None,
            false,
        ));
        assert_eq!(
            u.hint,
            r#"add a [ciam.NAME] context with domain = "other.portal.tencentciam.com""#
        );
        let hostile = format!("https://x.example/\u{1b}[2J\u{202e}{}", "a".repeat(400));
        let u = unknown(decide(&jwt(&hostile), &destinations(), None, false));
        let shown = u.issuer.clone().unwrap();
        assert!(
            shown.starts_with("https://x.example/\\u{1b}[2J\\u{202e}aaa"),
            "{shown}"
        );
        assert!(shown.ends_with("... [cut at 200 bytes of 435]"), "{shown}");
        assert!(!u.hint.contains('\u{1b}') && !u.message().contains('\u{202e}'));
    }

    #[test]
    fn an_opaque_token_goes_to_the_default_or_nowhere() {
        let default = DefaultRoute::parse("ciam.prod").unwrap();
        let r = routed(decide(&opaque(), &destinations(), Some(&default), false));
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"provider":"ciam","context":"prod","issuer":null,"matched_by":"default"}"#
        );
        let u = unknown(decide(&opaque(), &destinations(), None, true));
        assert!(u.reason.starts_with("not a JWT ("), "{}", u.reason);
        assert_eq!(u.issuer, None);
        assert!(u.hint.contains("--default"), "{}", u.hint);
        // A JWT without iss names no destination either.
        let none = Classified::Jwt(Claims::default());
        assert_eq!(
            routed(decide(&none, &destinations(), Some(&default), false)).matched_by,
            MatchedBy::Default
        );
        assert_eq!(
            unknown(decide(&none, &destinations(), None, false)).reason,
            "the JWT has no iss claim"
        );
        // A JWT whose issuer no context names does not fall back to the default.
        let u = unknown(decide(
            &jwt("https://idp.other.example"),
            &destinations(),
            Some(&default),
            false,
        ));
        assert_eq!(u.reason, "no context names this issuer");
    }

    #[test]
    fn default_is_command_dot_context() {
        assert_eq!(
            DefaultRoute::parse("oauth.corp-1_x").unwrap(),
            DefaultRoute {
                provider: Provider::Oauth,
                context: "corp-1_x".into()
            }
        );
        let bad = [
            (
                "ciam",
                "expected COMMAND.CONTEXT (for example ciam.prod), COMMAND one of cloudbase, ciam, oauth",
            ),
            (
                "smh.prod",
                "smh: not a command whose targets are tokens (cloudbase, ciam, oauth)",
            ),
            ("ciam.", "the context name after the dot is empty"),
            (
                "ciam.a.b",
                "a context name is letters, digits, '-' and '_', at most 64 of them",
            ),
            (
                "ciam.a b",
                "a context name is letters, digits, '-' and '_', at most 64 of them",
            ),
            (
                "\u{1b}x.y",
                "\\u{1b}x: not a command whose targets are tokens (cloudbase, ciam, oauth)",
            ),
        ];
        for (text, want) in bad {
            assert_eq!(DefaultRoute::parse(text).unwrap_err(), want, "{text}");
        }
        assert!(DefaultRoute::parse(&format!("ciam.{}", "a".repeat(65))).is_err());
    }

    /// `--discover` reaches a public https issuer only: never http, userinfo, localhost, an
    /// intranet name or a non-public IP literal in any spelling.
    #[test]
    fn discover_reaches_public_https_issuers_only() {
        let d = Destinations::default();
        let r = routed(decide(&jwt("https://idp.example.com/t"), &d, None, true));
        assert_eq!(
            (r.provider, r.context, r.matched_by),
            (Provider::Oauth, None, MatchedBy::Discover)
        );
        for (iss, why) in [
            ("http://idp.example.com", "the issuer is not https"),
            (
                "https://u:p@idp.example.com",
                "the issuer holds a user name or password",
            ),
            (
                "https://idp.example.com/?a=b",
                "the issuer has a query or fragment",
            ),
            ("https://localhost/", "localhost is a local name"),
            ("https://LOCALHOST./", "localhost is a local name"),
            ("https://a.localhost/", "a.localhost is a local name"),
            ("https://printer.local/", "printer.local is a local name"),
            (
                "https://intranet/",
                "intranet is a single-label (intranet) name",
            ),
            ("https://127.0.0.1/", "127.0.0.1 is a loopback"),
            ("https://127.1/", "127.0.0.1 is a loopback"),
            ("https://2130706433/", "127.0.0.1 is a loopback"),
            ("https://0x7f.0.0.1/", "127.0.0.1 is a loopback"),
            ("https://10.1.2.3/", "10.1.2.3 is a loopback"),
            ("https://172.16.0.1/", "172.16.0.1 is"),
            ("https://192.168.1.1/", "192.168.1.1 is"),
            ("https://169.254.169.254/", "169.254.169.254 is"),
            ("https://100.64.0.1/", "100.64.0.1 is"),
            ("https://0.0.0.0/", "0.0.0.0 is"),
            ("https://[::1]/", "::1 is"),
            ("https://[::]/", ":: is"),
            ("https://[fd00::1]/", "fd00::1 is"),
            ("https://[fe80::1]/", "fe80::1 is"),
            ("https://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is"),
            ("https://[64:ff9b::a00:1]/", "64:ff9b::a00:1 is"),
            ("https://[2002:c0a8:101::1]/", "2002:c0a8:101::1 is"),
            ("not a url", "the issuer is not a URL"),
        ] {
            let u = unknown(decide(&jwt(iss), &d, None, true));
            assert!(u.reason.contains(why), "{iss}: {}", u.reason);
            assert!(
                u.reason.starts_with(
                    "no context names this issuer, and --discover does not reach it: "
                ),
                "{}",
                u.reason
            );
        }
        // A context naming a loopback issuer is the user's choice, and wins over discovery.
        let mut local = Destinations::default();
        local.oauth.push(OauthContext {
            name: "dev".into(),
            issuer: "http://127.0.0.1:8080".into(),
        });
        let r = routed(decide(&jwt("http://127.0.0.1:8080"), &local, None, true));
        assert_eq!(r.matched_by, MatchedBy::OauthIssuer);
    }

    #[test]
    fn public_and_non_public_addresses() {
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "2606:4700::1111",
            "2a00:1450::1",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
        ];
        for ip in public {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        let private = [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "198.18.0.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2001:db8::1",
            "2001::1",
            "2002:7f00:1::1",
            "3fff::1",
            "100::1",
        ];
        for ip in private {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    /// A name resolving to loopback only is refused; a name with a public and a private address
    /// is kept at the public one only. No network: the lookup is a table.
    #[test]
    fn the_resolver_keeps_public_addresses_only() {
        let a = |s: &str| -> SocketAddr { format!("{s}:0").parse().unwrap() };
        let e = public_addrs("evil.example", vec![a("127.0.0.1"), a("[::1]")]).unwrap_err();
        assert_eq!(
            e,
            "evil.example resolves only to non-public addresses (127.0.0.1, ::1): --discover does not reach them"
        );
        assert_eq!(
            public_addrs("mixed.example", vec![a("10.0.0.1"), a("93.184.216.34")]).unwrap(),
            [a("93.184.216.34")]
        );
        assert_eq!(
            public_addrs("none.example", vec![]).unwrap_err(),
            "none.example has no address"
        );
    }

    #[tokio::test]
    async fn the_reqwest_resolver_refuses_names_of_private_addresses() {
        use reqwest::dns::Resolve;
        let table = PublicOnly::with_lookup(Arc::new(|host: &str| {
            Ok(match host {
                "evil.example" => vec!["127.0.0.1:0".parse().unwrap()],
                "good.example" => vec!["10.0.0.2:0".parse().unwrap(), "8.8.4.4:0".parse().unwrap()],
                _ => vec![],
            })
        }));
        let name = |s: &str| s.parse::<reqwest::dns::Name>().unwrap();
        let e = table.resolve(name("evil.example")).await.err().unwrap();
        assert!(e.to_string().contains("resolves only to non-public"), "{e}");
        let got: Vec<SocketAddr> = table.resolve(name("good.example")).await.unwrap().collect();
        assert_eq!(got, ["8.8.4.4:0".parse::<SocketAddr>().unwrap()]);
        // localhost is refused before any lookup.
        let e = table.resolve(name("localhost")).await.err().unwrap();
        assert_eq!(e.to_string(), "localhost is a local name");
    }

    fn issuers() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("https://idp.example.com/realms/corp".to_string()),
            Just("https://idp.example.com/realms/corp/".to_string()),
            Just("https://sample.portal.tencentciam.com".to_string()),
            Just("http://sample.portal.tencentciam.com".to_string()),
            Just(
                "http://lowcode-5g9ac20u2a27da46.ap-shanghai.tcb-api.tencentcloudapi.com"
                    .to_string()
            ),
            "https?://[a-z0-9.\\-]{1,20}(:[0-9]{1,5})?(/[a-z]{0,5})?",
            "https?://(127|10|192\\.168|169\\.254|100\\.64|0)\\.[0-9]{1,3}\\.[0-9]{1,3}/?",
            "https://\\[(::1|fd00::[0-9]|fe80::1|::ffff:127\\.0\\.0\\.1|::)\\]/?",
            "https://[a-z]{1,8}\\.(localhost|local|internal)",
            "\\PC{0,40}",
        ]
    }

    fn any_destinations() -> impl Strategy<Value = Destinations> {
        (
            proptest::collection::vec(("[a-z]{1,4}", "[a-z0-9\\-]{1,24}"), 0..3),
            proptest::collection::vec(("[a-z]{1,4}", "[a-z.]{0,30}"), 0..3),
            proptest::collection::vec(("[a-z]{1,4}", issuers()), 0..3),
        )
            .prop_map(|(cb, ciam, oauth)| Destinations {
                cloudbase: cb
                    .into_iter()
                    .map(|(name, env_id)| CloudbaseContext {
                        name,
                        env_id,
                        region: None,
                    })
                    .collect(),
                ciam: ciam
                    .into_iter()
                    .map(|(name, domain)| CiamContext { name, domain })
                    .collect(),
                oauth: oauth
                    .into_iter()
                    .map(|(name, issuer)| OauthContext { name, issuer })
                    .collect(),
            })
    }

    /// The oracle, written apart from the code: does some context name this issuer?
    fn named(to: &Destinations, r: &Route) -> bool {
        let iss = r.issuer.as_deref().unwrap_or_default();
        let ctx = r.context.as_deref();
        match r.matched_by {
            MatchedBy::CiamDomain => to.ciam.iter().any(|c| {
                Some(c.name.as_str()) == ctx
                    && [
                        format!("https://{}", c.domain),
                        format!("https://{}/", c.domain),
                    ]
                    .iter()
                    .any(|want| want.eq_ignore_ascii_case(iss))
            }),
            MatchedBy::OauthIssuer => to.oauth.iter().any(|c| {
                Some(c.name.as_str()) == ctx
                    && (c.issuer == iss
                        || format!("{}/", c.issuer) == iss
                        || c.issuer == format!("{iss}/"))
            }),
            // The token is sent to CloudBase's gateway or a configured endpoint, never its
            // issuer's host; its context, if any, is the one of its environment.
            MatchedBy::CloudbaseIssuer => {
                let env = r.cloudbase.as_ref().unwrap();
                iss.contains(&format!(
                    "{}.{}.{CLOUDBASE_ISSUER_DOMAIN}",
                    env.env_id, env.region
                )) && ctx.is_none_or(|n| {
                    to.cloudbase
                        .iter()
                        .any(|c| c.name == n && c.env_id == env.env_id)
                })
            }
            MatchedBy::Default | MatchedBy::Discover => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Any issuer, any configured destinations: without --discover a route exists only when
        /// a context names the issuer; with it, only to a public https host; never a panic.
        #[test]
        fn no_route_to_an_issuer_no_context_names(
            iss in issuers(),
            to in any_destinations(),
            discover in any::<bool>(),
        ) {
            match decide(&jwt(&iss), &to, None, discover) {
                Decision::Route(r) if r.matched_by == MatchedBy::Discover => {
                    prop_assert!(discover);
                    prop_assert!(r.context.is_none());
                    let url = reqwest::Url::parse(&iss).unwrap();
                    prop_assert_eq!(url.scheme(), "https");
                    match host_of(&url).unwrap() {
                        Host::Ip(ip) => prop_assert!(is_public_ip(ip)),
                        Host::Name(d) => prop_assert!(d.contains('.') && !d.ends_with("localhost")),
                    }
                }
                Decision::Route(r) => prop_assert!(named(&to, &r), "{:?} for {:?}", r, iss),
                Decision::Unknown(u) => {
                    prop_assert!(u.issuer.is_some_and(|s| s.len() <= MAX_SHOWN_ISSUER + 40 && !s.chars().any(char::is_control)));
                }
            }
        }

        /// Any bytes as a token: classified and decided without a panic; without --default and
        /// --discover, routed only by an issuer a context names.
        #[test]
        fn any_bytes_as_a_token(bytes in proptest::collection::vec(any::<u8>(), 0..300), to in any_destinations()) {
            let token = String::from_utf8_lossy(&bytes);
            match decide(&classify(&token), &to, None, false) {
                Decision::Route(r) => prop_assert!(named(&to, &r)),
                Decision::Unknown(u) => prop_assert!(!u.reason.is_empty() && !u.hint.is_empty()),
            }
        }
    }
}
