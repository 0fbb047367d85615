//! Every part of tokshop as its own process of the real binary on loopback, sharing one fresh PostgreSQL database:
//! what the topology test and the parts benchmark start. Included by both (`mod processes;`, and by path from
//! benches/).

#![allow(dead_code)]

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const SECRET: &str = "topology-test-secret-of-at-least-32-bytes";
/// The gRPC services, each its own process.
pub const SERVICES: [&str; 5] = ["identity", "catalog", "cart", "orders", "social"];
pub const ADMIN: (&str, &str) = ("root_admin", "admin-password-1");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `addr` accepts connections within two seconds.
fn listening(addr: &str) -> bool {
    addr.parse()
        .ok()
        .and_then(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok())
        .is_some()
}

/// A process of the topology; killed when dropped, so none outlives a failing test.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGKILL: no shutdown path runs, as when a machine dies.
pub fn kill(mut process: Process) {
    process.0.kill().unwrap();
    process.0.wait().unwrap();
}

/// One part's command line and environment, kept so it can be started again after a kill.
pub struct Part {
    pub only: &'static str,
    pub env: HashMap<String, String>,
    /// The address it serves on: a gRPC port, or the REST port of a gateway.
    pub addr: String,
}

impl Part {
    pub fn start(&self) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokshop"))
            .args(["serve", "--only", self.only])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&self.env)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tokshop");
        let stdout = child.stdout.take().unwrap();
        // Drain stdout so the child never blocks on a full pipe; with TOPOLOGY_LOG set, show it.
        let echo = std::env::var_os("TOPOLOGY_LOG").is_some();
        let only = self.only;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if echo {
                    eprintln!("[{only}] {line}");
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(90);
        while !listening(&self.addr) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{} exited before it listened: {status}", self.only);
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {}",
                self.only,
                self.addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Process(child)
    }
}

/// A fresh database, a port for every service and for each name in `extra_ports`, and the environment all parts
/// share.
pub struct Topology {
    pub ports: HashMap<&'static str, u16>,
    pub env: HashMap<String, String>,
    /// The fresh database's URL.
    database: String,
    _data: tempfile::TempDir,
}

impl Topology {
    /// `None` (after saying the test skipped) when no PostgreSQL answers and this is not CI.
    pub async fn new(extra_ports: &[&'static str], extra_env: &[(&str, String)]) -> Option<Self> {
        let database = match tokshop_platform::testing::create_postgres_database().await {
            Ok(url) => url,
            Err(err) => {
                assert!(std::env::var_os("CI").is_none(), "{err:#}");
                eprintln!("skipped: {err:#}");
                return None;
            }
        };
        let data = tempfile::tempdir().unwrap();
        let ports: HashMap<&'static str, u16> = SERVICES
            .iter()
            .chain(extra_ports)
            .map(|p| (*p, free_port()))
            .collect();
        let mut env: HashMap<String, String> = [
            ("TOKSHOP_DATABASE_URL", database.clone()),
            ("TOKSHOP_DATA_DIR", data.path().display().to_string()),
            ("TOKSHOP_MODE", "demo".to_owned()),
            ("TOKSHOP_AUTH_JWT_SECRET", SECRET.to_owned()),
            ("TOKSHOP_SEED_DEMO", "false".to_owned()),
            (
                "TOKSHOP_LOG_LEVEL",
                std::env::var("TOPOLOGY_LOG").unwrap_or("warn".into()),
            ),
            ("TOKSHOP_ADMIN_USERNAME", ADMIN.0.to_owned()),
            ("TOKSHOP_ADMIN_EMAIL", "admin@tokshop.example".to_owned()),
            ("TOKSHOP_ADMIN_PASSWORD", ADMIN.1.to_owned()),
        ]
        .into_iter()
        .chain(extra_env.iter().cloned())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for service in SERVICES {
            let port = ports[service];
            let upper = service.to_uppercase();
            env.insert(
                format!("TOKSHOP_SERVICES_{upper}_LISTEN"),
                format!("127.0.0.1:{port}"),
            );
            env.insert(
                format!("TOKSHOP_SERVICES_{upper}_URL"),
                format!("http://127.0.0.1:{port}"),
            );
        }
        Some(Self {
            ports,
            env,
            database,
            _data: data,
        })
    }

    /// The part `only`, serving on the port named `port_of`.
    pub fn part(&self, only: &'static str, port_of: &str) -> Part {
        let addr = format!("127.0.0.1:{}", self.ports[port_of]);
        let mut env = self.env.clone();
        if only == "gateway" {
            env.insert("TOKSHOP_GATEWAY_LISTEN".into(), addr.clone());
        }
        Part { only, env, addr }
    }

    /// Starts every service, one at a time (each migrates its own tables in the shared database), the orders
    /// service with `orders_env` added.
    pub fn start_services(&self, orders_env: &[(&str, String)]) -> HashMap<&'static str, Process> {
        SERVICES
            .iter()
            .map(|service| {
                let mut part = self.part(service, service);
                if *service == "orders" {
                    for (key, value) in orders_env {
                        part.env.insert((*key).to_owned(), value.clone());
                    }
                }
                (*service, part.start())
            })
            .collect()
    }

    /// Drops the database (its processes must have stopped).
    pub async fn finish(self) {
        tokshop_platform::testing::drop_postgres_database(&self.database)
            .await
            .unwrap();
    }
}
