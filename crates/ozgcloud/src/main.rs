use clap::{Args, Parser, Subcommand};
use domain::{Role, TenantId, TenantKind, TokenScope};
use ozgcloud::{Config, SetupError};
use std::io::{IsTerminal, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use web::oidc::OidcSettings;
use web::tenancy::TenantRouting;

/// ozgcloud – Anträge empfangen und vollständig digital bearbeiten.
#[derive(Parser)]
#[command(name = "ozgcloud", version)]
struct Cli {
    /// Where the embedded database and the documents live.
    #[arg(long, env = "OZGCLOUD_DATA_DIR", default_value = "./data", global = true)]
    data_dir: PathBuf,
    /// Run on PostgreSQL (`postgres://user@host/db`); without it, SQLite in the data dir.
    #[arg(long, env = "OZGCLOUD_DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// The tenant the user, unit, token, export and import commands work on.
    #[arg(long, env = "OZGCLOUD_TENANT", default_value = TenantId::DEFAULT, global = true)]
    tenant: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Fill an empty store with demo data.
    Demo {
        #[arg(long, default_value_t = 300)]
        count: usize,
    },
    /// Manage tenants (Mandanten).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage Organisationseinheiten of a tenant.
    #[command(subcommand)]
    Unit(UnitCommand),
    /// Manage users of a tenant.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for form services and Fachverfahren.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The job runner's queue (Aufträge): what runs, what failed.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Print the OpenAPI document.
    Openapi,
    /// Write the complete data (users, Vorgänge, history, quarantine, documents) into one file.
    Export {
        /// The export file (JSON Lines); must not exist yet.
        #[arg(long, value_name = "DATEI")]
        out: PathBuf,
    },
    /// Read an export file into an empty store, e.g. from SQLite into PostgreSQL.
    Import {
        /// The export file.
        #[arg(long = "in", value_name = "DATEI")]
        input: PathBuf,
    },
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long, env = "OZGCLOUD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The address users open; https:// makes cookies Secure.
    #[arg(long, env = "OZGCLOUD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Fill an empty store with demo data (Vorgänge, units, the clerks max / erika, Poststelle paula, deleting lena); opens intake.
    #[arg(long)]
    demo: bool,
    /// Accept intake without an API token (development, closed networks). Otherwise form
    /// services need a token with scope EINGANG (`ozgcloud token create`).
    #[arg(long, env = "OZGCLOUD_OPEN_INTAKE")]
    open_intake: bool,
    /// How tenants are addressed: `path` (/t/{mandant}/…) or `host` (by host name).
    #[arg(long, env = "OZGCLOUD_TENANT_ROUTING", default_value = "path")]
    tenant_routing: String,
    /// The tenant served without prefix / for unknown hosts; empty for none.
    #[arg(long, env = "OZGCLOUD_DEFAULT_TENANT", default_value = TenantId::DEFAULT)]
    default_tenant: String,
    /// Reverse proxies whose X-Forwarded-For is trusted (address or network, repeatable).
    #[arg(long = "trusted-proxy", env = "OZGCLOUD_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<String>,
    /// OpenID Connect: the issuer URL of the provider (e.g. a Keycloak realm).
    #[arg(long, env = "OZGCLOUD_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    #[arg(long, env = "OZGCLOUD_OIDC_CLIENT_ID", default_value = "ozgcloud")]
    oidc_client_id: String,
    #[arg(long, env = "OZGCLOUD_OIDC_CLIENT_SECRET", hide_env_values = true, default_value = "")]
    oidc_client_secret: String,
    /// Claim holding role names (SACHBEARBEITUNG, POSTSTELLE, …); empty claim = roles assigned locally.
    #[arg(long, env = "OZGCLOUD_OIDC_ROLES_CLAIM", default_value = "ozg_roles")]
    oidc_roles_claim: String,
    /// Claim holding the Kennungen of the user's Organisationseinheiten.
    #[arg(long, env = "OZGCLOUD_OIDC_UNITS_CLAIM", default_value = "ozg_units")]
    oidc_units_claim: String,
    /// Password of the admins created on first start (otherwise generated and printed once).
    #[arg(long, env = "OZGCLOUD_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Largest accepted intake request, in MiB.
    #[arg(long, env = "OZGCLOUD_MAX_REQUEST_MB", default_value_t = 110)]
    max_request_mb: usize,
    /// Largest single attachment or representation, in MiB.
    #[arg(long, env = "OZGCLOUD_MAX_FILE_MB", default_value_t = 50)]
    max_file_mb: usize,
    /// Largest formData part, in MiB.
    #[arg(long, env = "OZGCLOUD_MAX_FORMDATA_MB", default_value_t = 10)]
    max_form_data_mb: usize,
    /// Request bodies all intakes together may hold in memory at once, in MiB; beyond it
    /// senders wait up to 10 s, then get 503 with Retry-After.
    #[arg(long, env = "OZGCLOUD_INTAKE_MEMORY_MB", default_value_t = 1024)]
    intake_memory_mb: usize,
    /// Minutes of inactivity after which a session ends.
    #[arg(long, env = "OZGCLOUD_SESSION_IDLE_MINUTES", default_value_t = 30)]
    session_idle_minutes: i64,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Provision a tenant and its first admin; prints how the admin logs in.
    Create {
        #[arg(long)]
        name: String,
        /// stadt, gemeinde, amt, landkreis or ministerium
        #[arg(long, default_value = "stadt")]
        kind: String,
        #[arg(long)]
        admin_email: String,
        /// The tenant's id in addresses (default: derived from the name).
        #[arg(long)]
        id: Option<String>,
        /// Host name for host routing.
        #[arg(long)]
        host: Option<String>,
    },
    /// List tenants.
    List,
}

#[derive(Subcommand)]
enum UnitCommand {
    /// Add an Organisationseinheit; `kennung` is what form services send as zustaendigeStelle.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        kennung: String,
    },
    /// List the tenant's units.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// Comma-separated: sachbearbeitung, poststelle, loeschberechtigt, admin (betrieb only in the platform tenant)
        #[arg(long, default_value = "sachbearbeitung", value_delimiter = ',')]
        roles: Vec<String>,
        /// Kennungen of the user's Organisationseinheiten, comma-separated.
        #[arg(long, value_delimiter = ',')]
        units: Vec<String>,
    },
    /// List users.
    List,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token (shown once). Scopes: eingang, lesen, bearbeiten.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long = "scope", value_delimiter = ',', required = true)]
        scopes: Vec<String>,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// How many jobs of each kind are in each state.
    Status,
    /// The failed jobs (given up after their last attempt) with their last error.
    Failed,
    /// Sends a failed job back to the queue: a running server takes it at once.
    Retry { id: String },
    /// Enqueues probe jobs that a running server takes: shows that jobs run, once each.
    Probe {
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// How long each probe takes (at most 10000).
        #[arg(long, default_value_t = 0)]
        dauer_ms: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OZGCLOUD_LOG").unwrap_or_else(|_| "info,ozgcloud=info".into()),
        )
        .with_target(false)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Fehler: {e}");
            ExitCode::FAILURE
        }
    }
}

fn other(msg: String) -> SetupError {
    SetupError::Other(msg)
}

async fn run(cli: Cli) -> Result<(), SetupError> {
    let mut config = Config::new(cli.data_dir);
    config.database_url = cli.database_url;
    let tenant = TenantId::parse(&cli.tenant).ok_or_else(|| other(format!("ungültiger Mandant „{}“", cli.tenant)))?;
    match cli.command {
        Command::Serve(args) => {
            config.listen = args.listen;
            config.public_url = args.public_url.unwrap_or_else(|| format!("http://{}", args.listen));
            // A demo is tried with curl and the demo forms: open intake, said loudly at start.
            config.open_intake = args.open_intake || args.demo;
            config.routing = match args.tenant_routing.as_str() {
                "path" => TenantRouting::Path,
                "host" => TenantRouting::Host,
                other => return Err(SetupError::Other(format!("--tenant-routing: „{other}“ (path oder host)"))),
            };
            config.default_tenant = match args.default_tenant.trim() {
                "" => None,
                t => Some(TenantId::parse(t).ok_or_else(|| other(format!("--default-tenant: „{t}“")))?),
            };
            config.trusted_proxies = args
                .trusted_proxies
                .iter()
                .map(|p| domain::tenant::IpNet::parse(p).ok_or_else(|| other(format!("--trusted-proxy: „{p}“"))))
                .collect::<Result<_, _>>()?;
            config.oidc = args.oidc_issuer.map(|issuer| OidcSettings {
                issuer,
                client_id: args.oidc_client_id,
                client_secret: args.oidc_client_secret,
                scopes: "openid profile email".into(),
                roles_claim: args.oidc_roles_claim,
                units_claim: args.oidc_units_claim,
            });
            config.admin_password = args.admin_password;
            config.limits.max_request = args.max_request_mb * 1024 * 1024;
            config.limits.max_file = args.max_file_mb * 1024 * 1024;
            config.limits.max_form_data = args.max_form_data_mb * 1024 * 1024;
            config.limits.memory_budget = args.intake_memory_mb * 1024 * 1024;
            config.session_idle = time::Duration::minutes(args.session_idle_minutes);
            serve(config, args.demo).await
        }
        Command::Migrate => {
            ozgcloud::open_state(&config).await?;
            println!("Datenbank ist auf dem neuesten Stand.");
            Ok(())
        }
        Command::Demo { count } => {
            let state = ozgcloud::open_state(&config).await?;
            let n = ozgcloud::demo::seed(&state, count).await?;
            report_demo(n);
            Ok(())
        }
        Command::Tenant(TenantCommand::Create { name, kind, admin_email, id, host }) => {
            let kind = TenantKind::parse(&kind).ok_or_else(|| other(format!("unbekannte Art „{kind}“")))?;
            let id =
                id.map(|i| TenantId::parse(&i).ok_or_else(|| other(format!("ungültige Kennung „{i}“")))).transpose()?;
            let state = ozgcloud::open_state(&config).await?;
            let req = app::provisioning::TenantRequest { name, kind, id, host, admin_email, admin_username: None };
            let p = app::provisioning::provision_tenant(state.store.as_ref(), req)
                .await
                .map_err(|e| other(e.to_string()))?;
            let login = match &p.tenant.host {
                Some(host) => format!("https://{host}/login"),
                None => format!("{}/t/{}/login", config.public_url.trim_end_matches('/'), p.tenant.id),
            };
            println!("Mandant „{}“ ({}) angelegt.", p.tenant.name, p.tenant.id);
            println!("Anmeldung der Administration: {login}");
            println!("Benutzername: {}  Einmaliges Passwort: {}", p.admin_username, p.one_time_password);
            println!("Es muss bei der ersten Anmeldung geändert werden.");
            Ok(())
        }
        Command::Tenant(TenantCommand::List) => {
            let state = ozgcloud::open_state(&config).await?;
            for t in state.store.installation().list_tenants().await? {
                println!("{}\t{}\t{}\t{}", t.id, t.name, t.kind.label(), t.host.unwrap_or_default());
            }
            Ok(())
        }
        Command::Unit(UnitCommand::Add { name, kennung }) => {
            let kennung = domain::tenant::parse_kennung(&kennung)
                .ok_or_else(|| other(format!("ungültige Kennung „{kennung}“")))?;
            let state = ozgcloud::open_state(&config).await?;
            let unit = store::NewUnit { id: domain::UnitId::new(), name: name.trim().to_owned(), kennung };
            let u = state.store.tenant(&tenant).create_unit(unit).await?;
            println!("Organisationseinheit „{}“ (Kennung {}) angelegt.", u.name, u.kennung);
            Ok(())
        }
        Command::Unit(UnitCommand::List) => {
            let state = ozgcloud::open_state(&config).await?;
            for u in state.store.tenant(&tenant).list_units().await? {
                println!("{}\t{}", u.kennung, u.name);
            }
            Ok(())
        }
        Command::User(UserCommand::Add { username, name, roles, units }) => {
            let roles = roles
                .iter()
                .map(|r| Role::parse(r).ok_or_else(|| other(format!("unbekannte Rolle „{r}“"))))
                .collect::<Result<Vec<_>, _>>()?;
            if roles.contains(&Role::Betrieb) && !tenant.is_platform() {
                return Err(other("Die Rolle BETRIEB gibt es nur im Mandanten „plattform“.".into()));
            }
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).map_err(|e| SetupError::Other(e.to_string()))?;
            let state = ozgcloud::open_state(&config).await?;
            let all_units = state.store.tenant(&tenant).list_units().await?;
            let units = units
                .iter()
                .map(|k| {
                    all_units
                        .iter()
                        .find(|u| &u.kennung == k)
                        .map(|u| u.id)
                        .ok_or_else(|| other(format!("unbekannte Einheit „{k}“")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            ozgcloud::add_user(
                &state,
                &tenant,
                &username,
                &name,
                roles,
                units,
                password.trim_end_matches(['\n', '\r']),
            )
            .await?;
            println!("Benutzer „{username}“ angelegt.");
            Ok(())
        }
        Command::User(UserCommand::List) => {
            let state = ozgcloud::open_state(&config).await?;
            for u in state.store.tenant(&tenant).list_users().await? {
                let roles: Vec<&str> = u.roles.iter().map(|r| r.label()).collect();
                println!(
                    "{}\t{}\t{}{}",
                    u.username,
                    u.display_name,
                    roles.join(", "),
                    if u.disabled { "\t(deaktiviert)" } else { "" }
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { name, scopes }) => {
            let scopes = scopes
                .iter()
                .map(|s| TokenScope::parse(s).ok_or_else(|| other(format!("unbekannter Bereich „{s}“"))))
                .collect::<Result<Vec<_>, _>>()?;
            let state = ozgcloud::open_state(&config).await?;
            let token = format!("{}{}", web::auth::API_TOKEN_PREFIX, app::passwords::new_token());
            state
                .store
                .tenant(&tenant)
                .create_api_token(store::NewApiToken {
                    id: domain::ApiTokenId::new(),
                    name,
                    scopes,
                    token_hash: app::passwords::token_hash(&token),
                    created_at: time::OffsetDateTime::now_utc(),
                    created_by: "Kommandozeile".into(),
                })
                .await?;
            println!("{token}");
            eprintln!("Das Token wird nur jetzt angezeigt. Verwendung: Authorization: Bearer <Token>");
            Ok(())
        }
        Command::Openapi => {
            println!("{}", web::openapi_json());
            Ok(())
        }
        Command::Export { out } => {
            let state = ozgcloud::open_state(&config).await?;
            eprintln!("Exportiere Mandant „{}“ ({}) nach {} …", tenant, state.store.backend(), out.display());
            let summary = ozgcloud::transfer::export(&state, &tenant, &out, std::io::stderr().is_terminal()).await?;
            println!("Export abgeschlossen: {}.", summary.describe());
            Ok(())
        }
        Command::Jobs(command) => jobs(&config, command).await,
        Command::Import { input } => {
            let state = ozgcloud::open_state(&config).await?;
            eprintln!("Importiere {} in Mandant „{}“ ({}) …", input.display(), tenant, state.store.backend());
            let summary = ozgcloud::transfer::import(&state, &tenant, &input, std::io::stderr().is_terminal()).await?;
            println!("Import abgeschlossen: {}. Alle Benutzer melden sich neu an.", summary.describe());
            Ok(())
        }
    }
}

async fn jobs(config: &Config, command: JobsCommand) -> Result<(), SetupError> {
    let store = ozgcloud::open_store(config).await?;
    let queue = app::Jobs::new(store);
    match command {
        JobsCommand::Status => {
            for c in queue.counts().await? {
                println!("{}\t{}\t{}", c.kind, c.state.as_str(), c.count);
            }
        }
        JobsCommand::Failed => {
            let query = store::JobQuery { state: Some(domain::jobs::JobState::Discarded), kind: None, limit: 1000 };
            for j in queue.list(&query).await? {
                let error = j.last_error.unwrap_or_default().replace('\n', " ");
                println!("{}\t{}\t{}/{}\t{}", j.id, j.kind, j.attempt, j.max_attempts, error);
            }
        }
        JobsCommand::Retry { id } => {
            let id = domain::JobId::parse(&id).ok_or_else(|| other(format!("ungültige Auftrags-ID „{id}“")))?;
            let job = queue.retry(id).await.map_err(|e| match e {
                store::StorageError::NotFound => other("Diesen Auftrag gibt es nicht.".into()),
                store::StorageError::Conflict { .. } => {
                    other("Der Auftrag ist weder fehlgeschlagen noch wartet er auf eine Wiederholung.".into())
                }
                e => e.into(),
            })?;
            println!("Auftrag {} ({}) wird erneut versucht.", job.id, job.kind);
        }
        JobsCommand::Probe { count, dauer_ms } => {
            for _ in 0..count {
                queue.enqueue(app::work::probe_job(dauer_ms, 0, 1)).await?;
            }
            println!("{count} Probeaufträge eingestellt.");
        }
    }
    Ok(())
}

fn report_demo(n: usize) {
    if n == 0 {
        println!("Demodaten: der Speicher enthält bereits Vorgänge, nichts hinzugefügt.");
    } else {
        println!(
            "Demodaten: {n} Vorgänge angelegt. Anmeldung als „max“ oder „erika“ (Sachbearbeitung) oder „paula“ (Poststelle) oder „lena“ (Löschberechtigt) mit dem Passwort „{}“.",
            ozgcloud::demo::DEMO_PASSWORD
        );
    }
}

async fn serve(config: Config, demo: bool) -> Result<(), SetupError> {
    // The port first: a taken port fails before anything is set up or migrated.
    let listener = ozgcloud::bind(config.listen).await?;
    let state = ozgcloud::open_state(&config).await?;
    if let Some(pw) = ozgcloud::ensure_admin(&state, config.admin_password.as_deref()).await? {
        // Printed once, on the console of whoever started the server; never logged.
        println!(
            "\nErster Start: Plattformbetrieb „betrieb“ ({}/t/plattform/login) und Administration „admin“ \
             des Standard-Mandanten angelegt. Einmaliges Passwort (für beide): {pw}\n\
             Es muss bei der ersten Anmeldung geändert werden.\n",
            config.public_url.trim_end_matches('/')
        );
    }
    if demo {
        let n = ozgcloud::demo::seed(&state, 300).await?;
        report_demo(n);
    }
    if config.open_intake {
        tracing::warn!("intake is open to anyone who can reach /antrag (--open-intake)");
    }
    let server = ozgcloud::start_on(listener, &config, state).await?;
    println!("ozgcloud läuft auf {} (Daten: {})", server.url(), config.data_dir.display());
    let _ = tokio::signal::ctrl_c().await;
    println!("Beende …");
    server.stop().await;
    Ok(())
}
