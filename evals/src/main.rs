//! `evals`: runs a scenario suite against the shopping agent and reports pass^k, cost and regressions.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tokshop_agent::{openai::OpenAiConfig, runner::Limits};
use tokshop_evals::{
    report,
    run::{self, Backend, Prices, RunConfig},
    scenario::Suite,
    stats::Baseline,
};
use tokshop_platform::{config::Settings, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "evals",
    about = "Evaluate the tokshop shopping agent on scenario suites"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModelChoice {
    /// The built-in rule planner.
    Rules,
    /// An OpenAI-compatible endpoint from TOKSHOP_LLM_BASE_URL, TOKSHOP_LLM_API_KEY, TOKSHOP_LLM_MODEL.
    Openai,
    /// Each scenario's own model script (for testing scenarios and graders).
    Scripted,
    /// Each scenario's script, played by a model that also obeys every `CALL tool {...}` it reads in tool results
    /// (the security suite's prompt-injected model).
    Gullible,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a suite.
    Run {
        #[arg(long, default_value = "core")]
        suite: String,
        #[arg(long, value_enum, default_value_t = ModelChoice::Rules)]
        model: ModelChoice,
        #[arg(long, default_value_t = 4)]
        trials: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// The simulated shopper's model name on an OpenAI-compatible endpoint.
        #[arg(long, env = "EVALS_SHOPPER_MODEL")]
        shopper_model: Option<String>,
        /// That endpoint; the agent's TOKSHOP_LLM_BASE_URL when unset.
        #[arg(long, env = "EVALS_SHOPPER_BASE_URL")]
        shopper_base_url: Option<String>,
        #[arg(long, env = "EVALS_SHOPPER_API_KEY", hide_env_values = true)]
        shopper_api_key: Option<String>,
        /// A baseline file to compare with.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// How far pass^1 (of a scenario or of the suite) may fall below the baseline before the run fails.
        #[arg(long, default_value_t = 0.0)]
        threshold: f64,
        /// Write this run as the new baseline.
        #[arg(long)]
        write_baseline: Option<PathBuf>,
        /// Where report.json, report.html and transcripts/ go.
        #[arg(long, default_value = "target/evals")]
        out: PathBuf,
        /// The evals folder (suites/, fixtures/, prices.toml).
        #[arg(long, default_value = env!("CARGO_MANIFEST_DIR"))]
        root: PathBuf,
    },
    /// List a suite's scenarios.
    List {
        #[arg(long, default_value = "core")]
        suite: String,
        #[arg(long, default_value = env!("CARGO_MANIFEST_DIR"))]
        root: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run_cli().await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("evals: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn run_cli() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::List { suite, root } => {
            let suite = Suite::load(&root, &suite)?;
            for s in &suite.scenarios {
                println!("{:<40} {:<28} {}", s.id, s.tags.join(","), s.purpose);
            }
            println!("{} scenarios", suite.scenarios.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            suite,
            model,
            trials,
            concurrency,
            shopper_model,
            shopper_base_url,
            shopper_api_key,
            baseline,
            threshold,
            write_baseline,
            out,
            root,
        } => {
            let settings = Settings::load(None)?;
            let mut log = settings.log.clone();
            // Trials start and stop whole shops; their logs (a relay retrying while its instance stops) would
            // bury the report. Failures are in the transcripts; RUST_LOG shows the logs when wanted.
            log.level = std::env::var("RUST_LOG").unwrap_or_else(|_| "off".into());
            let telemetry = telemetry::init(&log, &settings.otlp, "tokshop-evals")?;
            let suite = Suite::load(&root, &suite)?;
            let backend = match model {
                ModelChoice::Rules => Backend::Rules,
                ModelChoice::Scripted => Backend::Scripted,
                ModelChoice::Gullible => Backend::Gullible,
                ModelChoice::Openai => Backend::OpenAi(OpenAiConfig::from_env().context(
                    "--model openai needs TOKSHOP_LLM_BASE_URL and TOKSHOP_LLM_MODEL",
                )??),
            };
            let shopper = match shopper_model {
                Some(name) => {
                    let base_url = shopper_base_url
                        .or_else(|| std::env::var("TOKSHOP_LLM_BASE_URL").ok())
                        .context(
                            "--shopper-model needs --shopper-base-url or TOKSHOP_LLM_BASE_URL",
                        )?;
                    Some(OpenAiConfig {
                        base_url,
                        api_key: shopper_api_key
                            .or_else(|| std::env::var("TOKSHOP_LLM_API_KEY").ok()),
                        model: name,
                        timeout_secs: 60,
                    })
                }
                None => None,
            };
            let prices_file = root.join("prices.toml");
            let prices = if prices_file.exists() {
                Prices::load(&prices_file)?
            } else {
                Prices::default()
            };
            let config = RunConfig {
                backend,
                shopper,
                trials,
                concurrency,
                limits: Limits::default(),
                prices,
                out_dir: Some(out.clone()),
            };
            let scripted = matches!(config.backend, Backend::Scripted | Backend::Gullible);
            let total = suite
                .scenarios
                .iter()
                .filter(|s| s.skip_reason(scripted, config.shopper.is_some()).is_none())
                .count()
                * trials;
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} trials {elapsed} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let failed = std::sync::atomic::AtomicUsize::new(0);
            let mut report = run::run_suite(&suite, &config, |id, passed| {
                if !passed {
                    failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                bar.set_message(format!(
                    "{} failed · last {id}",
                    failed.load(std::sync::atomic::Ordering::Relaxed)
                ));
                bar.inc(1);
            })
            .await?;
            bar.finish_and_clear();
            if let Some(path) = &baseline {
                let stored = read_baseline(path)?;
                report.compare_with(&stored, threshold);
            }
            write(
                &out.join("report.json"),
                &serde_json::to_vec_pretty(&report)?,
            )?;
            write(&out.join("report.html"), report::html(&report).as_bytes())?;
            if let Some(path) = &write_baseline {
                write(path, &serde_json::to_vec_pretty(&report.baseline())?)?;
            }
            print!("{}", report::terminal(&report));
            println!("\nreport: {}", out.join("report.html").display());
            telemetry.shutdown();
            let regressed = report.baseline.as_ref().is_some_and(|b| b.failed);
            Ok(if regressed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn read_baseline(path: &Path) -> anyhow::Result<Baseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading baseline {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing baseline {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
