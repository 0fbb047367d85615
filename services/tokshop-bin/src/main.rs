//! `tokshop`: reads configuration, starts telemetry, and runs what the command line asks for.

use std::{path::PathBuf, sync::Arc};

use clap::{Parser, Subcommand};
use tokshop::{Part, seed::data};
use tokshop_platform::{
    config::{Mode, Settings},
    shutdown, telemetry,
};

#[derive(Debug, Parser)]
#[command(name = "tokshop", version, about = "An agent-first commerce backend")]
struct Cli {
    /// A TOML settings file; `TOKSHOP_*` environment variables override it.
    #[arg(long, global = true, env = "TOKSHOP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the shop: every service in one process, or one part alone with --only.
    Serve {
        #[arg(long, value_enum)]
        only: Option<Part>,
        /// Production mode even without a database URL: no demo data, no sandbox cards, a configured signing secret.
        #[arg(long, conflicts_with = "demo")]
        production: bool,
        /// Demo mode even with a database URL: demo shop and accounts, sandbox cards.
        #[arg(long)]
        demo: bool,
    },
    /// Seed the demo shop into services that run elsewhere (services.*.url).
    Seed {
        #[arg(long, default_value_t = 200)]
        products: usize,
    },
    /// Check the books in the configured database: every ledger transaction balances, wallets match their
    /// accounts, and each order's payments and refunds match its state. Exits non-zero on any problem.
    VerifyLedger,
    /// Recompute every stored social count (followers, likes, favorites, comments, replies) in the configured
    /// database from the rows they count, and print how many rows were corrected.
    RepairCounts,
    /// Inspect the event streams (Kafka: `kafka.brokers`).
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Check a running part, for container health checks: GET an http(s) URL (passes on 2xx), or run the standard
    /// gRPC health check on `grpc://host:port[/service]` (passes on SERVING). Exits non-zero otherwise.
    Probe {
        url: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout_secs: u64,
    },
    /// Chat with the shopping agent of a running tokshop from the terminal.
    Chat {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "demo")]
        username: String,
        #[arg(long, default_value = "demo-shopper-pass")]
        password: String,
    },
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
    /// The dead-letter topic: events a consumer gave up on, with the error.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// Print every dead letter, one line each, marked replayed or waiting.
    List,
    /// Put every waiting dead letter back on its stream; consumers that applied it already skip it.
    Replay,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // A health check reads no settings and starts no telemetry: it runs every few seconds beside the server.
    if let Some(Command::Probe { url, timeout_secs }) = &cli.command {
        return probe(url, *timeout_secs).await;
    }
    let mut settings = Settings::load(cli.config.as_deref())?;
    let command = cli.command.unwrap_or(Command::Serve {
        only: None,
        production: false,
        demo: false,
    });
    if let Command::Serve {
        production, demo, ..
    } = &command
    {
        if *production {
            settings.mode = Some(Mode::Production);
        } else if *demo {
            settings.mode = Some(Mode::Demo);
        }
    }
    let settings = Arc::new(settings);
    let service_name = match &command {
        Command::Serve {
            only: Some(part), ..
        } => match clap::ValueEnum::to_possible_value(part) {
            Some(value) => format!("{}-{}", settings.otlp.service_name, value.get_name()),
            None => settings.otlp.service_name.clone(),
        },
        _ => settings.otlp.service_name.clone(),
    };
    let telemetry = telemetry::init(&settings.log, &settings.otlp, &service_name)?;
    let outcome = run(command, settings).await;
    telemetry.shutdown();
    outcome
}

async fn run(command: Command, settings: Arc<Settings>) -> anyhow::Result<()> {
    match command {
        Command::Serve { only, .. } => serve(settings, only).await,
        Command::Seed { products } => {
            let report = tokshop::seed_remote(&settings, products).await?;
            println!("{report:?}");
            Ok(())
        }
        Command::Chat {
            url,
            username,
            password,
        } => tokshop::chat::run(&url, &username, &password).await,
        Command::Probe { url, timeout_secs } => probe(&url, timeout_secs).await,
        Command::Events {
            command: EventsCommand::Dlq { command },
        } => {
            let replay = matches!(command, DlqCommand::Replay);
            for line in tokshop::dead_letters::run(&settings, replay).await? {
                println!("{line}");
            }
            Ok(())
        }
        Command::VerifyLedger => {
            let db = tokshop_platform::db::Db::connect(&settings.database_url(), 1).await?;
            let report = tokshop_orders::verify_ledger(&db).await?;
            db.close().await;
            println!(
                "{} ledger transactions, {} entries, {} orders checked",
                report.transactions, report.entries, report.orders_checked
            );
            for problem in &report.problems {
                println!("problem: {problem}");
            }
            anyhow::ensure!(report.balanced, "the ledger does not balance");
            println!("balanced");
            Ok(())
        }
        Command::RepairCounts => {
            let db = tokshop_platform::db::Db::connect(&settings.database_url(), 1).await?;
            let report = tokshop_social::repair_counts(&db).await;
            db.close().await;
            let report = report.map_err(|e| anyhow::anyhow!("repairing social counts: {e:?}"))?;
            println!(
                "corrected {} user, {} post, {} product and {} comment count rows",
                report.users_fixed,
                report.posts_fixed,
                report.products_fixed,
                report.comments_fixed
            );
            Ok(())
        }
    }
}

async fn probe(url: &str, timeout_secs: u64) -> anyhow::Result<()> {
    let timeout = std::time::Duration::from_secs(timeout_secs);
    println!("{}", tokshop::probe::probe(url, timeout).await?);
    Ok(())
}

async fn serve(settings: Arc<Settings>, only: Option<Part>) -> anyhow::Result<()> {
    let shutdown = shutdown::on_signal();
    let running = tokshop::start(settings.clone(), only, shutdown).await?;
    if let Some(addr) = running.gateway_addr {
        println!("tokshop is ready");
        println!("  REST API  http://{addr}/api/v1");
        println!("  API docs  http://{addr}/api/v1/docs");
        if only.is_none() && settings.seed.demo && settings.demo() {
            println!(
                "  demo shopper: username {:?}, password {:?}",
                data::DEMO_USERNAME,
                data::DEMO_PASSWORD
            );
        }
    }
    running.wait().await
}
