//! Compiles every `.proto` in this folder with a vendored `protoc`, so a machine with only the Rust toolchain builds.

use std::path::PathBuf;

const PROTOS: [&str; 6] = [
    "identity.proto",
    "catalog.proto",
    "cart.proto",
    "order.proto",
    "payment.proto",
    "social.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("tokshop_descriptor.bin"))
        .compile_with_config(config, &PROTOS, &["."])?;
    Ok(())
}
