//! Shared by the harness's test binaries: an evals folder in a temporary directory, and a small lantern shop.
#![allow(dead_code)] // each test binary uses some of it

use std::path::Path;

/// An evals folder holding `fixture` as `fixtures/shop.yaml` and suite `t` with `scenarios` (file stem -> YAML).
pub fn evals_dir(fixture: &str, scenarios: &[(&str, &str)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    write(root.path(), "fixtures/shop.yaml", fixture);
    std::fs::create_dir_all(root.path().join("suites/t")).unwrap();
    for (name, yaml) in scenarios {
        write(root.path(), &format!("suites/t/{name}.yaml"), yaml);
    }
    root
}

/// Writes (or overwrites) one file below `root`.
pub fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A shopper with a wallet and an address, a seller, and one lantern in stock.
pub const LANTERN_SHOP: &str = r#"
users:
  - username: ana
    wallet: "100.00"
    addresses: [{recipient: Ana, line1: 1 Main St, city: Lisbon, postal_code: "1000", country: PT}]
sellers: [{username: shopco, shop: Shop Co}]
categories: [{slug: camping, name: Camping}]
products:
  - key: lantern
    seller: shopco
    category: camping
    title: Solo Lantern
    description: A single LED lantern.
    variants: [{key: lantern-one, price: "20.00", stock: 1}]
"#;

/// Buying the only lantern: passes only if the trial's shop is its own.
pub const LAST_LANTERN: &str = r#"
id: last-lantern
purpose: Buy the only lantern in stock.
tags: [checkout]
shopper:
  turns:
    - say: find the solo lantern
    - say: add the first one to my cart
    - say: check out
    - say: "yes"
expect:
  state:
    orders: {count: 1, each: [{status: pending_payment, items: [{variant: lantern-one, quantity: 1}]}]}
    stock: {lantern-one: 0}
    cart: []
"#;
