//! `cargo run -p ialp-types` (`npm run gen:types`): writes the TypeScript
//! declarations of the core's surface to `packages/ts-api/src/core-types.ts`.

fn main() {
    let path = ialp_types::output_path();
    if let Err(e) = std::fs::write(&path, ialp_types::typescript()) {
        eprintln!("error: cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
    println!("wrote {}", path.display());
}
