//! compose.yaml, checked without Docker: every part of the shop is a service with a health check, every dependency
//! waits on a condition, only the API and the observability UIs are published, every `TOKSHOP_*` variable is a real
//! setting (loaded through `Settings` exactly as a container would), each part listens where the others call it,
//! and the deploy/ configs (proxy, Prometheus, collector, Grafana) and the Dockerfile agree with it.
//!
//! Long because it checks every container, config file and setting the stack names; one file for the stack.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use serde_yaml_ng::{Mapping, Value};
use tokshop_platform::config::Settings;

/// The gRPC parts, each run alone by `serve --only <part>`.
const PARTS: [&str; 5] = ["identity", "catalog", "cart", "orders", "social"];
const GATEWAYS: [&str; 2] = ["gateway-a", "gateway-b"];
const SERVICES: [&str; 16] = [
    "postgres",
    "redis",
    "kafka",
    "identity",
    "catalog",
    "cart",
    "orders",
    "social",
    "gateway-a",
    "gateway-b",
    "seed",
    "proxy",
    "otel-collector",
    "jaeger",
    "prometheus",
    "grafana",
];
const DOCKERFILE: &str = "services/tokshop-bin/Dockerfile";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn yaml(path: &str) -> Value {
    let value: Value =
        serde_yaml_ng::from_str(&read(path)).unwrap_or_else(|e| panic!("parsing {path}: {e}"));
    merged(&value)
}

/// `value` with every `<<` merge key applied, nested ones included, as Compose reads it: a mapping's own keys win
/// over merged ones, and an earlier merged mapping over a later one.
fn merged(value: &Value) -> Value {
    match value {
        Value::Mapping(mapping) => {
            let mut out = Mapping::new();
            for (key, value) in mapping {
                if key.as_str() != Some("<<") {
                    out.insert(key.clone(), merged(value));
                }
            }
            let bases = match mapping.get("<<") {
                Some(Value::Sequence(bases)) => bases.clone(),
                Some(base) => vec![base.clone()],
                None => Vec::new(),
            };
            for base in &bases {
                let Value::Mapping(base) = merged(base) else {
                    panic!("a merge key must name a mapping: {base:?}");
                };
                for (key, value) in base {
                    out.entry(key).or_insert(value);
                }
            }
            Value::Mapping(out)
        }
        Value::Sequence(items) => Value::Sequence(items.iter().map(merged).collect()),
        other => other.clone(),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

struct Compose {
    services: BTreeMap<String, Value>,
    root: Value,
}

impl Compose {
    fn load() -> Self {
        let root = yaml("compose.yaml");
        let services = root["services"]
            .as_mapping()
            .expect("compose.yaml has services")
            .iter()
            .map(|(name, def)| {
                assert!(def.is_mapping(), "service {name:?} is a mapping");
                (text(name), def.clone())
            })
            .collect();
        Self { services, root }
    }

    fn service(&self, name: &str) -> &Value {
        self.services
            .get(name)
            .unwrap_or_else(|| panic!("compose.yaml has no service {name}"))
    }

    /// The containers of the tokshop image: every part, both gateways and the seed job.
    fn tokshop(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.services
            .iter()
            .filter(|(_, def)| {
                def.get("build").is_some()
                    || def
                        .get("image")
                        .is_some_and(|i| text(i).starts_with("tokshop"))
            })
            .map(|(name, def)| (name.as_str(), def))
    }

    /// A service's environment, as a map whichever form compose.yaml uses.
    fn env(&self, name: &str) -> BTreeMap<String, String> {
        match self.service(name).get("environment") {
            None => BTreeMap::new(),
            Some(Value::Mapping(vars)) => vars.iter().map(|(k, v)| (text(k), text(v))).collect(),
            Some(Value::Sequence(vars)) => vars
                .iter()
                .map(|var| {
                    let var = text(var);
                    let (k, v) = var.split_once('=').unwrap_or((&var, ""));
                    (k.to_owned(), v.to_owned())
                })
                .collect(),
            Some(other) => panic!("{name}: environment is {other:?}"),
        }
    }

    fn var(&self, name: &str, key: &str) -> String {
        self.env(name)
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("{name} does not set {key}"))
    }

    /// The command of a service's health check.
    fn check(&self, name: &str) -> Vec<String> {
        let test = &self.service(name)["healthcheck"]["test"];
        match test {
            Value::Sequence(words) => words.iter().map(text).collect(),
            Value::String(line) => vec!["CMD-SHELL".to_owned(), line.clone()],
            other => panic!("{name}: healthcheck test is {other:?}"),
        }
    }

    /// `host port -> container port` of every port a service publishes.
    fn published(&self, name: &str) -> BTreeMap<u16, u16> {
        let Some(ports) = self.service(name).get("ports") else {
            return BTreeMap::new();
        };
        ports
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: ports is a list"))
            .iter()
            .map(|port| {
                let port = text(port);
                let (host, container) = port
                    .rsplit_once(':')
                    .unwrap_or_else(|| panic!("{name}: publish {port} as host:container"));
                let host = host.rsplit(':').next().unwrap_or(host);
                (host.parse().unwrap(), container.parse().unwrap())
            })
            .collect()
    }
}

/// The port of a `host:port` address.
fn port(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("{addr:?} has no port"))
}

/// A value as a container gets it: `${VAR:-default}` and `${VAR-default}` become the default, `${VAR:?message}`,
/// `${VAR?message}` and `${VAR}` a sample value, `$$` a `$`.
fn interpolated(value: &str) -> String {
    const SAMPLE: &str = "a-sample-value-of-at-least-32-characters";
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(body) = rest.strip_prefix('{') {
            let end = body
                .find('}')
                .unwrap_or_else(|| panic!("unclosed ${{ in {value:?}"));
            let inner = &body[..end];
            let name_len = inner
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(inner.len());
            let operator = &inner[name_len..];
            let with = if let Some(default) = operator.strip_prefix(":-") {
                default
            } else if let Some(default) = operator.strip_prefix('-') {
                default
            } else if operator.is_empty() || operator.starts_with(":?") || operator.starts_with('?')
            {
                SAMPLE
            } else {
                panic!("unsupported interpolation ${{{inner}}}")
            };
            out.push_str(with);
            rest = &body[end + 1..];
        } else {
            panic!("use ${{VAR}}, not $VAR, in {value:?}");
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn every_part_of_the_shop_is_a_service() {
    let compose = Compose::load();
    let missing: Vec<_> = SERVICES
        .iter()
        .filter(|s| !compose.services.contains_key(**s))
        .collect();
    assert!(missing.is_empty(), "missing services: {missing:?}");

    let tokshop: BTreeSet<&str> = compose.tokshop().map(|(name, _)| name).collect();
    let expected: BTreeSet<&str> = PARTS
        .iter()
        .chain(&GATEWAYS)
        .copied()
        .chain(["seed"])
        .collect();
    assert_eq!(tokshop, expected, "the containers of the tokshop image");
    for (name, def) in compose.tokshop() {
        assert_eq!(text(&def["build"]["dockerfile"]), DOCKERFILE, "{name}");
        assert_eq!(text(&def["build"]["context"]), ".", "{name}");
        assert_eq!(text(&def["image"]), "tokshop:latest", "{name}: one image");
        let command: Vec<String> = def["command"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        let expected = match name {
            "seed" => "seed",
            gateway if GATEWAYS.contains(&gateway) => "serve --only gateway",
            part => &format!("serve --only {part}"),
        };
        assert!(
            command.join(" ").starts_with(expected),
            "{name} runs {command:?}"
        );
    }
}

#[test]
fn every_mounted_file_exists() {
    let compose = Compose::load();
    for (name, def) in &compose.services {
        for volume in def
            .get("volumes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let volume = text(volume);
            let source = volume.split(':').next().unwrap();
            if let Some(path) = source.strip_prefix("./") {
                assert!(
                    repo().join(path).exists(),
                    "{name} mounts {source}, which does not exist"
                );
            } else {
                assert!(
                    compose.root["volumes"].get(source).is_some(),
                    "{name} mounts the undeclared volume {source}"
                );
            }
        }
    }
}

#[test]
fn every_service_has_a_healthcheck() {
    let compose = Compose::load();
    for name in compose.services.keys() {
        let check = compose.check(name);
        assert!(
            matches!(check.first().map(String::as_str), Some("CMD" | "CMD-SHELL"))
                && check.len() > 1,
            "{name}: healthcheck test {check:?}"
        );
        assert_ne!(
            compose.service(name)["healthcheck"]
                .get("disable")
                .map(text)
                .as_deref(),
            Some("true"),
            "{name}"
        );
    }
    // The tokshop containers check themselves with the binary's own probe: no curl in the image.
    for (name, _) in compose.tokshop() {
        let check = compose.check(name);
        assert_eq!(check[..3], ["CMD", "tokshop", "probe"], "{name}: {check:?}");
    }
}

#[test]
fn every_dependency_is_a_service_and_waits_on_a_condition() {
    let compose = Compose::load();
    let mut edges: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut waits_for_the_seed = Vec::new();
    for (name, def) in &compose.services {
        let Some(depends) = def.get("depends_on") else {
            continue;
        };
        let depends = depends
            .as_mapping()
            .unwrap_or_else(|| panic!("{name}: depends_on must be the long form, with conditions"));
        for (dependency, how) in depends {
            let dependency = text(dependency);
            assert!(
                compose.services.contains_key(&dependency),
                "{name} depends on {dependency}, which is no service"
            );
            let condition = how
                .get("condition")
                .map(text)
                .unwrap_or_else(|| panic!("{name} -> {dependency}: no condition"));
            match condition.as_str() {
                "service_healthy" => {}
                "service_completed_successfully" => {
                    assert_eq!(
                        compose
                            .service(&dependency)
                            .get("restart")
                            .map(text)
                            .as_deref(),
                        Some("no"),
                        "{name} waits for {dependency} to complete, so it must be a one-off job"
                    );
                    if dependency == "seed" {
                        waits_for_the_seed.push(name.clone());
                    }
                }
                other => panic!("{name} -> {dependency}: condition {other}"),
            }
            edges.entry(name).or_default().push(dependency);
        }
    }
    assert!(
        !waits_for_the_seed.is_empty(),
        "nothing waits for the seed job to complete"
    );

    // No cycle: Compose could start none of it.
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<&str, Vec<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        assert!(
            !path.contains(&node),
            "dependency cycle: {path:?} -> {node}"
        );
        if !done.insert(node) {
            return;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for name in compose.services.keys() {
        visit(name, &edges, &mut Vec::new(), &mut done);
    }
}

#[test]
fn only_the_api_and_the_observability_uis_are_published() {
    let compose = Compose::load();
    let published: BTreeMap<&str, BTreeMap<u16, u16>> = compose
        .services
        .keys()
        .map(|name| (name.as_str(), compose.published(name)))
        .filter(|(_, ports)| !ports.is_empty())
        .collect();
    let expected: BTreeMap<&str, BTreeMap<u16, u16>> = [
        ("proxy", 8080),
        ("jaeger", 16686),
        ("prometheus", 9090),
        ("grafana", 3000),
    ]
    .into_iter()
    .map(|(name, port)| (name, BTreeMap::from([(port, port)])))
    .collect();
    assert_eq!(published, expected);
    assert!(
        read("deploy/nginx.conf").contains("listen 8080;"),
        "the proxy listens on the port it publishes"
    );
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail fixes the closure error type
fn tokshop_environment_is_made_of_real_settings() {
    let compose = Compose::load();
    for (name, _) in compose.tokshop() {
        let env: Vec<(String, String)> = compose
            .env(name)
            .into_iter()
            .map(|(key, value)| {
                assert!(
                    key.starts_with("TOKSHOP_"),
                    "{name}: {key} is not a tokshop setting"
                );
                (key, interpolated(&value))
            })
            .collect();
        figment::Jail::expect_with(|jail| {
            // Exactly the container's variables: none of this process's own (CI sets TOKSHOP_TEST_*).
            jail.clear_env();
            for (key, value) in &env {
                jail.set_env(key, value);
            }
            let settings = Settings::load(None)
                .map_err(|e| format!("{name}: its environment is not valid settings: {e:#}"))?;
            assert!(settings.database_url().starts_with("postgres://"), "{name}");
            assert!(
                settings.auth.jwt_secret.is_some(),
                "{name}: a shared signing secret"
            );
            assert_eq!(
                settings.kafka.brokers.as_deref(),
                Some("kafka:9092"),
                "{name}: events on Kafka"
            );
            assert_eq!(
                settings.otlp.endpoint.as_deref(),
                Some("http://otel-collector:4317"),
                "{name}: spans to the collector"
            );
            Ok(())
        });
    }
    // Shared limits (gateways), the shared catalog cache, the live-message doorbell (social).
    for part in GATEWAYS.iter().chain(&["catalog", "social"]) {
        assert_eq!(compose.var(part, "TOKSHOP_REDIS_URL"), "redis://redis:6379");
    }
}

#[test]
fn every_part_listens_where_the_others_call_it() {
    let compose = Compose::load();
    for part in PARTS {
        let upper = part.to_uppercase();
        let listen = compose.var(part, &format!("TOKSHOP_SERVICES_{upper}_LISTEN"));
        assert!(
            listen.starts_with("0.0.0.0:"),
            "{part} listens on {listen}: others cannot reach it"
        );
        let port = port(&listen);
        let url = format!("http://{part}:{port}");
        for (name, _) in compose.tokshop() {
            let key = format!("TOKSHOP_SERVICES_{upper}_URL");
            if let Some(called) = compose.env(name).get(&key) {
                assert_eq!(called, &url, "{name} calls {part} where it does not listen");
            } else {
                assert!(name == part, "{name} does not know where {part} is ({key})");
            }
        }
        assert_eq!(
            compose.check(part)[3],
            format!("grpc://127.0.0.1:{port}"),
            "{part} checks the port it listens on"
        );
    }
    for gateway in GATEWAYS {
        let listen = compose.var(gateway, "TOKSHOP_GATEWAY_LISTEN");
        assert!(
            listen.starts_with("0.0.0.0:"),
            "{gateway} listens on {listen}"
        );
        assert_eq!(
            compose.check(gateway)[3],
            format!("http://127.0.0.1:{}/healthz", port(&listen)),
            "{gateway}: liveness on the port it listens on"
        );
    }

    // Kafka advertises the address the parts are given; the collector receives where the parts send.
    let advertised = compose.var("kafka", "KAFKA_ADVERTISED_LISTENERS");
    assert!(
        advertised.contains("://kafka:9092"),
        "kafka advertises {advertised}"
    );
    let collector = yaml("deploy/otel-collector.yaml");
    let receiver = text(&collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]);
    assert_eq!(port(&receiver), 4317, "the collector's OTLP/gRPC receiver");
    let exporters = collector["service"]["pipelines"]["traces"]["exporters"]
        .as_sequence()
        .unwrap();
    let to_jaeger = exporters
        .iter()
        .map(|e| &collector["exporters"][text(e).as_str()]["endpoint"])
        .any(|endpoint| endpoint.as_str() == Some("jaeger:4317"));
    assert!(to_jaeger, "the collector sends traces to Jaeger");
    assert_eq!(compose.var("jaeger", "COLLECTOR_OTLP_ENABLED"), "true");
}

#[test]
fn prometheus_scrapes_every_part() {
    let compose = Compose::load();
    let prometheus = yaml("deploy/prometheus.yml");
    let targets: BTreeSet<String> = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|job| job["static_configs"].as_sequence().unwrap().clone())
        .flat_map(|config| config["targets"].as_sequence().unwrap().clone())
        .map(|target| text(&target))
        .collect();
    for (name, _) in compose.tokshop().filter(|(name, _)| *name != "seed") {
        let key = if GATEWAYS.contains(&name) {
            "TOKSHOP_GATEWAY_METRICS_LISTEN"
        } else {
            "TOKSHOP_GRPC_METRICS_LISTEN"
        };
        let listen = compose.var(name, key);
        assert!(
            listen.starts_with("0.0.0.0:"),
            "{name} serves metrics on {listen}"
        );
        let target = format!("{name}:{}", port(&listen));
        assert!(
            targets.contains(&target),
            "Prometheus does not scrape {target}"
        );
    }
    for target in &targets {
        let host = target.split(':').next().unwrap();
        assert!(
            host == "localhost" || compose.services.contains_key(host),
            "Prometheus scrapes {target}, which is no service"
        );
    }
    // The collector's own metrics, where its telemetry serves them.
    let collector = yaml("deploy/otel-collector.yaml");
    let reader = &collector["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"];
    assert_eq!(text(&reader["host"]), "0.0.0.0");
    assert!(targets.contains(&format!("otel-collector:{}", text(&reader["port"]))));
}

#[test]
fn the_proxy_spreads_requests_over_both_gateways_and_streams_events() {
    let compose = Compose::load();
    let nginx = read("deploy/nginx.conf");
    let mounts = compose.service("proxy")["volumes"].as_sequence().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| text(m).starts_with("./deploy/nginx.conf:"))
    );
    for gateway in GATEWAYS {
        let port = port(&compose.var(gateway, "TOKSHOP_GATEWAY_LISTEN"));
        assert!(
            nginx.contains(&format!("server {gateway}:{port} ")),
            "the proxy does not send requests to {gateway}:{port}"
        );
    }
    // Server-sent events: chat turns and the direct-message stream.
    for location in [
        "location /api/v1/chat/ {",
        "location = /api/v1/messages/stream {",
    ] {
        let block = nginx
            .split_once(location)
            .unwrap_or_else(|| panic!("no `{location}` in the proxy config"))
            .1
            .split('}')
            .next()
            .unwrap();
        assert!(
            block.contains("proxy_buffering off;"),
            "{location} is buffered"
        );
    }
    // The gateways believe X-Forwarded-For from the proxy, and from nothing else.
    let proxy_ip = text(&compose.service("proxy")["networks"]["default"]["ipv4_address"]);
    for gateway in GATEWAYS {
        let trusted: Vec<String> =
            serde_json::from_str(&compose.var(gateway, "TOKSHOP_GATEWAY_TRUSTED_PROXIES")).unwrap();
        assert_eq!(trusted, std::slice::from_ref(&proxy_ip), "{gateway}");
    }
}

#[test]
fn the_image_builds_with_kafka_and_runs_as_a_non_root_user() {
    let dockerfile = read(DOCKERFILE);
    assert!(
        dockerfile.contains("cargo build --release --locked -p tokshop --features kafka"),
        "the image is built with the kafka feature"
    );
    let runtime = dockerfile.rsplit("\nFROM ").next().unwrap();
    assert!(
        dockerfile.matches("\nFROM ").count() >= 2,
        "a multi-stage build"
    );
    let user = runtime
        .lines()
        .filter_map(|line| line.trim().strip_prefix("USER "))
        .next_back()
        .expect("the runtime stage sets USER");
    let user = user.split(':').next().unwrap().trim();
    assert!(
        user != "root" && user != "0",
        "the runtime stage runs as {user}"
    );
    let dockerignore = read(".dockerignore");
    let ignored: Vec<&str> = dockerignore.lines().map(str::trim).collect();
    for path in ["target/", ".git/", "data/"] {
        assert!(
            ignored.contains(&path),
            ".dockerignore leaves {path} in the build context"
        );
    }
}

/// Metric names registered in a source file: the name after `Opts::new(` or a helper's `registry,`.
fn registered_metrics(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for marker in ["Opts::new(", "registry,"] {
        for (at, _) in source.match_indices(marker) {
            let after = source[at + marker.len()..].trim_start();
            if let Some(literal) = after.strip_prefix('"') {
                let name = literal.split('"').next().unwrap();
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// The metric names in a PromQL expression: identifiers outside strings, label matchers and ranges that are not
/// functions, keywords, or the label names of a grouping (`by (le, route)`).
fn metrics_in(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: [&str; 11] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "and",
        "or",
        "unless",
    ];
    // Tokens outside strings, `{...}` and `[...]`: identifiers (numbers included) and single punctuation.
    let mut tokens: Vec<String> = Vec::new();
    let (mut braces, mut brackets, mut in_string) = (0, 0, false);
    let mut word = String::new();
    for c in expr.chars() {
        let inside = in_string || braces > 0 || brackets > 0;
        if !inside && (c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '.') {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '{' => braces += 1,
            '}' => braces -= 1,
            '[' => brackets += 1,
            ']' => brackets -= 1,
            _ if braces > 0 || brackets > 0 || c.is_whitespace() => {}
            c => tokens.push(c.to_string()),
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        let next = tokens.get(i + 1).map(String::as_str);
        let identifier =
            token.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':');
        if ["by", "without", "on", "ignoring"].contains(&token) && next == Some("(") {
            // Skip the label list.
            while i < tokens.len() && tokens[i] != ")" {
                i += 1;
            }
        } else if identifier
            // A function, or an aggregation with its grouping first (`sum by (route) (...)`).
            && !matches!(next, Some("(" | "by" | "without"))
            && !KEYWORDS.contains(&token)
        {
            names.insert(token.to_owned());
        }
        i += 1;
    }
    names
}

#[test]
fn the_dashboard_uses_only_metrics_the_code_exports() {
    let compose = Compose::load();
    let exported: BTreeSet<String> = [
        "services/gateway/src/metrics.rs",
        "services/platform-lib/src/metrics.rs",
    ]
    .iter()
    .flat_map(|path| registered_metrics(&read(path)))
    .collect();
    assert!(
        exported.contains("http_requests_total") && exported.contains("tokshop_event_consumer_lag")
    );
    let known = |name: &str| {
        exported.contains(name)
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix)
                    .is_some_and(|base| exported.contains(base))
            })
    };

    let datasource = yaml("deploy/grafana/provisioning/datasources/prometheus.yaml");
    let uid = text(&datasource["datasources"][0]["uid"]);
    assert_eq!(
        text(&datasource["datasources"][0]["url"]),
        "http://prometheus:9090"
    );
    let provider = yaml("deploy/grafana/provisioning/dashboards/tokshop.yaml");
    let path = text(&provider["providers"][0]["options"]["path"]);
    let mounts = compose.service("grafana")["volumes"].as_sequence().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| text(m) == format!("./deploy/grafana/dashboards:{path}:ro")),
        "Grafana loads dashboards from {path}, where deploy/grafana/dashboards is not mounted"
    );

    let dashboard: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/dashboards/tokshop.json")).unwrap();
    let panels: Vec<&serde_json::Value> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] != "row")
        .collect();
    let mut used = BTreeSet::new();
    for panel in &panels {
        let title = panel["title"].as_str().unwrap();
        assert_eq!(panel["datasource"]["uid"], uid.as_str(), "{title}");
        let description = panel["description"].as_str().unwrap_or_default();
        for target in panel["targets"].as_array().unwrap() {
            assert_eq!(target["datasource"]["uid"], uid.as_str(), "{title}");
            for metric in metrics_in(target["expr"].as_str().unwrap()) {
                // The cache is being built: its counter may be named ahead, if the panel says so.
                let ahead = metric == "tokshop_cache_requests_total"
                    && description.contains("tokshop_cache_requests_total")
                    && description.contains("being built");
                assert!(
                    known(&metric) || ahead,
                    "panel {title:?} uses {metric}, which no code exports"
                );
                used.insert(metric);
            }
        }
    }
    let titles: Vec<String> = panels
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_lowercase())
        .collect();
    for topic in [
        "route",
        "agent turns",
        "tool calls",
        "tool latency",
        "tool errors",
        "tokens",
        "checkouts",
        "payments",
        "relay lag",
        "consumer lag",
        "cache hit ratio",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(topic)),
            "no panel on {topic}: {titles:?}"
        );
    }
    for metric in [
        "http_request_duration_seconds_bucket",
        "agent_tool_seconds_bucket",
        "tokshop_event_relay_lag_seconds",
        "tokshop_event_consumer_lag",
    ] {
        assert!(used.contains(metric), "no panel reads {metric}");
    }
}

#[test]
fn promql_metric_names_are_found() {
    let names = metrics_in(
        r#"histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{status=~"5.."}[5m]))) / on (x) foo_total"#,
    );
    assert_eq!(
        names,
        BTreeSet::from([
            "http_request_duration_seconds_bucket".to_owned(),
            "foo_total".to_owned()
        ])
    );
}

#[test]
fn interpolation_uses_defaults_and_samples() {
    assert_eq!(interpolated("${MODE:-demo}"), "demo");
    assert_eq!(interpolated("a$${B}"), "a${B}");
    assert!(interpolated("${SECRET:?set it}").len() >= 32);
}
