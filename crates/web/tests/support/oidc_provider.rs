//! A real OpenID provider for tests: `node tests/oidc-provider/provider.mjs` (the certified npm
//! package `oidc-provider`), and a browser stand-in that logs in at its development login form.
//!
//! Include it with `#[path = ".../support/oidc_provider.rs"] mod oidc_provider;`. It needs only
//! `reqwest` (with the `cookies` feature for the client the caller builds) and std.
//!
//! [`Provider::start`] returns `None` (after printing why) when `node` or
//! `tests/oidc-provider/node_modules` is missing, so a test can skip; with `CI=true` it panics instead.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long the provider may take to print `READY`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The directory with `provider.mjs`, `package.json` and (after `npm ci`) `node_modules`.
pub fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider")
}

/// What the provider is started with; [`Provider::start`] fills in the defaults.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    /// `{"<login>": {"name": "...", "ozg_roles": [...], "ozg_units": [...]}}`
    pub accounts_json: String,
    /// `RS256` or `ES256`: how the client's ID tokens are signed.
    pub id_token_alg: String,
    /// A fixed port, or `None` for a free one.
    pub port: Option<u16>,
}

/// A running provider; killed when dropped.
pub struct Provider {
    /// `http://127.0.0.1:<port>`
    pub issuer: String,
    pub port: u16,
    config: ProviderConfig,
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Provider {
    /// Starts a provider with one confidential client (client_secret_basic, PKCE required, RS256 ID tokens).
    pub fn start(client_id: &str, secret: &str, redirect_uris: &[&str], accounts_json: &str) -> Option<Provider> {
        Self::start_with(ProviderConfig {
            client_id: client_id.to_owned(),
            client_secret: secret.to_owned(),
            redirect_uris: redirect_uris.iter().map(|s| (*s).to_owned()).collect(),
            accounts_json: accounts_json.to_owned(),
            id_token_alg: "RS256".to_owned(),
            port: None,
        })
    }

    pub fn start_with(config: ProviderConfig) -> Option<Provider> {
        if let Err(why) = prerequisites() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("OIDC provider tests cannot run on CI: {why}");
            }
            eprintln!("skipping OIDC provider test: {why}");
            return None;
        }
        let mut last_error = String::new();
        // A free port can be taken between probing and binding; try a few.
        for _ in 0..3 {
            let port = match config.port {
                Some(port) => port,
                None => free_port(),
            };
            match spawn(&config, port) {
                Ok((child, stderr)) => {
                    return Some(Provider { issuer: format!("http://127.0.0.1:{port}"), port, config, child, stderr })
                }
                Err(e) => last_error = e,
            }
        }
        panic!("OIDC provider did not start: {last_error}");
    }

    /// Stops the provider and starts it again on the same port. Everything it held (sessions,
    /// codes) is gone and it signs with new keys: to the relying party this looks like a key rotation.
    pub fn restart(&mut self) {
        self.stop();
        let mut last_error = String::new();
        for _ in 0..5 {
            match spawn(&self.config, self.port) {
                Ok((child, stderr)) => {
                    self.child = child;
                    self.stderr = stderr;
                    return;
                }
                Err(e) => {
                    last_error = e;
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        panic!("OIDC provider did not restart: {last_error}");
    }

    /// What the provider wrote to stderr so far (warnings, server errors).
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

fn prerequisites() -> Result<(), String> {
    match Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(status) if status.success() => {}
        _ => return Err("`node` is not on PATH".into()),
    }
    let modules = provider_dir().join("node_modules").join("oidc-provider");
    if !modules.is_dir() {
        return Err(format!("{} is missing (run `npm ci` in tests/oidc-provider)", modules.display()));
    }
    Ok(())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

type Spawned = (Child, Arc<Mutex<String>>);

fn spawn(config: &ProviderConfig, port: u16) -> Result<Spawned, String> {
    let mut child = Command::new("node")
        .arg(provider_dir().join("provider.mjs"))
        .current_dir(provider_dir())
        .env("PORT", port.to_string())
        .env("CLIENT_ID", &config.client_id)
        .env("CLIENT_SECRET", &config.client_secret)
        .env("REDIRECT_URIS", config.redirect_uris.join(","))
        .env("ACCOUNTS", &config.accounts_json)
        .env("ID_TOKEN_ALG", &config.id_token_alg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run node: {e}"))?;

    let stderr = Arc::new(Mutex::new(String::new()));
    if let Some(mut pipe) = child.stderr.take() {
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
    }

    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    std::thread::spawn(move || {
        // Keeps draining stdout for the provider's whole life.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });

    let expected = format!("READY http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + STARTUP_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.trim() == expected => return Ok((child, stderr)),
            Ok(_) => continue,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let err = stderr.lock().map(|s| s.clone()).unwrap_or_default();
                return Err(format!("no READY line on port {port}; stderr:\n{err}"));
            }
        }
    }
}

/// Plays the browser from the authorization URL to the redirect back to the relying party: follows
/// redirects by hand, fills the provider's development login form with `login` (any password) and
/// confirms the consent form. Returns the first redirect target that starts with `stop_at_prefix`
/// (normally the redirect URI; it is not requested). `http` must keep cookies and must not follow
/// redirects itself (`reqwest::redirect::Policy::none()`).
pub async fn login_at_provider(
    http: &reqwest::Client,
    authorize_url: &str,
    login: &str,
    stop_at_prefix: &str,
) -> String {
    let mut url = reqwest::Url::parse(authorize_url).expect("authorization URL");
    let mut form: Option<Vec<(String, String)>> = None;
    let mut trail = Vec::new();
    for _ in 0..20 {
        if url.as_str().starts_with(stop_at_prefix) {
            return url.into();
        }
        trail.push(format!("{} {url}", if form.is_some() { "POST" } else { "GET" }));
        let request = match form.take() {
            Some(fields) => http.post(url.clone()).form(&fields),
            None => http.get(url.clone()),
        };
        let response = request.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{url}: {status} without Location"));
            url = url.join(location).unwrap_or_else(|e| panic!("bad Location {location:?}: {e}"));
            continue;
        }
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            panic!("{url} answered {status}:\n{body}\ntrail:\n{}", trail.join("\n"));
        }
        let page = parse_post_form(&body).unwrap_or_else(|| panic!("{url}: no form on the page:\n{body}"));
        let mut fields = Vec::new();
        for input in page.inputs {
            let value = match input.kind.as_str() {
                "password" => "any-password".to_owned(),
                "text" | "email" if input.name == "login" || input.name == "username" => login.to_owned(),
                _ => input.value,
            };
            if !input.name.is_empty() {
                fields.push((input.name, value));
            }
        }
        url = url.join(&page.action).unwrap_or_else(|e| panic!("bad form action {:?}: {e}", page.action));
        form = Some(fields);
    }
    panic!("no redirect to {stop_at_prefix} after 20 steps:\n{}", trail.join("\n"));
}

struct Form {
    action: String,
    inputs: Vec<Input>,
}

struct Input {
    kind: String,
    name: String,
    value: String,
}

/// The first `<form method="post">` of a page, with its `<input>`s. Enough for simple, generated pages.
fn parse_post_form(html: &str) -> Option<Form> {
    let mut rest = html;
    while let Some(start) = find_ci(rest, "<form") {
        let after = &rest[start..];
        let tag_end = after.find('>')?;
        let attrs = attributes(&after[5..tag_end]);
        let end = find_ci(after, "</form").unwrap_or(after.len());
        let is_post = attrs.iter().any(|(k, v)| k == "method" && v.eq_ignore_ascii_case("post"));
        if is_post {
            let action = attrs.iter().find(|(k, _)| k == "action").map(|(_, v)| v.clone()).unwrap_or_default();
            let mut inputs = Vec::new();
            let mut body = &after[tag_end + 1..end];
            while let Some(i) = find_ci(body, "<input") {
                let tag = &body[i + 6..];
                let close = tag.find('>').unwrap_or(tag.len());
                let attrs = attributes(&tag[..close]);
                let get = |name: &str| attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                inputs.push(Input {
                    kind: get("type").unwrap_or_else(|| "text".into()).to_ascii_lowercase(),
                    name: get("name").unwrap_or_default(),
                    value: get("value").unwrap_or_default(),
                });
                body = &tag[close..];
            }
            return Some(Form { action, inputs });
        }
        rest = &after[end.max(5)..];
    }
    None
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.to_ascii_lowercase().find(needle)
}

/// `name="value"` / `name='value'` / `name=value` / bare `name` pairs of one tag, names lower-cased,
/// values HTML-unescaped.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let chars: Vec<char> = tag.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == '/') {
            i += 1;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '=' && chars[i] != '/' {
            i += 1;
        }
        if start == i {
            i += 1;
            continue;
        }
        let name: String = chars[start..i].iter().collect::<String>().to_ascii_lowercase();
        let mut value = String::new();
        if i < chars.len() && chars[i] == '=' {
            i += 1;
            if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
                let quote = chars[i];
                i += 1;
                let vstart = i;
                while i < chars.len() && chars[i] != quote {
                    i += 1;
                }
                value = chars[vstart..i].iter().collect();
                i += 1;
            } else {
                let vstart = i;
                while i < chars.len() && !chars[i].is_whitespace() {
                    i += 1;
                }
                value = chars[vstart..i].iter().collect();
            }
        }
        out.push((name, unescape(&value)));
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
