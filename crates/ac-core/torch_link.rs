// Shared by the build scripts of ialp-ac-core and ialp-node (included by path).
//
// torch-sys links libtorch with plain `-l` flags, which the default
// `--as-needed` drops when no symbol of a library is referenced directly:
// libtorch_cuda then never loads and CUDA shows as unavailable. It also sets no
// rpath on the final binary. So, with the `torch` feature, the binaries of the
// calling crate name the libraries again after `--no-as-needed` and get an
// rpath to libtorch's lib dir (torch-sys reports it as DEP_TCH_LIBTORCH_LIB to
// crates that depend on it directly).

pub fn emit() {
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_TORCH");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_none() {
        return;
    }
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=feature torch: torch-sys did not report libtorch's lib dir; set LD_LIBRARY_PATH at run time");
        return;
    };
    let dir = std::path::Path::new(&lib);
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-L{lib}");
    for name in ["torch_cuda", "torch_cpu", "torch", "c10"] {
        if dir.join(format!("lib{name}.so")).exists() {
            println!("cargo:rustc-link-arg=-l{name}");
        }
    }
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
}
