// The migrations are embedded at compile time; without this a new migration directory would not
// rebuild the binary.
//
// The PostgreSQL variants of the tests are compiled as ignored unless PATRON_TEST_DATABASE_URL is
// set, so that `cargo test` without a server reports them as ignored instead of passing tests
// that ran nothing. Setting or clearing the variable rebuilds the crate once.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-env-changed=PATRON_TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(patron_pg)");
    let pg = std::env::var("PATRON_TEST_DATABASE_URL").is_ok_and(|v| !v.trim().is_empty());
    if pg {
        println!("cargo:rustc-cfg=patron_pg");
    }
}
