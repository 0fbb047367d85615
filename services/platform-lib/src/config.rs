//! Typed settings, layered: built-in defaults, then an optional TOML file, then `TOKSHOP_*` environment variables.
//!
//! Environment keys name a section and a field joined by `_`: `TOKSHOP_DATABASE_URL` sets `database.url`,
//! `TOKSHOP_SERVICES_CATALOG_URL` sets `services.catalog.url`. The embedded default needs no file at all.
//!
//! One file on purpose: every setting, its default and its environment key in one place, read top to bottom by
//! an operator.

use std::{fmt, net::SocketAddr, path::PathBuf};

use anyhow::Context;
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

/// A string that never prints in `Debug` or `Display`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// What a running shop is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Demo accounts and shop, the sandbox card provider, a generated signing secret when none is configured.
    Demo,
    /// None of that: a configured signing secret is required and no payment provider pretends to move money.
    Production,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the embedded default keeps its SQLite file, generated secrets and media.
    pub data_dir: PathBuf,
    /// `demo` or `production`; unset: demo without a database URL (the embedded default), production with one.
    pub mode: Option<Mode>,
    pub database: DatabaseSettings,
    pub gateway: GatewaySettings,
    pub services: ServicesSettings,
    pub grpc: GrpcSettings,
    pub auth: AuthSettings,
    pub admin: AdminSettings,
    pub seed: SeedSettings,
    pub log: LogSettings,
    pub otlp: OtlpSettings,
    pub shop: ShopSettings,
    pub orders: OrderSettings,
    pub llm: LlmSettings,
    pub agent: AgentSettings,
    pub social: SocialSettings,
    pub kafka: KafkaSettings,
    pub redis: RedisSettings,
    pub cache: CacheSettings,
}

impl Settings {
    /// Whether this is a demo shop: `mode` when set, else the embedded default (no database URL).
    pub fn demo(&self) -> bool {
        match self.mode {
            Some(Mode::Demo) => true,
            Some(Mode::Production) => false,
            None => self.database.url.is_none(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            mode: None,
            database: DatabaseSettings::default(),
            gateway: GatewaySettings::default(),
            services: ServicesSettings::default(),
            grpc: GrpcSettings::default(),
            auth: AuthSettings::default(),
            admin: AdminSettings::default(),
            seed: SeedSettings::default(),
            log: LogSettings::default(),
            otlp: OtlpSettings::default(),
            shop: ShopSettings::default(),
            orders: OrderSettings::default(),
            llm: LlmSettings::default(),
            agent: AgentSettings::default(),
            social: SocialSettings::default(),
            kafka: KafkaSettings::default(),
            redis: RedisSettings::default(),
            cache: CacheSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://...` or `sqlite://...`; unset means `<data_dir>/tokshop.db`.
    pub url: Option<Secret>,
    pub max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySettings {
    pub listen: SocketAddr,
    /// Origins allowed by CORS; `["*"]` allows any (tokens travel in headers, not cookies).
    pub cors_origins: Vec<String>,
    /// Sustained requests per second allowed per client address; 0 disables the limit.
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    /// Longest a request may take until its response starts; 0 disables the deadline.
    pub request_timeout_secs: u64,
    /// The same for media uploads, whose response starts only once the whole file has arrived.
    pub upload_timeout_secs: u64,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Serve `/metrics` on this address instead of the public listener (which then answers it 404).
    pub metrics_listen: Option<SocketAddr>,
    /// Proxies (addresses or CIDR networks) whose `X-Forwarded-For` names the client. Empty: the peer address is
    /// the client and the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Wrong passwords allowed per login name within the window before sign-ins for it get 429; 0: no limit.
    pub login_failures_per_account: u32,
    /// Wrong passwords allowed per client address within the window; 0: no limit.
    pub login_failures_per_ip: u32,
    pub login_failure_window_secs: u64,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cors_origins: vec!["*".into()],
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            request_timeout_secs: 30,
            upload_timeout_secs: 600,
            body_limit_bytes: 1024 * 1024,
            metrics_listen: None,
            trusted_proxies: Vec::new(),
            login_failures_per_account: 10,
            login_failures_per_ip: 50,
            login_failure_window_secs: 15 * 60,
        }
    }
}

/// Where each gRPC service listens (when run here) and where others reach it (when run elsewhere).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesSettings {
    pub identity: ServiceEndpoint,
    pub catalog: ServiceEndpoint,
    pub cart: ServiceEndpoint,
    /// Orders, coupons and payments: one service over one database, so money and order state change together.
    pub orders: ServiceEndpoint,
    /// Follows, likes, favorites, comments, posts with media, feeds and direct messages.
    pub social: ServiceEndpoint,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceEndpoint {
    /// Address to bind when this process runs the service; port 0 picks a free one.
    pub listen: SocketAddr,
    /// `http://host:port` of the service when another process runs it.
    pub url: Option<String>,
}

impl Default for ServiceEndpoint {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            url: None,
        }
    }
}

/// What every gRPC service serves beside itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcSettings {
    /// Serve gRPC server reflection (the full API surface, for grpcurl and friends). Off unless asked for: the
    /// services are internal, and a map of every method helps nobody outside.
    pub reflection: bool,
    /// Where a process running gRPC parts without the gateway serves its metrics (`GET /metrics`: event relay and
    /// consumer lag). Unset: not served (a process with the gateway serves them on the gateway's `/metrics`).
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC key for access tokens, shared by every service. Unset: generated once into `<data_dir>/jwt.secret`.
    pub jwt_secret: Option<Secret>,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub issuer: String,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 60 * 60,
            issuer: "tokshop".into(),
        }
    }
}

/// An administrator account created at start-up if it does not exist yet.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedSettings {
    /// Seed the demo catalog and accounts on start (idempotent).
    pub demo: bool,
    pub products: usize,
}

impl Default for SeedSettings {
    fn default() -> Self {
        Self {
            demo: true,
            products: 200,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log pipelines.
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info,tokshop=debug`; `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

/// OpenTelemetry trace export. Spans go to an OTLP/gRPC collector only when `endpoint` is set
/// (`TOKSHOP_OTLP_ENDPOINT=http://collector:4317`); W3C trace context travels in gRPC metadata either way.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpSettings {
    /// `http://host:port` of an OTLP/gRPC receiver.
    pub endpoint: Option<String>,
    /// `service.name` on every exported span; a process serving one part alone appends the part's name.
    pub service_name: String,
}

impl Default for OtlpSettings {
    fn default() -> Self {
        Self {
            endpoint: None,
            service_name: "tokshop".into(),
        }
    }
}

/// Events on Kafka. Unset `brokers` keeps events in-process (one process, or parts sharing one database that each
/// consume their own events); set, the relay publishes to Kafka and consumers join consumer groups. Needs a build
/// with the `kafka` feature.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// `host:port[,host:port...]` (TOKSHOP_KAFKA_BROKERS).
    pub brokers: Option<String>,
    /// Topic and consumer-group names start with this: `tokshop.order`, `tokshop.dlq`, `tokshop.orders.sales_counts`.
    pub topic_prefix: String,
    /// Partitions of each topic created at start-up (existing topics are left as they are).
    pub partitions: i32,
    /// Replicas of each topic created at start-up.
    pub replication: i32,
    /// This replica's stable name (a pod or host name), for static consumer-group membership: a replica that
    /// restarts under the same name takes its partitions back at once instead of waiting out a rebalance. Unset:
    /// dynamic membership. Must differ between replicas running at the same time.
    pub instance_id: Option<String>,
    /// Tries of a failing handler before its event goes to the dead-letter topic.
    pub max_attempts: u32,
    /// The pause after the first failed try; it doubles with each further try, up to 30 s.
    pub retry_backoff_ms: u64,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: None,
            topic_prefix: "tokshop".into(),
            partitions: 6,
            replication: 1,
            instance_id: None,
            max_attempts: 5,
            retry_backoff_ms: 200,
        }
    }
}

/// Gateway limits shared by every gateway replica. Unset `url` keeps them in each process's memory (the embedded
/// default); set, the per-client rate limit and the login failure counts live in Redis, and a gateway that cannot
/// reach Redis in `timeout_ms` limits on its own until it can again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://[user:password@]host:port[/db]` (TOKSHOP_REDIS_URL); TLS (`rediss://`) is not built in.
    pub url: Option<Secret>,
    /// Every key starts with this and a colon, so shops or environments can share one server.
    pub key_prefix: String,
    /// Longest a connection attempt or one command may take before the gateway limits on its own instead.
    pub timeout_ms: u64,
    /// Sustained requests per second allowed per signed-in user, over all their addresses and all replicas;
    /// 0 disables the per-user limit. Applies only with `url` set.
    pub user_rate_limit_per_second: u32,
    pub user_rate_limit_burst: u32,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "tokshop".into(),
            timeout_ms: 100,
            user_rate_limit_per_second: 20,
            user_rate_limit_burst: 40,
        }
    }
}

/// The read-through cache of hot catalog reads (products, variants, cards, categories). In Redis when `redis.url`
/// is set (shared by every catalog replica), else in the catalog process's memory. Writes invalidate what they
/// change; `ttl_seconds` bounds how long anything missed by an invalidation can be served.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Off: every read goes to the database.
    pub enabled: bool,
    pub ttl_seconds: u64,
    /// How long which products match a search is kept (the products themselves are read through the product
    /// cache, so what a result shows is current); 0 runs every search on the database.
    pub search_ttl_seconds: u64,
    /// Most entries the in-process cache holds per kind of value (not used with Redis).
    pub local_capacity: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_seconds: 60,
            search_ttl_seconds: 5,
            local_capacity: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShopSettings {
    /// The currency the catalog is priced in by default and price filters use.
    pub currency: String,
}

impl Default for ShopSettings {
    fn default() -> Self {
        Self {
            currency: "USD".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderSettings {
    /// An unpaid order is cancelled (stock and coupon given back) this long after checkout.
    pub unpaid_ttl_secs: i64,
    /// A delivered order completes by itself this long after delivery unless the buyer confirmed earlier.
    pub auto_complete_secs: i64,
    /// Flat shipping fee per order, in the order currency's minor units.
    pub shipping_fee_minor: i64,
    /// Orders whose goods (after discount) reach this amount ship free; 0 makes every order ship free.
    pub free_shipping_from_minor: i64,
    /// How often the background sweeper looks for expired and due orders.
    pub sweep_interval_ms: u64,
    /// Most a shopper may add to their wallet in 24 hours, per currency, in minor units.
    pub top_up_daily_limit_minor: i64,
    /// Most orders one shopper may hold unpaid at once (stock they reserve and do not pay for is stock others
    /// cannot buy).
    pub max_unpaid_orders: i64,
    /// Most units of one variant one shopper may hold in unpaid orders.
    pub max_unpaid_units_per_variant: i64,
}

impl Default for OrderSettings {
    fn default() -> Self {
        Self {
            unpaid_ttl_secs: 15 * 60,
            auto_complete_secs: 7 * 24 * 60 * 60,
            shipping_fee_minor: 500,
            free_shipping_from_minor: 5000,
            sweep_interval_ms: 1000,
            top_up_daily_limit_minor: 100_000,
            max_unpaid_orders: 5,
            max_unpaid_units_per_variant: 20,
        }
    }
}

/// The shopping agent's model: an OpenAI-compatible chat-completions endpoint when `base_url` and `model` are set
/// (`TOKSHOP_LLM_BASE_URL`, `TOKSHOP_LLM_API_KEY`, `TOKSHOP_LLM_MODEL`), otherwise the built-in rule planner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmSettings {
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
    pub model: Option<String>,
    pub timeout_secs: u64,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            api_key: None,
            model: None,
            timeout_secs: 60,
        }
    }
}

/// The shopping agent: its confirmation guard and its limits. A per-user limit of 0 is no limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentSettings {
    /// How long a proposed consequential action waits for the shopper's approval before it expires.
    pub pending_ttl_secs: i64,
    /// Longest one turn may take, model calls included: then the call in flight is abandoned and the turn ends
    /// with a clean reply. The chat endpoint's deadline is this plus a short grace, not `gateway.request_timeout_secs`.
    pub turn_timeout_secs: u64,
    /// Most earlier messages the model is shown each call (the current turn is always shown whole).
    pub history_messages: usize,
    /// Turns one user may start per minute.
    pub turns_per_minute: u32,
    /// Model tokens one user's turns may use per UTC day.
    pub tokens_per_day: u64,
    /// Turns one user may have running at once (over all their conversations).
    pub concurrent_turns: u32,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self {
            pending_ttl_secs: 600,
            turn_timeout_secs: 90,
            history_messages: 60,
            turns_per_minute: 20,
            tokens_per_day: 1_000_000,
            concurrent_turns: 2,
        }
    }
}

/// The social service: content policy, media storage and upload limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocialSettings {
    /// Words (matched case-insensitively as whole words) that comments, post text and messages may not contain.
    pub blocked_words: Vec<String>,
    /// Folder of the local media store; `<data_dir>/media` when unset. Ignored when `s3_bucket` is set.
    pub media_dir: Option<PathBuf>,
    /// Largest image upload, in bytes.
    pub max_image_bytes: u64,
    /// Largest video upload, in bytes.
    pub max_video_bytes: u64,
    /// The ffmpeg program that extracts video cover frames; a placeholder cover is used when it cannot run.
    pub ffmpeg: String,
    /// Wall-clock seconds one cover extraction may take before ffmpeg is killed.
    pub ffmpeg_timeout_secs: u64,
    /// Address space ffmpeg may map (`RLIMIT_AS`), in bytes; 0: unlimited.
    pub ffmpeg_memory_bytes: u64,
    /// CPU seconds ffmpeg may use (`RLIMIT_CPU`); 0: unlimited.
    pub ffmpeg_cpu_secs: u64,
    /// Most bytes of media one user may have stored (each distinct file they uploaded counted once); 0: no quota.
    pub upload_quota_bytes: u64,
    /// Most distinct files one user may upload in 24 hours; 0: no limit.
    pub uploads_per_day: u64,
    /// Seconds uploaded media may stay unused by any post before the sweep deletes it.
    pub media_gc_after_secs: u64,
    /// Seconds between sweeps for unused media; 0: never sweep.
    pub media_gc_interval_secs: u64,
    /// S3-compatible storage instead of the local folder, when a bucket is set.
    pub s3_bucket: Option<String>,
    /// `https://host[:port]` of the S3-compatible endpoint (path-style requests).
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_access_key: Option<String>,
    pub s3_secret_key: Option<Secret>,
}

impl Default for SocialSettings {
    fn default() -> Self {
        Self {
            blocked_words: Vec::new(),
            media_dir: None,
            max_image_bytes: 10 * 1024 * 1024,
            max_video_bytes: 50 * 1024 * 1024,
            ffmpeg: "ffmpeg".into(),
            ffmpeg_timeout_secs: 30,
            ffmpeg_memory_bytes: 1024 * 1024 * 1024,
            ffmpeg_cpu_secs: 20,
            upload_quota_bytes: 1024 * 1024 * 1024,
            uploads_per_day: 200,
            media_gc_after_secs: 24 * 60 * 60,
            media_gc_interval_secs: 60 * 60,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key: None,
            s3_secret_key: None,
        }
    }
}

/// Sections whose fields may be set from the environment; `services` nests one level deeper.
const SECTIONS: &[&str] = &[
    "database", "gateway", "grpc", "auth", "admin", "seed", "log", "otlp", "shop", "orders", "llm",
    "agent", "social", "kafka", "redis", "cache",
];
const SERVICES: &[&str] = &["identity", "catalog", "cart", "orders", "social"];

/// `TOKSHOP_*` variables that are not settings: the config file path and test/bench knobs.
const NOT_SETTINGS: [&str; 5] = [
    "CONFIG",
    "TEST_POSTGRES_URL",
    "TEST_KAFKA_BROKERS",
    "TEST_REDIS_URL",
    "BENCH_PRODUCTS",
];

/// `database_url` -> `database.url`, `services_catalog_url` -> `services.catalog.url`, `data_dir` unchanged.
fn env_key_to_path(key: &str) -> String {
    if let Some(rest) = key.strip_prefix("services_") {
        for service in SERVICES {
            if let Some(field) = rest.strip_prefix(service).and_then(|r| r.strip_prefix('_')) {
                return format!("services.{service}.{field}");
            }
        }
    }
    for section in SECTIONS {
        if let Some(field) = key.strip_prefix(section).and_then(|r| r.strip_prefix('_')) {
            return format!("{section}.{field}");
        }
    }
    key.to_owned()
}

impl Settings {
    /// Defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(
            Env::prefixed("TOKSHOP_")
                .ignore(&NOT_SETTINGS)
                .map(|key| env_key_to_path(&key.as_str().to_ascii_lowercase()).into())
                .lowercase(false),
        );
        figment.extract().context("reading settings")
    }

    /// The database URL in force: the configured one, or the SQLite file under the data dir.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", self.data_dir.join("tokshop.db").display()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail fixes the closure error type
mod tests {
    use super::*;

    #[test]
    fn env_keys_map_to_nested_fields() {
        assert_eq!(env_key_to_path("database_url"), "database.url");
        assert_eq!(
            env_key_to_path("services_catalog_url"),
            "services.catalog.url"
        );
        assert_eq!(
            env_key_to_path("gateway_rate_limit_burst"),
            "gateway.rate_limit_burst"
        );
        assert_eq!(env_key_to_path("redis_url"), "redis.url");
        assert_eq!(env_key_to_path("data_dir"), "data_dir");
        assert_eq!(env_key_to_path("mode"), "mode");
    }

    #[test]
    fn a_database_url_means_production_unless_the_mode_says_otherwise() {
        let mut settings = Settings::default();
        assert!(settings.demo(), "the embedded default is a demo shop");
        settings.database.url = Some(Secret::new("postgres://db/tokshop"));
        assert!(!settings.demo());
        settings.mode = Some(Mode::Demo);
        assert!(settings.demo());
        settings.database.url = None;
        settings.mode = Some(Mode::Production);
        assert!(!settings.demo());
        figment::Jail::expect_with(|jail| {
            jail.set_env("TOKSHOP_MODE", "production");
            let loaded = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(loaded.mode, Some(Mode::Production));
            jail.set_env("TOKSHOP_MODE", "staging");
            assert!(Settings::load(None).is_err(), "an unknown mode is refused");
            Ok(())
        });
    }

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "tokshop.toml",
                "[gateway]\nlisten = \"127.0.0.1:9000\"\nrate_limit_burst = 7\n",
            )?;
            jail.set_env("TOKSHOP_GATEWAY_RATE_LIMIT_BURST", "9");
            jail.set_env("TOKSHOP_DATABASE_URL", "postgres://db/tokshop");
            jail.set_env("TOKSHOP_CONFIG", "tokshop.toml");
            let settings = Settings::load(Some(std::path::Path::new("tokshop.toml")))
                .map_err(|e| e.to_string())?;
            assert_eq!(settings.gateway.listen.port(), 9000);
            assert_eq!(settings.gateway.rate_limit_burst, 9);
            assert_eq!(settings.database_url(), "postgres://db/tokshop");
            assert!(!format!("{settings:?}").contains("postgres://db"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TOKSHOP_GATEWAY_LISTN", "127.0.0.1:1");
            assert!(
                Settings::load(None).is_err(),
                "a misspelt setting must not be ignored"
            );
            Ok(())
        });
    }

    #[test]
    fn defaults_need_no_file() {
        figment::Jail::expect_with(|_| {
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(settings.database_url().starts_with("sqlite://"));
            assert_eq!(settings.auth.access_ttl_secs, 900);
            Ok(())
        });
    }
}
