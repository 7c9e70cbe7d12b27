fn main() {
    // Linker flags for a Node addon (undefined N-API symbols resolved at load time).
    napi_build::setup();
}
