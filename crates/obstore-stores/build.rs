//! Records the version and source of the `object_store` crate this build links, from Cargo.lock.

fn main() {
    // Read at run time (not `env!`): a build script compiled in another checkout is reused by Cargo.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let lock_path = std::path::Path::new(&manifest_dir).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    let mut version = String::from("unknown");
    let mut source = String::from("unknown");
    for block in lock.split("[[package]]") {
        if block.lines().any(|l| l.trim() == "name = \"object_store\"") {
            for line in block.lines() {
                let line = line.trim();
                if let Some(v) = line.strip_prefix("version = ") {
                    version = v.trim_matches('"').to_string();
                }
                if let Some(s) = line.strip_prefix("source = ") {
                    source = s.trim_matches('"').to_string();
                }
            }
        }
    }
    println!("cargo:rustc-env=OBJECT_STORE_VERSION={version}");
    println!("cargo:rustc-env=OBJECT_STORE_SOURCE={source}");
}
