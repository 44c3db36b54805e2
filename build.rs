// The migrations are embedded at compile time; without this a new migration directory would not
// rebuild the binary.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
