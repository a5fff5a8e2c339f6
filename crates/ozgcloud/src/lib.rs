//! The `ozgcloud` binary's building blocks, also used by the integration tests and the
//! benchmark: configuration, wiring of store + documents + intake + web, and demo data.

pub mod demo;
pub mod transfer;

use documents::LocalDir;
use domain::tenant::IpNet;
use domain::{Role, TenantId, TenantKind, UnitId, UserId};
use intake::{Intake, Limits};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use store::{NewTenant, NewUser, Store};
use store_postgres::PostgresStore;
use store_sqlite::SqliteStore;
use tokio::net::TcpListener;
use web::oidc::{OidcClient, OidcSettings};
use web::tenancy::TenantRouting;
use web::{AppState, WebConfig};

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Where users reach the server; decides whether cookies are marked Secure.
    pub public_url: String,
    pub limits: Limits,
    /// Intake without an API token (for development and closed networks).
    pub open_intake: bool,
    /// How tenants are addressed: `/t/{tenant}/…` or by host name.
    pub routing: TenantRouting,
    /// The tenant served at `/` (or for unknown hosts); `None` = only addressed tenants.
    pub default_tenant: Option<TenantId>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Login through an OpenID provider (Keycloak, …), when set.
    pub oidc: Option<OidcSettings>,
    /// Password for the admins created on first start; random (and printed) when absent.
    pub admin_password: Option<String>,
    pub session_idle: time::Duration,
    /// `postgres://…` runs on PostgreSQL; without it, the embedded SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// At start on a shared database (PostgreSQL), unfinished deliveries younger than this are
    /// left alone: another process may still be working on them.
    pub recovery_min_age: time::Duration,
    /// How often the job runner looks at the queue unwoken (default 1 s).
    pub job_poll: Option<std::time::Duration>,
    /// How failed jobs wait before their next attempt (default `domain::jobs::Backoff`).
    pub job_backoff: Option<domain::jobs::Backoff>,
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://localhost:8080".to_owned(),
            limits: Limits::default(),
            open_intake: false,
            routing: TenantRouting::Path,
            default_tenant: Some(TenantId::default_tenant()),
            trusted_proxies: Vec::new(),
            oidc: None,
            admin_password: None,
            session_idle: time::Duration::minutes(30),
            database_url: None,
            recovery_min_age: app::work::RECOVERY_MIN_AGE,
            job_poll: None,
            job_backoff: None,
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("ozgcloud.sqlite")
    }

    pub fn documents_dir(&self) -> PathBuf {
        self.data_dir.join("dokumente")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("Speicher: {0}")]
    Storage(#[from] store::StorageError),
    #[error("Dokumentenablage: {0}")]
    Documents(#[from] documents::DocumentError),
    #[error("{0}")]
    Other(String),
}

/// The configured backend, migrated.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, SetupError> {
    Ok(match config.database_url.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Arc::new(PostgresStore::connect(url).await?)
        }
        Some(url) if url.starts_with("sqlite:") => Arc::new(SqliteStore::open(std::path::Path::new(
            url.trim_start_matches("sqlite://").trim_start_matches("sqlite:"),
        ))?),
        Some(_) => return Err(SetupError::Other("--database-url muss mit postgres:// oder sqlite: beginnen".into())),
        None => Arc::new(SqliteStore::open(&config.database_path())?),
    })
}

/// Store, documents and intake wired together, migrations applied, the platform tenant and
/// the default tenant present, the OpenID provider discovered.
pub async fn open_state(config: &Config) -> Result<AppState, SetupError> {
    let store = open_store(config).await?;
    let blobs = Arc::new(LocalDir::open(&config.documents_dir())?);
    store
        .installation()
        .ensure_tenant(NewTenant {
            id: TenantId::platform(),
            name: "Plattformbetrieb".into(),
            kind: TenantKind::Plattform,
            host: None,
        })
        .await?;
    if let Some(tenant) = &config.default_tenant {
        store
            .installation()
            .ensure_tenant(NewTenant {
                id: tenant.clone(),
                name: "Standard-Mandant".into(),
                kind: TenantKind::Stadt,
                host: None,
            })
            .await?;
    }
    let intake = Intake::new(store.clone(), blobs.clone(), config.limits.clone());
    let web_config = WebConfig {
        secure_cookies: config.public_url.starts_with("https://"),
        routing: config.routing,
        default_tenant: config.default_tenant.clone(),
        session_idle: config.session_idle,
        open_intake: config.open_intake,
        trusted_proxies: config.trusted_proxies.clone(),
        public_url: config.public_url.trim_end_matches('/').to_owned(),
        ..WebConfig::default()
    };
    let mut state = AppState::new(store, blobs, intake, web_config);
    if let Some(settings) = &config.oidc {
        let client = OidcClient::discover(settings.clone())
            .await
            .map_err(|e| SetupError::Other(format!("OpenID-Provider {}: {e}", settings.issuer)))?;
        state.oidc = Some(client);
    }
    Ok(state)
}

/// On first start the platform operator `betrieb` (platform tenant) and the default tenant's
/// `admin` are created. Returns the generated password when one was generated (the same for
/// both), so the caller can show it once.
pub async fn ensure_admin(state: &AppState, password: Option<&str>) -> Result<Option<String>, SetupError> {
    let generated = password.is_none().then(|| app::passwords::new_token()[..20].to_owned());
    let pw = password.map(str::to_owned).or_else(|| generated.clone()).unwrap_or_default();
    let mut created = false;
    let mut accounts = vec![(TenantId::platform(), "betrieb", "Plattformbetrieb", vec![Role::Admin, Role::Betrieb])];
    if let Some(t) = &state.config.default_tenant {
        accounts.push((t.clone(), "admin", "Administrator:in", vec![Role::Admin]));
    }
    for (tenant, username, name, roles) in accounts {
        if state.store.tenant(&tenant).count_users().await? > 0 {
            continue;
        }
        match add_user(state, &tenant, username, name, roles, vec![], &pw).await {
            Ok(id) => {
                created = true;
                // A generated password is shown once on the console: one-time. One the
                // operator chose (`--admin-password`) is theirs.
                if generated.is_some() {
                    state.store.tenant(&tenant).require_password_change(id).await?;
                }
            }
            // Another instance on the same database created it a moment ago.
            Err(SetupError::Storage(store::StorageError::Duplicate(_))) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(generated.filter(|_| created))
}

pub async fn add_user(
    state: &AppState,
    tenant: &TenantId,
    username: &str,
    name: &str,
    roles: Vec<Role>,
    units: Vec<UnitId>,
    password: &str,
) -> Result<UserId, SetupError> {
    let username = domain::Username::parse(username)
        .ok_or_else(|| SetupError::Other(format!("ungültiger Benutzername „{username}“")))?;
    app::passwords::check_password_rules(password, username.as_str()).map_err(|e| SetupError::Other(e.to_string()))?;
    let hash = app::passwords::hash_password(password).map_err(|e| SetupError::Other(e.to_string()))?;
    let user = state
        .store
        .tenant(tenant)
        .create_user(NewUser {
            id: UserId::new(),
            username: username.as_str().to_owned(),
            display_name: name.to_owned(),
            email: None,
            roles: domain::user::normalize_roles(roles),
            units,
            password_hash: hash,
            oidc_subject: None,
        })
        .await?;
    Ok(user.id)
}

pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    handle: tokio::task::JoinHandle<()>,
    jobs: app::RunnerHandle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops taking requests and jobs; running requests and jobs finish first.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.handle).await;
        self.jobs.stop().await;
    }
}

/// Binds the address to serve on (port 0 for a random one). Done first, before anything
/// touches the data, so a taken port fails at once.
pub async fn bind(listen: SocketAddr) -> Result<TcpListener, SetupError> {
    TcpListener::bind(listen).await.map_err(|e| SetupError::Other(format!("{listen}: {e}")))
}

/// Binds `config.listen`, then [`start_on`].
pub async fn start(config: &Config, state: AppState) -> Result<Server, SetupError> {
    let listener = bind(config.listen).await?;
    start_on(listener, config, state).await
}

/// Finishes interrupted intakes, starts this process's job runner and serves on `listener`.
pub async fn start_on(listener: TcpListener, config: &Config, state: AppState) -> Result<Server, SetupError> {
    // The embedded SQLite belongs to this process alone (the data directory is locked):
    // nothing can be in flight at start.
    let min_age = if state.store.backend() == "sqlite" { time::Duration::ZERO } else { config.recovery_min_age };
    // A delivery that cannot be finished now does not keep the server from starting: the
    // periodic rescan (a job) takes it up again.
    match state.intake.recover_unfinished(min_age).await {
        Ok(0) => {}
        Ok(recovered) => tracing::warn!(recovered, "intake: finished deliveries interrupted by the last shutdown"),
        Err(e) => tracing::warn!(error = %e, "intake: not every interrupted delivery could be finished at start"),
    }
    // Everything after that (recovery, sweeps, deletions, later the outbound channels) is
    // work of the job runner.
    let mut runner_config = app::RunnerConfig::new(app::jobs::worker_name());
    if let Some(poll) = config.job_poll {
        runner_config.poll = poll;
    }
    if let Some(backoff) = config.job_backoff {
        runner_config.backoff = backoff;
    }
    let jobs = app::work::runner(
        state.app.jobs.clone(),
        runner_config,
        state.store.clone(),
        state.blobs.clone(),
        state.intake.clone(),
    )
    .spawn();
    let addr = listener.local_addr().map_err(|e| SetupError::Other(e.to_string()))?;
    let app = web::service(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let make = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<SocketAddr>(app);
        let result = axum::serve(listener, make)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(Server { addr, state, handle, jobs, shutdown: Some(tx) })
}
