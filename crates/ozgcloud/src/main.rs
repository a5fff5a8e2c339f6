use clap::{Args, Parser, Subcommand};
use domain::Role;
use ozgcloud::{Config, SetupError};
use std::io::{IsTerminal, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
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
    /// Fill an empty store with demo data (Vorgänge and the clerks max / erika).
    #[arg(long)]
    demo: bool,
    /// Require `Authorization: Bearer <token>` on intake.
    #[arg(long, env = "OZGCLOUD_INTAKE_TOKEN", hide_env_values = true)]
    intake_token: Option<String>,
    /// Password of the admin created on first start (otherwise generated and printed once).
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
    /// Minutes of inactivity after which a session ends.
    #[arg(long, env = "OZGCLOUD_SESSION_IDLE_MINUTES", default_value_t = 30)]
    session_idle_minutes: i64,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// sachbearbeitung or admin
        #[arg(long, default_value = "sachbearbeitung")]
        role: String,
    },
    /// List users.
    List,
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

async fn run(cli: Cli) -> Result<(), SetupError> {
    let mut config = Config::new(cli.data_dir);
    config.database_url = cli.database_url;
    match cli.command {
        Command::Serve(args) => {
            config.listen = args.listen;
            config.public_url = args.public_url.unwrap_or_else(|| format!("http://{}", args.listen));
            config.intake_token = args.intake_token;
            config.admin_password = args.admin_password;
            config.limits.max_request = args.max_request_mb * 1024 * 1024;
            config.limits.max_file = args.max_file_mb * 1024 * 1024;
            config.limits.max_form_data = args.max_form_data_mb * 1024 * 1024;
            config.session_idle_minutes = args.session_idle_minutes;
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
        Command::User(UserCommand::Add { username, name, role }) => {
            let role = Role::parse(&role).ok_or_else(|| SetupError::Other(format!("unbekannte Rolle „{role}“")))?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).map_err(|e| SetupError::Other(e.to_string()))?;
            let state = ozgcloud::open_state(&config).await?;
            ozgcloud::add_user(&state, &username, &name, role, password.trim_end_matches(['\n', '\r'])).await?;
            println!("Benutzer „{username}“ angelegt.");
            Ok(())
        }
        Command::User(UserCommand::List) => {
            let state = ozgcloud::open_state(&config).await?;
            for u in state.store.list_users(&state.config.tenant).await? {
                println!(
                    "{}\t{}\t{}{}",
                    u.username,
                    u.display_name,
                    u.role.label(),
                    if u.disabled { "\t(deaktiviert)" } else { "" }
                );
            }
            Ok(())
        }
        Command::Openapi => {
            println!("{}", web::openapi_json());
            Ok(())
        }
        Command::Export { out } => {
            let state = ozgcloud::open_state(&config).await?;
            eprintln!(
                "Exportiere Mandant „{}“ ({}) nach {} …",
                state.config.tenant,
                state.store.backend(),
                out.display()
            );
            let summary = ozgcloud::transfer::export(&state, &out, std::io::stderr().is_terminal()).await?;
            println!("Export abgeschlossen: {}.", summary.describe());
            Ok(())
        }
        Command::Import { input } => {
            let state = ozgcloud::open_state(&config).await?;
            eprintln!(
                "Importiere {} in Mandant „{}“ ({}) …",
                input.display(),
                state.config.tenant,
                state.store.backend()
            );
            let summary = ozgcloud::transfer::import(&state, &input, std::io::stderr().is_terminal()).await?;
            println!("Import abgeschlossen: {}. Alle Benutzer melden sich neu an.", summary.describe());
            Ok(())
        }
    }
}

fn report_demo(n: usize) {
    if n == 0 {
        println!("Demodaten: der Speicher enthält bereits Vorgänge, nichts hinzugefügt.");
    } else {
        println!(
            "Demodaten: {n} Vorgänge angelegt. Anmeldung als „max“ oder „erika“ mit dem Passwort „{}“.",
            ozgcloud::demo::DEMO_PASSWORD
        );
    }
}

async fn serve(config: Config, demo: bool) -> Result<(), SetupError> {
    let state = ozgcloud::open_state(&config).await?;
    if let Some(pw) = ozgcloud::ensure_admin(&state, config.admin_password.as_deref()).await? {
        // Printed once, on the console of whoever started the server; never logged.
        println!("\nErster Start: Benutzer „admin“ angelegt. Einmaliges Passwort: {pw}\n");
    }
    if demo {
        let n = ozgcloud::demo::seed(&state, 300).await?;
        report_demo(n);
    }
    if config.intake_token.is_none() {
        tracing::warn!("intake is open to anyone who can reach /antrag; set OZGCLOUD_INTAKE_TOKEN to require a token");
    }
    let server = ozgcloud::start(&config, state).await?;
    println!("ozgcloud läuft auf {} (Daten: {})", server.url(), config.data_dir.display());
    let _ = tokio::signal::ctrl_c().await;
    println!("Beende …");
    server.stop().await;
    Ok(())
}
