#[path = "../ac-core/torch_link.rs"]
mod torch_link;

fn main() {
    // Linker flags for a Node addon (undefined N-API symbols resolved at load time).
    napi_build::setup();
    // With `torch`: keep libtorch (and libtorch_cuda) as NEEDED and add an rpath
    // to it, so the addon loads without LD_LIBRARY_PATH and sees CUDA.
    torch_link::emit();
}
