//! With the `torch` feature: link this crate's tests and examples so that they
//! find libtorch at run time without LD_LIBRARY_PATH (see `torch_link.rs`).

#[path = "torch_link.rs"]
mod torch_link;

fn main() {
    torch_link::emit();
}
